"""Beta diversity: pairwise dissimilarities between samples, sparse and blockwise.

Bray-Curtis and Jaccard (presence/absence, vegan ``vegdist(binary=TRUE)``) are computed from
the sparse samples x features table by the compiled kernels of
:mod:`soilbiome.diversity.kernels`: never a dense samples x features matrix, and the result is
the condensed upper triangle (half the memory of a square matrix). :func:`beta_block` computes
one rectangular block of the square matrix, so that blocks can run as separate tasks and be
assembled on disk (:mod:`soilbiome.diversity.blocks`); a block equals the corresponding part
of the one-pass result bit for bit. The UniFrac variants have engines of their own with
exact sums (:mod:`soilbiome.diversity.unweighted`, :mod:`soilbiome.diversity.weighted`), on
the same sparse kernel for their rare branches (blocks included).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse

from soilbiome.diversity.common import (
    BETA_METRICS,
    PHYLO_METRICS,
    DiversityError,
    as_sparse,
)
from soilbiome.diversity.unifrac import UNIFRAC_METRICS, Phylogeny
from soilbiome.diversity.unweighted import unweighted_condensed, unweighted_rectangle

# The numba modules (kernels, weighted) are imported where they are called: unweighted UniFrac
# alone (`beta matrix`, `beta block`) runs on the C kernels and needs no numba (0.1-0.35 s).

#: Metrics of the sparse engine (the UniFrac ones need a tree).
ENGINE_METRICS: tuple[str, ...] = ("braycurtis", "jaccard", *UNIFRAC_METRICS)


@dataclass
class Distances:
    """A symmetric dissimilarity matrix kept as its condensed upper triangle.

    Attributes
    ----------
    ids : tuple of str
        Sample IDs, in matrix order.
    condensed : numpy.ndarray
        ``n (n - 1) / 2`` values, ``d[i, j]`` (``i < j``) at ``n i - i (i + 1) / 2 + j - i - 1``
        (scipy's ``squareform`` order).
    metric : str
        What the values are.
    """

    ids: tuple[str, ...]
    condensed: np.ndarray
    metric: str = ""

    @property
    def shape(self) -> tuple[int, int]:
        """``(n, n)``."""
        return (len(self.ids), len(self.ids))

    @property
    def data(self) -> np.ndarray:
        """The square matrix (``n x n``; allocate only for moderate ``n``)."""
        from scipy.spatial.distance import squareform

        return squareform(self.condensed, checks=False)

    def row(self, i: int) -> np.ndarray:
        """Row ``i`` of the square matrix, built from the condensed form (``O(n)``)."""
        n = len(self.ids)
        out = np.empty(n, dtype=np.float64)
        j = np.arange(i)
        out[:i] = self.condensed[n * j - j * (j + 1) // 2 + i - j - 1]
        out[i] = 0.0
        start = n * i - i * (i + 1) // 2
        out[i + 1:] = self.condensed[start:start + n - i - 1]
        return out

    def filter(self, ids: Sequence[str]) -> Distances:
        """The sub-matrix of ``ids`` (in that order)."""
        from scipy.spatial.distance import squareform

        pos = {s: k for k, s in enumerate(self.ids)}
        idx = np.array([pos[s] for s in ids], dtype=np.int64)
        sub = self.data[np.ix_(idx, idx)]
        return Distances(tuple(ids), squareform(sub, checks=False), self.metric)

    def to_skbio(self) -> object:
        """As a :class:`skbio.DistanceMatrix` (square, in memory)."""
        from skbio import DistanceMatrix

        return DistanceMatrix(self.data, list(self.ids), validate=False)

    @classmethod
    def from_skbio(cls, dm: object, metric: str = "") -> Distances:
        """From a :class:`skbio.DistanceMatrix`."""
        return cls(tuple(str(i) for i in dm.ids), np.asarray(dm.condensed_form()), metric)


def as_distances(dm: object) -> Distances:
    """Accept a :class:`Distances` or a :class:`skbio.DistanceMatrix`."""
    return dm if isinstance(dm, Distances) else Distances.from_skbio(dm)


#: A feature (branch) held by at least this fraction of the column samples is also kept as a
#: dense column: one contiguous vectorised pass beats scattering into the accumulator.
DENSE_FROM = 0.5


def _prepared(matrix: sparse.csr_matrix, metric: str) -> tuple:
    """CSR and CSC arrays (int64 indices) and per-sample sizes for a kernel."""
    m = sparse.csr_matrix(matrix, dtype=np.float64)
    m.sort_indices()
    c = m.tocsc()
    c.sort_indices()
    if metric == "jaccard":
        sizes = np.diff(m.indptr).astype(np.float64)
    else:
        sizes = np.asarray(m.sum(axis=1), dtype=np.float64).ravel()
    # features held by many samples are also kept as dense columns (see kernels._scatter)
    n = m.shape[0]
    held = np.diff(c.indptr)
    wide = np.flatnonzero(held >= max(DENSE_FROM * n, 2))
    slot = np.full(m.shape[1], -1, dtype=np.int64)
    slot[wide] = np.arange(wide.size)
    dense = np.ascontiguousarray(c[:, wide].T.toarray(), dtype=np.float64)
    if metric == "jaccard":
        dense = (dense > 0).astype(np.float64)
    return (m.indptr.astype(np.int64), m.indices.astype(np.int64), m.data,
            c.indptr.astype(np.int64), c.indices.astype(np.int64), c.data, sizes, slot, dense)


def _kind(metric: str) -> int:
    """The kernel kind of a non-phylogenetic metric (the UniFrac ones have their own engines)."""
    from soilbiome.diversity import kernels

    kinds = {"braycurtis": kernels.BRAYCURTIS, "jaccard": kernels.JACCARD}
    if metric not in kinds:
        raise DiversityError(f"unknown metric {metric!r} for the sparse engine")
    return kinds[metric]


def sparse_beta(matrix: sparse.csr_matrix, metric: str,
                phylo: Phylogeny | None = None) -> np.ndarray:
    """Condensed dissimilarities between all rows of a sparse samples x features matrix.

    Parameters
    ----------
    matrix : scipy.sparse matrix
        Samples x features, non-negative.
    metric : {"braycurtis", "jaccard", "unweighted_unifrac", "weighted_unifrac", \
"weighted_normalized_unifrac"}
    phylo : Phylogeny, optional
        The tree and the features' tips (UniFrac only).

    Returns
    -------
    numpy.ndarray
        Condensed upper triangle (scipy ``pdist`` order). Pairs of two empty samples are NaN.
    """
    if metric in UNIFRAC_METRICS:
        if phylo is None:
            raise DiversityError(f"{metric} needs a phylogenetic tree (--tree)")
        if metric == "unweighted_unifrac":
            return unweighted_condensed(matrix, phylo)
        from soilbiome.diversity.weighted import weighted_condensed

        return weighted_condensed(matrix, phylo, metric == "weighted_normalized_unifrac")
    from soilbiome.diversity import kernels

    return kernels.condensed(_kind(metric), *_prepared(matrix, metric))


def beta_block(matrix: sparse.csr_matrix, rows: tuple[int, int], cols: tuple[int, int],
               metric: str, phylo: Phylogeny | None = None) -> np.ndarray:
    """One block ``[rows) x [cols)`` of the square dissimilarity matrix.

    Parameters
    ----------
    matrix : scipy.sparse matrix
        The whole samples x features table (blocks index its rows).
    rows, cols : (int, int)
        Half-open sample ranges.
    metric : str
        One of :data:`ENGINE_METRICS`.
    phylo : Phylogeny, optional
        The tree (UniFrac only): only the block's samples are put on its branches.

    Returns
    -------
    numpy.ndarray
        ``(rows[1] - rows[0]) x (cols[1] - cols[0])``, equal bit for bit to the same part of
        the one-pass result (a diagonal block is computed on its upper triangle and mirrored).
    """
    m = sparse.csr_matrix(matrix)
    if metric in UNIFRAC_METRICS:  # exact sums: the order of the samples does not matter
        if phylo is None:
            raise DiversityError(f"{metric} needs a phylogenetic tree (--tree)")
        r, c, upper = m[rows[0]:rows[1]], m[cols[0]:cols[1]], tuple(rows) == tuple(cols)
        if metric == "unweighted_unifrac":
            return unweighted_rectangle(r, c, phylo, upper)
        from soilbiome.diversity.weighted import weighted_rectangle

        return weighted_rectangle(r, c, phylo, upper, metric == "weighted_normalized_unifrac")
    from soilbiome.diversity import kernels

    kind = _kind(metric)
    a = _prepared(m[rows[0]:rows[1]], metric)
    if tuple(rows) == tuple(cols):
        return kernels.rectangle(kind, *a[:3], a[6], *a[3:], True)
    b = _prepared(m[cols[0]:cols[1]], metric)
    if rows[0] < cols[0]:
        return kernels.rectangle(kind, *a[:3], a[6], *b[3:], False)
    # below the diagonal: compute with the earlier samples as rows, as the one-pass kernel does
    out = kernels.rectangle(kind, *b[:3], b[6], *a[3:], False)
    return np.ascontiguousarray(out.T)


def beta_diversity(
    counts: object,
    metric: str,
    tree: object | None = None,
) -> tuple[Distances, dict[str, str]]:
    """Pairwise dissimilarities between the non-empty samples.

    Parameters
    ----------
    counts : FeatureTable, SparseCounts or pandas.DataFrame
        Samples x features.
    metric : {"braycurtis", "jaccard", "weighted_unifrac", "unweighted_unifrac", \
"weighted_normalized_unifrac"}
        Jaccard is computed on presence/absence (vegan ``vegdist(binary=TRUE)``).
    tree : skbio.TreeNode or Phylogeny, optional
        Rooted tree whose tips include the feature IDs; required for UniFrac.

    Returns
    -------
    Distances
        Between the non-empty samples.
    dict of str to str
        Samples left out and why (empty samples: distances to them are not informative,
        e.g. Bray-Curtis is 1 to every sample and 0/0 between two empty samples).
    """
    sc = as_sparse(counts)
    if metric not in BETA_METRICS + PHYLO_METRICS + tuple(UNIFRAC_METRICS):
        raise DiversityError(f"unknown beta metric {metric!r}")
    totals = sc.totals
    excluded = {
        sc.sample_ids[i]: "empty sample (0 reads): dissimilarities to it are undefined or "
        "uninformative"
        for i in np.flatnonzero(totals == 0)
    }
    kept = sc.rows(totals > 0)
    if len(kept.sample_ids) < 2:
        raise DiversityError(
            f"{metric} needs at least 2 non-empty samples; got {len(kept.sample_ids)}"
        )
    if metric in UNIFRAC_METRICS:
        if tree is None:
            raise DiversityError(f"{metric} needs a phylogenetic tree (--tree)")
        phylo = Phylogeny.of(tree, kept.feature_ids)
        return Distances(kept.sample_ids, sparse_beta(kept.matrix, metric, phylo),
                         metric), excluded
    return Distances(kept.sample_ids, sparse_beta(kept.matrix, metric), metric), excluded
