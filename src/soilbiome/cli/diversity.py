"""``soilbiome diversity``: alpha/beta diversity, rarefaction, PCoA and PERMANOVA of a table."""

from __future__ import annotations

from pathlib import Path

import click

from soilbiome.errors import InputError


@click.command("diversity")
@click.argument("table", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.option("--outdir", required=True, type=click.Path(path_type=Path, file_okay=False),
              help="Folder for the TSV/JSON outputs (created).")
@click.option("--rarefaction-depth", type=click.IntRange(min=1), default=None,
              help="Rarefy every sample to N reads (default: smallest non-empty sample).")
@click.option("--no-rarefaction", is_flag=True, help="Compute on the counts as given.")
@click.option("--seed", type=click.IntRange(min=0), default=42, show_default=True,
              help="Seed of the rarefaction draws and PERMANOVA permutations.")
@click.option("--tree", "tree", type=click.Path(path_type=Path, exists=True, dir_okay=False),
              default=None, help="Newick tree (tips = feature IDs) to use instead of the "
                                 "tree the table carries (/soilbiome/phylogeny).")
@click.option("--unifrac/--no-unifrac", "unifrac", default=None,
              help="UniFrac and Faith's PD: required (a table without a tree is an error), or "
                   "off. Default: computed when the table carries a tree or --tree is given.")
@click.option("--branch-lengths", type=click.Choice(("double", "single")), default="double",
              show_default=True,
              help="UniFrac and Faith's PD: read the tree's branch lengths as written, or "
                   "rounded to single precision as Striped UniFrac (ssu, faithpd, QIIME 2) "
                   "reads them, to reproduce its values (~1e-8 apart otherwise).")
@click.option("--group-by", default=None, help="Sample metadata column for PERMANOVA.")
@click.option("--permutations", type=click.IntRange(min=0), default=999, show_default=True,
              help="Permutations of PERMANOVA and the --env tests.")
@click.option("--env", "env", default=None, metavar="VAR[,VAR...]",
              help="Numeric sample metadata (soil) variables to test against the community: "
                   "Mantel, envfit vectors on the PCoA, dbRDA, alpha correlations.")
@click.option("--env-metric", default="braycurtis", show_default=True,
              type=click.Choice(["braycurtis", "jaccard", "weighted_unifrac",
                                 "unweighted_unifrac", "weighted_normalized_unifrac"]),
              help="Community distance used by the --env tests.")
@click.option("--shannon-base", type=click.Choice(["e", "2"]), default="e", show_default=True,
              help="Logarithm base of Shannon (QIIME 2 uses 2, vegan/scikit-bio e).")
@click.option("--pcoa-axes", type=click.IntRange(min=1), default=10, show_default=True,
              help="Principal coordinates kept in the PCoA outputs.")
def diversity(
    table: Path,
    outdir: Path,
    rarefaction_depth: int | None,
    no_rarefaction: bool,
    seed: int,
    tree: Path | None,
    unifrac: bool | None,
    branch_lengths: str,
    group_by: str | None,
    permutations: int,
    shannon_base: str,
    env: str | None,
    env_metric: str,
    pcoa_axes: int,
) -> None:
    """Alpha and beta diversity of a BIOM TABLE, written into --outdir."""
    from soilbiome.diversity import run_diversity
    from soilbiome.io.biom_reader import read_table

    if no_rarefaction and rarefaction_depth is not None:
        raise InputError("--rarefaction-depth and --no-rarefaction are mutually exclusive")
    feature_table = read_table(table)
    soil_table = None
    if env:
        from soilbiome.soil.context import environment, parse_env

        if env_metric.endswith("unifrac"):
            if unifrac is False:
                raise InputError(f"--env-metric {env_metric} contradicts --no-unifrac")
            unifrac = True  # the tree must be there: say so before any output
        soil_table = feature_table
        environment(soil_table, parse_env(env))  # refuse bad --env before any output
    summary = run_diversity(
        feature_table,
        outdir,
        rarefaction_depth=rarefaction_depth,
        rarefaction=not no_rarefaction,
        seed=seed,
        tree_path=tree,
        unifrac=unifrac,
        branch_lengths=branch_lengths,
        group_by=group_by,
        shannon_base=shannon_base,
        permutations=permutations,
        pcoa_axes=pcoa_axes,
    )
    if soil_table is not None and not (outdir / f"beta_{env_metric}.tsv").is_file():
        # fewer than two samples kept reads: no distances, so nothing to test (said, not an
        # error about a missing file after the other outputs were written)
        click.echo(f"soil context: not computed: no {env_metric} distances (fewer than 2 "
                   "samples with reads after rarefaction)")
    elif soil_table is not None:
        from soilbiome.soil import run_soil_context

        soil = run_soil_context(soil_table, outdir, parse_env(env), metric=env_metric,
                                permutations=permutations, seed=seed)
        lacking = "; ".join(f"{v}: {', '.join(s)}" for v, s in soil["missing"].items() if s)
        click.echo(f"soil context: {', '.join(soil['variables'])} against {env_metric} "
                   f"(soil_*.tsv); samples lacking a variable: {lacking or 'none'}")
    depth = summary["parameters"]["rarefaction"]["depth"]
    click.echo(
        f"diversity: {summary['input']['samples']} samples, "
        f"{'rarefied to ' + str(depth) if depth else 'not rarefied'}, "
        f"{len(summary['samples']['empty'])} empty, "
        f"{len({e['sample'] for e in summary['excluded']})} with exclusions -> {outdir}"
    )


def register(main: click.Group) -> None:
    """Add ``diversity`` to the ``soilbiome`` command group."""
    main.add_command(diversity)
