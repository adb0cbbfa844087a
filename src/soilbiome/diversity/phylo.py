"""Faith's phylogenetic diversity on the sparse table.

Faith's PD of a sample (Faith 1992, Biol. Conserv. 61:1-10) is the total length of the branches
of a rooted tree that join the sample's features to the root (picante's ``pd(include.root =
TRUE)``, QIIME 2's ``faith_pd``). Computed for all samples at once: with ``P`` the samples x
features presence matrix and ``A`` the features x branches matrix marking the branches on each
feature's path to the root, a branch counts for a sample when ``(P @ A) > 0``; PD is that
indicator times the branch lengths.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import sparse

from soilbiome.diversity.common import DiversityError, as_sparse


def path_matrix(tree: object, feature_ids: list[str] | tuple[str, ...]) -> tuple[
        sparse.csr_matrix, np.ndarray]:
    """Features x branches incidence of the root paths, and the branch lengths.

    Parameters
    ----------
    tree : skbio.TreeNode, soilbiome.io.newick.Node or soilbiome.diversity.unifrac.TreeArrays
        Rooted tree; tips named by feature ID. Missing branch lengths count as 0.
    feature_ids : sequence of str

    Returns
    -------
    scipy.sparse.csr_matrix, numpy.ndarray
    """
    from soilbiome.diversity.unifrac import TreeArrays

    if isinstance(tree, TreeArrays):
        return _path_matrix_of_arrays(tree, feature_ids)
    tips = {t.name: t for t in tree.tips()}
    missing = [f for f in feature_ids if f not in tips]
    if missing:
        raise DiversityError(
            f"{len(missing)} feature(s) are not tips of the tree, e.g. {missing[0]}")
    index: dict[int, int] = {}
    lengths: list[float] = []
    rows: list[int] = []
    cols: list[int] = []
    for row, feature in enumerate(feature_ids):
        node = tips[feature]
        while node.parent is not None:
            key = id(node)
            if key not in index:
                index[key] = len(lengths)
                lengths.append(float(node.length or 0.0))
            rows.append(row)
            cols.append(index[key])
            node = node.parent
    incidence = sparse.csr_matrix((np.ones(len(rows), dtype=np.int8), (rows, cols)),
                                  shape=(len(feature_ids), len(lengths)))
    return incidence, np.asarray(lengths, dtype=float)


def _path_matrix_of_arrays(tree: object, feature_ids: list[str] | tuple[str, ...]) -> tuple[
        sparse.csr_matrix, np.ndarray]:
    """:func:`path_matrix` of a :class:`~soilbiome.diversity.unifrac.TreeArrays`: the same
    walk (features in order, each up to the root), so the same columns in the same order."""
    tip_of = tree.tip_index(feature_ids).tolist()  # every feature a tip, or DiversityError
    parent, length = tree.parent.tolist(), tree.length.tolist()
    index: dict[int, int] = {}
    lengths: list[float] = []
    rows: list[int] = []
    cols: list[int] = []
    for row, node in enumerate(tip_of):
        while parent[node] >= 0:
            if node not in index:
                index[node] = len(lengths)
                lengths.append(length[node])
            rows.append(row)
            cols.append(index[node])
            node = parent[node]
    incidence = sparse.csr_matrix((np.ones(len(rows), dtype=np.int8), (rows, cols)),
                                  shape=(len(feature_ids), len(lengths)))
    return incidence, np.asarray(lengths, dtype=float)


def faith_pd(counts: object, tree: object) -> pd.Series:
    """Faith's PD of every sample (0 for an empty sample).

    Parameters
    ----------
    counts : FeatureTable, SparseCounts or pandas.DataFrame
        Samples x features.
    tree : skbio.TreeNode, soilbiome.io.newick.Node or soilbiome.diversity.unifrac.TreeArrays
        Rooted tree whose tips include every feature.

    Returns
    -------
    pandas.Series
        Indexed by sample ID, named ``faith_pd``.
    """
    sc = as_sparse(counts)
    incidence, lengths = path_matrix(tree, list(sc.feature_ids))
    presence = sparse.csr_matrix(sc.matrix > 0, dtype=np.int32)
    covered = (presence @ incidence.astype(np.int32)).tocsr()
    covered.data = (covered.data > 0).astype(float)
    pd_values = np.asarray(covered @ lengths).ravel()
    return pd.Series(pd_values, index=list(sc.sample_ids), name="faith_pd")
