"""Beta diversity: pairwise dissimilarities between samples."""

from __future__ import annotations

import numpy as np
import pandas as pd

from soilbiome.diversity.common import (
    BETA_METRICS,
    PHYLO_METRICS,
    DiversityError,
    _as_counts,
    is_integer_table,
)


def beta_diversity(
    counts: pd.DataFrame,
    metric: str,
    tree: object | None = None,
) -> tuple[object, dict[str, str]]:
    """Pairwise dissimilarities between the non-empty samples with scikit-bio.

    Parameters
    ----------
    counts : pandas.DataFrame
        Samples x features.
    metric : {"braycurtis", "jaccard", "weighted_unifrac", "unweighted_unifrac"}
        Jaccard is computed on presence/absence (vegan ``vegdist(binary=TRUE)``).
    tree : skbio.TreeNode, optional
        Rooted tree whose tips are the feature IDs; required for UniFrac.

    Returns
    -------
    skbio.DistanceMatrix
        Between the non-empty samples.
    dict of str to str
        Samples left out and why (empty samples: distances to them are not informative,
        e.g. Bray-Curtis is 1 to every sample and 0/0 between two empty samples).

    Notes
    -----
    The counts go to ``skbio.diversity.beta_diversity`` as a C-ordered ndarray: on a
    ``biom.Table`` it is about 8x slower, and scipy.sparse input is refused.
    """
    from skbio.diversity import beta_diversity as skbio_beta

    counts = _as_counts(counts)
    if metric not in BETA_METRICS + PHYLO_METRICS:
        raise DiversityError(f"unknown beta metric {metric!r}")
    totals = counts.sum(axis=1)
    excluded = {
        s: "empty sample (0 reads): dissimilarities to it are undefined or uninformative"
        for s in counts.index[totals == 0]
    }
    kept = counts.loc[totals > 0]
    if len(kept) < 2:
        raise DiversityError(
            f"{metric} needs at least 2 non-empty samples; got {len(kept)}"
        )
    ids = list(kept.index)
    x = np.ascontiguousarray(kept.to_numpy())
    if metric == "jaccard":
        x = np.ascontiguousarray((x > 0).astype(np.int64))
        dm = skbio_beta("jaccard", x, ids=ids)
    elif metric == "braycurtis":
        dm = skbio_beta("braycurtis", x, ids=ids)
    else:
        if tree is None:
            raise DiversityError(f"{metric} needs a phylogenetic tree (--tree)")
        if not is_integer_table(kept):
            raise DiversityError(f"{metric} needs integer counts")
        tips = {t.name for t in tree.tips()}
        missing = [f for f in kept.columns if f not in tips]
        if missing:
            raise DiversityError(
                f"{len(missing)} feature(s) are not tips of the tree, e.g. {missing[0]}"
            )
        dm = skbio_beta(
            metric,
            np.ascontiguousarray(x.astype(np.int64)),
            ids=ids,
            taxa=list(kept.columns),
            tree=tree,
        )
    return dm, excluded

