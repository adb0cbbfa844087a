"""BIOM 2.1 (HDF5) tables: build one from ASV counts + lineages + samplesheet, and write it.

What a soilbiome BIOM holds (``docs/biom.md`` is the user-facing version):

* counts: observations = ASVs (feature ID = md5 of the uppercase sequence), samples = every
  sample of the samplesheet, in sheet order, all-zero samples included;
* observation metadata: ``taxonomy`` (one Greengenes-style string per rank of
  :data:`~soilbiome.taxonomy.lineage.RANKS`, ``d__<domain>``, ``k__<kingdom>`` ..
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
:func:`~soilbiome.io.biom_validate.validate_biom` runs it *and* our structural checks; the
one reader is :func:`soilbiome.io.biom_reader.read_table`.
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
from soilbiome.io.atomic import atomic_path
from soilbiome.io.biom_layout import (  # noqa: F401  (re-exported)
    NON_METADATA_COLUMNS,
    REQUIRED_OBSERVATION_METADATA,
    REQUIRED_SAMPLE_METADATA,
    TABLE_TYPE,
    TAXONOMY_PREFIXES,
    BiomError,
    name_some,
)
from soilbiome.io.biom_validate import validate_biom
from soilbiome.model.soil import SAMPLE_UNITS_ATTR, canonical_units, typed_metadata
from soilbiome.taxonomy.lineage import (
    RANKS,
    Lineage,
    feature_id_for,
    read_lineage,
    taxonomy_strings,
)

#: A syntactically valid R name; others are renamed by R's check.names (``16s`` -> ``X16s``).
_R_NAME = re.compile(r"^(?:[A-Za-z]|\.(?![0-9]))[A-Za-z0-9._]*$")
_DNA = re.compile(r"^[ACGTURYSWKMBDHVN]+$")


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
            raise BiomError(f"duplicate sample column(s): {name_some(dupes)}", location=str(path))
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
    tree: str | None = None,
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
    tree : str, optional
        Newick tree of the features, stored as observation group metadata ``phylogeny``
        (BIOM 2.1 ``observation/group-metadata``, ``data_type = "newick"``).

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
            f"{name_some(in_counts - in_sheet)}"
        )
    if in_sheet - in_counts:
        problems.append(
            f"{samples.path}: sample(s) missing from counts {counts.path}: "
            f"{name_some(in_sheet - in_counts)}"
        )
    no_lineage = [f for f in counts.feature_ids if f not in lineages]
    if no_lineage:
        problems.append(
            f"{lineage_path}: no lineage row for {len(no_lineage)} feature(s) of "
            f"{counts.path}: {name_some(no_lineage)}"
        )
    if problems:
        raise BiomError("\n  ".join(problems))
    order = [counts.sample_ids.index(s) for s in samples.sample_ids]
    matrix = sparse.csr_matrix(counts.matrix[:, order].astype(np.float64))
    obs_md = [
        _observation_metadata(seq, lineages[fid])
        for fid, seq in zip(counts.feature_ids, counts.sequences, strict=True)
    ]
    sample_md = [typed_metadata(row, f"{samples.path}: sample '{sid}'")  # soil as numbers
                 for sid, row in zip(samples.sample_ids, samples.rows, strict=True)]
    return Table(
        matrix,
        list(counts.feature_ids),
        list(samples.sample_ids),
        observation_metadata=obs_md or None,  # a run without ASVs still gets a table
        sample_metadata=sample_md,
        table_id=table_id,
        type=TABLE_TYPE,
        observation_group_metadata={"phylogeny": ("newick", tree)} if tree else None,
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


def _read_tree(path: str | Path, feature_ids: Sequence[str]) -> str:
    """A Newick tree's text, checked to have exactly ``feature_ids`` as tips."""
    from skbio import TreeNode

    path = Path(path)
    if not path.is_file():
        raise BiomError("tree file not found", location=str(path))
    text = path.read_text().strip()
    try:
        tips = {t.name for t in TreeNode.read([text], format="newick").tips()}
    except Exception as exc:  # skbio raises several parser errors
        raise BiomError(f"not a Newick tree ({exc})", location=str(path)) from None
    if feature_ids and tips != set(feature_ids):
        extra, missing = tips - set(feature_ids), set(feature_ids) - tips
        raise BiomError(
            f"tree tips differ from the counted features ({len(missing)} feature(s) not in "
            f"the tree, {len(extra)} tip(s) not counted)", location=str(path))
    return text


def build_biom(
    counts_path: str | Path,
    lineage_path: str | Path,
    samplesheet_path: str | Path,
    out: str | Path,
    *,
    table_id: str | None = None,
    tree_path: str | Path | None = None,
) -> BuildSummary:
    """Build ``table.biom`` from ``asv_counts.tsv``, ``lineage.tsv`` and a validated sheet.

    Parameters
    ----------
    counts_path, lineage_path, samplesheet_path : str or Path
    out : str or Path
    table_id : str, optional
        BIOM table ID (default: the output file name without suffix).
    tree_path : str or Path, optional
        Newick tree whose tips are exactly the counted features (``soilbiome phylogeny``).

    Returns
    -------
    BuildSummary
    """
    out = Path(out)
    counts = read_counts(counts_path)
    lineages = read_lineage(lineage_path)
    samples = read_sample_metadata(samplesheet_path)
    tree = _read_tree(tree_path, counts.feature_ids) if tree_path else None
    table = build_table(
        counts, lineages, samples, lineage_path=lineage_path, table_id=table_id or out.stem,
        tree=tree,
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


__all__ = [
    "BiomError",
    "BuildSummary",
    "Counts",
    "NON_METADATA_COLUMNS",
    "REQUIRED_OBSERVATION_METADATA",
    "REQUIRED_SAMPLE_METADATA",
    "SAMPLE_UNITS_ATTR",
    "SampleMetadata",
    "TABLE_TYPE",
    "TAXONOMY_PREFIXES",
    "build_biom",
    "build_table",
    "pad_empty_samples",
    "r_unsafe_names",
    "read_counts",
    "read_sample_metadata",
    "taxonomy_strings",
    "validate_biom",
    "write_biom",
]
