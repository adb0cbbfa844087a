"""``soilbiome beta``: distance matrices in blocks (tasks of the Nextflow compare mode).

Bray-Curtis, Jaccard and the three UniFrac variants; UniFrac takes the table's own tree or
``--tree FILE``, and every block records the tree's SHA-256."""

from __future__ import annotations

from pathlib import Path

import click

_existing = click.Path(path_type=Path, exists=True, dir_okay=False)
_out = click.Path(path_type=Path, dir_okay=False)


def _prepare_options(f):  # noqa: ANN001, ANN202
    f = click.option("--settings", type=_existing, default=None,
                     help="diversity.json of a single-process run: use its rarefaction depth, "
                          "seed and branch lengths (so that blocks match it exactly).")(f)
    f = click.option("--seed", type=click.IntRange(min=0), default=42, show_default=True,
                     help="Seed of the rarefaction draws.")(f)
    f = click.option("--no-rarefaction", is_flag=True, help="Use the counts as given.")(f)
    f = click.option("--rarefaction-depth", type=click.IntRange(min=1), default=None,
                     help="Rarefaction depth (default: smallest non-empty sample).")(f)
    return f


def _read(table: Path, depth: int | None, no_rarefaction: bool, seed: int,  # noqa: ANN202
          settings: Path | None = None, branch_lengths: str | None = None):
    """``(table, prepared samples, branch lengths)``: TABLE read once, the samples the matrix
    is made of, and the precision the tree's branch lengths are read in (``--branch-lengths``,
    else the one --settings records, else double)."""
    from soilbiome.diversity.blocks import prepare, settings_from
    from soilbiome.errors import InputError
    from soilbiome.io.biom_reader import read_table

    if settings is not None:
        depth, no_rarefaction, seed, recorded = settings_from(settings)
        if None not in (branch_lengths, recorded) and branch_lengths != recorded:
            raise InputError(f"--branch-lengths {branch_lengths} contradicts --settings "
                             f"{settings}, whose run read them in {recorded} precision")
        branch_lengths = branch_lengths or recorded
    full = read_table(table)
    return (full, prepare(full, depth, seed, rarefaction=not no_rarefaction),
            branch_lengths or "double")


METRICS = ("braycurtis", "jaccard", "unweighted_unifrac", "weighted_unifrac",
           "weighted_normalized_unifrac")


def _tree_option(f):  # noqa: ANN001, ANN202
    f = click.option("--branch-lengths", type=click.Choice(("double", "single")), default=None,
                     help="UniFrac: read the tree's branch lengths as written (double, the "
                          "default) or rounded to single precision, as Striped UniFrac (ssu, "
                          "QIIME 2) reads them, to reproduce its values.")(f)
    return click.option("--tree", "tree_path", type=_existing, default=None,
                        help="Newick tree for UniFrac (default: the tree the table carries).")(f)


def _tree(full, metric: str, tree_path: Path | None, *,  # noqa: ANN001, ANN202
          sha256: bool = True):
    """``(tree, its SHA-256)`` for a UniFrac metric (the table's own or TREE_PATH, checked
    against the table's features; the SHA-256 ``""`` unless ``sha256``), ``(None, "")``
    otherwise."""
    if not metric.endswith("unifrac"):
        return None, ""
    from soilbiome.io.biom_tree import feature_tree
    from soilbiome.io.hashing import sha256_file

    # soilbiome's own Newick reader: the tree is only walked (no scikit-bio import, 0.8 s)
    tree = feature_tree(full, newick_path=tree_path, purpose=metric, flat=True)
    if not sha256:
        return tree, ""
    return tree, sha256_file(tree_path) if tree_path is not None else full.tree.sha256


@click.group("beta")
def beta() -> None:
    """Beta diversity: one metric's whole matrix, or in blocks (plan, block, assemble)."""


@beta.command("plan")
@click.argument("table", type=_existing)
@click.option("--blocks", "k", type=click.IntRange(min=1), default=4, show_default=True,
              help="Row ranges; k (k + 1) / 2 blocks.")
@click.option("--out", "out", type=_out, required=True, help="Plan CSV (block,rows,cols).")
@_prepare_options
def plan_cmd(table: Path, k: int, out: Path, rarefaction_depth: int | None,
             no_rarefaction: bool, seed: int, settings: Path | None) -> None:
    """Write the block plan of TABLE's distance matrix."""
    from soilbiome.diversity.block_file import prepared_digest
    from soilbiome.diversity.blocks import plan, write_plan
    from soilbiome.io.hashing import sha256_file

    _, prepared, _ = _read(table, rarefaction_depth, no_rarefaction, seed, settings)
    blocks = plan(len(prepared.sample_ids), k)
    write_plan(blocks, out, sha256_file(table),
               prepared_digest(prepared.matrix, prepared.sample_ids))
    click.echo(f"{len(blocks)} blocks over {len(prepared.sample_ids)} samples -> {out}")


@beta.command("block")
@click.argument("table", type=_existing)
@click.option("--metric", type=click.Choice(METRICS), required=True)
@click.option("--rows", required=True, help="Row range start:stop.")
@click.option("--cols", required=True, help="Column range start:stop.")
@click.option("--out", "out", type=_out, required=True, help="Block file (.npz).")
@_tree_option
@_prepare_options
def block_cmd(table: Path, metric: str, rows: str, cols: str, out: Path,
              tree_path: Path | None, branch_lengths: str | None,
              rarefaction_depth: int | None, no_rarefaction: bool, seed: int,
              settings: Path | None) -> None:
    """Compute one block of TABLE's distance matrix."""
    from soilbiome.diversity.blocks import compute_block, parse_range
    from soilbiome.diversity.unifrac import Phylogeny
    from soilbiome.io.hashing import sha256_file

    full, prepared, lengths = _read(table, rarefaction_depth, no_rarefaction, seed, settings,
                                    branch_lengths)
    tree, tree_sha = _tree(full, metric, tree_path)
    phylo = None if tree is None else Phylogeny.of(tree, prepared.feature_ids, lengths)
    compute_block(prepared, metric, parse_range(rows), parse_range(cols), out,
                  sha256_file(table), phylo=phylo, tree_sha256=tree_sha, branch_lengths=lengths)


@beta.command("matrix")
@click.argument("table", type=_existing)
@click.option("--metric", type=click.Choice(METRICS), required=True)
@click.option("--out", "out", type=_out, required=True,
              help="Distance matrix: lsmat TSV, as `soilbiome diversity` writes it.")
@_tree_option
@_prepare_options
def matrix_cmd(table: Path, metric: str, out: Path, tree_path: Path | None,
               branch_lengths: str | None, rarefaction_depth: int | None,
               no_rarefaction: bool, seed: int, settings: Path | None) -> None:
    """The whole distance matrix of TABLE for one metric, in one process.

    What `ssu -m unweighted` (Striped UniFrac) or `qiime diversity beta-phylogenetic` gives for
    one metric, without the rest of `soilbiome diversity`: the same kernels and values, the
    same samples (empty ones, and with rarefaction those below its depth, are left out and
    counted on stderr). Use --no-rarefaction to compare with a tool run on the counts as given,
    and --branch-lengths single to compare with ssu itself (it reads branch lengths in single
    precision: ~1e-8 apart otherwise).
    """
    from soilbiome.diversity.beta import Distances, sparse_beta
    from soilbiome.diversity.common import DiversityError
    from soilbiome.diversity.unifrac import Phylogeny
    from soilbiome.diversity.writers import write_lsmat

    full, prepared, lengths = _read(table, rarefaction_depth, no_rarefaction, seed, settings,
                                    branch_lengths)
    tree, _ = _tree(full, metric, tree_path, sha256=False)  # (only blocks record it)
    n = len(prepared.sample_ids)
    if n < 2:
        raise DiversityError(f"{metric} needs at least 2 non-empty samples; {table} has {n}")
    phylo = None if tree is None else Phylogeny.of(tree, prepared.feature_ids, lengths)
    write_lsmat(Distances(prepared.sample_ids, sparse_beta(prepared.matrix, metric, phylo),
                          metric), out)
    empty = int((full.sample_totals() == 0).sum())
    below = len(full.sample_ids) - n - empty
    left = [f"{empty} empty"] * bool(empty) + [f"{below} below the rarefaction depth"] * bool(
        below)
    click.echo(f"{metric}: {n} samples -> {out}"
               + (f"; left out: {', '.join(left)}" if left else ""), err=True)


@beta.command("assemble")
@click.argument("table", type=_existing)
@click.argument("blocks", type=_existing, nargs=-1, required=True)
@click.option("--metric", type=click.Choice(METRICS), required=True)
@click.option("--out", "out", type=_out, required=True, help="Assembled matrix (HDF5).")
@click.option("--tsv", type=_out, default=None, help="Also write the lsmat TSV.")
@click.option("--plan", "plan_path", type=_existing, default=None,
              help="Plan CSV of `beta plan`: every block must be one of its ranges, and all "
                   "of them must be given.")
@_tree_option
@_prepare_options
def assemble_cmd(table: Path, blocks: tuple[Path, ...], metric: str, out: Path,
                 tsv: Path | None, plan_path: Path | None, tree_path: Path | None,
                 branch_lengths: str | None, rarefaction_depth: int | None,
                 no_rarefaction: bool, seed: int, settings: Path | None) -> None:
    """Assemble BLOCKS of TABLE's distance matrix on disk.

    A block of another table, rarefaction, metric or plan, with edited or impossible values,
    or unreadable, is refused (exit 2) and nothing is written.
    """
    from soilbiome.diversity.blocks import assemble, hdf5_to_lsmat
    from soilbiome.io.hashing import sha256_file

    full, prepared, lengths = _read(table, rarefaction_depth, no_rarefaction, seed, settings,
                                    branch_lengths)
    _, tree_sha = _tree(full, metric, tree_path)
    assemble(prepared, metric, list(blocks), out, sha256_file(table), plan_path,
             tree_sha256=tree_sha, branch_lengths=lengths)
    if tsv is not None:
        hdf5_to_lsmat(out, tsv)
    click.echo(f"{len(blocks)} blocks -> {out}")


def register(main: click.Group) -> None:
    """Add ``beta`` to the ``soilbiome`` command group."""
    main.add_command(beta)
