"""``soilbiome phylogeny``: MAFFT + FastTree + midpoint root for the ASVs of a count table."""

from __future__ import annotations

from pathlib import Path

import click

_path = click.Path(path_type=Path)


@click.command("phylogeny")
@click.option("--counts", type=_path, required=True,
              help="asv_counts.tsv (feature_id, sequence, ...).")
@click.option("--out", type=_path, required=True, help="Newick tree to write (tips = feature IDs).")
@click.option("--threads", type=click.IntRange(min=1), default=1, show_default=True)
def phylogeny(counts: Path, out: Path, threads: int) -> None:
    """Align the ASVs (MAFFT), mask as QIIME 2 does, build a tree (FastTree), midpoint-root it."""
    from soilbiome.amplicon.phylogeny import build_tree

    n = build_tree(counts, out, threads)
    click.echo(f"{out}: {n} tips, midpoint-rooted" if n else f"{counts}: no ASV, no tree written")


def register(main: click.Group) -> None:
    """Add ``phylogeny`` to the main command."""
    main.add_command(phylogeny)
