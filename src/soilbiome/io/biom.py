"""BIOM 2.1 (HDF5) tables: build one from ASV counts + lineages + samplesheet, and validate.

What a soilbiome BIOM holds (``docs/biom.md`` is the user-facing version):

* counts: observations = ASVs (feature ID = md5 of the uppercase sequence), samples = every
  sample of the samplesheet, in sheet order, all-zero samples included;
* observation metadata: ``taxonomy`` (7 Greengenes-style strings ``k__<domain>`` ..
  ``s__<species>``, bare prefix where unassigned; see :func:`taxonomy_strings`),
  ``confidence_<rank>`` (decimal string 0-1, ``""`` where the classifier gave none),
  ``sequence``, ``classifier`` and ``reference``;
* sample metadata: every samplesheet column except ``sample``, ``fastq_1``, ``fastq_2`` and
  ``single_end`` (so site, run, the MIxS soil fields and any extra column), as strings, except
  the soil measurements of :mod:`soilbiome.model.soil` (float64 in canonical units, NaN =
  missing; units in the root attribute ``soilbiome:sample-units``);
* attributes: ``type = "OTU table"``, ``generated-by = "soilbiome <version>"``, a naive
  ISO 8601 ``creation-date`` (biom-format's validator rejects a timezone).

The layout follows the BIOM 2.1 specification (https://biom-format.org/documentation/
format_versions/biom-2.1.html). biom-format's own validator misses duplicate IDs and corrupt
``indptr`` arrays, and reports but does not fail metadata of the wrong length, so
:func:`validate_biom` runs it *and* our structural checks.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np
from scipy import sparse

from soilbiome import __version__
from soilbiome.errors import InputError
from soilbiome.io.atomic import atomic_path
from soilbiome.model.samplesheet import MIXS_REQUIRED
from soilbiome.model.soil import canonical_units, typed_metadata
from soilbiome.taxonomy.lineage import RANKS, Lineage, feature_id_for, read_lineage

#: BIOM table type of an ASV count table (biom-format's name for a feature count table).
TABLE_TYPE = "OTU table"
#: Root attribute: JSON ``{column: canonical unit}`` of the typed soil sample metadata.
SAMPLE_UNITS_ATTR = "soilbiome:sample-units"
#: Observation metadata every soilbiome BIOM carries.
REQUIRED_OBSERVATION_METADATA: tuple[str, ...] = ("taxonomy", "sequence")
#: Sample metadata every soilbiome BIOM carries (the MIxS soil fields of the samplesheet).
REQUIRED_SAMPLE_METADATA: tuple[str, ...] = MIXS_REQUIRED
#: Samplesheet columns that are not sample metadata.
NON_METADATA_COLUMNS = frozenset({"sample", "fastq_1", "fastq_2", "single_end"})
#: Greengenes rank prefixes used in the BIOM ``taxonomy`` list, one per rank of RANKS.
TAXONOMY_PREFIXES: tuple[str, ...] = ("k", "p", "c", "o", "f", "g", "s")
#: At most this many IDs are named in one problem message.
_SHOW = 5
#: A syntactically valid R name; others are renamed by R's check.names (``16s`` -> ``X16s``).
_R_NAME = re.compile(r"^(?:[A-Za-z]|\.(?![0-9]))[A-Za-z0-9._]*$")
_DNA = re.compile(r"^[ACGTURYSWKMBDHVN]+$")


class BiomError(InputError):
    """Inputs of a BIOM build are inconsistent, or a BIOM table is invalid."""


@dataclass(frozen=True)
class Counts:
    """An ASV count table as read from ``asv_counts.tsv``.

    Attributes
    ----------
    path : Path
        Source file (for messages).
    feature_ids, sequences : tuple of str
        One per ASV, in file order; sequences uppercase.
    sample_ids : tuple of str
        Sample columns in file order.
    matrix : numpy.ndarray
        int64 array, ASVs x samples.
    """

    path: Path
    feature_ids: tuple[str, ...]
    sequences: tuple[str, ...]
    sample_ids: tuple[str, ...]
    matrix: np.ndarray


@dataclass(frozen=True)
class SampleMetadata:
    """Sample metadata from a validated samplesheet.

    Attributes
    ----------
    path : Path
    sample_ids : tuple of str
        In sheet order.
    columns : tuple of str
        Metadata columns in sheet order (no read columns).
    rows : tuple of dict
        One ``column -> value`` dict per sample.
    """

    path: Path
    sample_ids: tuple[str, ...]
    columns: tuple[str, ...]
    rows: tuple[dict[str, str], ...]


@dataclass(frozen=True)
class BuildSummary:
    """What :func:`build_biom` wrote."""

    path: Path
    n_observations: int
    n_samples: int
    empty_samples: tuple[str, ...]
    unused_lineages: int
    r_unsafe_columns: tuple[str, ...] = ()


def r_unsafe_names(names: Sequence[str]) -> list[str]:
    """Names that R's ``check.names`` would rewrite (``phyloseq::import_biom`` does).

    biomformat builds sample metadata with ``plyr::ldply``, so a column such as
    ``16s_primer`` arrives in phyloseq as ``X16s_primer``. The BIOM itself keeps the name.

    Parameters
    ----------
    names : sequence of str

    Returns
    -------
    list of str
    """
    return [name for name in names if not _R_NAME.match(name)]


def _name_some(ids: Sequence[str] | set[str]) -> str:
    ordered = sorted(ids) if isinstance(ids, set) else list(ids)
    shown = ", ".join(ordered[:_SHOW])
    return shown + (f" (and {len(ordered) - _SHOW} more)" if len(ordered) > _SHOW else "")


def read_counts(path: str | Path) -> Counts:
    """Read ``asv_counts.tsv`` and check that every feature ID is the md5 of its sequence.

    Parameters
    ----------
    path : str or Path
        TSV with header ``feature_id, sequence, <sample>...`` and integer counts.

    Returns
    -------
    Counts

    Raises
    ------
    BiomError
        Naming the file, line and ID of the first problem.
    """
    path = Path(path)
    if not path.is_file():
        raise BiomError("counts file not found", location=str(path))
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle, delimiter="\t")
        header = next(reader, None)
        if not header or header[:2] != ["feature_id", "sequence"]:
            raise BiomError("header must start with feature_id<TAB>sequence", location=str(path))
        samples = [s.strip() for s in header[2:]]
        if not samples:
            raise BiomError("no sample columns", location=str(path))
        dupes = [s for s, n in Counter(samples).items() if n > 1]
        if dupes:
            raise BiomError(f"duplicate sample column(s): {_name_some(dupes)}", location=str(path))
        if "" in samples:
            raise BiomError("empty sample column name in the header", location=str(path))
        ids: list[str] = []
        seqs: list[str] = []
        rows: list[np.ndarray] = []
        seen: dict[str, int] = {}
        for line_no, fields in enumerate(reader, start=2):
            if not fields:
                continue
            where = f"{path}: line {line_no}"
            if len(fields) != len(header):
                raise BiomError(f"{where}: {len(fields)} fields, header has {len(header)}")
            feature_id, sequence = fields[0].strip(), fields[1].strip().upper()
            if feature_id in seen:
                raise BiomError(f"{where}: feature {feature_id} already on line {seen[feature_id]}")
            seen[feature_id] = line_no
            if not _DNA.match(sequence):
                raise BiomError(f"{where}: feature {feature_id} has no valid DNA sequence")
            expected = feature_id_for(sequence)
            if feature_id != expected:
                raise BiomError(
                    f"{where}: feature_id {feature_id} does not match its sequence "
                    f"(md5 of the uppercase sequence is {expected})"
                )
            try:
                values = np.array([int(v) for v in fields[2:]], dtype=np.int64)
            except ValueError:
                bad = next(v for v in fields[2:] if not v.strip().lstrip("-").isdigit())
                raise BiomError(
                    f"{where}: feature {feature_id}: count '{bad}' is not an integer"
                ) from None
            if (values < 0).any():
                sample = samples[int(np.argmax(values < 0))]
                raise BiomError(f"{where}: feature {feature_id}: negative count in {sample}")
            ids.append(feature_id)
            seqs.append(sequence)
            rows.append(values)
    matrix = np.vstack(rows) if rows else np.zeros((0, len(samples)), dtype=np.int64)
    return Counts(path, tuple(ids), tuple(seqs), tuple(samples), matrix)


def read_sample_metadata(path: str | Path) -> SampleMetadata:
    """Read sample metadata from a validated samplesheet CSV (``soilbiome validate --out``).

    Every column except ``sample``, ``fastq_1``, ``fastq_2`` and ``single_end`` is metadata;
    values are kept verbatim as strings. The MIxS soil columns must be present.

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    SampleMetadata
    """
    path = Path(path)
    if not path.is_file():
        raise BiomError("samplesheet not found", location=str(path))
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        header = [h.strip() for h in next(reader, [])]
        if "sample" not in header:
            raise BiomError("no 'sample' column", location=str(path))
        missing = [c for c in REQUIRED_SAMPLE_METADATA if c not in header]
        if missing:
            raise BiomError(f"MIxS column(s) missing: {', '.join(missing)}", location=str(path))
        dupes = [c for c, n in Counter(header).items() if n > 1]
        if dupes:
            raise BiomError(f"duplicate column(s): {', '.join(dupes)}", location=str(path))
        columns = tuple(h for h in header if h not in NON_METADATA_COLUMNS)
        sample_col = header.index("sample")
        ids: list[str] = []
        rows: list[dict[str, str]] = []
        for line_no, fields in enumerate(reader, start=2):
            if not fields:
                continue
            if len(fields) != len(header):
                raise BiomError(
                    f"{path}: line {line_no}: {len(fields)} fields, header has {len(header)}"
                )
            record = dict(zip(header, fields, strict=True))
            sample = fields[sample_col].strip()
            if sample in ids:
                raise BiomError(f"{path}: line {line_no}: duplicate sample {sample}")
            ids.append(sample)
            rows.append({c: record[c] for c in columns})
    if not ids:
        raise BiomError("no samples", location=str(path))
    return SampleMetadata(path, tuple(ids), columns, tuple(rows))


def taxonomy_strings(names: Sequence[str]) -> list[str]:
    """The BIOM ``taxonomy`` entry of a lineage: 7 Greengenes-prefixed names.

    ``["k__Bacteria", "p__Actinobacteria", ..., "g__", "s__"]``: the prefix fixes each
    name's rank, so an empty rank never shifts the ranks below it (biom-format's reader drops
    empty strings from taxonomy lists) and ``phyloseq::parse_taxonomy_greengenes`` names the
    columns Kingdom..Species. ``k__`` carries our ``domain``.

    Parameters
    ----------
    names : sequence of str
        Seven bare names, domain..species.

    Returns
    -------
    list of str
    """
    return [f"{prefix}__{name}" for prefix, name in zip(TAXONOMY_PREFIXES, names, strict=True)]


def _observation_metadata(sequence: str, lineage: Lineage) -> dict[str, object]:
    # Confidences are decimal strings ("" = none): a float NaN would make biom-format's JSON
    # export unreadable for R's jsonlite, and a list of strings other than ``taxonomy`` comes
    # back from biom.load_table as undecoded bytes.
    row = lineage.as_row()
    md: dict[str, object] = {"taxonomy": taxonomy_strings(lineage.names), "sequence": sequence}
    for rank in RANKS:
        md[f"confidence_{rank}"] = row[f"confidence_{rank}"]
    md["classifier"] = lineage.classifier
    md["reference"] = lineage.reference
    return md


def build_table(
    counts: Counts,
    lineages: dict[str, Lineage],
    samples: SampleMetadata,
    *,
    lineage_path: str | Path = "lineage",
    table_id: str | None = None,
):  # noqa: ANN201 - biom.Table, imported lazily
    """Combine counts, lineages and sample metadata into a :class:`biom.Table`.

    Samples follow the samplesheet order; all-zero samples are kept.

    Parameters
    ----------
    counts : Counts
    lineages : dict
        ``feature_id -> Lineage``; every counted feature needs one.
    samples : SampleMetadata
    lineage_path : str or Path
        Only used in error messages.
    table_id : str, optional

    Returns
    -------
    biom.Table

    Raises
    ------
    BiomError
        Samples in one file and not the other, features without a lineage row.
    """
    from biom import Table

    in_counts, in_sheet = set(counts.sample_ids), set(samples.sample_ids)
    problems = []
    if in_counts - in_sheet:
        problems.append(
            f"{counts.path}: sample(s) not in samplesheet {samples.path}: "
            f"{_name_some(in_counts - in_sheet)}"
        )
    if in_sheet - in_counts:
        problems.append(
            f"{samples.path}: sample(s) missing from counts {counts.path}: "
            f"{_name_some(in_sheet - in_counts)}"
        )
    no_lineage = [f for f in counts.feature_ids if f not in lineages]
    if no_lineage:
        problems.append(
            f"{lineage_path}: no lineage row for {len(no_lineage)} feature(s) of "
            f"{counts.path}: {_name_some(no_lineage)}"
        )
    if problems:
        raise BiomError("\n  ".join(problems))
    order = [counts.sample_ids.index(s) for s in samples.sample_ids]
    matrix = sparse.csr_matrix(counts.matrix[:, order].astype(np.float64))
    obs_md = [
        _observation_metadata(seq, lineages[fid])
        for fid, seq in zip(counts.feature_ids, counts.sequences, strict=True)
    ]
    sample_md = [typed_metadata(row) for row in samples.rows]  # soil fields as numbers
    return Table(
        matrix,
        list(counts.feature_ids),
        list(samples.sample_ids),
        observation_metadata=obs_md or None,  # a run without ASVs still gets a table
        sample_metadata=sample_md,
        table_id=table_id,
        type=TABLE_TYPE,
    )


def write_biom(  # noqa: ANN001
    table, out: str | Path, *, creation_date: dt.datetime | None = None,
    attributes: dict[str, str] | None = None,
) -> Path:
    """Write ``table`` as BIOM 2.1 HDF5, atomically, after validating the written file.

    The file is written to a temp file beside ``out``, checked with :func:`validate_biom`, and
    only then renamed into place; on any problem nothing is left at ``out``.

    Parameters
    ----------
    table : biom.Table
    out : str or Path
    creation_date : datetime, optional
        Naive timestamp (default: now, to the second). A timezone is rejected.
    attributes : dict, optional
        Extra root attributes (e.g. ``soilbiome:sample-units``).

    Returns
    -------
    Path
    """
    out = Path(out)
    stamp = creation_date or dt.datetime.now().replace(microsecond=0)
    if stamp.tzinfo is not None:
        raise BiomError("creation-date must not carry a timezone (biom-format rejects it)")
    with atomic_path(out) as tmp:
        with h5py.File(tmp, "w") as handle:
            table.to_hdf5(handle, f"soilbiome {__version__}", compress=True, creation_date=stamp)
            pad_empty_samples(handle)
            for key, value in (attributes or {}).items():
                handle.attrs[key] = value
        problems = validate_biom(tmp)
        if problems:
            raise BiomError(
                "the written table failed validation (nothing written):\n  "
                + "\n  ".join(problems),
                location=str(out),
            )
    return out


def _replace_dataset(handle: h5py.File, name: str, values: np.ndarray) -> None:
    old = handle[name]
    dtype, compression = old.dtype, old.compression
    del handle[name]
    handle.create_dataset(name, data=values.astype(dtype), compression=compression)


def pad_empty_samples(handle: h5py.File) -> int:
    """Store one explicit zero in every all-zero sample column; return how many were padded.

    R's ``biomformat`` (1.26, used by ``phyloseq::import_biom``) rebuilds columns from the
    sample-major matrix with ``indptr[i-1]:(indptr[i]-1)``, which for an empty column is a
    *descending* range of two positions: the last sample fails to load, and an empty sample in
    the middle silently gets its neighbours' counts. An explicit zero is a valid sparse entry
    (BIOM 2.1 allows stored zeros), keeps every count unchanged, and makes that range empty-safe.
    Both the sample (CSC) and observation (CSR) matrices get the entry, so they stay the same
    matrix and ``nnz`` stays their stored length.
    """
    n_obs = len(handle["observation/ids"])
    indptr = handle["sample/matrix/indptr"][()].astype(np.int64)
    empty = np.flatnonzero(np.diff(indptr) == 0)
    if n_obs == 0 or len(empty) == 0:
        return 0
    n_samples = len(indptr) - 1
    csc = sparse.csc_matrix(
        (handle["sample/matrix/data"][()], handle["sample/matrix/indices"][()], indptr),
        shape=(n_obs, n_samples),
    )
    rows = np.concatenate([csc.tocoo().row, np.zeros(len(empty), dtype=np.int64)])
    cols = np.concatenate([csc.tocoo().col, empty])
    data = np.concatenate([csc.tocoo().data, np.zeros(len(empty))])
    # build the compressed forms by hand: scipy's converters would drop the explicit zeros
    for axis, major, minor, n_major in (("sample", cols, rows, n_samples),
                                        ("observation", rows, cols, n_obs)):
        order = np.lexsort((minor, major))
        counts = np.bincount(major, minlength=n_major)
        new_indptr = np.concatenate([[0], np.cumsum(counts)])
        _replace_dataset(handle, f"{axis}/matrix/data", data[order])
        _replace_dataset(handle, f"{axis}/matrix/indices", minor[order])
        _replace_dataset(handle, f"{axis}/matrix/indptr", new_indptr)
    handle.attrs["nnz"] = len(data)
    return len(empty)


def build_biom(
    counts_path: str | Path,
    lineage_path: str | Path,
    samplesheet_path: str | Path,
    out: str | Path,
    *,
    table_id: str | None = None,
) -> BuildSummary:
    """Build ``table.biom`` from ``asv_counts.tsv``, ``lineage.tsv`` and a validated sheet.

    Parameters
    ----------
    counts_path, lineage_path, samplesheet_path : str or Path
    out : str or Path
    table_id : str, optional
        BIOM table ID (default: the output file name without suffix).

    Returns
    -------
    BuildSummary
    """
    out = Path(out)
    counts = read_counts(counts_path)
    lineages = read_lineage(lineage_path)
    samples = read_sample_metadata(samplesheet_path)
    table = build_table(
        counts, lineages, samples, lineage_path=lineage_path, table_id=table_id or out.stem
    )
    units = canonical_units(list(samples.rows))
    write_biom(table, out, attributes={SAMPLE_UNITS_ATTR: json.dumps(units)} if units else None)
    totals = counts.matrix.sum(axis=0)
    empty = tuple(s for s, t in zip(counts.sample_ids, totals, strict=True) if t == 0)
    unused = len(set(lineages) - set(counts.feature_ids))
    return BuildSummary(
        out,
        len(counts.feature_ids),
        len(samples.sample_ids),
        empty,
        unused,
        tuple(r_unsafe_names(samples.columns)),
    )


# --------------------------------------------------------------------------------- validation


def _decode(values: np.ndarray) -> list[str]:
    return [v.decode("utf-8") if isinstance(v, bytes) else str(v) for v in values]


def _attr_text(value: object) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if isinstance(value, np.ndarray) and value.shape == ():
        return _attr_text(value.item())
    return str(value)


def _check_creation_date(value: object) -> str | None:
    text = _attr_text(value).strip()
    if not text:
        return "attribute 'creation-date' is empty"
    try:
        stamp = dt.datetime.fromisoformat(text)
    except ValueError:
        return f"attribute 'creation-date' '{text}' is not an ISO 8601 date-time"
    if stamp.tzinfo is not None:
        return (
            f"attribute 'creation-date' '{text}' has a timezone; BIOM 2.1 readers "
            "(biom-format) expect a naive ISO 8601 timestamp"
        )
    return None


def _check_ids(handle: h5py.File, axis: str) -> tuple[list[str] | None, list[str]]:
    problems: list[str] = []
    if f"{axis}/ids" not in handle:
        return None, [f"dataset '{axis}/ids' is missing"]
    ids = _decode(handle[f"{axis}/ids"][()])
    if any(not i for i in ids):
        problems.append(f"{axis} IDs: {sum(1 for i in ids if not i)} empty ID(s)")
    dupes = [i for i, n in Counter(ids).items() if n > 1]
    if dupes:
        problems.append(f"duplicate {axis} ID(s): {_name_some(dupes)}")
    return ids, problems


def _check_matrix(
    handle: h5py.File, axis: str, n_major: int, n_minor: int, nnz: int | None
) -> tuple[sparse.spmatrix | None, list[str]]:
    """Check one compressed matrix (observation = CSR, sample = CSC); return it if sound."""
    kind = "CSR" if axis == "observation" else "CSC"
    other = "sample" if axis == "observation" else "observation"
    base = f"{axis}/matrix"
    missing = [n for n in ("data", "indices", "indptr") if f"{base}/{n}" not in handle]
    if missing:
        return None, [f"{base}: dataset(s) missing: {', '.join(missing)}"]
    data = handle[f"{base}/data"][()]
    indices = handle[f"{base}/indices"][()]
    indptr = handle[f"{base}/indptr"][()]
    problems: list[str] = []
    label = f"{base} ({kind})"
    if data.ndim != 1 or indices.ndim != 1 or indptr.ndim != 1:
        return None, [f"{label}: data, indices and indptr must be 1-D"]
    if len(indptr) != n_major + 1:
        problems.append(
            f"{label}: indptr has {len(indptr)} entries, expected {n_major + 1} "
            f"({n_major} {axis}s + 1)"
        )
    if len(indptr) and indptr[0] != 0:
        problems.append(f"{label}: indptr starts at {indptr[0]}, expected 0")
    if len(indptr) > 1 and (np.diff(indptr.astype(np.int64)) < 0).any():
        where = int(np.argmax(np.diff(indptr.astype(np.int64)) < 0))
        problems.append(f"{label}: indptr is not monotone (decreases after position {where})")
    if len(data) != len(indices):
        problems.append(f"{label}: {len(data)} data values but {len(indices)} indices")
    if len(indptr) and indptr[-1] != len(data):
        problems.append(
            f"{label}: indptr ends at {indptr[-1]} but there are {len(data)} stored values"
        )
    if nnz is not None and len(data) != nnz:
        problems.append(f"{label}: {len(data)} stored values but attribute nnz = {nnz}")
    if len(indices) and (indices.min() < 0 or indices.max() >= n_minor):
        problems.append(
            f"{label}: indices out of range 0..{n_minor - 1} ({other}s): "
            f"min {indices.min()}, max {indices.max()}"
        )
    if len(data):
        if not np.isfinite(data).all():
            problems.append(f"{label}: data has non-finite values")
        elif (data < 0).any():
            problems.append(f"{label}: data has negative values")
    if problems:
        return None, problems
    for i in range(n_major):
        segment = indices[indptr[i] : indptr[i + 1]]
        if len(np.unique(segment)) != len(segment):
            problems.append(f"{label}: {axis} {i} stores the same {other} index twice")
            break
    if problems:
        return None, problems
    shape = (n_major, n_minor)
    matrix = sparse.csr_matrix((data, indices, indptr), shape=shape)
    return matrix, problems


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
    required_observation_metadata: Sequence[str] = REQUIRED_OBSERVATION_METADATA,
    required_sample_metadata: Sequence[str] = REQUIRED_SAMPLE_METADATA,
) -> list[str]:
    """Validate a BIOM 2.1 HDF5 file; return one message per problem (empty if valid).

    Runs biom-format's own validator (the code behind ``biom validate-table``; its report
    lines count as problems even where it would still call the table valid) and then checks
    what it misses: unique observation and sample IDs; for both the observation (CSR) and
    sample (CSC) matrices, ``indptr`` length, start, monotonicity and end, ``indices`` in
    range and not repeated, lengths equal to ``nnz``; the two matrices holding the same
    values; a non-empty ``type``; a ``creation-date`` without timezone; observation metadata
    (``taxonomy`` with 7 ranks, ``sequence`` whose md5 is the ID) and the required sample
    metadata columns, each with one value per ID.

    Parameters
    ----------
    path : str or Path
    required_observation_metadata : sequence of str
    required_sample_metadata : sequence of str
        Defaults to the MIxS soil fields.

    Returns
    -------
    list of str
    """
    path = Path(path)
    if not path.is_file():
        return [f"file not found: {path}"]
    if not h5py.is_hdf5(path):
        return [f"{path} is not an HDF5 file (BIOM 2.1 tables are HDF5)"]
    problems = _biom_format_report(path)
    with h5py.File(path, "r") as handle:
        attrs = handle.attrs
        if "type" not in attrs:
            problems.append("attribute 'type' is missing")
        elif not _attr_text(attrs["type"]).strip():
            problems.append("attribute 'type' is empty")
        if "creation-date" not in attrs:
            problems.append("attribute 'creation-date' is missing")
        else:
            message = _check_creation_date(attrs["creation-date"])
            if message:
                problems.append(message)
        if "format-version" in attrs and tuple(int(v) for v in attrs["format-version"]) != (2, 1):
            problems.append(f"format-version is {tuple(attrs['format-version'])}, expected (2, 1)")
        nnz = int(attrs["nnz"]) if "nnz" in attrs else None
        if nnz is None:
            problems.append("attribute 'nnz' is missing")

        obs_ids, found = _check_ids(handle, "observation")
        problems += found
        sample_ids, found = _check_ids(handle, "sample")
        problems += found
        if obs_ids is None or sample_ids is None:
            return problems
        n_obs, n_samples = len(obs_ids), len(sample_ids)
        if "shape" in attrs and tuple(int(v) for v in attrs["shape"]) != (n_obs, n_samples):
            problems.append(
                f"attribute shape {tuple(int(v) for v in attrs['shape'])} does not match "
                f"{n_obs} observation and {n_samples} sample IDs"
            )
        csr, found = _check_matrix(handle, "observation", n_obs, n_samples, nnz)
        problems += found
        csc_t, found = _check_matrix(handle, "sample", n_samples, n_obs, nnz)
        problems += found
        if csr is not None and csc_t is not None:
            differing = (csr != csc_t.T.tocsr()).nnz
            if differing:
                problems.append(
                    f"observation (CSR) and sample (CSC) matrices disagree in {differing} cell(s)"
                )

        # a table without observations (no ASV in the whole run) has no metadata to carry
        required_obs = required_observation_metadata if n_obs else ()
        problems += _check_metadata(handle, "observation", obs_ids, required_obs)
        problems += _check_metadata(handle, "sample", sample_ids, required_sample_metadata)
        if "observation/metadata/taxonomy" in handle:
            taxonomy = handle["observation/metadata/taxonomy"]
            if taxonomy.ndim != 2 or taxonomy.shape[1] != len(RANKS):
                problems.append(
                    f"observation metadata 'taxonomy' has shape {taxonomy.shape}, expected "
                    f"({n_obs}, {len(RANKS)}): one name per rank {', '.join(RANKS)}"
                )
            elif taxonomy.shape[0] == n_obs:
                problems += _check_taxonomy_prefixes(obs_ids, taxonomy[()])
        if "observation/metadata/sequence" in handle:
            seqs = _decode(handle["observation/metadata/sequence"][()])
            if len(seqs) == n_obs:
                wrong = [i for i, s in zip(obs_ids, seqs, strict=True) if feature_id_for(s) != i]
                if wrong:
                    problems.append(
                        f"observation ID(s) not the md5 of their sequence: {_name_some(wrong)}"
                    )
    return problems


def _check_taxonomy_prefixes(ids: list[str], taxonomy: np.ndarray) -> list[str]:
    bad = []
    for feature_id, entries in zip(ids, taxonomy, strict=True):
        for prefix, entry in zip(TAXONOMY_PREFIXES, _decode(entries), strict=True):
            if not entry.startswith(f"{prefix}__"):
                bad.append(f"{feature_id} ('{entry}' where {prefix}__ belongs)")
                break
    if not bad:
        return []
    return [f"observation taxonomy not in k__..s__ rank order: {_name_some(bad)}"]


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
