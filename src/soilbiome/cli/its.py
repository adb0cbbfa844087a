"""``soilbiome its``: cut the denoised ASVs to their ITS region (ITSxpress)."""

from __future__ import annotations

from pathlib import Path

import click

_path = click.Path(path_type=Path)


@click.command("its")
@click.option("--counts", type=_path, required=True, help="asv_counts.tsv from DADA2.")
@click.option("--outdir", type=_path, required=True, help="Folder for the ITS tables and reports.")
@click.option("--region", default="auto", show_default=True,
              help="ITS1, ITS2, ALL, none, or auto (from --marker and the primers).")
@click.option("--marker", default="", help="Reference database marker (ITS, ITS1, ITS2, 16S...).")
@click.option("--primer-fwd", default="", help="Forward primer (for --region auto).")
@click.option("--primer-rev", default="", help="Reverse primer (for --region auto).")
@click.option("--taxa", default="Fungi", show_default=True, help="ITSx profile group.")
@click.option("--threads", type=int, default=1, show_default=True)
def its(counts: Path, outdir: Path, region: str, marker: str, primer_fwd: str, primer_rev: str,
        taxa: str, threads: int) -> None:
    """Cut the ASVs of COUNTS to their ITS region; sum ASVs with the same ITS sequence."""
    from soilbiome.amplicon.its_region import extract_its, resolve_region

    chosen = resolve_region(region, marker, primer_fwd, primer_rev)
    if chosen is None:
        raise click.UsageError(f"no ITS region to cut (--region {region}, marker {marker!r})")
    s = extract_its(counts, outdir, region=chosen, taxa=taxa, threads=threads)
    click.echo(f"{outdir}: {chosen} found in {s.n_extracted} of {s.n_asvs} ASVs, "
               f"{s.n_its_asvs} distinct {chosen} ASVs; {s.n_without_region} ASV(s) with no "
               f"{chosen} region ({s.reads_without_region} reads) moved to no_its_counts.tsv")


def register(main: click.Group) -> None:
    """Add ``its`` to the main command."""
    main.add_command(its)
