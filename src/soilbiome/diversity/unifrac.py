"""UniFrac: the tree as arrays, the metrics, and the fixed point their exact sums use.

Every UniFrac variant is a sum over the branches ``b`` of the tree (length ``L_b``) of a term
in ``p_ib`` and ``p_jb``, what samples ``i`` and ``j`` hold below ``b`` (Lozupone & Knight
2005, Appl. Environ. Microbiol. 71:8228; Lozupone et al. 2007, AEM 73:1576). Fast UniFrac
(Hamady et al. 2010, ISME J 4:17) computes these per-branch vectors for every sample in one
postorder pass and sums over the branches; Striped UniFrac (McDonald et al. 2018, Nat. Methods
15:847) does the same for all pairs with one vectorised update per branch.

Here each variant becomes a "sum of minima" over the branches:

* unweighted: ``X_ib = L_b`` when sample ``i`` has a feature below ``b``. With
  ``M_ij = sum_b min(X_ib, X_jb)`` (the length shared) and ``S_i = sum_b X_ib`` (Faith's PD),
  ``d_ij = 1 - M_ij / (S_i + S_j - M_ij)`` (unique over observed branch length);
  :mod:`soilbiome.diversity.unweighted`.
* weighted: ``X_ib = L_b * a_ib`` with ``a_ib`` the proportion of sample ``i``'s counts below
  ``b``. Since ``|x - y| = x + y - 2 min(x, y)``, the unnormalised value
  ``sum_b L_b |a_ib - a_jb| = S_i + S_j - 2 M_ij``, and the normalised one divides it by
  ``sum_tips depth_t (a_it + a_jt) = S_i + S_j``: ``d_ij = 1 - 2 M_ij / (S_i + S_j)``;
  :mod:`soilbiome.diversity.weighted`.

Both engines keep ``X`` in fixed point (whole multiples of ``2^-s``), so that every sum is
exact in any order: the branches are split between a sparse kernel and a dense product by how
many samples hold them, and blocks of the square matrix equal the one-pass matrix bit for bit
(what a sample holds depends on that sample only). The root's own branch (if it has a length)
is ignored, as by scikit-bio and Striped UniFrac.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from soilbiome.diversity.common import DiversityError

#: UniFrac metrics and whether each is weighted.
UNIFRAC_METRICS: dict[str, bool] = {
    "unweighted_unifrac": False,
    "weighted_unifrac": True,
    "weighted_normalized_unifrac": True,
}

#: How branch lengths are read: ``double`` (as written; the default) or ``single`` (rounded
#: to the nearest single-precision value, as Striped UniFrac reads them).
BRANCH_LENGTHS: tuple[str, ...] = ("double", "single")


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
    """Postorder arrays of a :class:`skbio.TreeNode`, a :class:`soilbiome.io.newick.Node` or
    (without walking node objects) a :class:`soilbiome.io.newick.FlatTree` (see
    :class:`TreeArrays`); negative or non-finite branch lengths are refused."""
    arrays = postorder_arrays(tree)
    if (arrays.length < 0).any() or not np.isfinite(arrays.length).all():
        raise DiversityError("the tree has negative or non-finite branch lengths")
    return arrays


def at_precision(tree: TreeArrays, branch_lengths: str) -> TreeArrays:
    """The tree with its branch lengths read in ``branch_lengths`` precision (see
    :data:`BRANCH_LENGTHS`).

    ``single`` rounds every length to the nearest single-precision value, as Striped UniFrac
    does when it reads a Newick tree (``std::stof`` in unifrac-binaries' ``BPTree``, so also
    QIIME 2's UniFrac and Faith's PD): with it, values equal ``ssu`` and ``faithpd`` to
    ~1e-15 instead of ~1e-8. The rounding starts from the double-precision length, which
    gives the single-precision value ``std::stof`` gives from the text except when the
    decimal lies within 2^-53 (relative) of a point halfway between two single-precision
    values."""
    if branch_lengths == "double":
        return tree
    if branch_lengths != "single":
        raise DiversityError(f"branch lengths must be one of {', '.join(BRANCH_LENGTHS)}, "
                             f"not {branch_lengths!r}")
    with np.errstate(over="ignore"):
        single = tree.length.astype(np.float32)
    if not np.isfinite(single[np.isfinite(tree.length)]).all():
        raise DiversityError("a branch length of the tree is too large for single precision "
                             "(above 3.4e38)")
    return TreeArrays(tree.parent, single.astype(np.float64), tree.tips)


def postorder_arrays(tree: object) -> TreeArrays:
    """:func:`tree_arrays` without the check of the branch lengths (Faith's PD sums them as
    they are)."""
    from soilbiome.io.newick import FlatTree

    if isinstance(tree, FlatTree):  # already postorder: the C reader's arrays, or lists
        if tree.arrays is not None:
            parent, length = tree.arrays[0], tree.arrays[1].copy()
        else:
            parent = np.array(tree.parent, dtype=np.int64)
            length = np.array([float(v or 0.0) for v in tree.lengths], dtype=np.float64)
        length[parent < 0] = 0.0
        tips = {name: k for name, k in tree.tip_index().items() if name is not None}
    else:
        nodes = list(tree.postorder(include_self=True))
        index = {id(node): k for k, node in enumerate(nodes)}
        parent = np.array([index[id(n.parent)] if n.parent is not None else -1
                           for n in nodes], dtype=np.int64)
        length = np.array([float(n.length or 0.0) if n.parent is not None else 0.0
                           for n in nodes], dtype=np.float64)
        tips = {n.name: k for k, n in enumerate(nodes) if not n.children and n.name is not None}
    return TreeArrays(parent, length, tips)


def fixed_point(length: np.ndarray, total: float | None = None) -> np.ndarray:
    """Branch lengths as whole numbers of ``2^-s``, ``s`` as large as keeps the whole tree's
    length (``total``, default the sum of ``length``) below ``2^52``: every sum of them is
    then exact in float64, in any order.

    Unweighted UniFrac is a ratio of such sums (``M / (S_i + S_j - M)``, the scale cancels),
    so its shared lengths may come from a BLAS matrix product (any summation order) and still
    be bit-identical between blocks and the one-pass matrix. Rounding moves each length by at
    most ``2^-(s+1)`` (``1e-13`` for a tree of total length 1,000).
    """
    total = float(length.sum()) if total is None else float(total)
    if total <= 0.0:
        return length.copy()
    s = 51 - int(np.ceil(np.log2(total)))
    return np.round(np.ldexp(length, s))


def shear(tree: TreeArrays, tip_of: np.ndarray) -> tuple[TreeArrays, np.ndarray]:
    """The nodes of ``tree`` with a feature tip (``tip_of``) at or below them, in the same
    postorder, and the features' tips in it.

    What Striped UniFrac does with a reference tree before its kernel: a branch with no
    feature below holds nothing in any sample and adds 0 to every UniFrac sum. Nothing else
    changes (single-child chains stay, lengths stay), so with the whole tree's fixed-point
    scale (:attr:`Phylogeny.whole`) every sum, and so every value, is the same to the bit.
    """
    parent = tree.parent
    keep = np.zeros(parent.shape[0], dtype=bool)
    up = np.unique(tip_of)
    while up.size:  # from the tips to the root, each node once
        keep[up] = True
        up = parent[up]
        up = np.unique(up[up >= 0])
        up = up[~keep[up]]
    kept = np.flatnonzero(keep)  # postorder kept; the root (last) is an ancestor of every tip
    new = np.full(parent.shape[0], -1, dtype=np.int64)
    new[kept] = np.arange(kept.shape[0])
    above = parent[kept]
    sheared = TreeArrays(np.where(above >= 0, new[np.maximum(above, 0)], -1),
                         tree.length[kept], {})
    return sheared, new[tip_of]


@dataclass(frozen=True)
class Phylogeny:
    """A tree ready for UniFrac on one table's features.

    Attributes
    ----------
    tree : TreeArrays
        The nodes with a feature at or below them (:func:`shear`; its ``tips`` is empty).
    tip_of : numpy.ndarray of int64
        Postorder index in ``tree`` of the tip of each feature (table column).
    whole : TreeArrays
        The tree as read: the fixed-point scales (:func:`fixed_point`,
        :func:`soilbiome.diversity.weighted.scale_bits`) are taken from it, so that values do
        not depend on how much of a reference tree the table uses.
    """

    tree: TreeArrays
    tip_of: np.ndarray
    whole: TreeArrays

    @classmethod
    def of(cls, tree: object, feature_ids: list[str] | tuple[str, ...],
           branch_lengths: str = "double") -> Phylogeny:
        """From a tree :func:`tree_arrays` reads (or a :class:`TreeArrays`) and the feature
        IDs, its branch lengths read in ``branch_lengths`` precision (:func:`at_precision`)."""
        arrays = at_precision(tree if isinstance(tree, TreeArrays) else tree_arrays(tree),
                              branch_lengths)
        sheared, tip_of = shear(arrays, arrays.tip_index(feature_ids))
        return cls(sheared, tip_of, arrays)
