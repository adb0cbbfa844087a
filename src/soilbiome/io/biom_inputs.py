"""Read the inputs of an amplicon BIOM table: ASV counts, samplesheet metadata, feature tree.

:func:`read_counts` reads ``asv_counts.tsv`` (checking every feature ID against its sequence),
:func:`read_sample_metadata` the metadata columns of a validated samplesheet and
:func:`read_tree` a Newick tree of the features; :func:`soilbiome.io.biom.build_biom` combines
them into a table.
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from soilbiome.io.atomic import atomic_write
from soilbiome.io.biom_layout import (
    NON_METADATA_COLUMNS,
    REQUIRED_SAMPLE_METADATA,
    BiomError,
    name_some,
)
from soilbiome.io.textfile import SafeWriter, plain_cell
from soilbiome.taxonomy.lineage import feature_id_for

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


def write_counts(path: str | Path, feature_ids: Sequence[str], sequences: Sequence[str],
                 sample_ids: Sequence[str], matrix: np.ndarray) -> None:
    """Write an ``asv_counts.tsv`` (the format :func:`read_counts` reads), atomically.

    ``matrix`` holds one row per feature (ASVs x samples), in the order of ``feature_ids``.
    """
    with atomic_write(Path(path)) as handle:
        writer = SafeWriter(csv.writer(handle, delimiter="\t", lineterminator="\n"))
        writer.writerow(["feature_id", "sequence", *sample_ids])
        for fid, seq, row in zip(feature_ids, sequences, matrix, strict=True):
            writer.writerow([fid, seq, *(int(v) for v in row)])


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
        samples = [str(plain_cell(s.strip())) for s in header[2:]]
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


def read_tree(path: str | Path, feature_ids: Sequence[str], *, prune: bool = False) -> str:
    """A Newick tree's text, checked to have exactly ``feature_ids`` as tips.

    With ``prune``, the tree may also hold tips that are not features (a tree of every ASV
    made before the clean-up removed some): it is cut to the features' subtree
    (:func:`soilbiome.io.newick.prune`, path lengths between features unchanged) and rooted
    again at its midpoint (:func:`soilbiome.io.newick.midpoint_root`).

    Parameters
    ----------
    path : str or Path
        Newick file (``soilbiome phylogeny``).
    feature_ids : sequence of str
        The counted features; when empty, the tips are not checked.
    prune : bool
        Allow tips that are not features, and cut them off.

    Returns
    -------
    str
        The tree's Newick text.

    Raises
    ------
    BiomError
        Missing file, not Newick, or tips differing from ``feature_ids``.
    """
    from soilbiome.io.biom_tree import parse_feature_tree

    path = Path(path)
    if not path.is_file():
        raise BiomError("tree file not found", location=str(path))
    text = path.read_text().strip()
    tree = parse_feature_tree(text, str(path), feature_ids, own_reader=True)
    tips = {t.name for t in tree.tips()}
    if feature_ids and tips != set(feature_ids):
        extra, missing = tips - set(feature_ids), set(feature_ids) - tips
        if missing or not prune:
            raise BiomError(
                f"tree tips differ from the counted features ({len(missing)} feature(s) not "
                f"in the tree, {len(extra)} tip(s) not counted)", location=str(path))
        from soilbiome.io.newick import midpoint_root, to_newick
        from soilbiome.io.newick import prune as prune_tree

        return to_newick(midpoint_root(prune_tree(tree, set(feature_ids))))
    return text
