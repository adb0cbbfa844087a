"""Alpha diversity per sample: observed features, Shannon, Gini-Simpson, Chao1, Pielou."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from soilbiome.diversity.common import SHANNON_BASES, DiversityError, as_sparse

#: Why Chao1 is NaN on a non-integer table: the same for every sample (in each row's note of
#: alpha_diversity.tsv, and once in diversity.json ``parameters.not_computed``).
CHAO1_NEEDS_COUNTS = "non-integer values: chao1 needs counts"


def alpha_diversity(counts: object, shannon_base: str | float = "e") -> pd.DataFrame:
    """Observed features, Shannon, Gini-Simpson, Chao1 and Pielou's evenness per sample.

    Parameters
    ----------
    counts : FeatureTable, SparseCounts or pandas.DataFrame
        Samples x features; integer counts, or relative abundances (then Chao1 is NaN).
        Only the non-zero values are visited.
    shannon_base : {"e", "2"} or float, default "e"
        Logarithm base of Shannon (and so of Pielou's ``H / log S``, which does not depend on
        it). Recorded in column ``shannon_base``.

    Returns
    -------
    pandas.DataFrame
        Indexed by sample, columns ``total``, :data:`ALPHA_METRICS`, ``shannon_base`` and
        ``note`` (why a value is NaN; empty when all are defined). Every input sample has a
        row.

    Notes
    -----
    Formulas follow vegan ``diversity``/``specnumber``/``estimateR`` and scikit-bio
    ``skbio.diversity.alpha``; they are evaluated here in vectorised numpy so that
    relative abundances, empty samples and single-feature samples are handled explicitly
    rather than by library defaults (scikit-bio's ``pielou_e`` returns 1.0 for one feature
    and its ``chao1`` returns richness on relative abundances; both are NaN here).
    """
    sc = as_sparse(counts)
    base_label, base = _shannon_base(shannon_base)
    m = sc.matrix
    n = m.shape[0]
    rows = np.repeat(np.arange(n), np.diff(m.indptr))
    data = m.data
    total = np.bincount(rows, weights=data, minlength=n)
    observed = np.diff(m.indptr).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = data / total[rows]
        shannon = -np.bincount(rows, weights=p * np.log(p), minlength=n) / math.log(base)
        simpson = 1.0 - np.bincount(rows, weights=p * p, minlength=n)
        pielou = shannon * math.log(base) / np.log(observed)
    integer = sc.integer
    f1 = np.bincount(rows, weights=(data == 1), minlength=n)
    f2 = np.bincount(rows, weights=(data == 2), minlength=n)
    chao1 = observed + f1 * (f1 - 1) / (2.0 * (f2 + 1))

    notes: list[list[str]] = [[] for _ in range(n)]
    empty = total == 0
    for i in np.flatnonzero(empty):
        notes[i].append(
            "empty sample (0 reads): shannon, simpson, chao1, pielou_evenness undefined"
        )
    shannon[empty] = np.nan
    simpson[empty] = np.nan
    pielou[empty] = np.nan
    single = observed == 1
    for i in np.flatnonzero(single):
        notes[i].append("one feature: pielou_evenness undefined (H / log 1 = 0/0)")
    pielou[single] = np.nan
    if integer:
        chao1[empty] = np.nan
    else:
        chao1[:] = np.nan
        for i in range(n):
            notes[i].append(CHAO1_NEEDS_COUNTS)

    out = pd.DataFrame(
        {
            "total": total,
            "observed_features": observed,
            "shannon": shannon,
            "shannon_base": base_label,
            "simpson": simpson,
            "chao1": chao1,
            "pielou_evenness": pielou,
            "note": ["; ".join(n) for n in notes],
        },
        index=pd.Index(sc.sample_ids, name="sample"),
    )
    return out


def _shannon_base(value: str | float) -> tuple[str, float]:
    if isinstance(value, str):
        if value not in SHANNON_BASES:
            raise DiversityError(f"Shannon base must be one of {sorted(SHANNON_BASES)}: {value}")
        return value, SHANNON_BASES[value]
    base = float(value)
    if base <= 0 or base == 1:
        raise DiversityError(f"invalid logarithm base {value}")
    return ("e" if base == math.e else f"{base:g}"), base

