"""``soilbiome report``: one self-contained HTML report of a batch (plotly, opens offline)."""

from __future__ import annotations

from pathlib import Path

import click

from soilbiome.taxonomy.lineage import RANKS

_file = click.Path(path_type=Path, exists=True, dir_okay=False)


@click.command("report")
@click.option("--biom", "biom", required=True, type=_file, help="The batch's BIOM table.")
@click.option("--diversity", "diversity_dir", required=True,
              type=click.Path(path_type=Path, exists=True, file_okay=False),
              help="Output folder of 'soilbiome diversity'.")
@click.option("--out", required=True, type=click.Path(path_type=Path, dir_okay=False),
              help="HTML file to write.")
@click.option("--qc", type=_file, default=None, help="qc_summary.tsv (optional).")
@click.option("--tracking", type=_file, default=None,
              help="DADA2 read_tracking.tsv (optional).")
@click.option("--primers", type=_file, default=None, help="primer_summary.tsv (optional).")
@click.option("--versions", type=_file, default=None,
              help="software_versions.yml (optional).")
@click.option("--process-versions", "process_versions", type=_file, multiple=True,
              help="Instead of --versions: the per-process versions.yml files, collected here "
                   "as `soilbiome collect-versions` does (with --nextflow-version and "
                   "--pipeline-version).")
@click.option("--nextflow-version", default=None, help="With --process-versions.")
@click.option("--pipeline-version", default=None, help="With --process-versions.")
@click.option("--rank", default="phylum", show_default=True,
              type=click.Choice(list(RANKS)),
              help="Rank of the composition bars.")
@click.option("--group-by", default="site", show_default=True,
              help="Sample metadata column grouping alpha diversity and colouring the PCoA.")
@click.option("--top", type=click.IntRange(min=1), default=10, show_default=True,
              help="Taxa shown by name in the composition bars (rest: Other).")
@click.option("--title", default=None,
              help="Page title (default: '<batch name> · soilbiome report').")
@click.option("--batch-name", default=None,
              help="Name of the batch, shown as the report's heading.")
@click.option("--params", type=_file, default=None,
              help="params.json of the run (parameters shown under Provenance).")
@click.option("--refdb", type=_file, default=None,
              help="reference_database.json (name, version, licence, citation, sha256).")
@click.option("--verification", type=_file, default=None,
              help="Output of 'soilbiome verify --json' on the stamped table.")
@click.option("--crate", type=_file, default=None, help="ro-crate-metadata.json of the run.")
@click.option("--cleanup", type=click.Path(path_type=Path, exists=True, file_okay=False),
              default=None, help="Folder written by 'soilbiome cleanup' (optional).")
@click.option("--also-biom", "also_biom", type=_file, multiple=True,
              help="Shotgun: another profiler's table of the same batch, shown side by side.")
def report(biom: Path, diversity_dir: Path, out: Path, rank: str, group_by: str, top: int,
           title: str | None, batch_name: str | None, **inputs: Path | None) -> None:
    """Write a self-contained HTML report of one batch to --out."""
    from soilbiome.report import build_report

    if inputs["process_versions"]:
        if inputs["versions"] is not None:
            raise click.UsageError("give --versions or --process-versions, not both")
        absent = [f"--{k.replace('_', '-')}" for k in ("nextflow_version", "pipeline_version")
                  if not inputs[k]]
        if absent:
            raise click.UsageError(f"--process-versions needs {' and '.join(absent)}")

    res = build_report(biom, diversity_dir, out, rank=rank, group_by=group_by or None,
                       title=title, batch_name=batch_name, top=top, **inputs)
    for warning in res["warnings"]:
        click.echo(f"soilbiome: warning: {warning}", err=True)
    flagged = sorted({f["sample"] for f in res["flags"] if f["level"] != "info"})
    click.echo(
        f"report: {len(res['samples'])} samples, {res['figures']} plots, "
        f"{len(flagged)} flagged sample(s)"
        + (f" ({', '.join(flagged)})" if flagged else "")
        + (f", not provided: {len(res['missing'])}" if res["missing"] else "")
        + f" -> {out}"
    )


def register(main: click.Group) -> None:
    """Add ``report`` to the ``soilbiome`` command group."""
    main.add_command(report)
