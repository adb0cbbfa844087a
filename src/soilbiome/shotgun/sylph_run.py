"""The pipeline's sylph table: the batch's sylph profile TSVs -> BIOM table and summary.

The TSVs are written per sample by :mod:`soilbiome.shotgun.sylph_profile` (``soilbiome shotgun
sylph-profile``). For the batch (``soilbiome shotgun sylph-table``) those files are read back
through the one sylph reader (:mod:`soilbiome.io.profiles.sylph`); lineages come from the database's
``lineages.tsv``. The table holds **sequence abundance** (share of the sample's reads per
genome, summed per species) plus the feature ``unclassified`` = the share the database does not
explain, so every column sums to 1 and the unknown majority of a soil sample stays visible.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from soilbiome.amplicon.qc import read_check_record, read_qc_record
from soilbiome.errors import InputError
from soilbiome.io.atomic import atomic_write
from soilbiome.io.genome_lineages import read_genome_lineages
from soilbiome.io.profiles.model import RELATIVE, Profile
from soilbiome.io.profiles.sylph import read_sylph_samples
from soilbiome.model.context import ProcessingContext
from soilbiome.shotgun.lineage_profiles import genome_profiles_taxonomy
from soilbiome.shotgun.run import _records
from soilbiome.shotgun.sylph import LINEAGE_FILE
from soilbiome.shotgun.table import TableSummary, write_profile_table

#: Columns of ``sylph_summary.tsv``.
SUMMARY_COLUMNS = ("sample", "reads_in", "reads_after_qc", "reads_host", "host_fraction",
                   "genomes_detected", "profiled_fraction", "unexplained_fraction")


@dataclass(frozen=True)
class SylphResult:
    """What :func:`build_sylph_table` wrote."""

    table: TableSummary
    summary: list[dict]


def build_sylph_table(
    tsvs: Sequence[Path], db: Path, samplesheet: Path, out: Path, *,
    qc_records: Sequence[Path] = (), host_checks: Sequence[Path] = (), reference: str,
    summary_tsv: Path | None = None, table_id: str | None = None,
    context: ProcessingContext | None = None,
) -> SylphResult:
    """Read every sample's sylph TSV and write the batch's BIOM table and summary.

    Raises
    ------
    InputError
        A TSV that is not sylph's, a sample given twice, a genome missing from the database's
        lineage file (the database and its lineages must belong together).
    """
    lineages = read_genome_lineages(Path(db) / LINEAGE_FILE)
    profiles = []
    for tsv in tsvs:
        found = read_sylph_samples(Path(tsv))
        if not found:  # no genome of the database in the sample: all of it is unexplained
            found = [Profile(Path(tsv).name.split(".", 1)[0], "sylph", Path(tsv),
                             unclassified=1.0, value_kind=RELATIVE)]
        profiles.extend(found)
    explained = {p.sample: sum(p.values.values()) for p in profiles}
    detected = {p.sample: len(p.values) for p in profiles}
    taxonomy, missing = genome_profiles_taxonomy(profiles, lineages, str(db))
    if missing:
        raise InputError(f"{len(missing)} genome(s) of the profiles are not in the database's "
                         f"lineage file: {', '.join(missing[:5])}",
                         location=str(Path(db) / LINEAGE_FILE))
    samples = [p.sample for p in profiles]
    qc = _records(qc_records, read_qc_record, "QC record", samples)
    host = _records(host_checks, read_check_record, "host-removal read count", samples)
    rows = []
    for profile in profiles:
        sample = profile.sample
        record = qc.get(sample, {})
        reads_qc = record.get("reads_out", "")
        after_host = host.get(sample, {}).get("reads")
        reads_host = (reads_qc - after_host) if (after_host is not None and reads_qc != "") else 0
        rows.append({
            "sample": sample, "reads_in": record.get("reads_in", ""), "reads_after_qc": reads_qc,
            "reads_host": reads_host,
            "host_fraction": (f"{reads_host / reads_qc:.4f}" if reads_qc not in ("", 0)
                              else "0.0000"),
            "genomes_detected": detected[sample],
            "profiled_fraction": f"{min(1.0, explained[sample]):.4f}",
            "unexplained_fraction": f"{max(0.0, 1.0 - explained[sample]):.4f}",
        })
    extra = {r["sample"]: {k: r[k] for k in SUMMARY_COLUMNS[1:]} for r in rows}
    summary = write_profile_table(
        profiles, taxonomy, out, samplesheet=samplesheet, classifier="sylph (pysylph)",
        reference=reference, extra_sample_metadata=extra, table_id=table_id,
        context=(context or ProcessingContext()).with_values(
            taxonomy_system=(context.taxonomy_system if context and context.taxonomy_system
                             else "GTDB")),
    )
    if summary_tsv is not None:
        with atomic_write(summary_tsv) as handle:
            writer = csv.DictWriter(handle, fieldnames=SUMMARY_COLUMNS, delimiter="\t",
                                    lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
    return SylphResult(summary, rows)
