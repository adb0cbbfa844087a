"""Rarefaction: seeded subsampling without replacement and expected-richness curves."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.special import gammaln

from soilbiome.diversity.common import DiversityError, _as_counts, is_integer_table

RAREFACTION_METHOD = (
    "subsampling without replacement (multivariate hypergeometric draw, numpy Generator); "
    "one random stream per sample derived from (seed, sha256(sample id)), so a sample's "
    "rarefied counts do not depend on the other samples in the table"
)
CURVE_METHOD = "expected observed features at depth n (Hurlbert 1971; vegan rarefy)"


@dataclass
class Rarefied:
    """Result of :func:`rarefy`.

    Attributes
    ----------
    table : pandas.DataFrame
        Rarefied counts (samples x features) of the samples that reached ``depth``.
    depth : int
        The depth every kept sample now sums to.
    seed : int
        The seed the draws derive from.
    excluded : dict of str to str
        Samples below ``depth`` and why (never silently dropped).
    """

    table: pd.DataFrame
    depth: int
    seed: int
    excluded: dict[str, str] = field(default_factory=dict)


def _sample_rng(seed: int, sample: str) -> np.random.Generator:
    """A random stream for one sample: independent of the table's other samples and order."""
    digest = hashlib.sha256(sample.encode("utf-8")).digest()
    words = np.frombuffer(digest[:16], dtype="<u4").tolist()
    return np.random.default_rng(np.random.SeedSequence([int(seed), *words]))


def rarefy(counts: pd.DataFrame, depth: int, seed: int = 42) -> Rarefied:
    """Subsample every sample to ``depth`` reads without replacement, reproducibly.

    Parameters
    ----------
    counts : pandas.DataFrame
        Integer counts, samples x features.
    depth : int
        Target depth (> 0).
    seed : int, default 42
        Non-negative seed; with the sample ID it determines each sample's draw.

    Returns
    -------
    Rarefied
        The rarefied table and the samples excluded (total below ``depth``).

    Raises
    ------
    DiversityError
        ``depth`` is not positive, the seed is negative, or counts are not integers.

    Notes
    -----
    Equivalent in distribution to scikit-bio ``subsample_counts(replace=False)`` and vegan
    ``rrarefy``; the draw uses :meth:`numpy.random.Generator.multivariate_hypergeometric`.
    """
    counts = _as_counts(counts)
    if int(depth) != depth or depth <= 0:
        raise DiversityError(f"rarefaction depth must be a positive integer, got {depth}")
    if int(seed) != seed or seed < 0:
        raise DiversityError(f"seed must be a non-negative integer, got {seed}")
    if not is_integer_table(counts):
        raise DiversityError(
            "cannot rarefy non-integer values (relative abundances?); use --no-rarefaction"
        )
    depth = int(depth)
    totals = counts.sum(axis=1)
    keep, excluded = [], {}
    for sample, total in totals.items():
        if total == 0:
            excluded[sample] = f"empty sample (0 reads) is below the rarefaction depth {depth}"
        elif total < depth:
            excluded[sample] = f"{int(total)} reads, below the rarefaction depth {depth}"
        else:
            keep.append(sample)
    out = np.zeros((len(keep), counts.shape[1]), dtype=np.int64)
    for i, sample in enumerate(keep):
        row = counts.loc[sample].to_numpy().astype(np.int64)
        out[i] = _sample_rng(seed, sample).multivariate_hypergeometric(row, depth)
    table = pd.DataFrame(
        out.astype(np.float64), index=pd.Index(keep, name=counts.index.name), columns=counts.columns
    )
    return Rarefied(table, depth, int(seed), excluded)


def rarefaction_curve(
    counts: pd.DataFrame, depths: Sequence[int] | None = None, steps: int = 20
) -> pd.DataFrame:
    """Expected observed features at several depths per sample (rarefaction curve).

    Uses the exact expectation of Hurlbert (1971),
    ``E[S_n] = sum_i 1 - C(N - N_i, n) / C(N, n)``, as vegan ``rarefy`` does, so the
    curve needs no random seed.

    Parameters
    ----------
    counts : pandas.DataFrame
        Integer counts, samples x features.
    depths : sequence of int, optional
        Depths to evaluate; default ``steps`` evenly spaced depths from 1 to the largest
        sample total. Each sample is evaluated at the depths up to its own total, plus at
        its total (where the value is its observed richness).
    steps : int, default 20
        Number of default depths.

    Returns
    -------
    pandas.DataFrame
        Long table with columns ``sample``, ``depth``, ``observed_features``. Empty samples
        get one row at depth 0 with 0 features, so they still appear.
    """
    counts = _as_counts(counts)
    if not is_integer_table(counts):
        raise DiversityError("rarefaction curves need integer counts")
    totals = counts.sum(axis=1).astype(np.int64)
    if depths is None:
        top = int(totals.max()) if len(totals) else 0
        grid = sorted({int(round(d)) for d in np.linspace(1, max(top, 1), steps)})
    else:
        grid = sorted({int(d) for d in depths if int(d) > 0})
    records = []
    for sample, total in totals.items():
        row = counts.loc[sample].to_numpy()
        row = row[row > 0]
        if total == 0:
            records.append((sample, 0, 0.0))
            continue
        sample_depths = sorted({d for d in grid if d <= total} | {int(total)})
        lchoose_total = _lchoose(total, np.array(sample_depths))
        for n, lc_total in zip(sample_depths, lchoose_total, strict=True):
            rest = total - row  # N - N_i
            present = np.ones_like(rest, dtype=np.float64)
            can = rest >= n
            present[can] = 1.0 - np.exp(_lchoose(rest[can], n) - lc_total)
            records.append((sample, int(n), float(present.sum())))
    return pd.DataFrame(records, columns=["sample", "depth", "observed_features"])


def _lchoose(n: np.ndarray | int, k: np.ndarray | int) -> np.ndarray:
    n = np.asarray(n, dtype=np.float64)
    k = np.asarray(k, dtype=np.float64)
    return gammaln(n + 1) - gammaln(k + 1) - gammaln(n - k + 1)
