"""Ordination of a distance matrix: principal coordinates (PCoA)."""

from __future__ import annotations

import warnings

import pandas as pd

from soilbiome.diversity.common import DiversityError


def pcoa(distance_matrix: object) -> tuple[pd.DataFrame, pd.Series, list[str]]:
    """Principal coordinates of a distance matrix (scikit-bio ``pcoa``, eigh method).

    Parameters
    ----------
    distance_matrix : skbio.DistanceMatrix
        At least three samples.

    Returns
    -------
    pandas.DataFrame
        Coordinates, samples x ``PC1..PCk``.
    pandas.Series
        Proportion of variance explained per axis.
    list of str
        Warnings scikit-bio raised (e.g. negative eigenvalues of a non-Euclidean metric).
    """
    from skbio.stats.ordination import pcoa as skbio_pcoa

    if distance_matrix.shape[0] < 3:
        raise DiversityError("PCoA needs at least 3 non-empty samples")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = skbio_pcoa(distance_matrix)
    coords = result.samples.copy()
    coords.index = pd.Index([str(i) for i in coords.index], name="sample")
    proportion = result.proportion_explained.copy()
    messages = sorted({str(w.message) for w in caught})
    return coords, proportion, messages

