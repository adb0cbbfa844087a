"""``soilbiome shotgun``: Bracken-method k-mer distributions and the shotgun BIOM table."""

from __future__ import annotations

from pathlib import Path

import click

_path = click.Path(path_type=Path)
_file = click.Path(path_type=Path, exists=True, dir_okay=False)
_dir = click.Path(path_type=Path, exists=True, file_okay=False)


def _options(*options):  # noqa: ANN002, ANN202
    """Apply click options in the order they are listed (as if written one above the other)."""
    def apply(func):  # noqa: ANN001, ANN202
        for option in reversed(options):
            func = option(func)
        return func
    return apply


# what both table commands (Kraken2 reports, sylph profiles) read besides the profiles ...
_sample_inputs = _options(
    click.option("--samplesheet", type=_file, required=True, help="Validated samplesheet CSV."),
    click.option("--qc-record", "qc_records", type=_file, multiple=True,
                 help="Per-sample QC record JSON (repeat)."),
    click.option("--host-check", "host_checks", type=_file, multiple=True,
                 help="fastq-check JSON of the host-depleted reads (repeat)."),
)
# ... and what they write into the table and where
_table_outputs = _options(
    click.option("--table-id", default=None),
    click.option("--context", "context_json", type=_file, default=None,
                 help="Processing context JSON (method, reference, ...; docs/biom.md)."),
    click.option("--versions", "versions_files", type=_file, multiple=True,
                 help="versions.yml of the profiling steps: fills the method's version."),
    click.option("--out", type=_path, required=True, help="BIOM table to write."),
    click.option("--validate", "then_validate", is_flag=True,
                 help="Then validate the table as 'soilbiome biom validate' does (same "
                      "process); an invalid table is removed."),
)


@click.group("shotgun")
def shotgun() -> None:
    """Shotgun metagenomes: Kraken2 results to a harmonised taxon table."""


@shotgun.command("kmer-distribution")
@click.option("--db", type=_dir, required=True, help="Kraken2 database folder (with library/).")
@click.option("--read-length", type=click.IntRange(min=1), required=True,
              help="Read length the distribution is for (Bracken's -l).")
@click.option("--threads", type=click.IntRange(min=1), default=1, show_default=True)
@click.option("--out", type=_path, required=True, help="database<L>mers.kmer_distrib to write.")
def kmer_distribution(db: Path, read_length: int, threads: int, out: Path) -> None:
    """Build the Bracken k-mer distribution of DB from its own library (as bracken-build)."""
    import tempfile

    from soilbiome.shotgun.bracken_build import database_distributions, kraken2_kmer_length

    with tempfile.TemporaryDirectory(dir=out.resolve().parent) as tmp:
        dist = database_distributions(db, [read_length], threads=threads, workdir=tmp)[read_length]
    k = kraken2_kmer_length(db)
    dist.write(out)
    click.echo(f"{out}: {len(dist.totals)} genomes, {len(dist.mapped)} mapped taxa "
               f"({read_length}-mers, k = {k})")


@shotgun.command("table")
@click.argument("reports", type=_file, nargs=-1, required=True)
@click.option("--db", type=_dir, required=True, help="Kraken2 database folder (taxonomy/).")
@click.option("--distribution", type=_file, default=None,
              help="Bracken k-mer distribution; without it Kraken2 counts are kept as they are.")
@_sample_inputs
@click.option("--threshold", type=click.IntRange(min=0), default=10, show_default=True,
              help="Minimum clade reads for a species to be re-estimated (Bracken's -t).")
@click.option("--reference", required=True, help="Database name and version, per observation.")
@click.option("--abundance-dir", type=_path, default=None,
              help="Write <sample>.bracken.tsv files here.")
@click.option("--summary", "summary_tsv", type=_path, default=None,
              help="Read accounting table (TSV) to write.")
@_table_outputs
def table(reports: tuple[Path, ...], db: Path, distribution: Path | None, samplesheet: Path,
          qc_records: tuple[Path, ...], host_checks: tuple[Path, ...], threshold: int,
          reference: str, abundance_dir: Path | None, summary_tsv: Path | None,
          table_id: str | None, context_json: Path | None, versions_files: tuple[Path, ...],
          out: Path, then_validate: bool) -> None:
    """Re-estimate REPORTS (Kraken2 --report, one per sample) and write one BIOM table."""
    from soilbiome.io.context import read_context
    from soilbiome.shotgun.run import build_shotgun_table

    context = read_context(context_json, list(versions_files)) if context_json else None

    res = build_shotgun_table(
        list(reports), db, samplesheet, out, distribution=distribution,
        qc_records=list(qc_records), host_checks=list(host_checks), threshold=threshold,
        reference=reference, abundance_dir=abundance_dir, summary_tsv=summary_tsv,
        table_id=table_id, context=context,
    )
    shares = ", ".join(f"{r['sample']} {float(r['classified_fraction']):.1%}"
                       for r in res.summary)
    click.echo(f"{out}: {res.table.n_taxa} taxa x {res.table.n_samples} samples; "
               f"classified: {shares}")
    if then_validate:
        from soilbiome.cli.biom import validate_written

        validate_written(out)


def register(main: click.Group) -> None:
    """Add the ``shotgun`` group to the main command."""
    main.add_command(shotgun)


@shotgun.command("sylph-profile")
@click.argument("reads", type=_file, nargs=-1)
@click.option("--db", type=_dir, required=True,
              help="sylph database folder (database.syldb + lineages.tsv).")
@click.option("--sample", default=None, help="Sample ID (with READS).")
@click.option("--out", type=_path, default=None, help="<sample>.sylph.tsv to write (with READS).")
@click.option("--batch", "manifest", type=_file, default=None,
              help="Instead of READS: TSV of a batch, one 'sample<TAB>R1[<TAB>R2]' line per "
                   "sample; the database is loaded once.")
@click.option("--outdir", type=_path, default=None,
              help="Folder for the batch's <sample>.sylph.tsv files (with --batch).")
@click.option("--threads", type=click.IntRange(min=1), default=None,
              help="Threads (default: all cores): with --batch, samples are sketched this "
                   "many at a time; sylph's profiling shares them.")
@click.option("--qc-records", is_flag=True,
              help="With --batch, reads as sequenced: also write each sample's QC record "
                   "(<sample>.qc.json) from the sketching pass's counts.")
@click.option("--fastp", "fastp_commands", type=_file, default=None,
              help="With --batch: TSV of 'sample<TAB>fastp command' (inputs, options, --json "
                   "report): each sample's reads go through fastp into the sketcher, with the "
                   "FASTQ check beside it, and its QC record (<sample>.qc.json) is written.")
def sylph_profile(reads: tuple[Path, ...], db: Path, sample: str | None,  # noqa: PLR0913
                  out: Path | None, manifest: Path | None, outdir: Path | None,
                  threads: int | None, qc_records: bool, fastp_commands: Path | None) -> None:
    """Sketch READS (one FASTQ, or R1 R2) and profile them with sylph against DB; or every
    sample of a --batch manifest against DB loaded once."""
    import os

    from soilbiome.errors import InputError

    if threads is not None:  # pysylph's Rayon pool reads this when it first starts
        os.environ["RAYON_NUM_THREADS"] = str(threads)
    if manifest is not None:
        if reads or sample or out:
            raise InputError("give either --batch (with --outdir) or READS with --sample/--out")
        if outdir is None:
            raise InputError("--batch needs --outdir")
        from soilbiome.shotgun.sylph_profile import (
            profile_batch_to_tsvs,
            read_batch_manifest,
            read_fastp_commands,
        )

        samples = read_batch_manifest(manifest)
        fastp = read_fastp_commands(fastp_commands) if fastp_commands is not None else None
        for profile in profile_batch_to_tsvs(db, samples, outdir, qc_records=qc_records,
                                             workers=threads or os.cpu_count() or 1,
                                             fastp=fastp):
            click.echo(f"{outdir / (profile.sample + '.sylph.tsv')}: {len(profile.hits)} "
                       f"genome(s); the database explains {profile.explained:.1%} of the reads")
        return
    if not reads or not sample or out is None:
        raise InputError("give READS with --sample and --out, or --batch MANIFEST --outdir DIR")
    if qc_records or fastp_commands is not None:
        raise InputError("--qc-records and --fastp go with --batch")
    from soilbiome.shotgun.sylph_profile import profile_reads_to_tsv

    profile = profile_reads_to_tsv(db, sample, list(reads), out)
    click.echo(f"{out}: {len(profile.hits)} genome(s); the database explains "
               f"{profile.explained:.1%} of the reads")


@shotgun.command("sylph-table")
@click.argument("profiles", type=_file, nargs=-1, required=True)
@click.option("--db", type=_dir, required=True, help="sylph database folder (lineages.tsv).")
@_sample_inputs
@click.option("--reference", required=True, help="Database name and version, per observation.")
@click.option("--summary", "summary_tsv", type=_path, default=None,
              help="Profiled / unexplained share per sample (TSV) to write.")
@_table_outputs
def sylph_table(profiles: tuple[Path, ...], db: Path, samplesheet: Path,  # noqa: PLR0913
                qc_records: tuple[Path, ...], host_checks: tuple[Path, ...], reference: str,
                summary_tsv: Path | None, table_id: str | None, context_json: Path | None,
                versions_files: tuple[Path, ...], out: Path, then_validate: bool) -> None:
    """Turn sylph PROFILES (one TSV per sample) into one BIOM table."""
    from soilbiome.io.context import read_context
    from soilbiome.shotgun.sylph_run import build_sylph_table

    context = read_context(context_json, list(versions_files)) if context_json else None
    res = build_sylph_table(list(profiles), db, samplesheet, out, qc_records=list(qc_records),
                            host_checks=list(host_checks), reference=reference,
                            summary_tsv=summary_tsv, table_id=table_id, context=context)
    shares = ", ".join(f"{r['sample']} {float(r['profiled_fraction']):.1%}" for r in res.summary)
    click.echo(f"{out}: {res.table.n_taxa} taxa x {res.table.n_samples} samples; "
               f"profiled: {shares}")
    if then_validate:
        from soilbiome.cli.biom import validate_written

        validate_written(out)


@shotgun.command("sylph-version")
def sylph_version() -> None:
    """Print the sylph build linked into soilbiome (pysylph's version)."""
    from soilbiome.shotgun.sylph import version

    click.echo(version())


@shotgun.command("stream-kraken2")
@click.argument("reads", type=_path, nargs=-1, required=True)
@click.option("--sample", required=True, help="Sample ID (messages, the check record).")
@click.option("--check-out", type=_path, required=True,
              help="JSON file for the FASTQ check's read counts (as fastq-check writes).")
@click.option("--fastp", "fastp_command", default=None,
              help="fastp's command line (inputs, options) without outputs (added: the FIFO). "
                   "Without it Kraken2 reads READS as they are (--shotgun_qc none).")
@click.option("--db", type=_dir, required=True, help="Kraken2 database folder.")
@click.option("--threads", type=click.IntRange(min=1), default=1, show_default=True)
@click.option("--confidence", type=click.FloatRange(0, 1), default=0.0, show_default=True)
@click.option("--report", type=_path, required=True, help="Kraken2 report to write.")
@click.option("--output", default="/dev/null", show_default=True,
              help="Kraken2's per-read output.")
@click.option("--qc-record", "qc_out", type=_path, default=None,
              help="Also write the sample's QC record (as qc-record does) from the check and "
                   "--fastp-json; without --fastp, from the check's counts alone.")
@click.option("--fastp-json", type=_path, default=None,
              help="The fastp JSON report the --fastp command writes (with --qc-record).")
def stream_kraken2(reads: tuple[Path, ...], sample: str, check_out: Path,  # noqa: PLR0913
                   fastp_command: str | None, db: Path, threads: int, confidence: float,
                   report: Path, output: str, qc_out: Path | None, fastp_json: Path | None) -> None:
    """Run fastp on READS (one FASTQ, or R1 R2) into Kraken2 through a named pipe, with the
    FASTQ check beside them: one pass over the reads, nothing written in between. Without
    --fastp, Kraken2 classifies READS as they are, the check beside it."""
    from soilbiome.errors import InputError
    from soilbiome.io.atomic import atomic_outputs
    from soilbiome.shotgun.streamed import Kraken2Options, run_streamed

    if fastp_command is not None and (qc_out is None) != (fastp_json is None):
        raise InputError("--qc-record and --fastp-json go together")
    if fastp_command is None and fastp_json is not None:
        raise InputError("--fastp-json goes with --fastp")
    # every file this command writes is staged beside its target and renamed into place only
    # when fastp, Kraken2 and the check all succeeded: a failure leaves none of them, and an
    # earlier report of the same name as it was (Kraken2 opens its report when it starts)
    with atomic_outputs() as outputs:
        per_read = output if output == "-" or output.startswith("/dev/") else \
            str(outputs.file(output))
        check_tmp = outputs.file(check_out)
        run = run_streamed(sample, list(reads), fastp=fastp_command, check_out=check_tmp,
                           kraken2=Kraken2Options(db, threads, confidence, outputs.file(report),
                                                  per_read))
        if qc_out is not None:  # one Python start-up less per sample than a separate qc-record
            from soilbiome.amplicon.qc import unfiltered_record, write_qc_record
            from soilbiome.io.jsonfile import write_json

            if fastp_json is not None:
                write_qc_record(check_tmp, fastp_json, outputs.file(qc_out))
            else:
                stats = run.stats
                write_json(outputs.file(qc_out), unfiltered_record(
                    sample, paired=stats.paired, reads=stats.reads,
                    bases=stats.bases_r1 + stats.bases_r2, q30_bases=stats.q30_bases,
                    gc_bases=stats.gc_bases))
    what = "filtered and classified" if fastp_command else "classified as sequenced"
    click.echo(f"{sample}: {run.reads} reads{' (pairs)' if run.paired else ''} checked, "
               f"{what} in one pass")
