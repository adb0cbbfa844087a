"""Beta diversity beyond one machine: blocks computed as separate tasks, assembled on disk.

The square matrix of ``n`` samples is cut into ``k`` row ranges; block ``(i, j)`` with
``i <= j`` covers rows of range ``i`` and columns of range ``j`` (``k (k + 1) / 2`` blocks,
each an independent task: :func:`compute_block`). :func:`assemble` writes the blocks into an
HDF5 dataset ``distances`` (``n x n``, chunked, with the sample IDs in ``ids``), one block and
its mirror at a time, so the whole matrix is never in memory; :func:`hdf5_to_lsmat` streams
it into the lsmat TSV that ``soilbiome diversity`` writes. Blocks are bit-identical to the
one-pass kernel (see :mod:`soilbiome.diversity.kernels`), so the assembled matrix equals the
single-process one exactly.

Every task prepares the table the same way as ``soilbiome diversity`` (:func:`prepare`:
rarefied with the per-sample seeded draw, empty and below-depth samples left out), so blocks
of the same table, depth and seed refer to the same sample order.

A block records where it came from (:mod:`soilbiome.diversity.block_file`): the table's
SHA-256, a digest of the prepared samples, the metric and its index ranges. :func:`assemble`
refuses a block that does not match the table, metric and plan it is given, or whose values
no distance of the metric can take.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

import h5py
import numpy as np

from soilbiome.diversity.beta import ENGINE_METRICS, beta_block
from soilbiome.diversity.block_file import Block, prepared_digest, read_block, write_block
from soilbiome.diversity.common import DiversityError, SparseCounts, as_sparse
from soilbiome.diversity.rarefy import rarefy
from soilbiome.diversity.unifrac import BRANCH_LENGTHS, UNIFRAC_METRICS, Phylogeny
from soilbiome.diversity.writers import lsmat_rows, rows_per_chunk, write_lsmat_lines
from soilbiome.errors import InputError
from soilbiome.io.atomic import atomic_path, atomic_write, ensure_room
from soilbiome.io.textfile import safe_cell

PLAN_COLUMNS = ("block", "rows", "cols", "table_sha256", "prepared_sha256")


def prepare(table: object, rarefaction_depth: int | None, seed: int,
            rarefaction: bool = True) -> SparseCounts:
    """The samples the distance matrix is computed on, as ``soilbiome diversity`` does.

    Parameters
    ----------
    table : FeatureTable or SparseCounts
    rarefaction_depth : int, optional
        Default: the smallest non-empty sample total.
    seed : int
    rarefaction : bool
        False: counts as given (non-integer tables are never rarefied).
    """
    sc = as_sparse(table)
    totals = sc.totals
    if rarefaction and sc.integer and (totals > 0).any():
        depth = rarefaction_depth or int(totals[totals > 0].min())
        sc = rarefy(sc, int(depth), seed).counts
    return sc.rows(sc.totals > 0)


def settings_from(path: Path) -> tuple[int | None, bool, int, str | None]:
    """``(depth, no_rarefaction, seed, branch_lengths)`` of a ``diversity.json``
    (single-process run); ``branch_lengths`` is None when that run read no tree (a
    comparison's settings: its UniFrac, if any, is computed from blocks alone)."""
    import json

    from soilbiome.errors import InputError

    try:
        parameters = json.loads(Path(path).read_text())["parameters"]
        rare = parameters["rarefaction"]
        tree = parameters.get("tree")
        lengths = tree.get("branch_lengths", "double") if tree else None
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise InputError(f"not a diversity.json ({exc})", location=str(path)) from None
    if lengths is not None and lengths not in BRANCH_LENGTHS:
        raise InputError(f"tree branch_lengths '{lengths}' is not "
                         f"{' or '.join(BRANCH_LENGTHS)}", location=str(path))
    depth = rare.get("depth")
    return (int(depth) if depth else None), depth is None, int(rare.get("seed", 42)), lengths


def plan(n: int, k: int) -> list[tuple[int, int, int, int, int, int]]:
    """Blocks ``(i, j, row_start, row_stop, col_start, col_stop)`` for ``i <= j``."""
    if n < 2:
        raise DiversityError(f"blocks need at least 2 non-empty samples; got {n}")
    k = max(1, min(int(k), n))
    cuts = np.linspace(0, n, k + 1).round().astype(int)
    return [(i, j, int(cuts[i]), int(cuts[i + 1]), int(cuts[j]), int(cuts[j + 1]))
            for i in range(k) for j in range(i, k)]


def write_plan(blocks: Sequence[tuple[int, ...]], path: Path, table_sha256: str,
               prepared_sha256: str) -> None:
    """The plan as CSV for the workflow: ``block,rows,cols`` (ranges ``start:stop``) and the
    digests of the table and prepared samples it was cut from (on every row)."""
    with atomic_write(path) as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(PLAN_COLUMNS)
        for i, j, r0, r1, c0, c1 in blocks:
            w.writerow([f"{i}_{j}", f"{r0}:{r1}", f"{c0}:{c1}", table_sha256, prepared_sha256])


def read_plan(path: Path) -> tuple[set[tuple[int, int, int, int]], str, str]:
    """``(ranges, table_sha256, prepared_sha256)`` of a plan CSV written by :func:`write_plan`."""
    where = str(path)
    try:
        with open(path, newline="") as fh:
            rows = list(csv.DictReader(fh))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InputError(f"unreadable plan ({exc})", location=where) from None
    if not rows or any(c not in rows[0] for c in PLAN_COLUMNS):
        raise InputError(f"not a block plan (columns {','.join(PLAN_COLUMNS)} expected)",
                         location=where)
    digests = {(r["table_sha256"], r["prepared_sha256"]) for r in rows}
    if len(digests) != 1:
        raise InputError("plan rows name more than one table", location=where)
    ranges = set()
    for n, r in enumerate(rows, start=2):
        try:
            ranges.add(parse_range(r["rows"]) + parse_range(r["cols"]))
        except DiversityError as exc:
            raise InputError(str(exc), location=f"{where}:{n}") from None
    (table, prepared), = digests
    return ranges, table, prepared


def parse_range(text: str) -> tuple[int, int]:
    """``"start:stop"`` -> ``(start, stop)``."""
    try:
        a, b = (int(x) for x in text.split(":"))
    except ValueError:
        raise DiversityError(f"range '{text}' is not start:stop") from None
    if not 0 <= a < b:
        raise DiversityError(f"range '{text}' is empty or negative")
    return a, b


def compute_block(prepared: SparseCounts, metric: str, rows: tuple[int, int],
                  cols: tuple[int, int], out: Path, table_sha256: str,
                  phylo: Phylogeny | None = None, tree_sha256: str = "",
                  branch_lengths: str = "double") -> Path:
    """Compute one block and write it with its origin (:func:`~.block_file.write_block`).

    ``table_sha256`` is the SHA-256 of the BIOM file ``prepared`` was read from; a UniFrac
    block also needs ``phylo`` (the tree on ``prepared``'s features, its lengths read in
    ``branch_lengths`` precision) and records ``tree_sha256`` and ``branch_lengths``.
    """
    if metric not in ENGINE_METRICS:
        raise DiversityError(f"blockwise metric must be one of {', '.join(ENGINE_METRICS)}")
    n = len(prepared.sample_ids)
    if rows[1] > n or cols[1] > n:
        raise DiversityError(f"block {rows}x{cols} is outside the {n} prepared samples")
    if metric in UNIFRAC_METRICS and phylo is None:
        raise DiversityError(f"{metric} needs a phylogenetic tree (--tree)")
    values = beta_block(prepared.matrix, rows, cols, metric, phylo)
    return write_block(out, values, table_sha256=table_sha256,
                       prepared_sha256=prepared_digest(prepared.matrix, prepared.sample_ids),
                       metric=metric, rows=rows, cols=cols, tree_sha256=tree_sha256,
                       branch_lengths=branch_lengths if phylo is not None else "double")


def assemble(prepared: SparseCounts, metric: str, blocks: Sequence[Path], out: Path,
             table_sha256: str, plan_path: Path | None = None, tree_sha256: str = "",
             branch_lengths: str = "double") -> Path:
    """Write the blocks into ``out`` (HDF5: ``ids``, ``distances`` n x n), one at a time.

    Every block is checked before it is written: same table (``table_sha256``), same prepared
    samples (depth and seed), same metric, same tree (UniFrac: ``tree_sha256``, its lengths
    read in ``branch_lengths`` precision), a range of the plan (when given) and possible
    values. Nothing is left at ``out`` when one is refused.

    Raises
    ------
    InputError
        Naming the block (or plan) file: unreadable, or not of this table, metric or plan.
    DiversityError
        A block is missing, duplicated or of the wrong shape (the matrix would be incomplete).
    """
    ids = list(prepared.sample_ids)
    n = len(ids)
    digest = prepared_digest(prepared.matrix, prepared.sample_ids)
    planned = None
    if plan_path is not None:
        planned, plan_table, plan_prepared = read_plan(plan_path)
        if plan_table != table_sha256 or plan_prepared != digest:
            raise InputError("plan was cut from another table or rarefaction "
                             f"(table sha256 {plan_table[:12]}..., this table "
                             f"{table_sha256[:12]}...)", location=str(plan_path))
    seen: set[tuple[int, int, int, int]] = set()
    with atomic_path(out) as tmp:
        # HDF5 cannot survive a failed write: reserve the matrix's room first (disk full ->
        # one line naming --out, see soilbiome.io.atomic)
        ensure_room(tmp, n * n * 8 + sum(len(i.encode()) + 16 for i in ids) + (1 << 20))
        with h5py.File(tmp, "w") as f:
            f.attrs["metric"] = metric
            if tree_sha256:
                f.attrs["branch_lengths"] = branch_lengths
            f.create_dataset("ids", data=np.array(ids, dtype=object),
                             dtype=h5py.string_dtype("utf-8"))
            chunk = (min(n, 512), min(n, 512))
            ds = f.create_dataset("distances", shape=(n, n), dtype="f8", chunks=chunk)
            for path in blocks:
                block = read_block(Path(path))
                _check_origin(block, table_sha256, digest, metric, planned)
                if block.tree_sha256 != tree_sha256:
                    raise InputError("block was computed on another tree (tree sha256 "
                                     f"{block.tree_sha256[:12] or 'none'}..., this tree "
                                     f"{tree_sha256[:12] or 'none'}...)",
                                     location=str(block.path))
                if tree_sha256 and block.branch_lengths != branch_lengths:
                    raise InputError(f"block was computed with {block.branch_lengths}-precision "
                                     f"branch lengths, this assembly uses {branch_lengths} "
                                     "(--branch-lengths)", location=str(block.path))
                (r0, r1), (c0, c1), values = block.rows, block.cols, block.values
                key = (r0, r1, c0, c1)
                if key in seen:
                    raise DiversityError(f"block {r0}:{r1} x {c0}:{c1} given twice", )
                seen.add(key)
                if values.shape != (r1 - r0, c1 - c0) or r1 > n or c1 > n:
                    raise DiversityError(f"block {path} does not fit the {n} samples")
                ds[r0:r1, c0:c1] = values
                if (r0, r1) != (c0, c1):
                    ds[c0:c1, r0:r1] = values.T
            _check_cover(seen, n)
            if planned is not None and seen != planned:
                r0, r1, c0, c1 = sorted(planned - seen)[0]
                raise DiversityError(f"blocks do not cover the plan {plan_path}: "
                                     f"{len(planned - seen)} missing, e.g. rows {r0}:{r1} x "
                                     f"cols {c0}:{c1}")
    return out


def _check_origin(block: Block, table_sha256: str, prepared_sha256: str, metric: str,
                  planned: set[tuple[int, int, int, int]] | None) -> None:
    """Refuse a block of another table, rarefaction draw, metric or plan."""
    where = str(block.path)
    if block.table_sha256 != table_sha256:
        shown = 12 if block.table_sha256[:12] != table_sha256[:12] else 64  # where they differ
        cut = "..." if shown == 12 else ""
        raise InputError(f"block was computed from another table (sha256 "
                         f"{block.table_sha256[:shown]}{cut}, this table "
                         f"{table_sha256[:shown]}{cut})", location=where)
    if block.prepared_sha256 != prepared_sha256:
        raise InputError("block was computed from another rarefaction of this table (depth "
                         "or seed differ)", location=where)
    if block.metric != metric:
        raise InputError(f"block is {block.metric}, not {metric}",
                         location=where)
    key = block.rows + block.cols
    if planned is not None and key not in planned:
        raise InputError(f"block range {key[0]}:{key[1]} x {key[2]}:{key[3]} is not in the "
                         "plan", location=where)


def _check_cover(blocks: set[tuple[int, int, int, int]], n: int) -> None:
    """The blocks must tile the upper triangle (ranges partition 0..n, every pair i <= j)."""
    ranges = sorted({(r0, r1) for r0, r1, _, _ in blocks} | {(c0, c1) for _, _, c0, c1 in blocks})
    stops = [0] + [b for _, b in ranges]
    tiled = all(a == prev for (a, _), prev in zip(ranges, stops, strict=False))
    if not ranges or not tiled or stops[-1] != n:
        raise DiversityError("blocks do not cover the whole matrix (sample ranges do not tile "
                             f"0..{n})")
    wanted = {(a[0], a[1], b[0], b[1]) for i, a in enumerate(ranges) for b in ranges[i:]}
    have = {(r0, r1, c0, c1) if r0 <= c0 else (c0, c1, r0, r1) for r0, r1, c0, c1 in blocks}
    missing = sorted(wanted - have)
    if missing:
        r0, r1, c0, c1 = missing[0]
        raise DiversityError(f"blocks do not cover the whole matrix: {len(missing)} missing, "
                             f"e.g. rows {r0}:{r1} x cols {c0}:{c1}")


def hdf5_to_lsmat(h5: Path, tsv: Path, rows_per_read: int | None = None) -> Path:
    """Stream an assembled matrix into the lsmat TSV of ``soilbiome diversity`` (same
    formatting: :func:`~soilbiome.diversity.writers.lsmat_rows`)."""
    with h5py.File(h5, "r") as f, atomic_write(tsv, "wb") as fh:
        ids = [str(safe_cell(i.decode() if isinstance(i, bytes) else str(i)))
               for i in f["ids"][()]]  # quoted like write_lsmat's (formula injection)
        ds = f["distances"]
        step = rows_per_chunk(len(ids)) if rows_per_read is None else rows_per_read

        def text(start: int) -> bytes:  # h5py reads one at a time (its lock); the rows are
            block = ds[start:start + step]  # formatted side by side
            return lsmat_rows(ids[start:start + len(block)], block)

        write_lsmat_lines(fh, ids, text, range(0, len(ids), step))
    return tsv
