"""Alpha diversity per sample: observed features, Shannon, Gini-Simpson, Chao1, Pielou."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from soilbiome.diversity.common import (
    SHANNON_BASES,
    DiversityError,
    _as_counts,
    is_integer_table,
)


def alpha_diversity(counts: pd.DataFrame, shannon_base: str | float = "e") -> pd.DataFrame:
    """Observed features, Shannon, Gini-Simpson, Chao1 and Pielou's evenness per sample.

    Parameters
    ----------
    counts : pandas.DataFrame
        Samples x features; integer counts, or relative abundances (then Chao1 is NaN).
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
    counts = _as_counts(counts)
    base_label, base = _shannon_base(shannon_base)
    x = counts.to_numpy()
    total = x.sum(axis=1)
    present = x > 0
    observed = present.sum(axis=1).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = x / total[:, None]
        plogp = np.where(present, p * np.log(np.where(present, p, 1.0)), 0.0)
        shannon = -plogp.sum(axis=1) / math.log(base)
        simpson = 1.0 - (p * p).sum(axis=1)
        pielou = shannon * math.log(base) / np.log(observed)
    integer = is_integer_table(counts)
    f1 = (x == 1).sum(axis=1)
    f2 = (x == 2).sum(axis=1)
    chao1 = observed + f1 * (f1 - 1) / (2.0 * (f2 + 1))

    notes: list[list[str]] = [[] for _ in range(len(x))]
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
        for i in range(len(x)):
            notes[i].append("non-integer values (relative abundances?): chao1 needs counts")

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
        index=pd.Index(counts.index, name="sample"),
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

