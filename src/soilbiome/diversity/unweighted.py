"""Unweighted UniFrac with exact sums: presence bit sets, a sparse and a dense part.

Unweighted UniFrac between samples ``i`` and ``j`` is ``1 - M_ij / (S_i + S_j - M_ij)``
with ``M_ij = sum_b L_b p_ib p_jb`` the branch length they share and ``S_i`` the length
sample ``i`` spans (Faith's PD), ``p_ib`` = 1 when sample ``i`` holds a feature below branch
``b`` (see :mod:`soilbiome.diversity.unifrac`). With the branch lengths in fixed point
(:func:`~soilbiome.diversity.unifrac.fixed_point`) every ``M_ij`` and ``S_i`` is a sum of
whole numbers below ``2^52``, exact in float64 in any order and by any method, so:

* **Presence** is computed for all samples at once as bit sets, one per node (64 samples a
  word): set at the tips from the table, OR-ed into the parent in one postorder pass
  (``n_nodes x n / 64`` word operations), as Striped UniFrac keeps its per-branch state in
  stripes over the samples (McDonald et al. 2018, Nat. Methods 15:847).
* The branches are split by how many samples hold them, and each part's sums simply add up:
  rare ones (held by fewer than ``DENSE_FROM`` of the samples) go through the sparse
  kernel of :mod:`soilbiome.diversity.kernels` (work: the pairs of samples that share the
  branch, ``~occ^2 n^2 / 2``); those held by more than ``DENSE_TO`` too, as what the samples
  *lack* (``q = 1 - p``: ``sum L p_i p_j = C - Q_i - Q_j + sum L q_i q_j``); the others
  through a dense product ``(P L) P^T`` of the 0/1 presence (BLAS ``dgemm``: every product
  ``1 * L_b`` and every sum is exact), ``n^2`` multiply-adds per branch at the processor's
  vector rate, in place of Striped UniFrac's ``n^2 / 16`` look-ups of bit-packed tables.

A block of the matrix is then bit-identical to the same entries of the one-pass matrix, and
the values equal the definition's up to the rounding of the lengths (at most ``2^-(s+1)``
each, ``1e-13`` for a tree of total length 1,000).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

import numpy as np
from scipy import sparse

from soilbiome.diversity import native
from soilbiome.diversity.common import workers
from soilbiome.diversity.unifrac import Phylogeny, fixed_point

#: Branches held by at least ``DENSE_FROM`` and at most ``DENSE_TO`` of the samples go through
#: the dense product, the others through the sparse kernel (measured on 1,000 x 5,000 tables
#: at 1-40% non-zero, see docs/diversity.md "Speed").
DENSE_FROM = 0.1
DENSE_TO = 0.9
#: Branches per chunk of the dense product (its two matrices are rebuilt for each chunk and
#: stay small: at 1,000 samples x 8,000 branches, 0.17 s against 0.26 s in one chunk) ...
DENSE_CHUNK = 1024
#: ... and at most this much memory for them.
DENSE_BYTES = 256 << 20
#: Row tiles of the dense product: independent tasks on a pool of threads, one BLAS thread
#: each (on a shared machine a multi-threaded ``dgemm`` waits for its slowest thread at every
#: step: measured 2-3x slower under load); with rows and columns the same samples only the
#: tiles on and right of the diagonal are multiplied.
DENSE_TILE = 128
#: One-pass unweighted UniFrac is computed as one square up to this many samples, above it
#: in row chunks of this many (memory: a few chunk x n matrices).
SQUARE_UP_TO = 4096


def chain_lengths(parent: np.ndarray, length: np.ndarray) -> np.ndarray:
    """The lengths of each chain of single-child nodes moved onto its lowest node (the first
    below it with two children, or a tip); the others' lengths become 0.

    A node with one child holds exactly the samples its child holds, so its branch adds the
    same to every sum as if it were part of the child's. With fixed-point lengths (whole
    numbers, :func:`~soilbiome.diversity.unifrac.fixed_point`) the moved sums are exact and
    every value is the same to the bit; the kernels then skip the chain's other nodes (length
    0). A table on a few thousand tips of a large reference tree leaves long chains after
    :func:`~soilbiome.diversity.unifrac.shear`: 27,868 of 37,868 nodes for 5,000 tips of a
    200,000-tip tree.
    """
    n = parent.shape[0]
    inner = parent >= 0
    children = np.bincount(parent[inner], minlength=n)
    single = children == 1
    if not single.any():
        return length
    out = length.copy()
    child_of = np.full(n, -1, dtype=np.int64)  # the only child of a single-child node
    below = np.flatnonzero(inner)
    below = below[single[parent[below]]]
    child_of[parent[below]] = below
    # postorder: a parent comes after its children, so from the root down is reversed order
    for node in np.flatnonzero(single)[::-1].tolist():
        if out[node] != 0.0:
            out[child_of[node]] += out[node]
            out[node] = 0.0
    return out


def _add_dense(k: SimpleNamespace, bits: np.ndarray, nodes: np.ndarray, values: np.ndarray,
               n_r: int, n_c: int, upper: bool, out: np.ndarray) -> None:
    """Add ``sum_b L_b p_ib p_jb`` over ``nodes`` for rows ``0..n_r`` and columns ``n_r..`` (or
    ``0..n_r`` when ``upper``: then only the row tiles from their diagonal on, see
    :func:`_mirror_upper`) of the bit sets into ``out``, one chunk of branches at a time."""
    from threadpoolctl import threadpool_limits

    n = n_r if upper else n_r + n_c
    c0 = 0 if upper else n_r
    if nodes.shape[0] == 0 or n_r == 0 or n_c == 0:
        return
    width = int(max(64, min(nodes.shape[0], DENSE_CHUNK, DENSE_BYTES // (16 * n))))
    a_buf, b_buf = np.empty((width, n)), np.empty((width, n))

    def tile(job: tuple) -> None:
        a, b, t = job
        u = min(n_r, t + DENSE_TILE)
        if upper:
            out[t:u, t:] += a[:, t:u].T @ b[:, t:]
        else:
            out[t:u] += a[:, t:u].T @ b[:, c0:]

    with threadpool_limits(1, "blas"), ThreadPoolExecutor(workers()) as pool:
        for lo in range(0, nodes.shape[0], width):
            hi = min(nodes.shape[0], lo + width)
            a, b = a_buf[:hi - lo], b_buf[:hi - lo]
            k.unpack(bits, nodes[lo:hi], values[lo:hi], a, b)
            list(pool.map(tile, [(a, b, t) for t in range(0, n_r, DENSE_TILE)]))


def _mirror_upper(out: np.ndarray) -> None:
    """Copy the upper triangle of a square onto its lower one, in place, tile row by tile row
    (no temporary square: the values below the diagonal are those the dense tiles did not
    complete)."""
    n = out.shape[0]
    for t in range(0, n, DENSE_TILE):
        u = min(n, t + DENSE_TILE)
        out[t:u, :t] = out[:t, t:u].T
        block = out[t:u, t:u]
        lower = np.tril_indices(u - t, -1)
        block[lower] = block.T[lower]


def unweighted_rectangle(rows_counts: sparse.csr_matrix, cols_counts: sparse.csr_matrix,
                         phylo: Phylogeny, upper: bool, engine: str | None = None) -> np.ndarray:
    """Unweighted UniFrac between two sets of samples (``upper``: the same set; the diagonal
    is 0). Exact sums: independent of how the samples are split into blocks, and of the
    ``engine`` (``"c"``, ``"numba"``; default: C when built, :func:`native.kernels`)."""
    m = sparse.csr_matrix(rows_counts if upper else sparse.vstack([rows_counts, cols_counts]),
                          dtype=np.float64, copy=True)
    if m.shape[1] != phylo.tip_of.shape[0]:
        from soilbiome.diversity.common import DiversityError

        raise DiversityError(f"table has {m.shape[1]} features, the tree was set up for "
                             f"{phylo.tip_of.shape[0]}")
    m.eliminate_zeros()
    n_r = rows_counts.shape[0]
    n_c = n_r if upper else cols_counts.shape[0]
    n = m.shape[0]
    tree = phylo.tree
    # the root's own branch and branches of length 0 are left out; a chain of single-child
    # nodes counts once (:func:`chain_lengths`)
    length = chain_lengths(tree.parent, np.where(
        tree.parent >= 0, fixed_point(tree.length, total=float(phylo.whole.length.sum())), 0.0))
    k = native.kernels(engine)
    bits = k.presence(m.indptr.astype(np.int64), m.indices.astype(np.int64), phylo.tip_of,
                      tree.parent, tree.parent.shape[0])
    occ, span = k.counts(bits, n, length)
    everyone = (length > 0) & (occ == n)  # shared by every pair: a constant
    kept = (length > 0) & (occ > 0) & ~everyone
    rare = kept & (occ < max(DENSE_FROM * n, 2))
    high = np.flatnonzero(kept & ~rare & (occ > DENSE_TO * n))
    dense = np.flatnonzero(kept & ~rare & (occ <= DENSE_TO * n))
    rare = np.flatnonzero(rare)
    nodes = np.concatenate([rare, high])
    lacking = np.arange(nodes.shape[0]) >= rare.shape[0]
    ptr, idx, val = k.columns(bits, nodes, length[nodes], lacking, n)
    # lacked length of each sample (exact: whole numbers), from the columns of `high`
    first = ptr[rare.shape[0]]
    q = np.bincount(idx[first:], weights=val[first:], minlength=n)
    # rows as CSR; the columns as `columns` gave them (samples ascending) when rows and
    # columns are the same samples: no copies of the sparse part beyond the one transpose
    y = sparse.csc_matrix((val, idx, ptr), shape=(n, nodes.shape[0])).tocsr()
    yr = y if n_r == n else y[:n_r]
    if upper:
        c_ptr, c_idx, c_val = ptr, idx, val
    else:
        cc = y[n_r:].tocsc()
        cc.sort_indices()
        c_ptr, c_idx, c_val = cc.indptr, cc.indices, cc.data
    shared = k.raw_rectangle(yr.indptr.astype(np.int64), yr.indices.astype(np.int64), yr.data,
                             c_ptr.astype(np.int64, copy=False),
                             c_idx.astype(np.int64, copy=False), c_val, n_c, upper)
    _add_dense(k, bits, dense, length[dense], n_r, n_c, upper, shared)
    if upper:
        _mirror_upper(shared)
    q_r, q_c = q[:n_r], (q[:n_r] if upper else q[n_r:])
    s_r, s_c = span[:n_r], (span[:n_r] if upper else span[n_r:])
    c_high = float(length[high].sum()) + float(length[everyone].sum())
    # in place, without temporary squares: every value is a whole number below 2^53 until
    # the division, so the order of these sums does not change a bit
    shared += c_high
    shared -= q_r[:, None]
    shared -= q_c[None, :]
    for a in range(0, n_r, DENSE_TILE):  # the union a tile of rows at a time
        part = shared[a:a + DENSE_TILE]
        union = np.add.outer(s_r[a:a + DENSE_TILE], s_c)
        union -= part
        undefined = union == 0.0
        with np.errstate(invalid="ignore", divide="ignore"):
            np.divide(part, union, out=part)
        np.subtract(1.0, part, out=part)
        np.maximum(part, 0.0, out=part)
        part[undefined] = np.nan
    if upper:
        np.fill_diagonal(shared, 0.0)
    return shared


def unweighted_condensed(counts: sparse.csr_matrix, phylo: Phylogeny,
                         engine: str | None = None) -> np.ndarray:
    """All pairs of unweighted UniFrac, condensed (scipy order)."""
    m = sparse.csr_matrix(counts)
    n = m.shape[0]
    out = np.empty(n * (n - 1) // 2, dtype=np.float64)
    step = n if n <= SQUARE_UP_TO else SQUARE_UP_TO
    for a in range(0, n, step):
        b = min(n, a + step)
        part = (unweighted_rectangle(m[a:b], m[a:b], phylo, True, engine) if (a, b) == (0, n)
                else unweighted_rectangle(m[a:b], m[a:], phylo, False, engine))
        for r in range(b - a):
            i = a + r
            start = n * i - i * (i + 1) // 2
            out[start:start + n - i - 1] = part[r, r + 1:]
    return out
