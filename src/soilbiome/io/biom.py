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
* the ASV tree, when built with one: Newick text in the dataset ``/soilbiome/phylogeny``
  (:mod:`soilbiome.io.biom_tree`), which biom-format ignores and so can re-save the table;
* attributes: ``type = "OTU table"``, ``generated-by = "soilbiome <version>"``, a naive
  ISO 8601 ``creation-date`` (biom-format's validator rejects a timezone).

The layout follows the BIOM 2.1 specification (https://biom-format.org/documentation/
format_versions/biom-2.1.html). biom-format's own validator misses duplicate IDs and corrupt
``indptr`` arrays, and reports but does not fail metadata of the wrong length, so
:func:`~soilbiome.io.biom_validate.validate_biom` runs it *and* our structural checks; the
one reader is :func:`soilbiome.io.biom_reader.read_table`.

Reading the inputs lives in :mod:`soilbiome.io.biom_inputs`, writing the HDF5 file in
:mod:`soilbiome.io.biom_writer`; this module builds the table (and re-exports both for callers).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import sparse

from soilbiome.io.biom_inputs import (  # noqa: F401  (re-exported)
    Counts,
    SampleMetadata,
    read_counts,
    read_sample_metadata,
    read_tree,
)
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
from soilbiome.io.biom_writer import pad_empty_samples, write_biom
from soilbiome.io.jsonfile import dumps
from soilbiome.model.context import ProcessingContext
from soilbiome.model.soil import SAMPLE_UNITS_ATTR, canonical_units, typed_metadata
from soilbiome.taxonomy.lineage import (
    RANKS,
    Lineage,
    read_lineage,
    taxonomy_strings,
)

#: A syntactically valid R name; others are renamed by R's check.names (``16s`` -> ``X16s``).
_R_NAME = re.compile(r"^(?:[A-Za-z]|\.(?![0-9]))[A-Za-z0-9._]*$")


@dataclass(frozen=True)
class BuildSummary:
    """What :func:`build_biom` wrote."""

    path: Path
    n_observations: int
    n_samples: int
    empty_samples: tuple[str, ...]
    unused_lineages: int
    r_unsafe_columns: tuple[str, ...] = ()
    tree: str | None = None  # the Newick tree stored in the table (pruned with prune_tree)


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
    )


def build_biom(
    counts_path: str | Path,
    lineage_path: str | Path,
    samplesheet_path: str | Path,
    out: str | Path,
    *,
    table_id: str | None = None,
    tree_path: str | Path | None = None,
    prune_tree: bool = False,
    context: ProcessingContext | None = None,
) -> BuildSummary:
    """Build ``table.biom`` from ``asv_counts.tsv``, ``lineage.tsv`` and a validated sheet.

    Parameters
    ----------
    counts_path, lineage_path, samplesheet_path : str or Path
    out : str or Path
    table_id : str, optional
        BIOM table ID (default: the output file name without suffix).
    tree_path : str or Path, optional
        Newick tree whose tips are exactly the counted features (``soilbiome phylogeny``),
        stored at ``/soilbiome/phylogeny`` (:mod:`soilbiome.io.biom_tree`; not as BIOM
        observation group metadata, which biom-format cannot re-save).
    prune_tree : bool
        The tree may hold more tips than the counted features (the pipeline's tree of every
        DADA2 ASV, built while taxonomy and clean-up run): it is cut to the features and
        rooted again at its midpoint (:func:`soilbiome.io.biom_inputs.read_tree`).
    context : ProcessingContext, optional
        How the ASVs were made; the ASV length range and ``counts`` are filled in here.

    Returns
    -------
    BuildSummary
    """
    out = Path(out)
    counts = read_counts(counts_path)
    lineages = read_lineage(lineage_path)
    samples = read_sample_metadata(samplesheet_path)
    tree = read_tree(tree_path, counts.feature_ids, prune=prune_tree) if tree_path else None
    table = build_table(
        counts, lineages, samples, lineage_path=lineage_path, table_id=table_id or out.stem,
    )
    units = canonical_units(list(samples.rows))
    if context is not None:
        lengths = [len(s) for s in counts.sequences if s]
        context = context.with_values(
            value_kind="counts",
            asv_length=f"{min(lengths)}-{max(lengths)}" if lengths else "")
    write_biom(table, out,
               attributes={SAMPLE_UNITS_ATTR: dumps(units, indent=None)} if units else None,
               context=context, tree=tree)
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
        tree,
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
