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
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

import h5py
import numpy as np

from soilbiome.diversity.beta import ENGINE_METRICS, beta_block
from soilbiome.diversity.common import DiversityError, SparseCounts, as_sparse
from soilbiome.diversity.rarefy import rarefy
from soilbiome.io.atomic import atomic_path, atomic_write


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


def settings_from(path: Path) -> tuple[int | None, bool, int]:
    """``(depth, no_rarefaction, seed)`` of a ``diversity.json`` (single-process run)."""
    import json

    from soilbiome.errors import InputError

    try:
        rare = json.loads(Path(path).read_text())["parameters"]["rarefaction"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InputError(f"not a diversity.json ({exc})", location=str(path)) from None
    depth = rare.get("depth")
    return (int(depth) if depth else None), depth is None, int(rare.get("seed", 42))


def plan(n: int, k: int) -> list[tuple[int, int, int, int, int, int]]:
    """Blocks ``(i, j, row_start, row_stop, col_start, col_stop)`` for ``i <= j``."""
    if n < 2:
        raise DiversityError(f"blocks need at least 2 non-empty samples; got {n}")
    k = max(1, min(int(k), n))
    cuts = np.linspace(0, n, k + 1).round().astype(int)
    return [(i, j, int(cuts[i]), int(cuts[i + 1]), int(cuts[j]), int(cuts[j + 1]))
            for i in range(k) for j in range(i, k)]


def write_plan(blocks: Sequence[tuple[int, ...]], path: Path) -> None:
    """The plan as CSV (``block,rows,cols``; ranges ``start:stop``) for the workflow."""
    with atomic_write(path) as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["block", "rows", "cols"])
        for i, j, r0, r1, c0, c1 in blocks:
            w.writerow([f"{i}_{j}", f"{r0}:{r1}", f"{c0}:{c1}"])


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
                  cols: tuple[int, int], out: Path) -> Path:
    """Compute one block and write it (``.npz`` with ``rows``, ``cols``, ``values``)."""
    if metric not in ENGINE_METRICS:
        raise DiversityError(f"blockwise metric must be one of {', '.join(ENGINE_METRICS)}")
    n = len(prepared.sample_ids)
    if rows[1] > n or cols[1] > n:
        raise DiversityError(f"block {rows}x{cols} is outside the {n} prepared samples")
    values = beta_block(prepared.matrix, rows, cols, metric)
    with atomic_path(out) as tmp:
        with open(tmp, "wb") as fh:
            np.savez(fh, rows=np.array(rows), cols=np.array(cols), values=values)
    return out


def assemble(prepared: SparseCounts, metric: str, blocks: Sequence[Path], out: Path) -> Path:
    """Write the blocks into ``out`` (HDF5: ``ids``, ``distances`` n x n), one at a time.

    Raises
    ------
    DiversityError
        A block is missing, duplicated or of the wrong shape (the matrix would be incomplete).
    """
    ids = list(prepared.sample_ids)
    n = len(ids)
    seen: set[tuple[int, int, int, int]] = set()
    with atomic_path(out) as tmp:
        with h5py.File(tmp, "w") as f:
            f.attrs["metric"] = metric
            f.create_dataset("ids", data=np.array(ids, dtype=object),
                             dtype=h5py.string_dtype("utf-8"))
            chunk = (min(n, 512), min(n, 512))
            ds = f.create_dataset("distances", shape=(n, n), dtype="f8", chunks=chunk)
            for path in blocks:
                with np.load(path) as z:
                    r0, r1 = (int(x) for x in z["rows"])
                    c0, c1 = (int(x) for x in z["cols"])
                    values = z["values"]
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
    return out


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


def hdf5_to_lsmat(h5: Path, tsv: Path, rows_per_read: int = 256) -> Path:
    """Stream an assembled matrix into the lsmat TSV of ``soilbiome diversity``."""
    with h5py.File(h5, "r") as f, atomic_write(tsv) as fh:
        ids = [i.decode() if isinstance(i, bytes) else str(i) for i in f["ids"][()]]
        ds = f["distances"]
        fh.write("\t" + "\t".join(ids) + "\n")
        for start in range(0, len(ids), rows_per_read):
            block = ds[start:start + rows_per_read]
            fh.write("".join(
                ids[start + k] + "\t" + "\t".join(map(repr, row.tolist())) + "\n"
                for k, row in enumerate(block)))
    return tsv
