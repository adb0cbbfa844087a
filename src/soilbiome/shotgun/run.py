"""The shotgun run's last step: Kraken2 reports -> Bracken-method estimates -> harmonised BIOM.

Also writes, per sample, a Bracken-format abundance file and one QC table row with the reads
at every step (in, after fastp, host, classified, unclassified) so a user sees where reads went:
soil shotgun data is often mostly unclassified, and that share is a result, not a failure.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from soilbiome.amplicon.qc import read_check_record, read_qc_record
from soilbiome.errors import InputError
from soilbiome.io.atomic import atomic_write
from soilbiome.io.profiles.kraken2 import read_kraken2
from soilbiome.io.profiles.model import COUNTS, Profile
from soilbiome.io.textfile import SafeWriter
from soilbiome.model.context import ProcessingContext
from soilbiome.shotgun.bracken import Estimate, estimate
from soilbiome.shotgun.kmer_distrib import read_kmer_distribution
from soilbiome.shotgun.table import TableSummary, integer_counts, write_profile_table
from soilbiome.taxonomy.taxdump import Taxonomy, read_taxdump

REPORT_SUFFIX = ".kraken2.report.txt"
#: Columns of ``shotgun_summary.tsv``.
SUMMARY_COLUMNS = (
    "sample", "reads_in", "reads_after_qc", "reads_host", "host_fraction", "reads_profiled",
    "reads_classified", "reads_unclassified", "classified_fraction", "unexplained_fraction",
    "reads_reestimated", "reads_kept_at_higher_rank",
)
BRACKEN_COLUMNS = ("name", "taxonomy_id", "taxonomy_lvl", "kraken_assigned_reads",
                   "added_reads", "new_est_reads", "fraction_total_reads")


@dataclass(frozen=True)
class ShotgunResult:
    """What :func:`build_shotgun_table` wrote."""

    table: TableSummary
    summary: list[dict]


def _sample_of(report: Path) -> str:
    name = report.name
    return name[: -len(REPORT_SUFFIX)] if name.endswith(REPORT_SUFFIX) else name.split(".")[0]


def _records(paths: Sequence[Path], read: Callable[[Path], dict], what: str,
             samples: Sequence[str]) -> dict[str, dict]:
    """Per-sample records by sample, each read (and checked field by field) by ``read``: one
    per profiled sample at most, none of a sample that was not profiled (another batch's)."""
    records: dict[str, dict] = {}
    for path in paths:
        data = read(path)
        sample = data["sample"]
        if sample in records:
            raise InputError(f"a second {what} of sample '{sample}'", location=str(path))
        if sample not in samples:
            raise InputError(f"{what} of sample '{sample}', which has no profile here "
                             f"({len(samples)} profiled)", location=str(path))
        records[sample] = data
    return records


def _read_report(report: Path, sample: str, qc: dict[str, dict], host: dict[str, dict]) -> Profile:
    """A sample's Kraken2 report; the empty file Kraken2 writes for a sample with no reads left
    (all N, or everything removed by QC or host removal) is an empty profile when the sample's
    records say no read reached Kraken2 -- the sample stays in the table with zero counts."""
    if report.is_file() and report.stat().st_size == 0:
        reads = host.get(sample, {}).get("reads", qc.get(sample, {}).get("reads_out"))
        if reads == 0:
            return Profile(sample=sample, profiler="kraken2", path=report, value_kind=COUNTS)
        if reads:
            raise InputError(f"sample '{sample}': the Kraken2 report is empty but {reads} reads "
                             "reached Kraken2 (interrupted classification?)", location=str(report))
    return read_kraken2(report, sample)


def write_bracken(est: Estimate, taxonomy: Taxonomy, rounded: dict[str, int], out: Path) -> None:
    """Write one sample's estimate in Bracken's output layout (every taxon kept in the table)."""
    total = sum(rounded.values())
    with atomic_write(out) as handle:
        writer = SafeWriter(csv.writer(handle, delimiter="\t", lineterminator="\n"))
        writer.writerow(BRACKEN_COLUMNS)
        for taxid in sorted(rounded, key=lambda t: -rounded[t]):
            kraken = int(round(est.kraken_reads.get(taxid, rounded[taxid])))
            kraken = min(kraken, rounded[taxid])
            rank = taxonomy.rank.get(taxid, "") if taxid in taxonomy else ""
            writer.writerow([
                taxonomy.name.get(taxid, taxid), taxid, rank, kraken,
                rounded[taxid] - kraken, rounded[taxid],
                f"{rounded[taxid] / total:.5f}" if total else "0.00000",
            ])


def build_shotgun_table(
    reports: Sequence[Path],
    db: Path,
    samplesheet: Path,
    out: Path,
    *,
    distribution: Path | None = None,
    qc_records: Sequence[Path] = (),
    host_checks: Sequence[Path] = (),
    threshold: int = 10,
    reference: str,
    classifier: str = "kraken2 + Bracken method (soilbiome)",
    abundance_dir: Path | None = None,
    summary_tsv: Path | None = None,
    table_id: str | None = None,
    context: ProcessingContext | None = None,
) -> ShotgunResult:
    """Re-estimate each sample's Kraken2 report and write the batch's BIOM table.

    Parameters
    ----------
    reports : sequence of Path
        ``<sample>.kraken2.report.txt`` per sample.
    db : Path
        The Kraken2 database folder (its ``taxonomy/`` gives the lineages).
    samplesheet : Path
        Validated samplesheet; every sample must have a report.
    out : Path
        BIOM file to write.
    distribution : Path, optional
        Bracken ``kmer_distrib`` file; without it Kraken2 counts are used unchanged.
    qc_records, host_checks : sequence of Path
        Per-sample QC records (``soilbiome qc-record``) and ``fastq-check`` JSON of the
        host-depleted reads, for the read accounting.
    threshold : int
        Bracken's minimum clade reads for re-estimation.
    reference, classifier : str
        Recorded per observation.
    abundance_dir, summary_tsv : Path, optional
        Where to write per-sample Bracken-format files and the read accounting table.
    table_id : str, optional

    Returns
    -------
    ShotgunResult
    """
    taxonomy = read_taxdump(db)
    dist = read_kmer_distribution(distribution) if distribution else None
    samples = [_sample_of(Path(report)) for report in reports]
    qc = _records(qc_records, read_qc_record, "QC record", samples)
    host = _records(host_checks, read_check_record, "host-removal read count", samples)
    profiles: list[Profile] = []
    rows: list[dict] = []
    abundances = []  # written once the table is: a refused table leaves none of them
    for report, sample in zip(reports, samples, strict=True):
        profile = _read_report(Path(report), sample, qc, host)
        kraken_classified = sum(profile.values.values())
        reestimated = kept_high = 0.0
        if dist is not None:
            est = estimate(profile.values, taxonomy, dist, threshold=threshold)
            profile.values = est.reads
            reestimated, kept_high = est.distributed, est.undistributed
            if abundance_dir is not None:
                abundances.append((est, Path(abundance_dir) / f"{sample}.bracken.tsv"))
        profiles.append(profile)
        classified = int(round(kraken_classified))
        unclassified = int(profile.unclassified)
        profiled = classified + unclassified
        record = qc.get(sample, {})
        reads_qc = record.get("reads_out", "")
        after_host = host.get(sample, {}).get("reads")
        reads_host = (reads_qc - after_host) if (after_host is not None and reads_qc != "") else 0
        if after_host is not None and after_host != profiled:
            raise InputError(
                f"sample '{sample}': {after_host} reads left after host removal but Kraken2 "
                f"profiled {profiled}", location=str(report))
        rows.append({
            "sample": sample,
            "reads_in": record.get("reads_in", ""),
            "reads_after_qc": reads_qc,
            "reads_host": reads_host,
            "host_fraction": (f"{reads_host / reads_qc:.4f}" if reads_qc not in ("", 0)
                              else "0.0000"),
            "reads_profiled": profiled,
            "reads_classified": classified,
            "reads_unclassified": unclassified,
            "classified_fraction": f"{classified / profiled:.4f}" if profiled else "0.0000",
            "unexplained_fraction": (f"{unclassified / profiled:.4f}" if profiled
                                     else "0.0000"),
            "reads_reestimated": int(round(reestimated)),
            "reads_kept_at_higher_rank": int(round(kept_high)),
        })
    extra = {
        r["sample"]: {k: r[k] for k in ("reads_in", "reads_after_qc", "reads_host",
                                        "host_fraction")}
        for r in rows
    }
    summary = write_profile_table(
        profiles, taxonomy, out, samplesheet=samplesheet, classifier=classifier,
        reference=reference, extra_sample_metadata=extra, table_id=table_id, context=context,
    )
    for est, path in abundances:
        write_bracken(est, taxonomy, integer_counts(est.reads), path)
    if summary_tsv is not None:
        with atomic_write(summary_tsv) as handle:
            writer = SafeWriter(csv.DictWriter(handle, fieldnames=SUMMARY_COLUMNS,
                                               delimiter="\t", lineterminator="\n"))
            writer.writeheader()
            writer.writerows(rows)
    return ShotgunResult(summary, rows)
