"""``soilbiome biom``: build and validate BIOM 2.1 tables."""

from __future__ import annotations

from pathlib import Path

import click

_path = click.Path(path_type=Path)


@click.group("biom")
def biom() -> None:
    """BIOM 2.1 (HDF5) tables with taxonomy and sample metadata."""


@biom.command("build")
@click.option(
    "--counts", type=_path, required=True, help="asv_counts.tsv (feature_id, sequence, samples)."
)
@click.option("--lineage", type=_path, required=True, help="lineage.tsv from 'taxonomy harmonise'.")
@click.option("--samplesheet", type=_path, required=True, help="Validated samplesheet CSV.")
@click.option("--out", type=_path, required=True, help="table.biom to write.")
@click.option("--table-id", default=None, help="BIOM table ID (default: output file stem).")
@click.option("--tree", type=_path, default=None,
              help="Newick tree of the ASVs, stored in the table at /soilbiome/phylogeny.")
@click.option("--prune-tree", is_flag=True,
              help="The tree may also hold tips that are not counted (e.g. ASVs the clean-up "
                   "removed): they are cut off and the tree is rooted again at its midpoint.")
@click.option("--tree-out", type=_path, default=None,
              help="Also write the tree stored in the table (after --prune-tree) to this "
                   "Newick file, once the table is written (and valid, with --validate).")
@click.option("--context", "context_json", type=_path, default=None,
              help="Processing context JSON (marker, region, primers, truncation, method, "
                   "reference...; docs/biom.md). Without it the table's context is unknown.")
@click.option("--versions", "versions_files", type=_path, multiple=True,
              help="versions.yml of the steps that made it: fills the method's version.")
@click.option("--validate", "then_validate", is_flag=True,
              help="Then validate the table as 'soilbiome biom validate' does (in the same "
                   "process); an invalid table is removed.")
def build(counts: Path, lineage: Path, samplesheet: Path, out: Path, table_id: str | None,
          tree: Path | None, prune_tree: bool, tree_out: Path | None,
          context_json: Path | None, versions_files: tuple[Path, ...],
          then_validate: bool) -> None:
    """Build a BIOM 2.1 table from ASV counts, lineages and sample metadata."""
    from soilbiome.io.biom import build_biom
    from soilbiome.io.context import read_context

    if tree_out is not None and tree is None:
        raise click.UsageError("--tree-out needs --tree")
    if versions_files and context_json is None:
        raise click.UsageError("--versions fill the method version of --context: give both")
    context = (read_context(context_json, list(versions_files)) if context_json
               else None)
    summary = build_biom(counts, lineage, samplesheet, out, table_id=table_id, tree_path=tree,
                         prune_tree=prune_tree, context=context)
    message = f"{summary.path}: {summary.n_observations} ASVs x {summary.n_samples} samples"
    if summary.empty_samples:
        message += f"; empty sample(s) kept: {', '.join(summary.empty_samples)}"
    if summary.unused_lineages:
        message += f"; {summary.unused_lineages} lineage row(s) for features not in the counts"
    click.echo(message)
    if summary.r_unsafe_columns:
        click.echo(
            "soilbiome: warning: R's check.names will rename sample metadata column(s) "
            f"{', '.join(summary.r_unsafe_columns)} in phyloseq::import_biom (see docs/biom.md)",
            err=True,
        )
    if then_validate:
        validate_written(out)
    if tree_out is not None and summary.tree is not None:
        from soilbiome.io.atomic import atomic_write

        with atomic_write(tree_out) as handle:
            handle.write(summary.tree.strip() + "\n")


@biom.command("validate")
@click.argument("table", type=_path)
def validate(table: Path) -> None:
    """Validate TABLE with biom-format's validator and soilbiome's structural checks."""
    validate_written(table, remove_invalid=False)


def validate_written(table: Path, *, remove_invalid: bool = True) -> None:
    """Validate a table and print what ``soilbiome biom validate`` prints.

    The table builders call it on the table they have just written (``--validate``: one Python
    start-up less per pipeline task than a second command); a table they wrote that fails is
    removed (``remove_invalid``), so that no invalid table is left behind.

    Raises
    ------
    BiomError
        The problems found, one per line.
    """
    from soilbiome.io.biom import BiomError, validate_biom

    problems = validate_biom(table)
    if problems:
        if remove_invalid:
            table.unlink(missing_ok=True)
        raise BiomError(
            f"{len(problems)} problem(s):\n  " + "\n  ".join(problems), location=str(table)
        )
    click.echo(f"{table}: valid BIOM 2.1 table")
    from soilbiome.io.biom_reader import read_table

    context = read_table(table).context
    click.echo(f"processing context: {context.describe()}")
    for name, value in context.to_dict().items():
        if value:
            click.echo(f"  {name}: {value}")


def register(main: click.Group) -> None:
    """Add the ``biom`` group to the main command."""
    main.add_command(biom)
