"""Weighted UniFrac (normalised or not) with exact sums: a sparse and a dense part.

Both weighted variants need, for every pair of samples, ``M_ij = sum_b min(X_ib, X_jb)`` over
the branches ``b``, with ``X_ib = L_b a_ib`` (branch length times the proportion of sample
``i``'s counts below it) and ``S_i = sum_b X_ib``: ``sum_b L_b |a_ib - a_jb| = S_i + S_j -
2 M_ij`` (unnormalised), ``1 - 2 M_ij / (S_i + S_j)`` (normalised; see
:mod:`soilbiome.diversity.unifrac`).

Each sample's proportions below every node come from one postorder pass over the (sheared) tree
(``n_nodes`` additions per sample, Fast UniFrac's embedding, Hamady et al. 2010), and ``X``
is put in fixed point: whole multiples of ``2^-s``, ``s`` as large as keeps every ``S_i``
within ``2^52`` (``S_i`` is at most the deepest tip's distance from the root, since the
proportions sum to 1). Every ``M_ij`` and ``S_i`` is then a sum of whole numbers, exact in
float64 in any order and by any method, as for unweighted UniFrac
(:mod:`soilbiome.diversity.unweighted`). Rounding moves each term by at most ``2^-(s+1)``
(``1.1e-16`` times the tree's depth), the size of the error one floating-point addition of
the sum makes. So the branches are split by how many samples hold them and the parts' sums
simply add up:

* rare branches (held by fewer than :data:`DENSE_FROM` of the samples) through the sparse
  kernel of :mod:`soilbiome.diversity.kernels` (work: the pairs that share the branch);
* the others through a dense "min-plus" product of the samples x branches values: tiles of
  4 x 4 pairs whose 16 running sums stay in registers while the branch loop runs vectorised
  (allowed because the sums are exact: any order gives the same bits), ``n^2 / 2`` min-adds
  per branch. Striped UniFrac (McDonald et al. 2018, Nat. Methods 15:847) does the same
  amount of work per branch (one ``|a_i - a_j|`` per pair), stripe by stripe with its sums
  in memory.

A block of the matrix is therefore bit-identical to the same entries of the one-pass matrix,
whichever split each of them uses.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange
from scipy import sparse

from soilbiome.diversity import kernels
from soilbiome.diversity.common import DiversityError
from soilbiome.diversity.unifrac import Phylogeny, TreeArrays

#: Branches held by at least this fraction of the samples go through the dense product
#: (measured on 1,000 x 5,000 tables at 1-40% non-zero, see docs/diversity.md "Speed").
DENSE_FROM = 0.15
#: At most this much memory for the dense values (samples x branches, float64); more
#: branches are taken in several chunks.
DENSE_BYTES = 256 << 20
#: One-pass weighted UniFrac is computed as one square up to this many samples, above it in
#: row chunks of this many.
SQUARE_UP_TO = 4096
#: The dense product's tile: rows and columns of pairs whose sums stay in registers.
_T = 4
_FASTMATH = {"reassoc", "nnan", "ninf", "nsz"}


def raw_arrays(x: sparse.csr_matrix, sizes: np.ndarray) -> tuple:
    """Kernel arguments of a CSR matrix for raw sums (no dense columns)."""
    c = x.tocsc()
    c.sort_indices()
    return (x.indptr.astype(np.int64), x.indices.astype(np.int64), x.data,
            c.indptr.astype(np.int64), c.indices.astype(np.int64), c.data, sizes,
            np.full(x.shape[1], -1, dtype=np.int64), np.zeros((0, x.shape[0])))


@njit(cache=True)
def _depth(parent, length):
    """Largest distance from the root to a node (nodes in postorder, the root last)."""
    n = parent.shape[0]
    depth = np.zeros(n)
    deepest = 0.0
    for k in range(n - 2, -1, -1):  # parents before their children
        depth[k] = depth[parent[k]] + length[k]
        if depth[k] > deepest:
            deepest = depth[k]
    return deepest


def scale_bits(tree: TreeArrays) -> int:
    """``s`` of the fixed point: ``2^s`` times the deepest tip's distance from the root (with
    room for the floating-point error of the proportions, and one per node for rounding)
    stays within ``2^52``, so that ``S_i + S_j`` and every partial sum are whole numbers of at
    most ``2^53``, exact in float64."""
    deepest = float(_depth(tree.parent, np.where(tree.parent >= 0, tree.length, 0.0)))
    if deepest <= 0.0:
        return 0
    room = (2.0 ** 52 - 2.0 * tree.parent.shape[0]) * (1.0 - 1e-9)
    return int(np.floor(np.log2(room / deepest)))


@njit(cache=True, fastmath=_FASTMATH, inline="always")
def _tile(a, b, r0, c0, out):
    """``out[r0 + r, c0 + c] += sum_k min(a[r0 + r, k], b[c0 + c, k])`` for a 4 x 4 tile."""
    a0, a1, a2, a3 = a[r0], a[r0 + 1], a[r0 + 2], a[r0 + 3]
    b0, b1, b2, b3 = b[c0], b[c0 + 1], b[c0 + 2], b[c0 + 3]
    s00 = s01 = s02 = s03 = s10 = s11 = s12 = s13 = 0.0
    s20 = s21 = s22 = s23 = s30 = s31 = s32 = s33 = 0.0
    for k in range(a.shape[1]):
        x0, x1, x2, x3 = a0[k], a1[k], a2[k], a3[k]
        y0, y1, y2, y3 = b0[k], b1[k], b2[k], b3[k]
        s00 += min(x0, y0)
        s01 += min(x0, y1)
        s02 += min(x0, y2)
        s03 += min(x0, y3)
        s10 += min(x1, y0)
        s11 += min(x1, y1)
        s12 += min(x1, y2)
        s13 += min(x1, y3)
        s20 += min(x2, y0)
        s21 += min(x2, y1)
        s22 += min(x2, y2)
        s23 += min(x2, y3)
        s30 += min(x3, y0)
        s31 += min(x3, y1)
        s32 += min(x3, y2)
        s33 += min(x3, y3)
    out[r0, c0] += s00
    out[r0, c0 + 1] += s01
    out[r0, c0 + 2] += s02
    out[r0, c0 + 3] += s03
    out[r0 + 1, c0] += s10
    out[r0 + 1, c0 + 1] += s11
    out[r0 + 1, c0 + 2] += s12
    out[r0 + 1, c0 + 3] += s13
    out[r0 + 2, c0] += s20
    out[r0 + 2, c0 + 1] += s21
    out[r0 + 2, c0 + 2] += s22
    out[r0 + 2, c0 + 3] += s23
    out[r0 + 3, c0] += s30
    out[r0 + 3, c0 + 1] += s31
    out[r0 + 3, c0 + 2] += s32
    out[r0 + 3, c0 + 3] += s33


@njit(cache=True, parallel=True, fastmath=_FASTMATH)
def min_product(a, b, out, upper):
    """``out[i, j] += sum_k min(a[i, k], b[j, k])`` (rows padded to multiples of 4).

    With ``upper`` (``a`` is ``b``) only the tiles on and right of the diagonal are computed;
    the entries below the diagonal are then not meaningful. Row tile ``t`` is paired with
    tile ``T - 1 - t`` so that the threads get equal parts of the triangle.
    """
    tr = a.shape[0] // _T
    tc = b.shape[0] // _T
    half = (tr + 1) // 2 if upper else tr
    for tt in prange(half):
        t = np.int64(tt)
        for s in range(2 if upper else 1):
            rt = t if s == 0 else tr - 1 - t
            if s == 1 and rt == t:
                continue
            for ct in range(rt if upper else 0, tc):
                _tile(a, b, rt * _T, ct * _T, out)


@njit(cache=True, inline="always")
def _below(i, indptr, indices, data, tip_of, into, below):
    """Proportion of sample ``i``'s counts below every node (``into``: the parent, or -1 for
    the root and its children, whose sums are not needed)."""
    below[:] = 0.0
    total = 0.0
    for p in range(indptr[i], indptr[i + 1]):
        total += data[p]
    for p in range(indptr[i], indptr[i + 1]):
        below[tip_of[indices[p]]] += data[p] / total
    for k in range(into.shape[0]):  # postorder: children before their parent
        up = into[k]
        if up >= 0:
            below[up] += below[k]


@njit(cache=True, parallel=True)
def _held(indptr, indices, tip_of, parent, n_nodes):
    """Number of samples holding each node (a feature with counts below it)."""
    n = indptr.shape[0] - 1
    chunks = max(1, min(n, 16))
    per = (n + chunks - 1) // chunks
    counts = np.zeros((chunks, n_nodes), dtype=np.int64)
    for c in prange(chunks):
        flag = np.zeros(n_nodes, dtype=np.int8)
        for i in range(c * per, min(n, (c + 1) * per)):
            flag[:] = 0
            for p in range(indptr[i], indptr[i + 1]):
                flag[tip_of[indices[p]]] = 1
            for k in range(n_nodes):
                if flag[k]:
                    counts[c, k] += 1
                    if parent[k] >= 0:
                        flag[parent[k]] = 1
    return counts.sum(axis=0)


@njit(cache=True, parallel=True)
def _embed(indptr, indices, data, tip_of, into, weight, slot, lo, hi, dense, split, gap,
           want_rare):
    """Fixed-point values ``round(X_ib 2^s)`` (``weight = L_b 2^s``, 0 for the branches left
    out) of every sample: those of the branches with ``lo <= slot[b] < hi`` into
    ``dense[i, slot[b] - lo]`` (``dense[i + gap, ...]`` for ``i >= split``); with
    ``want_rare`` also the per-sample sums and the branches of slot -1 as CSR (indices
    ascending)."""
    n = indptr.shape[0] - 1
    n_nodes = into.shape[0]
    sizes = np.zeros(n)
    counts = np.zeros(n + 1, dtype=np.int64)
    chunks = max(1, min(n, 64))
    per = (n + chunks - 1) // chunks
    for c in prange(chunks):
        below = np.empty(n_nodes)
        for i in range(c * per, min(n, (c + 1) * per)):
            _below(i, indptr, indices, data, tip_of, into, below)
            t = 0
            s = 0.0
            row = i if i < split else i + gap
            for k in range(n_nodes):
                if below[k] == 0.0 or weight[k] == 0.0:
                    continue
                v = np.floor(weight[k] * below[k] + 0.5)
                s += v
                q = slot[k]
                if q < 0:
                    t += 1
                elif q >= lo and q < hi:
                    dense[row, q - lo] = v
            sizes[i] = s
            counts[i + 1] = t
    ptr = np.cumsum(counts)
    r_idx = np.empty(ptr[n] if want_rare else 0, dtype=np.int64)
    r_val = np.empty(ptr[n] if want_rare else 0)
    if want_rare and ptr[n] > 0:
        for c in prange(chunks):
            below = np.empty(n_nodes)
            for i in range(c * per, min(n, (c + 1) * per)):
                _below(i, indptr, indices, data, tip_of, into, below)
                q = ptr[i]
                for k in range(n_nodes):
                    if below[k] != 0.0 and weight[k] != 0.0 and slot[k] < 0:
                        r_idx[q] = k
                        r_val[q] = np.floor(weight[k] * below[k] + 0.5)
                        q += 1
    return sizes, ptr, r_idx, r_val


class _Embedding:
    """The fixed-point samples x branches values of a table, split into rare branches (CSR)
    and dense ones (produced in chunks of columns, rows padded to a multiple of 4)."""

    def __init__(self, m: sparse.csr_matrix, phylo: Phylogeny, split: int | None) -> None:
        """``split``: the dense rows of samples ``split..`` start at the next multiple of 4
        (two sets of samples, each padded), or None (one set)."""
        tree = phylo.tree
        up = tree.parent
        into = np.where((up >= 0) & (up[np.maximum(up, 0)] >= 0), up, -1)
        self.args = (m.indptr.astype(np.int64), m.indices.astype(np.int64), m.data,
                     phylo.tip_of, into)
        n_nodes = tree.parent.shape[0]
        self.weight = np.where((tree.parent >= 0) & (tree.length > 0),
                               np.ldexp(tree.length, scale_bits(phylo.whole)), 0.0)
        n = m.shape[0]
        held = _held(*self.args[:2], phylo.tip_of, tree.parent, n_nodes)
        held[self.weight == 0.0] = 0
        self.dense = np.flatnonzero(held >= max(DENSE_FROM * n, 2))
        self.slot = np.full(n_nodes, -1, dtype=np.int64)
        self.slot[self.dense] = np.arange(self.dense.shape[0])
        self.split = n if split is None else split
        self.gap = -(-self.split // _T) * _T - self.split
        self.rows = self.split + self.gap + -(-(n - self.split) // _T) * _T
        #: dense branches per chunk (memory)
        self.width = int(max(64, DENSE_BYTES // (8 * max(self.rows, 1))))
        # the first chunk of dense values comes with the sums and the rare branches
        self._first = np.zeros((self.rows, min(self.width, self.dense.shape[0])))
        sizes, ptr, idx, val = _embed(*self.args, self.weight, self.slot, 0,
                                      self._first.shape[1], self._first, self.split,
                                      self.gap, True)
        self.sizes = sizes
        self.rare = sparse.csr_matrix((val, idx, ptr), shape=(n, n_nodes))

    def dense_chunk(self, lo: int) -> np.ndarray:
        """Values of the dense branches ``lo..lo + width`` (``lo`` a multiple of width)."""
        if lo == 0:
            return self._first
        out = np.zeros((self.rows, min(self.width, self.dense.shape[0] - lo)))
        _embed(*self.args, self.weight, self.slot, lo, lo + out.shape[1], out, self.split,
               self.gap, False)
        return out


def _dense_shared(emb: _Embedding, n_r: int, n_c: int, upper: bool) -> np.ndarray:
    """``M`` over the dense branches between the first ``n_r`` samples and the next ``n_c``
    (or the same ``n_r`` when ``upper``: then only ``j > i`` is meaningful), a chunk of
    branches at a time; padded to multiples of 4 (``0 x 0`` when there are none)."""
    if emb.dense.shape[0] == 0 or n_r == 0 or n_c == 0:
        return np.zeros((0, 0))
    r_pad = -(-n_r // _T) * _T
    c_pad = -(-n_c // _T) * _T
    part = np.zeros((r_pad, r_pad if upper else c_pad))
    for lo in range(0, emb.dense.shape[0], emb.width):
        chunk = emb.dense_chunk(lo)
        if upper:
            min_product(chunk, chunk, part, True)
        else:  # rows: the first r_pad of the chunk, columns: the rest (see _Embedding)
            min_product(chunk[:r_pad], chunk[r_pad:], part, False)
    return part


@njit(cache=True, inline="always")
def _value(shared, total, normalized, unit):
    """The distance from ``M`` and ``S_i + S_j`` (exact whole numbers; ``unit = 2^-s``)."""
    if normalized:
        if total == 0.0:
            return np.nan
        d = 1.0 - 2.0 * shared / total
        return d if d > 0.0 else 0.0
    d = total - 2.0 * shared
    return d * unit if d > 0.0 else 0.0


@njit(cache=True, parallel=True)
def _finish_condensed(rare, dense, sizes, normalized, unit):
    """Condensed distances from the rare part (condensed) and the dense part (square)."""
    n = sizes.shape[0]
    out = np.empty(n * (n - 1) // 2)
    has_dense = dense.shape[0] > 0
    for ii in prange(n):
        i = np.int64(ii)
        base = n * i - i * (i + 1) // 2 - i - 1
        for j in range(i + 1, n):
            m = rare[base + j] + (dense[i, j] if has_dense else 0.0)
            out[base + j] = _value(m, sizes[i] + sizes[j], normalized, unit)
    return out


@njit(cache=True, parallel=True)
def _finish_rectangle(rare, dense, s_r, s_c, normalized, unit):
    """Distances between two sets of samples from the rare and the dense parts."""
    n_r, n_c = rare.shape
    out = np.empty((n_r, n_c))
    has_dense = dense.shape[0] > 0
    for ii in prange(n_r):
        i = np.int64(ii)
        for j in range(n_c):
            m = rare[i, j] + (dense[i, j] if has_dense else 0.0)
            out[i, j] = _value(m, s_r[i] + s_c[j], normalized, unit)
    return out


def _embedded(m: sparse.csr_matrix, phylo: Phylogeny, split: int | None = None) -> _Embedding:
    m = sparse.csr_matrix(m, dtype=np.float64, copy=True)
    if m.shape[1] != phylo.tip_of.shape[0]:
        raise DiversityError(f"table has {m.shape[1]} features, the tree was set up for "
                             f"{phylo.tip_of.shape[0]}")
    m.eliminate_zeros()
    m.sort_indices()
    return _Embedding(m, phylo, split)


def _all_pairs(counts: sparse.csr_matrix, phylo: Phylogeny, normalized: bool) -> np.ndarray:
    """Condensed weighted UniFrac of all the samples of ``counts`` in one square."""
    emb = _embedded(counts, phylo)
    n = counts.shape[0]
    a = raw_arrays(emb.rare, emb.sizes)
    rare = kernels.condensed(kernels.RAW_SUM, *a)
    dense = _dense_shared(emb, n, n, True)
    return _finish_condensed(rare, dense, emb.sizes, normalized,
                             2.0 ** -scale_bits(phylo.whole))


def weighted_rectangle(rows_counts: sparse.csr_matrix, cols_counts: sparse.csr_matrix,
                       phylo: Phylogeny, upper: bool, normalized: bool) -> np.ndarray:
    """Weighted UniFrac between two sets of samples (``upper``: the same set, the diagonal
    0). Exact sums: independent of how the samples are split into blocks."""
    if upper:
        from scipy.spatial.distance import squareform  # scipy.spatial: 0.05 s, only here

        return squareform(_all_pairs(rows_counts, phylo, normalized), checks=False)
    emb = _embedded(sparse.vstack([rows_counts, cols_counts]), phylo, rows_counts.shape[0])
    n_r = rows_counts.shape[0]
    n_c = cols_counts.shape[0]
    a = raw_arrays(emb.rare[:n_r], emb.sizes[:n_r])
    b = raw_arrays(emb.rare[n_r:], emb.sizes[n_r:])
    rare = kernels.rectangle(kernels.RAW_SUM, *a[:3], a[6], *b[3:], False)
    dense = _dense_shared(emb, n_r, n_c, False)
    return _finish_rectangle(rare, dense, emb.sizes[:n_r], emb.sizes[n_r:], normalized,
                             2.0 ** -scale_bits(phylo.whole))


def weighted_condensed(counts: sparse.csr_matrix, phylo: Phylogeny,
                       normalized: bool) -> np.ndarray:
    """All pairs of weighted UniFrac, condensed (scipy order): one square up to
    :data:`SQUARE_UP_TO` samples, above it in row chunks (memory: chunk x n values)."""
    m = sparse.csr_matrix(counts)
    n = m.shape[0]
    if n <= SQUARE_UP_TO:
        return _all_pairs(m, phylo, normalized)
    out = np.empty(n * (n - 1) // 2, dtype=np.float64)
    for a in range(0, n, SQUARE_UP_TO):
        b = min(n, a + SQUARE_UP_TO)
        part = weighted_rectangle(m[a:b], m[a:], phylo, False, normalized)
        for r in range(b - a):
            i = a + r
            start = n * i - i * (i + 1) // 2
            out[start:start + n - i - 1] = part[r, r + 1:]
    return out
