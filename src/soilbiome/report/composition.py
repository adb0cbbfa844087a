"""Relative composition per sample at a rank, from the sparse feature table."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import sparse

from soilbiome.errors import InputError
from soilbiome.model.table import FeatureTable
from soilbiome.taxonomy.lineage import RANKS
from soilbiome.taxonomy.taxdump import UNCLASSIFIED_ID

UNASSIGNED = "Unassigned"
OTHER = "Other"
#: The reads a shotgun profiler could not explain (feature ``unclassified``): not a taxon
#: without a name at the rank, but the unknown rest of the sample.
UNEXPLAINED = "Unexplained"


def composition(table: FeatureTable, rank: str = "phylum", top: int = 10) -> pd.DataFrame:
    """Relative abundance per sample at ``rank``: top taxa, "Other", "Unassigned" and, for a
    shotgun table, "Unexplained".

    Features are summed per taxon with one sparse product (samples x features times
    features x taxa), so only the small samples x taxa result is dense.

    Parameters
    ----------
    table : FeatureTable
        From :func:`soilbiome.io.biom_reader.read_table`.
    rank : str, default "phylum"
        One of :data:`soilbiome.taxonomy.lineage.RANKS`.
    top : int, default 10
        Number of taxa shown by name, ranked by mean relative abundance over the non-empty
        samples; the rest are summed into "Other". Unassigned features (empty name at the
        rank) are always their own "Unassigned" column, and the feature ``unclassified``
        (reads the profiler could not explain) its own "Unexplained" column.

    Returns
    -------
    pandas.DataFrame
        Samples x taxa, rows summing to 1 (all-zero for empty samples).
    """
    if rank not in RANKS:
        raise InputError(f"unknown rank '{rank}'; choose one of {', '.join(RANKS)}")
    samples = list(table.sample_ids)
    if rank in table.taxonomy.columns:
        labels = table.taxonomy[rank].reindex(list(table.feature_ids)).fillna("").astype(str)
    else:
        labels = pd.Series([""] * len(table.feature_ids), index=list(table.feature_ids))
    labels = labels.where(labels != "", UNASSIGNED)
    labels[labels.index == UNCLASSIFIED_ID] = UNEXPLAINED
    labels = labels.to_numpy()
    taxa, codes = np.unique(labels, return_inverse=True) if len(labels) else ([], [])
    indicator = sparse.csr_matrix(
        (np.ones(len(codes)), (np.arange(len(codes)), np.asarray(codes, dtype=np.int64))),
        shape=(len(labels), len(taxa)),
    )
    summed = np.asarray((table.counts @ indicator).todense()) if len(taxa) else np.zeros(
        (len(samples), 0))
    by_taxon = pd.DataFrame(summed, index=pd.Index(samples, name="sample"),
                            columns=[str(t) for t in taxa])
    totals = by_taxon.sum(axis=1)
    rel = by_taxon.div(totals.where(totals > 0, 1.0), axis=0)
    named = [c for c in rel.columns if c not in (UNASSIGNED, UNEXPLAINED)]
    nonempty = rel.loc[totals > 0]
    order = (nonempty[named].mean().sort_values(ascending=False, kind="stable").index.tolist()
             if len(nonempty) else sorted(named))
    keep = order[:top]
    out = rel[keep].copy()
    rest = [c for c in named if c not in keep]
    if rest:
        out[OTHER] = rel[rest].sum(axis=1)
    for kept in (UNASSIGNED, UNEXPLAINED):
        if kept in rel.columns:
            out[kept] = rel[kept]
    return out
