"""``biom validate``: the one reader's checks plus everything a published table must carry.

:func:`validate_biom` first reads the table with :func:`~soilbiome.io.biom_reader.read_table`
(so it refuses exactly what every other command refuses), then checks what the reader does
not need: the root attributes, required metadata, the taxonomy layout and sequence-derived
IDs; and, only when the structure is sound, runs biom-format's own validator (whose parser
can crash on corrupt pointers).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import h5py
import numpy as np

from soilbiome.io.biom_checks import (
    DatasetProblem,
    check_creation_date,
    check_ids,
    read_dataset,
)
from soilbiome.io.biom_layout import (
    REQUIRED_OBSERVATION_METADATA,
    REQUIRED_SAMPLE_METADATA,
    REQUIRED_TAXON_METADATA,
    TAXONOMY_PREFIXES,
    BiomError,
    attr_text,
    decode,
    name_some,
)
from soilbiome.io.biom_reader import TableOutline, check_table, read_table, sniff
from soilbiome.io.biom_tree import tree_problems
from soilbiome.taxonomy.lineage import RANKS, feature_id_for


def _biom_format_report(path: Path) -> list[str]:
    from biom.cli.table_validator import TableValidator

    try:
        result = TableValidator()(table=str(path))
    except Exception as exc:  # noqa: BLE001 - a crash of their validator is a finding
        return [f"biom-format validator failed: {type(exc).__name__}: {exc}"]
    lines = [line for line in result["report_lines"] if line and not line.startswith("WARNING")]
    problems = [f"biom-format: {line}" for line in lines]
    if not result["valid_table"] and not problems:
        problems.append("biom-format: the table is not valid")
    return problems



def validate_biom(
    path: str | Path,
    *,
    required_observation_metadata: Sequence[str] | None = None,
    required_sample_metadata: Sequence[str] = REQUIRED_SAMPLE_METADATA,
) -> list[str]:
    """Validate a BIOM 2.1 HDF5 file; return one message per problem (empty if valid).

    Runs :func:`~soilbiome.io.biom_reader.read_table` (IDs, both stored matrices and their
    agreement, values, corrupt chunks) and then checks what it does not need: a non-empty
    ``type``; a ``creation-date`` without timezone; observation metadata (``taxonomy`` with
    one name per rank, ``sequence`` whose md5 is the ID) and the required sample metadata
    columns, each with one value per ID; a stored tree that is Newick with exactly the
    features as tips, not in the legacy group-metadata place. When all that is sound,
    biom-format's own validator (the code behind ``biom validate-table``) runs too; its
    report lines count as problems.

    Parameters
    ----------
    path : str or Path
    required_observation_metadata : sequence of str, optional
        Default: :data:`REQUIRED_OBSERVATION_METADATA`, or :data:`REQUIRED_TAXON_METADATA`
        for a taxon table (root attribute ``soilbiome:marker`` = ``shotgun``).
    required_sample_metadata : sequence of str
        Defaults to the MIxS soil fields.

    Returns
    -------
    list of str
    """
    return _validate(Path(path), required_observation_metadata, required_sample_metadata,
                     stream=False)[1]


def validate_streaming(
    path: str | Path,
    *,
    required_observation_metadata: Sequence[str] | None = None,
    required_sample_metadata: Sequence[str] = REQUIRED_SAMPLE_METADATA,
) -> tuple[TableOutline | None, list[str]]:
    """:func:`validate_biom` with the stored values streamed (:func:`check_table`), for
    tables too large to hold: the same problems, and the table's outline when there are none.
    """
    return _validate(Path(path), required_observation_metadata, required_sample_metadata,
                     stream=True)


def _validate(path: Path, required_observation_metadata: Sequence[str] | None,
              required_sample_metadata: Sequence[str], *, stream: bool):  # noqa: ANN202
    try:
        sniff(path)
    except BiomError as exc:
        return None, [str(exc)]
    problems: list[str] = []
    table = None
    try:
        table = check_table(path) if stream else read_table(path)
    except BiomError as exc:
        problems += exc.problems
    try:
        with h5py.File(path, "r") as handle:
            problems += _extra_checks(handle, table, required_observation_metadata,
                                      required_sample_metadata)
    except DatasetProblem as exc:
        problems.append(str(exc))
    except (OSError, KeyError, ValueError, TypeError, RuntimeError, OverflowError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        problems.append(f"cannot read BIOM table ({reason})")
    if table is not None:
        problems += tree_problems(table)
    if not problems:
        problems = _biom_format_report(path)
    return (table if not problems else None), list(dict.fromkeys(problems))


def _extra_checks(
    handle: h5py.File,
    table,  # noqa: ANN001 - FeatureTable or None
    required_observation_metadata: Sequence[str] | None,
    required_sample_metadata: Sequence[str],
) -> list[str]:
    problems: list[str] = []
    attrs = handle.attrs
    if required_observation_metadata is None:
        taxa = attr_text(attrs.get("soilbiome:marker", "")) == "shotgun"
        required_observation_metadata = (REQUIRED_TAXON_METADATA if taxa
                                         else REQUIRED_OBSERVATION_METADATA)
    if "type" not in attrs:
        problems.append("attribute 'type' is missing")
    elif not attr_text(attrs["type"]).strip():
        problems.append("attribute 'type' is empty")
    if "creation-date" not in attrs:
        problems.append("attribute 'creation-date' is missing")
    else:
        message = check_creation_date(attrs["creation-date"])
        if message:
            problems.append(message)
    if "format-version" in attrs:
        version = tuple(int(v) for v in np.atleast_1d(attrs["format-version"])
                        if np.issubdtype(type(v), np.integer))
        if version != (2, 1):
            problems.append(f"format-version is {attr_text(attrs['format-version'])}, "
                            "expected 2,1")
    if "nnz" not in attrs:
        problems.append("attribute 'nnz' is missing")  # a value that is not a number: the reader
    obs_ids, _ = check_ids(handle, "observation")
    sample_ids, _ = check_ids(handle, "sample")
    if obs_ids is None or sample_ids is None:
        return problems
    n_obs, n_samples = len(obs_ids), len(sample_ids)
    if "shape" in attrs:
        shape = tuple(int(v) for v in np.atleast_1d(attrs["shape"]))
        if shape != (n_obs, n_samples):
            problems.append(f"attribute shape {shape} does not match {n_obs} observation "
                            f"and {n_samples} sample IDs")
    # both matrices and their agreement are checked by the reader (read_table)
    # a table without observations (no ASV in the whole run) has no metadata to carry
    required_obs = required_observation_metadata if n_obs else ()
    problems += _check_metadata(handle, "observation", obs_ids, required_obs)
    problems += _check_metadata(handle, "sample", sample_ids, required_sample_metadata)
    name = "observation/metadata/taxonomy"
    if isinstance(handle.get(name), h5py.Dataset):
        taxonomy = handle[name]
        if taxonomy.ndim != 2 or taxonomy.shape[1] != len(RANKS):
            problems.append(
                f"observation metadata 'taxonomy' has shape {taxonomy.shape}, expected "
                f"({n_obs}, {len(RANKS)}): one name per rank {', '.join(RANKS)}"
            )
        elif taxonomy.shape[0] == n_obs:
            problems += _check_taxonomy_prefixes(obs_ids, read_dataset(handle, name, ndim=2))
    name = "observation/metadata/sequence"
    if isinstance(handle.get(name), h5py.Dataset):
        try:
            seqs = decode(read_dataset(handle, name))
        except ValueError:
            seqs = []
            problems.append("observation metadata 'sequence' holds text that is not UTF-8")
        if len(seqs) == n_obs:
            wrong = [i for i, s in zip(obs_ids, seqs, strict=True) if feature_id_for(s) != i]
            if wrong:
                problems.append(
                    f"observation ID(s) not the md5 of their sequence: {name_some(wrong)}"
                )
    return problems


def _check_taxonomy_prefixes(ids: list[str], taxonomy: np.ndarray) -> list[str]:
    bad = []
    for feature_id, entries in zip(ids, taxonomy, strict=True):
        for prefix, entry in zip(TAXONOMY_PREFIXES, decode(entries), strict=True):
            if not entry.startswith(f"{prefix}__"):
                bad.append(f"{feature_id} ('{entry}' where {prefix}__ belongs)")
                break
    if not bad:
        return []
    order = f"{TAXONOMY_PREFIXES[0]}__..{TAXONOMY_PREFIXES[-1]}__"
    return [f"observation taxonomy not in {order} rank order: {name_some(bad)}"]


def _check_metadata(
    handle: h5py.File, axis: str, ids: list[str], required: Sequence[str]
) -> list[str]:
    problems = []
    group = handle.get(f"{axis}/metadata")
    present = set(group.keys()) if isinstance(group, h5py.Group) else set()
    missing = [name for name in required if name not in present]
    if missing:
        problems.append(f"{axis} metadata missing: {', '.join(missing)}")
    for name in sorted(present):
        length = len(group[name])
        if length != len(ids):
            problems.append(f"{axis} metadata '{name}' has {length} entries for {len(ids)} {axis}s")
    return problems
