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

import numba
import numpy as np
from numba import njit, prange
from scipy import sparse

from soilbiome.diversity import kernels
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


@njit(cache=True)
def _presence(indptr, indices, tip_of, parent, n_nodes):
    """Bit sets ``bits[node, w]`` (bit ``i & 63`` of word ``i >> 6``: sample ``i`` holds a
    feature below the node) of the samples of a CSR table, nodes in postorder."""
    n = indptr.shape[0] - 1
    words = (n + 63) // 64
    bits = np.zeros((n_nodes, words), dtype=np.uint64)
    for i in range(n):
        w = i >> 6
        b = np.uint64(1) << np.uint64(i & 63)
        for p in range(indptr[i], indptr[i + 1]):
            bits[tip_of[indices[p]], w] |= b
    for node in range(n_nodes):  # children before their parent
        up = parent[node]
        if up >= 0:
            for w in range(words):
                bits[up, w] |= bits[node, w]
    return bits


@njit(cache=True, parallel=True)
def _counts(bits, n, length):
    """Samples holding each node, and the length each sample spans (``S``, exact)."""
    n_nodes, words = bits.shape
    occ = np.zeros(n_nodes, dtype=np.int64)
    for k in prange(n_nodes):
        c = 0
        for w in range(words):
            x = bits[k, w]
            while x:
                x &= x - np.uint64(1)
                c += 1
        occ[k] = c
    span = np.zeros(n)
    for w in prange(words):
        for k in range(n_nodes):
            x = bits[k, w]
            if x == 0 or length[k] == 0.0:
                continue
            for b in range(64):
                if (x >> np.uint64(b)) & np.uint64(1):
                    span[w * 64 + b] += length[k]
    return occ, span


@njit(cache=True)
def _word(bits, k, w, lacking, n):
    """Word ``w`` of node ``k``'s bit set, inverted (within the ``n`` samples) if ``lacking``."""
    x = bits[k, w]
    if lacking:
        x = ~x
        last = n - 64 * w
        if last < 64:
            x &= (np.uint64(1) << np.uint64(last)) - np.uint64(1)
    return x


@njit(cache=True)
def _columns(bits, nodes, values, lacking, n):
    """CSC arrays (samples x ``len(nodes)``) of the sparse part: column ``c`` holds
    ``values[c]`` for the samples holding node ``nodes[c]`` (``lacking[c]``: not holding)."""
    m = nodes.shape[0]
    words = bits.shape[1]
    ptr = np.zeros(m + 1, dtype=np.int64)
    for c in range(m):
        t = 0
        for w in range(words):
            x = _word(bits, nodes[c], w, lacking[c], n)
            while x:
                x &= x - np.uint64(1)
                t += 1
        ptr[c + 1] = ptr[c] + t
    idx = np.empty(ptr[m], dtype=np.int64)
    val = np.empty(ptr[m], dtype=np.float64)
    for c in range(m):
        q = ptr[c]
        for w in range(words):
            x = _word(bits, nodes[c], w, lacking[c], n)
            if x == 0:
                continue
            for b in range(64):
                if (x >> np.uint64(b)) & np.uint64(1):
                    idx[q] = 64 * w + b
                    val[q] = values[c]
                    q += 1
    return ptr, idx, val


@njit(cache=True, parallel=True)
def _unpack(bits, nodes, values, a, b):
    """``a[c, i] = values[c]``, ``b[c, i] = 1`` where sample ``i`` holds node ``nodes[c]``."""
    n = a.shape[1]
    for cc in prange(nodes.shape[0]):
        c = np.int64(cc)
        k = nodes[c]
        v = values[c]
        for i in range(n):
            if (bits[k, i >> 6] >> np.uint64(i & 63)) & np.uint64(1):
                a[c, i] = v
                b[c, i] = 1.0
            else:
                a[c, i] = 0.0
                b[c, i] = 0.0


def _dense_shared(bits: np.ndarray, nodes: np.ndarray, values: np.ndarray, n_r: int,
                  n_c: int, upper: bool) -> np.ndarray:
    """``sum_b L_b p_ib p_jb`` over ``nodes`` for rows ``0..n_r`` and columns ``n_r..`` (or
    ``0..n_r`` when ``upper``) of the bit sets, one chunk of branches at a time."""
    from threadpoolctl import threadpool_limits

    n = n_r if upper else n_r + n_c
    c0 = 0 if upper else n_r
    out = np.zeros((n_r, n_c), dtype=np.float64)
    if nodes.shape[0] == 0 or n_r == 0 or n_c == 0:
        return out
    width = int(max(64, min(nodes.shape[0], DENSE_CHUNK, DENSE_BYTES // (16 * n))))
    a_buf, b_buf = np.empty((width, n)), np.empty((width, n))

    def tile(job: tuple) -> None:
        a, b, t = job
        u = min(n_r, t + DENSE_TILE)
        if upper:
            out[t:u, t:] += a[:, t:u].T @ b[:, t:]
        else:
            out[t:u] += a[:, t:u].T @ b[:, c0:]

    with threadpool_limits(1, "blas"), ThreadPoolExecutor(numba.get_num_threads()) as pool:
        for lo in range(0, nodes.shape[0], width):
            hi = min(nodes.shape[0], lo + width)
            a, b = a_buf[:hi - lo], b_buf[:hi - lo]
            _unpack(bits, nodes[lo:hi], values[lo:hi], a, b)
            list(pool.map(tile, [(a, b, t) for t in range(0, n_r, DENSE_TILE)]))
    if upper:  # the tiles left of the diagonal are the mirror of those right of it
        out = np.triu(out)
        out += np.triu(out, 1).T
    return out


def raw_arrays(x: sparse.csr_matrix, sizes: np.ndarray) -> tuple:
    """Kernel arguments of a CSR matrix for raw sums (no dense columns)."""
    c = x.tocsc()
    c.sort_indices()
    return (x.indptr.astype(np.int64), x.indices.astype(np.int64), x.data,
            c.indptr.astype(np.int64), c.indices.astype(np.int64), c.data, sizes,
            np.full(x.shape[1], -1, dtype=np.int64), np.zeros((0, x.shape[0])))


def unweighted_rectangle(rows_counts: sparse.csr_matrix, cols_counts: sparse.csr_matrix,
                         phylo: Phylogeny, upper: bool) -> np.ndarray:
    """Unweighted UniFrac between two sets of samples (``upper``: the same set; the diagonal
    is 0). Exact sums: independent of how the samples are split into blocks."""
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
    # the root's own branch and branches of length 0 are left out
    length = np.where(tree.parent >= 0,
                      fixed_point(tree.length, total=float(phylo.whole.length.sum())), 0.0)
    bits = _presence(m.indptr.astype(np.int64), m.indices.astype(np.int64), phylo.tip_of,
                     tree.parent, tree.parent.shape[0])
    occ, span = _counts(bits, n, length)
    everyone = (length > 0) & (occ == n)  # shared by every pair: a constant
    kept = (length > 0) & (occ > 0) & ~everyone
    rare = kept & (occ < max(DENSE_FROM * n, 2))
    high = np.flatnonzero(kept & ~rare & (occ > DENSE_TO * n))
    dense = np.flatnonzero(kept & ~rare & (occ <= DENSE_TO * n))
    rare = np.flatnonzero(rare)
    nodes = np.concatenate([rare, high])
    lacking = np.arange(nodes.shape[0]) >= rare.shape[0]
    ptr, idx, val = _columns(bits, nodes, length[nodes], lacking, n)
    y = sparse.csc_matrix((val, idx, ptr), shape=(n, nodes.shape[0])).tocsr()
    q = np.asarray(y[:, rare.shape[0]:].sum(axis=1)).ravel()  # lacked length (exact)
    yr = y[:n_r]
    yc = yr if upper else y[n_r:]
    a_sp = raw_arrays(yr, span[:n_r])
    b_sp = a_sp if upper else raw_arrays(yc, span[n_r:])
    shared = kernels.rectangle(kernels.RAW_SUM, *a_sp[:3], a_sp[6], *b_sp[3:], upper)
    shared += _dense_shared(bits, dense, length[dense], n_r, n_c, upper)
    q_r, q_c = q[:n_r], (q[:n_r] if upper else q[n_r:])
    s_r, s_c = span[:n_r], (span[:n_r] if upper else span[n_r:])
    c_high = float(length[high].sum()) + float(length[everyone].sum())
    shared += c_high - q_r[:, None] - q_c[None, :]
    union = s_r[:, None] + s_c[None, :] - shared
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(union == 0.0, np.nan, np.maximum(1.0 - shared / union, 0.0))
    if upper:
        np.fill_diagonal(out, 0.0)
    return out


def unweighted_condensed(counts: sparse.csr_matrix, phylo: Phylogeny) -> np.ndarray:
    """All pairs of unweighted UniFrac, condensed (scipy order)."""
    m = sparse.csr_matrix(counts)
    n = m.shape[0]
    out = np.empty(n * (n - 1) // 2, dtype=np.float64)
    step = n if n <= SQUARE_UP_TO else SQUARE_UP_TO
    for a in range(0, n, step):
        b = min(n, a + step)
        part = (unweighted_rectangle(m[a:b], m[a:b], phylo, True) if (a, b) == (0, n)
                else unweighted_rectangle(m[a:b], m[a:], phylo, False))
        for r in range(b - a):
            i = a + r
            start = n * i - i * (i + 1) // 2
            out[start:start + n - i - 1] = part[r, r + 1:]
    return out
