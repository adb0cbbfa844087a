"""``soilbiome crate``: the Workflow Run RO-Crate of a pipeline run."""

from __future__ import annotations

from pathlib import Path

import click

_file = click.Path(path_type=Path, exists=True, dir_okay=False)


@click.group("crate")
def crate() -> None:
    """Run provenance as a Workflow Run RO-Crate (Provenance Run Crate profile)."""


@crate.command("build")
@click.argument("outdir", type=click.Path(path_type=Path, exists=True, file_okay=False))
@click.option("--workflow", type=_file, required=True, help="pipeline/main.nf.")
@click.option("--params", "params_file", type=_file, required=True,
              help="pipeline_info/params.json (the checked parameters).")
@click.option("--run-name", required=True, help="Nextflow's run name (the stamp's run id).")
@click.option("--session-id", default="", help="Nextflow's session UUID.")
@click.option("--start", default=None, help="Start time, ISO 8601.")
@click.option("--end", default=None, help="End time, ISO 8601.")
@click.option("--success/--failed", default=True, help="How the run ended.")
@click.option("--nextflow-version", default="", help="Nextflow version.")
@click.option("--samplesheet", type=_file, default=None, help="The samplesheet (reads too).")
@click.option("--refdb-record", type=_file, default=None,
              help="pipeline_info/reference_database.json.")
@click.option("--refdb-sheet", type=_file, default=None, help="The database sheet.")
@click.option("--agreement", type=_file, default=None,
              help="Sharing agreement; its SPDX licence becomes the crate's licence.")
@click.option("--versions", type=_file, default=None, help="software_versions.yml.")
@click.option("--trace", type=_file, default=None, help="Nextflow execution trace.")
def build(outdir: Path, workflow: Path, params_file: Path, run_name: str, session_id: str,
          start: str | None, end: str | None, success: bool, nextflow_version: str,
          samplesheet: Path | None, refdb_record: Path | None, refdb_sheet: Path | None,
          agreement: Path | None, versions: Path | None, trace: Path | None) -> None:
    """Write OUTDIR/ro-crate-metadata.json describing the finished run."""
    from soilbiome.io.jsonfile import read_json_object
    from soilbiome.run.crate import build_crate
    from soilbiome.run.params import load_schema

    schema_file = workflow.parent / "nextflow_schema.json"
    licence = None
    if agreement is not None:
        from soilbiome.sharing.agreement import load_agreement

        licence = load_agreement(agreement).spdx
    target = build_crate(
        outdir, workflow=workflow, params=read_json_object(params_file),
        schema=load_schema(schema_file) if schema_file.is_file() else None,
        run_name=run_name, session_id=session_id, start=start, end=end, success=success,
        nextflow_version=nextflow_version, samplesheet=samplesheet,
        refdb=read_json_object(refdb_record) if refdb_record else None,
        refdb_sheet=refdb_sheet, agreement=agreement, licence=licence, versions=versions,
        trace=trace,
    )
    click.echo(f"run crate: {target}")


def register(main: click.Group) -> None:
    """Add ``crate`` to the ``soilbiome`` group."""
    main.add_command(crate)
