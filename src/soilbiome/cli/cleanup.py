"""``soilbiome cleanup``: non-target ASVs and contaminants out of the DADA2 counts."""

from __future__ import annotations

from pathlib import Path

import click

_path = click.Path(path_type=Path)


@click.command("cleanup")
@click.option("--counts", type=_path, required=True, help="asv_counts.tsv from DADA2.")
@click.option("--lineage", type=_path, required=True, help="lineage.tsv from 'taxonomy harmonise'.")
@click.option("--samplesheet", type=_path, required=True, help="Validated samplesheet CSV.")
@click.option("--outdir", type=_path, required=True,
              help="Folder for the cleaned counts and reports.")
@click.option("--marker", default="16S", show_default=True,
              help="Amplicon marker; 16S moves chloroplast and mitochondria ASVs out.")
@click.option("--contaminant-threshold", type=float, default=0.1, show_default=True,
              help="decontam prevalence threshold (contaminant when p < threshold).")
@click.option("--remove-contaminants", is_flag=True,
              help="Also move flagged contaminants out of the cleaned counts.")
def cleanup(counts: Path, lineage: Path, samplesheet: Path, outdir: Path, marker: str,
            contaminant_threshold: float, remove_contaminants: bool) -> None:
    """Move non-target ASVs out of COUNTS and flag contaminants by negative controls."""
    from soilbiome.amplicon.cleanup.run import clean_counts

    s = clean_counts(counts, lineage, samplesheet, outdir, marker=marker,
                     threshold=contaminant_threshold, remove_contaminants=remove_contaminants)
    nontarget = ", ".join(f"{n} {c}" for c, n in s.n_nontarget.items())
    if s.n_controls:
        removed = " and removed" if s.removed_contaminants and s.n_contaminants else ""
        decon = (f"{s.n_contaminants} contaminant ASV(s) flagged by {s.n_controls} negative "
                 f"control(s){removed}")
    else:
        decon = "no negative control with reads: no contaminant test"
    click.echo(f"{outdir}: {s.n_asvs} ASVs; non-target moved out: {nontarget}; {decon}")


def register(main: click.Group) -> None:
    """Add ``cleanup`` to the main command."""
    main.add_command(cleanup)
