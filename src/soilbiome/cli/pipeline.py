"""Pipeline-stage commands: validate, fastq-check, qc-record, qc-summary, run."""

from __future__ import annotations

from pathlib import Path

import click

from soilbiome.errors import ToolError

_path = click.Path(path_type=Path)


@click.command()
@click.argument("samplesheet", type=_path)
@click.option("--out", type=_path, help="Write the normalised sheet (absolute paths) here.")
@click.option("--env", default=None, metavar="VAR[,VAR...]",
              help="Also check these soil variables for 'diversity --env' (numeric columns).")
def validate(samplesheet: Path, out: Path | None, env: str | None) -> None:
    """Validate SAMPLESHEET: columns, sample IDs, read files, MIxS soil fields."""
    from soilbiome.errors import SamplesheetError
    from soilbiome.model.samplesheet import load_samplesheet

    sheet = load_samplesheet(samplesheet)
    if env:
        from soilbiome.model.soil import check_env_columns
        from soilbiome.soil.context import parse_env

        problems = check_env_columns(
            sheet.metadata_columns, [r.metadata for r in sheet.rows], parse_env(env))
        if problems:
            raise SamplesheetError(str(samplesheet), problems)
    if out:
        sheet.write_normalised(out)
    paired = sum(1 for r in sheet.rows if not r.single_end)
    click.echo(
        f"samplesheet OK: {len(sheet.rows)} samples ({paired} paired-end, "
        f"{len(sheet.rows) - paired} single-end)"
    )


@click.command("fastq-check")
@click.option("--sample", required=True, help="Sample ID (used in messages and the record).")
@click.option("--out", type=_path, required=True, help="JSON file for the read counts.")
@click.argument("fastq_1", type=_path)
@click.argument("fastq_2", type=_path, required=False)
def fastq_check(sample: str, out: Path, fastq_1: Path, fastq_2: Path | None) -> None:
    """Check FASTQ_1 [FASTQ_2]: gzip integrity, record structure, mates in step."""
    from soilbiome.io.fastq import check_sample
    from soilbiome.io.jsonfile import write_json

    stats = check_sample(sample, fastq_1, fastq_2)
    write_json(out, stats.to_dict())
    click.echo(f"{sample}: {stats.reads} reads{' (pairs)' if stats.paired else ''}")


@click.command("preflight")
@click.option("--input", "input_", type=_path, required=True, help="Samplesheet CSV.")
@click.option("--staging", type=_path, required=True,
              help="Folder for the checked copies (the pipeline uses its work directory).")
@click.option("--refdb-sheet", type=_path, default=None, help="Database sheet CSV.")
@click.option("--refdb", default=None, help="Database name in the sheet.")
@click.option("--agreement", type=_path, default=None, help="Sharing agreement YAML.")
@click.option("--signing-key", default=None,
              help="Ed25519 private key, or 'throwaway' (made in the staging folder).")
@click.option("--primer-fwd", default=None)
@click.option("--primer-rev", default=None)
@click.option("--trunc-len-f", type=int, default=0, show_default=True)
@click.option("--trunc-len-r", type=int, default=0, show_default=True)
@click.option("--env", default=None, metavar="VAR[,VAR...]",
              help="Soil variables for 'diversity --env' (numeric sheet columns).")
@click.option("--host-db", default=None, help="Shotgun host genome name in the database sheet.")
@click.option("--shotgun-profiler", default=None,
              help="kraken2, sylph or sylph,kraken2 (--mode shotgun; default kraken2).")
@click.option("--sylph-db", default=None,
              help="sylph database name in the sheet (default: --refdb if it is one).")
@click.option("--today", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Reference date of the agreement checks (default: today).")
@click.option("--mode", type=click.Choice(["amplicon", "shotgun", "compare"]), default=None,
              help="Check that every executable this mode will call is on the tasks' PATH.")
@click.option("--its-region", default="auto", show_default=True)
@click.option("--skip-phylogeny", is_flag=True)
def preflight(input_: Path, staging: Path, refdb_sheet: Path | None, refdb: str | None,  # noqa: PLR0913
              agreement: Path | None, signing_key: str | None, primer_fwd: str | None,
              primer_rev: str | None, trunc_len_f: int, trunc_len_r: int, env: str | None,
              host_db: str | None, shotgun_profiler: str | None, sylph_db: str | None,
              today, mode: str | None, its_region: str,  # noqa: ANN001
              skip_phylogeny: bool) -> None:
    """Every start-up check of a run, writing only into --staging (never the results)."""
    from soilbiome.run.preflight import run_preflight

    result = run_preflight(
        input_, staging, refdb_sheet=refdb_sheet, refdb=refdb, agreement=agreement,
        signing_key=signing_key, primer_fwd=primer_fwd or None, primer_rev=primer_rev or None,
        trunc_len_f=trunc_len_f, trunc_len_r=trunc_len_r, env=env, host_db=host_db,
        shotgun_profiler=shotgun_profiler, sylph_db=sylph_db,
        today=today.date() if today else None, mode=mode, its_region=its_region,
        phylogeny=not skip_phylogeny,
    )
    click.echo(f"start-up checks passed: {result.samples} samples"
               + (", reference verified" if result.reference else "")
               + (", agreement covers every sample" if result.agreement else ""))


@click.command("qc-record")
@click.option("--check", "check_json", type=_path, required=True, help="fastq-check JSON.")
@click.option("--fastp", "fastp_json", type=_path, required=True, help="fastp JSON report.")
@click.option("--out", type=_path, required=True)
def qc_record(check_json: Path, fastp_json: Path, out: Path) -> None:
    """Combine a sample's FASTQ check and fastp report into one QC record."""
    from soilbiome.qc import write_qc_record

    record = write_qc_record(check_json, fastp_json, out)
    click.echo(f"{record['sample']}: {record['status']}, {record['reads_out']} reads kept")


@click.command("qc-summary")
@click.argument("records", type=_path, nargs=-1, required=True)
@click.option("--samplesheet", type=_path, help="Validated sheet: every sample must have a record.")
@click.option("--out", type=_path, required=True, help="TSV table (a .json is written beside it).")
def qc_summary(records: tuple[Path, ...], samplesheet: Path | None, out: Path) -> None:
    """Collect per-sample QC RECORDS into one table."""
    from soilbiome.qc import summarise

    rows = summarise(list(records), out, samplesheet)
    flagged = [f"{r['sample']} ({r['status']})" for r in rows if r["status"] != "ok"]
    click.echo(f"QC summary: {len(rows)} samples" + (f"; flagged: {', '.join(flagged)}"
                                                      if flagged else ""))


@click.command(context_settings={"ignore_unknown_options": True})
@click.option("--profile", "profiles", multiple=True,
              help="Nextflow profile(s), e.g. test, slurm (repeat or comma-separate).")
@click.option("--input", "input_", type=_path, help="Samplesheet CSV.")
@click.option("--outdir", type=_path, default=Path("results"), show_default=True)
@click.option("--resume", is_flag=True, help="Reuse completed tasks from the last run.")
@click.option("-c", "--config", "configs", multiple=True, type=_path,
              help="Extra Nextflow config file(s) (e.g. your cluster's).")
@click.argument("extra", nargs=-1, type=click.UNPROCESSED)
def run(profiles: tuple[str, ...], input_: Path | None, outdir: Path, resume: bool,
        configs: tuple[Path, ...], extra: tuple[str, ...]) -> None:
    """Run the pipeline with Nextflow and show progress.

    Further pipeline parameters go after the options as --name value pairs.
    """
    from soilbiome.run.runner import failure_summary, nextflow_warnings, run_pipeline

    params: dict[str, str] = {"outdir": str(outdir.resolve())}
    if input_:
        params["input"] = str(input_.resolve())
    params.update(_parse_extra(extra))
    profile_list = [p for item in profiles for p in item.split(",") if p]
    result = run_pipeline(params, profile_list, resume=resume,
                          configs=[str(c.resolve()) for c in configs])
    text = result.stdout + "\n" + result.stderr
    for warning in nextflow_warnings(text):
        click.echo(f"[soilbiome] Nextflow {warning}", err=True)
    if result.return_code != 0:
        click.echo(failure_summary(text, full=result.log.parent / "problems.txt"), err=True)
        raise ToolError(
            f"pipeline failed (Nextflow exit {result.return_code}; {result.failed} task(s) "
            f"failed); log: {result.log}"
        )
    click.echo(
        f"[soilbiome] pipeline finished OK: {result.done} tasks done, {result.cached} cached\n"
        f"[soilbiome] results: {outdir.resolve()}"
    )


@click.command("collect-versions")
@click.argument("files", type=_path, nargs=-1, required=True)
@click.option("--nextflow", "nextflow_version", required=True)
@click.option("--pipeline", "pipeline_version", required=True)
@click.option("--out", type=_path, required=True)
def collect_versions(files: tuple[Path, ...], nextflow_version: str, pipeline_version: str,
                     out: Path) -> None:
    """Merge per-process versions.yml FILES into one record of tool versions."""
    from soilbiome.run.provenance import write_versions

    merged = write_versions(list(files), nextflow_version, pipeline_version, out)
    click.echo(", ".join(f"{k} {v}" for k, v in merged["tools"].items()))


@click.command("primer-summary")
@click.argument("reports", type=_path, nargs=-1, required=True)
@click.option("--min-fraction", type=float, default=0.5, show_default=True,
              help="Flag samples where fewer reads than this carry the primer.")
@click.option("--out", type=_path, required=True)
def primer_summary(reports: tuple[Path, ...], min_fraction: float, out: Path) -> None:
    """Summarise <sample>.cutadapt.json REPORTS; flag samples whose reads lack the primer."""
    from soilbiome.primers import summarise_primers

    rows = summarise_primers(list(reports), out, min_fraction)
    for row in rows:
        if row["flag"]:
            click.echo(f"WARNING: sample '{row['sample']}': {row['flag']}", err=True)


def _parse_extra(extra: tuple[str, ...]) -> dict[str, str]:
    params: dict[str, str] = {}
    items = list(extra)
    while items:
        key = items.pop(0)
        if not key.startswith("--"):
            raise click.UsageError(f"unexpected argument '{key}'; pass parameters as --name value")
        if "=" in key:
            name, value = key[2:].split("=", 1)
        elif items and not items[0].startswith("--"):
            name, value = key[2:], items.pop(0)
        else:
            name, value = key[2:], "true"
        params[name] = value
    return params


@click.group("outdir")
def outdir_group() -> None:
    """One run per results folder: the --outdir lock (called by the pipeline's start-up gate)."""


@outdir_group.command("claim")
@click.argument("outdir", type=_path)
@click.option("--session-id", required=True, help="Nextflow session of the run.")
@click.option("--pid", type=int, required=True, help="Process id of the run (Nextflow).")
@click.option("--run-name", default="", help="Nextflow run name.")
@click.option("--started", default="", help="When the run started.")
def outdir_claim(outdir: Path, session_id: str, pid: int, run_name: str, started: str) -> None:
    """Lock OUTDIR for this run; refuse one in use or holding another run's results."""
    from soilbiome.run.outdir import claim_outdir

    lock = claim_outdir(outdir, session_id, pid=pid, run_name=run_name, started=started)
    click.echo(f"results folder {outdir} locked for this run ({lock})")


@outdir_group.command("release")
@click.argument("outdir", type=_path)
@click.option("--session-id", required=True, help="Nextflow session of the run.")
def outdir_release(outdir: Path, session_id: str) -> None:
    """Remove OUTDIR's lock if this session holds it."""
    from soilbiome.run.outdir import release_outdir

    if release_outdir(outdir, session_id):
        click.echo(f"results folder {outdir} unlocked")


def register(main: click.Group) -> None:
    """Add the pipeline-stage commands to the ``soilbiome`` group."""
    for command in (validate, preflight, fastq_check, qc_record, qc_summary, collect_versions,
                    primer_summary, run, outdir_group):
        main.add_command(command)

