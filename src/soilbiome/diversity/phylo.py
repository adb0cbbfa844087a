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

from soilbiome.diversity.common import as_sparse


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
    from soilbiome.diversity.unifrac import TreeArrays, postorder_arrays

    arrays = tree if isinstance(tree, TreeArrays) else postorder_arrays(tree)
    tip_of = arrays.tip_index(feature_ids).tolist()  # every feature a tip, or DiversityError
    parent, length = arrays.parent.tolist(), arrays.length.tolist()
    index: dict[int, int] = {}  # node -> column, in the order the walks first reach them
    lengths: list[float] = []
    rows: list[int] = []
    cols: list[int] = []
    for row, node in enumerate(tip_of):  # each feature's path up to the root
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
