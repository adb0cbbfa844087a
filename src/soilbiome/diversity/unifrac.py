"""UniFrac as a sum over the branches of the tree, on the sparse engine's kernels.

Every UniFrac variant is a sum over the branches ``b`` of the tree (length ``L_b``) of a term
in ``p_ib`` and ``p_jb``, what samples ``i`` and ``j`` hold below ``b`` (Lozupone & Knight
2005, Appl. Environ. Microbiol. 71:8228; Lozupone et al. 2007, AEM 73:1576). Fast UniFrac
(Hamady et al. 2010, ISME J 4:17) computes these per-branch vectors for every sample in one
postorder pass and sums over the branches; Striped UniFrac (McDonald et al. 2018, Nat. Methods
15:847) does the same for all pairs with one vectorised update per branch.

Here the per-branch vectors are a sparse *samples x branches* matrix ``X`` built in one
postorder pass per sample over the branches the sample touches (:func:`expand`), and the sum
over branches becomes the "sum of minima" that the Bray-Curtis kernel already computes:

* unweighted: ``X_ib = L_b`` when sample ``i`` has a feature below ``b``. With
  ``M_ij = sum_b min(X_ib, X_jb)`` (the length shared) and ``S_i = sum_b X_ib`` (Faith's PD),
  ``d_ij = 1 - M_ij / (S_i + S_j - M_ij)`` (unique over observed branch length).
* weighted: ``X_ib = L_b * a_ib`` with ``a_ib`` the proportion of sample ``i``'s counts below
  ``b``. Since ``|x - y| = x + y - 2 min(x, y)``, the unnormalised value
  ``sum_b L_b |a_ib - a_jb| = S_i + S_j - 2 M_ij``, and the normalised one divides it by
  ``sum_tips depth_t (a_it + a_jt) = S_i + S_j``: ``d_ij = 1 - 2 M_ij / (S_i + S_j)``, the
  Bray-Curtis finish.

Work follows the non-zeros of ``X`` (pairs of samples that share a branch) instead of
``branches x pairs``, branches held by every sample are summed once (contiguous, vectorised
loop), and blocks of the square matrix are computed exactly as for Bray-Curtis
(:func:`soilbiome.diversity.beta.beta_block`), since ``X`` of a sample depends on that sample
only. The root's own branch (if it has a length) is ignored, as by scikit-bio and Striped
UniFrac.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit, prange
from scipy import sparse

from soilbiome.diversity.common import DiversityError

#: UniFrac metrics and whether each is weighted.
UNIFRAC_METRICS: dict[str, bool] = {
    "unweighted_unifrac": False,
    "weighted_unifrac": True,
    "weighted_normalized_unifrac": True,
}


@dataclass(frozen=True)
class TreeArrays:
    """A rooted tree as arrays in postorder (children before parents; the root last).

    Attributes
    ----------
    parent : numpy.ndarray of int64
        Postorder index of each node's parent (``-1`` for the root).
    length : numpy.ndarray of float64
        Branch length above each node (missing and the root's: 0).
    tips : dict of str to int
        Tip name -> postorder index.
    """

    parent: np.ndarray
    length: np.ndarray
    tips: dict[str, int]

    def tip_index(self, feature_ids: list[str] | tuple[str, ...]) -> np.ndarray:
        """Postorder index of each feature's tip; every feature must be a tip."""
        missing = [f for f in feature_ids if f not in self.tips]
        if missing:
            raise DiversityError(
                f"{len(missing)} feature(s) are not tips of the tree, e.g. {missing[0]}")
        return np.array([self.tips[f] for f in feature_ids], dtype=np.int64)


def tree_arrays(tree: object) -> TreeArrays:
    """Postorder arrays of a :class:`skbio.TreeNode` (see :class:`TreeArrays`)."""
    nodes = list(tree.postorder(include_self=True))
    index = {id(node): k for k, node in enumerate(nodes)}
    parent = np.array([index[id(n.parent)] if n.parent is not None else -1 for n in nodes],
                      dtype=np.int64)
    length = np.array([float(n.length or 0.0) if n.parent is not None else 0.0
                       for n in nodes], dtype=np.float64)
    if (length < 0).any() or not np.isfinite(length).all():
        raise DiversityError("the tree has negative or non-finite branch lengths")
    tips = {n.name: k for k, n in enumerate(nodes) if not n.children and n.name is not None}
    return TreeArrays(parent, length, tips)


@njit(cache=True)
def _touched(i, indptr, indices, tip_of, parent, mark, stack):
    """Mark the branches above sample ``i``'s features; return how many (in ``stack``)."""
    top = 0
    for p in range(indptr[i], indptr[i + 1]):
        node = tip_of[indices[p]]
        while node >= 0 and parent[node] >= 0 and mark[node] == 0:
            mark[node] = 1
            stack[top] = node
            top += 1
            node = parent[node]
    return top


@njit(cache=True, parallel=True)
def _expand(indptr, indices, data, tip_of, parent, length, weighted, n_nodes):
    n = indptr.shape[0] - 1
    chunks = max(1, min(n, 64))
    per = (n + chunks - 1) // chunks
    counts = np.zeros(n + 1, dtype=np.int64)
    for c in prange(chunks):
        mark = np.zeros(n_nodes, dtype=np.int8)
        stack = np.empty(n_nodes, dtype=np.int64)
        for i in range(c * per, min(n, (c + 1) * per)):
            top = _touched(i, indptr, indices, tip_of, parent, mark, stack)
            kept = 0
            for t in range(top):
                if length[stack[t]] > 0.0:
                    kept += 1
                mark[stack[t]] = 0
            counts[i + 1] = kept
    out_ptr = np.cumsum(counts)
    out_idx = np.empty(out_ptr[n], dtype=np.int64)
    out_val = np.empty(out_ptr[n], dtype=np.float64)
    for c in prange(chunks):
        mark = np.zeros(n_nodes, dtype=np.int8)
        stack = np.empty(n_nodes, dtype=np.int64)
        below = np.zeros(n_nodes, dtype=np.float64)
        for i in range(c * per, min(n, (c + 1) * per)):
            top = _touched(i, indptr, indices, tip_of, parent, mark, stack)
            # in postorder (children before their parent): sort the touched nodes, or scan
            # the mark array when they are a large part of the tree
            if not weighted:  # presence only: any order (unweighted sums are exact)
                nodes = stack[:top]
            elif top * 16 < n_nodes:
                nodes = np.sort(stack[:top])
            else:
                nodes = stack[:top]
                t = 0
                for node in range(n_nodes):
                    if mark[node]:
                        nodes[t] = node
                        t += 1
            if weighted:
                total = 0.0
                for p in range(indptr[i], indptr[i + 1]):
                    total += data[p]
                for p in range(indptr[i], indptr[i + 1]):
                    below[tip_of[indices[p]]] += data[p] / total
                for t in range(top):
                    node = nodes[t]
                    up = parent[node]
                    if parent[up] >= 0:
                        below[up] += below[node]
            q = out_ptr[i]
            for t in range(top):
                node = nodes[t]
                mark[node] = 0
                if length[node] > 0.0:
                    out_idx[q] = node
                    out_val[q] = length[node] * below[node] if weighted else length[node]
                    q += 1
                below[node] = 0.0
    return out_ptr, out_idx, out_val


def fixed_point(length: np.ndarray) -> np.ndarray:
    """Branch lengths as whole numbers of ``2^-s``, ``s`` as large as keeps the whole tree's
    length below ``2^52``: every sum of them is then exact in float64, in any order.

    Unweighted UniFrac is a ratio of such sums (``M / (S_i + S_j - M)``, the scale cancels),
    so its shared lengths may come from a BLAS matrix product (any summation order) and still
    be bit-identical between blocks and the one-pass matrix. Rounding moves each length by at
    most ``2^-(s+1)`` (``1e-13`` for a tree of total length 1,000).
    """
    total = float(length.sum())
    if total <= 0.0:
        return length.copy()
    s = 51 - int(np.ceil(np.log2(total)))
    return np.round(np.ldexp(length, s))


def expand(matrix: sparse.csr_matrix, tip_of: np.ndarray, tree: TreeArrays,
           weighted: bool) -> sparse.csr_matrix:
    """The samples x branches matrix ``X`` of the module docstring.

    Parameters
    ----------
    matrix : scipy.sparse.csr_matrix
        Samples x features counts (every row non-empty when ``weighted``).
    tip_of : numpy.ndarray
        Postorder index of each feature's tip (:meth:`TreeArrays.tip_index`).
    tree : TreeArrays
    weighted : bool
        ``X_ib = L_b a_ib`` (proportion below ``b``) rather than ``L_b`` for presence
        (unweighted: the lengths of :func:`fixed_point`).

    Returns
    -------
    scipy.sparse.csr_matrix
        ``n_samples x n_nodes``, branches of length 0 left out; indices sorted when
        ``weighted`` (unweighted: in the order the branches were reached).
    """
    m = sparse.csr_matrix(matrix, dtype=np.float64)
    m.eliminate_zeros()
    m.sort_indices()
    n_nodes = tree.parent.shape[0]
    length = tree.length if weighted else fixed_point(tree.length)
    ptr, idx, val = _expand(m.indptr.astype(np.int64), m.indices.astype(np.int64), m.data,
                            tip_of, tree.parent, length, weighted, n_nodes)
    return sparse.csr_matrix((val, idx, ptr), shape=(m.shape[0], n_nodes))


@dataclass(frozen=True)
class Phylogeny:
    """A tree ready for UniFrac on one table's features.

    Attributes
    ----------
    tree : TreeArrays
    tip_of : numpy.ndarray of int64
        Postorder index of the tip of each feature (table column).
    """

    tree: TreeArrays
    tip_of: np.ndarray

    @classmethod
    def of(cls, tree: object, feature_ids: list[str] | tuple[str, ...]) -> Phylogeny:
        """From a :class:`skbio.TreeNode` (or a :class:`TreeArrays`) and the feature IDs."""
        arrays = tree if isinstance(tree, TreeArrays) else tree_arrays(tree)
        return cls(arrays, arrays.tip_index(feature_ids))

    def branches(self, matrix: sparse.csr_matrix, weighted: bool) -> sparse.csr_matrix:
        """The samples x branches matrix of ``matrix`` (see :func:`expand`)."""
        if matrix.shape[1] != self.tip_of.shape[0]:
            raise DiversityError(f"table has {matrix.shape[1]} features, the tree was set up "
                                 f"for {self.tip_of.shape[0]}")
        return expand(matrix, self.tip_of, self.tree, weighted)


# -- unweighted UniFrac: exact sums, common branches in a dense matrix product --------------
#
# With fixed-point lengths (:func:`fixed_point`) every shared length ``M_ij`` is a sum of
# whole numbers below ``2^52``, exact in float64 in any order, so the branches can be split
# between two methods whose sums simply add up: the rare ones (held by few samples) go
# through the sparse kernel (work: the pairs of samples that share the branch, ``~occ^2 n^2
# / 2``), the common ones through a dense product ``(P L) P^T`` of the 0/1 presence matrix
# ``P`` (BLAS ``dgemm``: every product ``1 * L_b`` is exact, and so are the sums): work
# ``n^2`` per branch whatever its occupancy, but at the processor's peak floating-point rate
# (vector FMA), tens of times the rate of the sparse kernel's scattered additions. This plays
# the role of Striped UniFrac's bit-packed look-up tables (McDonald et al. 2018; ``n^2 / 16``
# table look-ups per branch).

#: Branches held by at least ``DENSE_FROM`` and at most ``DENSE_TO`` of the samples go through
#: the dense product, the others through the sparse kernel (those above ``DENSE_TO`` as what
#: the samples lack); measured on 1,000 x 5,000 tables at 1-40% non-zero (docs/diversity.md).
DENSE_FROM = 0.1
DENSE_TO = 0.9
#: Memory for the dense presence matrices of one chunk of common branches (both sides).
DENSE_BYTES = 256 << 20
#: Row tiles of the dense product when rows and columns are the same samples (only the
#: tiles on and right of the diagonal are multiplied).
DENSE_TILE = 128


@njit(cache=True)
def _sparse_rows(indptr, indices, data, pos, high, high_len):
    """The CSR arrays of what goes through the sparse kernel: ``X`` on the rare branches
    (``pos == -1``) and, on the branches held by most samples (``pos == -2``, ``high`` their
    node indices, ``high_len`` their lengths), the ones the sample *lacks*."""
    n = indptr.shape[0] - 1
    nh = high.shape[0]
    counts = np.zeros(n + 1, dtype=np.int64)
    for i in range(n):
        c = nh
        for p in range(indptr[i], indptr[i + 1]):
            s = pos[indices[p]]
            if s == -1:
                c += 1
            elif s == -2:
                c -= 1
        counts[i + 1] = c
    rptr = np.cumsum(counts)
    ridx = np.empty(rptr[n], dtype=np.int64)
    rval = np.empty(rptr[n], dtype=np.float64)
    held = np.zeros(pos.shape[0], dtype=np.bool_)
    for i in range(n):
        q = rptr[i]
        for p in range(indptr[i], indptr[i + 1]):
            k = indices[p]
            if pos[k] == -1:
                ridx[q] = k
                rval[q] = data[p]
                q += 1
            elif pos[k] == -2:
                held[k] = True
        for h in range(nh):
            k = high[h]
            if held[k]:
                held[k] = False
            else:
                ridx[q] = k
                rval[q] = high_len[h]
                q += 1
    return rptr, ridx, rval


def _sparse_part(x: sparse.csr_matrix, pos: np.ndarray, high: np.ndarray,
                 high_len: np.ndarray) -> tuple[sparse.csr_matrix, np.ndarray]:
    """The matrix of :func:`_sparse_rows` and, per sample, the summed length of the branches
    held by most samples that it lacks."""
    ptr, idx, val = _sparse_rows(x.indptr.astype(np.int64), x.indices.astype(np.int64),
                                 x.data, pos, high, high_len)
    out = sparse.csr_matrix((val, idx, ptr), shape=x.shape)
    lacking = np.zeros(pos.shape[0])
    lacking[high] = 1.0
    return out, out @ lacking


@njit(cache=True, parallel=True)
def _dense_chunk(indptr, indices, pos, lo, value, out):
    """``out[i, s - lo] = value[s - lo]`` for the common branches ``s = pos[k]`` in
    ``lo .. lo + out.shape[1]`` held by row ``i``; 0 elsewhere."""
    n = indptr.shape[0] - 1
    width = out.shape[1]
    for ii in prange(n):
        i = np.int64(ii)
        for q in range(width):
            out[i, q] = 0.0
        for p in range(indptr[i], indptr[i + 1]):
            s = pos[indices[p]] - lo
            if s >= 0 and s < width:
                out[i, s] = value[s]


def _dense_shared(xr: sparse.csr_matrix, xc: sparse.csr_matrix, pos: np.ndarray,
                  lengths: np.ndarray, upper: bool) -> np.ndarray:
    """``sum_b L_b p_ib p_jb`` over the common branches (``pos >= 0``; ``lengths`` in ``pos``
    order) by dense products, one chunk of branches at a time (exact sums).

    The products run as independent tiles of rows, one BLAS thread each, on a pool of as many
    threads as numba uses: on a shared machine a multi-threaded ``dgemm`` waits for its
    slowest thread at every step (measured 2-3x slower than the tiles under load)."""
    from concurrent.futures import ThreadPoolExecutor

    import numba
    from threadpoolctl import threadpool_limits

    n_r, n_c, nc = xr.shape[0], xc.shape[0], lengths.shape[0]
    out = np.zeros((n_r, n_c), dtype=np.float64)
    if nc == 0 or n_r == 0 or n_c == 0:
        return out
    width = int(max(64, min(nc, DENSE_BYTES // (8 * (n_r + n_c)))))
    r = (xr.indptr.astype(np.int64), xr.indices.astype(np.int64))
    c = r if upper else (xc.indptr.astype(np.int64), xc.indices.astype(np.int64))
    ones = np.ones(width)
    a = np.empty((n_r, width))
    b = np.empty((n_c, width))

    def tile(t: int) -> None:
        u = min(n_r, t + DENSE_TILE)
        if upper:
            out[t:u, t:] += a[t:u] @ b[t:].T
        else:
            out[t:u] += a[t:u] @ b.T

    with threadpool_limits(1, "blas"), ThreadPoolExecutor(numba.get_num_threads()) as pool:
        for lo in range(0, nc, width):
            w = min(width, nc - lo)
            if w < width:
                a, b = np.empty((n_r, w)), np.empty((n_c, w))
            _dense_chunk(*r, pos, lo, lengths[lo:lo + w], a)
            _dense_chunk(*c, pos, lo, ones[:w], b)
            list(pool.map(tile, range(0, n_r, DENSE_TILE)))
    if upper:  # the tiles left of the diagonal are the mirror of those right of it
        out = np.triu(out)
        out += np.triu(out, 1).T
    return out


def _raw_arrays(x: sparse.csr_matrix) -> tuple:
    """Kernel arguments of a CSR matrix for raw sums of minima (no dense columns)."""
    c = x.tocsc()
    c.sort_indices()
    sizes = np.asarray(x.sum(axis=1), dtype=np.float64).ravel()
    return (x.indptr.astype(np.int64), x.indices.astype(np.int64), x.data,
            c.indptr.astype(np.int64), c.indices.astype(np.int64), c.data, sizes,
            np.full(x.shape[1], -1, dtype=np.int64), np.zeros((0, x.shape[0])))


#: One-pass unweighted UniFrac is computed as one square up to this many samples, above it
#: in row chunks of this many (memory: a few chunk x n matrices).
SQUARE_UP_TO = 4096


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


def unweighted_rectangle(rows_counts: sparse.csr_matrix, cols_counts: sparse.csr_matrix,
                         phylo: Phylogeny, upper: bool) -> np.ndarray:
    """Unweighted UniFrac between two sets of samples (``upper``: the same set; the diagonal
    is 0). Exact sums: independent of how the samples are split into blocks."""
    from soilbiome.diversity import kernels

    xr = phylo.branches(rows_counts, False)
    xc = xr if upper else phylo.branches(cols_counts, False)
    occ = np.bincount(xr.indices, minlength=xr.shape[1])
    total = xr.shape[0]
    if not upper:
        occ = occ + np.bincount(xc.indices, minlength=xc.shape[1])
        total += xc.shape[0]
    lengths = fixed_point(phylo.tree.length)
    # the rare branches and, as what the samples lack, those held by most go through the
    # sparse kernel, the others through the dense product (exact sums: the split may differ
    # between blocks); over the branches held by most,
    # sum L p_i p_j = C - Q_i - Q_j + sum L q_i q_j with q = 1 - p
    kept = lengths > 0
    dense = kept & (occ >= max(DENSE_FROM * total, 2)) & (occ <= DENSE_TO * total)
    high = np.flatnonzero(kept & (occ > DENSE_TO * total))
    pos = np.where(kept, -1, -3)
    pos[high] = -2
    pos[dense] = np.arange(int(dense.sum()))
    r_sparse, q_r = _sparse_part(xr, pos, high, lengths[high])
    c_sparse, q_c = (r_sparse, q_r) if upper else _sparse_part(xc, pos, high, lengths[high])
    s_r = np.asarray(xr.sum(axis=1)).ravel()
    s_c = s_r if upper else np.asarray(xc.sum(axis=1)).ravel()
    a_sp, b_sp = _raw_arrays(r_sparse), _raw_arrays(c_sparse)
    shared = kernels.rectangle(kernels.RAW_SUM, *a_sp[:3], a_sp[6], *b_sp[3:], upper)
    shared += _dense_shared(xr, xc, pos, lengths[dense], upper)
    shared += float(lengths[high].sum()) - q_r[:, None] - q_c[None, :]
    union = s_r[:, None] + s_c[None, :] - shared
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(union == 0.0, np.nan, np.maximum(1.0 - shared / union, 0.0))
    if upper:
        np.fill_diagonal(out, 0.0)
    return out
