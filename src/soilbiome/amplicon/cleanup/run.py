"""Clean an ASV count table: non-target ASVs (16S) and contaminants (negative controls).

Reads the DADA2 counts (``asv_counts.tsv``), the harmonised lineages and the validated
samplesheet, and writes to one folder (each file atomically):

``asv_counts.tsv``
    the counts that go into the published BIOM: non-target ASVs moved out; flagged
    contaminants moved out only when asked (``remove_contaminants``).
``nontarget_counts.tsv``
    the chloroplast / mitochondria ASVs (same columns as ``asv_counts.tsv``).
``nontarget_summary.tsv``
    per sample: reads, chloroplast reads, mitochondria reads, their fractions, reads kept.
``contaminants.tsv``
    per ASV with a prevalence score: decontam's columns (freq, prev, p.prev, contaminant)
    plus the controls/samples it was found in and whether it was removed.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import sparse

from soilbiome.amplicon.cleanup.decontam import DEFAULT_THRESHOLD, prevalence_contaminants
from soilbiome.amplicon.cleanup.nontarget import NON_TARGET_16S, nontarget_categories
from soilbiome.errors import InputError
from soilbiome.io.atomic import atomic_write
from soilbiome.io.biom_inputs import Counts, read_counts, read_sample_metadata, write_counts
from soilbiome.io.biom_layout import name_some
from soilbiome.io.textfile import SafeWriter
from soilbiome.model.samplesheet import NEGATIVE_CONTROL
from soilbiome.taxonomy.lineage import read_lineage


@dataclass(frozen=True)
class CleanupSummary:
    """What :func:`clean_counts` did."""

    n_asvs: int
    n_nontarget: dict[str, int]
    n_controls: int
    n_contaminants: int
    removed_contaminants: bool


def _write_counts(path: Path, counts: Counts, rows: np.ndarray) -> None:
    write_counts(path, [counts.feature_ids[i] for i in rows],
                 [counts.sequences[i] for i in rows], counts.sample_ids, counts.matrix[rows])


def _fmt(value: float) -> str:
    return "NA" if math.isnan(value) else f"{value:.6g}"


def clean_counts(counts_path: str | Path, lineage_path: str | Path, samplesheet: str | Path,
                 outdir: str | Path, *, marker: str = "16S",
                 threshold: float = DEFAULT_THRESHOLD,
                 remove_contaminants: bool = False) -> CleanupSummary:
    """Move non-target ASVs out of the counts and flag (optionally remove) contaminants.

    Parameters
    ----------
    counts_path, lineage_path, samplesheet : str or Path
        ``asv_counts.tsv``, ``lineage.tsv`` and the validated samplesheet CSV.
    outdir : str or Path
        Folder for the four outputs (module docstring).
    marker : str
        ``16S`` removes chloroplasts and mitochondria; other markers keep every ASV.
    threshold : float
        decontam's probability threshold.
    remove_contaminants : bool
        Move flagged contaminants out of the published counts too.

    Returns
    -------
    CleanupSummary
    """
    if not 0.0 <= threshold <= 1.0:
        raise InputError(f"contaminant threshold must be within 0-1, got {threshold}")
    outdir = Path(outdir)
    counts = read_counts(counts_path)
    lineages = read_lineage(lineage_path)
    sheet = read_sample_metadata(samplesheet)
    missing = [s for s in counts.sample_ids if s not in sheet.sample_ids]
    if missing:
        raise InputError(f"samples not in the samplesheet {sheet.path}: {', '.join(missing[:5])}",
                         location=str(counts.path))
    no_lineage = [f for f in counts.feature_ids if f not in lineages]
    if no_lineage:  # the rule biom build applies: no ASV kept or moved without a lineage
        raise InputError(f"no lineage row for {len(no_lineage)} feature(s) of "
                         f"{counts.path}: {name_some(no_lineage)}", location=str(lineage_path))
    meta = dict(zip(sheet.sample_ids, sheet.rows, strict=True))
    negative = [meta[s].get("sample_type", "") == NEGATIVE_CONTROL for s in counts.sample_ids]

    n = len(counts.feature_ids)
    if marker.upper().startswith("16S"):
        category = nontarget_categories(counts.feature_ids, lineages)
    else:
        category = [None] * n
    is_nontarget = np.array([c is not None for c in category], dtype=bool)

    target = np.flatnonzero(~is_nontarget)
    table = sparse.csr_matrix(counts.matrix[target].T) if n else sparse.csr_matrix(
        (len(counts.sample_ids), 0))
    result = prevalence_contaminants(table, negative, [counts.feature_ids[i] for i in target],
                                     threshold)
    contaminant = np.zeros(n, dtype=bool)
    contaminant[target] = result.contaminant
    keep = ~is_nontarget & ~(contaminant if remove_contaminants else np.zeros(n, dtype=bool))

    outdir.mkdir(parents=True, exist_ok=True)
    _write_counts(outdir / "asv_counts.tsv", counts, np.flatnonzero(keep))
    _write_counts(outdir / "nontarget_counts.tsv", counts, np.flatnonzero(is_nontarget))

    totals = counts.matrix.sum(axis=0)
    kept = counts.matrix[keep].sum(axis=0)
    per_category = {c: counts.matrix[[x == c for x in category]].sum(axis=0)
                    for c in NON_TARGET_16S}
    with atomic_write(outdir / "nontarget_summary.tsv") as handle:
        writer = SafeWriter(csv.writer(handle, delimiter="\t", lineterminator="\n"))
        header = ["sample", "reads"]
        for c in NON_TARGET_16S:
            header += [f"{c}_reads", f"{c}_fraction"]
        writer.writerow([*header, "reads_kept"])
        for j, sample in enumerate(counts.sample_ids):
            row: list[object] = [sample, int(totals[j])]
            for c in NON_TARGET_16S:
                reads = int(per_category[c][j])
                row += [reads, f"{reads / totals[j]:.6g}" if totals[j] else "0"]
            writer.writerow([*row, int(kept[j])])

    with atomic_write(outdir / "contaminants.tsv") as handle:
        writer = SafeWriter(csv.writer(handle, delimiter="\t", lineterminator="\n"))
        writer.writerow(["feature_id", "freq", "prev", "prev_controls", "prev_samples",
                         "p_prev", "contaminant", "removed"])
        for k, i in enumerate(target):
            if math.isnan(result.p[k]) and not result.prevalence[k]:
                continue
            flagged = bool(result.contaminant[k])
            writer.writerow([counts.feature_ids[i], _fmt(result.freq[k]), int(result.prevalence[k]),
                             int(result.prevalence_controls[k]),
                             int(result.prevalence[k] - result.prevalence_controls[k]),
                             _fmt(result.p[k]), str(flagged).upper(),
                             str(flagged and remove_contaminants).upper()])
    return CleanupSummary(
        n_asvs=n,
        n_nontarget={c: sum(1 for x in category if x == c) for c in NON_TARGET_16S},
        n_controls=result.n_controls,
        n_contaminants=int(result.contaminant.sum()),
        removed_contaminants=remove_contaminants,
    )
