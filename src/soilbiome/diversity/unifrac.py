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
UniFrac. Unweighted UniFrac has its own exact engine (:mod:`soilbiome.diversity.unweighted`:
presence bit sets, sparse and dense parts) that needs only :func:`fixed_point` from here.
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
def _expand(indptr, indices, data, tip_of, parent, length, n_nodes):
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
            if top * 16 < n_nodes:
                nodes = np.sort(stack[:top])
            else:
                nodes = stack[:top]
                t = 0
                for node in range(n_nodes):
                    if mark[node]:
                        nodes[t] = node
                        t += 1
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
                    out_val[q] = length[node] * below[node]
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


def expand(matrix: sparse.csr_matrix, tip_of: np.ndarray, tree: TreeArrays) -> sparse.csr_matrix:
    """The samples x branches matrix ``X`` of the weighted variants (module docstring).

    Parameters
    ----------
    matrix : scipy.sparse.csr_matrix
        Samples x features counts (every row non-empty).
    tip_of : numpy.ndarray
        Postorder index of each feature's tip (:meth:`TreeArrays.tip_index`).
    tree : TreeArrays

    Returns
    -------
    scipy.sparse.csr_matrix
        ``n_samples x n_nodes``, ``X_ib = L_b a_ib`` (``a_ib`` the proportion of the sample
        below ``b``), branches of length 0 left out, indices sorted.
    """
    m = sparse.csr_matrix(matrix, dtype=np.float64)
    m.eliminate_zeros()
    m.sort_indices()
    n_nodes = tree.parent.shape[0]
    ptr, idx, val = _expand(m.indptr.astype(np.int64), m.indices.astype(np.int64), m.data,
                            tip_of, tree.parent, tree.length, n_nodes)
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

    def branches(self, matrix: sparse.csr_matrix) -> sparse.csr_matrix:
        """The samples x branches matrix of ``matrix`` for weighted UniFrac (:func:`expand`)."""
        if matrix.shape[1] != self.tip_of.shape[0]:
            raise DiversityError(f"table has {matrix.shape[1]} features, the tree was set up "
                                 f"for {self.tip_of.shape[0]}")
        return expand(matrix, self.tip_of, self.tree)
