"""Rarefaction: seeded subsampling without replacement and expected-richness curves."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from scipy import sparse

from soilbiome.diversity.common import DiversityError, SparseCounts, as_sparse, is_frame

if TYPE_CHECKING:
    import pandas as pd

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
        Rarefied counts (samples x features) of the samples that reached ``depth``; only for
        frame input (``None`` for sparse input, see ``counts``).
    depth : int
        The depth every kept sample now sums to.
    seed : int
        The seed the draws derive from.
    excluded : dict of str to str
        Samples below ``depth`` and why (never silently dropped).
    counts : SparseCounts
        The rarefied counts of the kept samples, sparse.
    """

    table: pd.DataFrame | None
    depth: int
    seed: int
    excluded: dict[str, str] = field(default_factory=dict)
    counts: SparseCounts | None = None


def _sample_rng(seed: int, sample: str) -> np.random.Generator:
    """A random stream for one sample: independent of the table's other samples and order."""
    digest = hashlib.sha256(sample.encode("utf-8")).digest()
    words = np.frombuffer(digest[:16], dtype="<u4").tolist()
    return np.random.default_rng(np.random.SeedSequence([int(seed), *words]))


def rarefy(counts: object, depth: int, seed: int = 42) -> Rarefied:
    """Subsample every sample to ``depth`` reads without replacement, reproducibly.

    Parameters
    ----------
    counts : FeatureTable, SparseCounts or pandas.DataFrame
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
    ``rrarefy``; the draw uses :meth:`numpy.random.Generator.multivariate_hypergeometric` on
    the sample's non-zero counts only (a feature with no reads can receive none), so the cost
    follows the number of non-zeros, not the number of features.
    """
    frame = is_frame(counts)
    sc = as_sparse(counts)
    if int(depth) != depth or depth <= 0:
        raise DiversityError(f"rarefaction depth must be a positive integer, got {depth}")
    if int(seed) != seed or seed < 0:
        raise DiversityError(f"seed must be a non-negative integer, got {seed}")
    if not sc.integer:
        raise DiversityError(
            "cannot rarefy non-integer values (relative abundances?); use --no-rarefaction"
        )
    depth = int(depth)
    totals = sc.totals
    excluded: dict[str, str] = {}
    keep = totals >= depth
    for i in np.flatnonzero(~keep):
        sample = sc.sample_ids[i]
        if totals[i] == 0:
            excluded[sample] = f"empty sample (0 reads) is below the rarefaction depth {depth}"
        else:
            excluded[sample] = f"{int(totals[i])} reads, below the rarefaction depth {depth}"
    kept = sc.rows(keep)
    m = kept.matrix
    data = np.empty_like(m.data)
    for i, sample in enumerate(kept.sample_ids):
        a, b = m.indptr[i], m.indptr[i + 1]
        row = m.data[a:b].astype(np.int64)
        data[a:b] = _sample_rng(seed, sample).multivariate_hypergeometric(row, depth)
    out = sparse.csr_matrix((data, m.indices.copy(), m.indptr.copy()), shape=m.shape)
    out.eliminate_zeros()
    rare = SparseCounts(out, kept.sample_ids, kept.feature_ids, True)
    table = None
    if frame:
        table = rare.to_frame()
        table.index.name = counts.index.name
    return Rarefied(table, depth, int(seed), excluded, rare)


def rarefaction_curve(
    counts: object, depths: Sequence[int] | None = None, steps: int = 20,
    extra_depths: Sequence[int] = (),
) -> pd.DataFrame:
    """Expected observed features at several depths per sample (rarefaction curve).

    Uses the exact expectation of Hurlbert (1971),
    ``E[S_n] = sum_i 1 - C(N - N_i, n) / C(N, n)``, as vegan ``rarefy`` does, so the
    curve needs no random seed. Only a sample's non-zero counts enter the sum.

    Parameters
    ----------
    counts : FeatureTable, SparseCounts or pandas.DataFrame
        Integer counts, samples x features.
    depths : sequence of int, optional
        Depths to evaluate; default ``steps`` evenly spaced depths from 1 to the largest
        sample total. Each sample is evaluated at the depths up to its own total, plus at
        its total (where the value is its observed richness).
    steps : int, default 20
        Number of default depths.
    extra_depths : sequence of int
        Depths added to the grid (e.g. the rarefaction depth).

    Returns
    -------
    pandas.DataFrame
        Long table with columns ``sample``, ``depth``, ``observed_features``. Empty samples
        get one row at depth 0 with 0 features, so they still appear.
    """
    sc = as_sparse(counts)
    if not sc.integer:
        raise DiversityError("rarefaction curves need integer counts")
    m = sc.matrix
    totals = np.rint(sc.totals).astype(np.int64)
    if depths is None:
        top = int(totals.max()) if len(totals) else 0
        grid = np.array(sorted({int(round(d)) for d in np.linspace(1, max(top, 1), steps)}))
    else:
        grid = np.array(sorted({int(d) for d in depths if int(d) > 0}), dtype=np.int64)
    if len(extra_depths):
        grid = np.union1d(grid, [int(d) for d in extra_depths if int(d) > 0]).astype(np.int64)
    samples: list[str] = []
    out_depths: list[np.ndarray] = []
    values: list[np.ndarray] = []
    for i, sample in enumerate(sc.sample_ids):
        total = int(totals[i])
        if total == 0:
            samples.append(sample)
            out_depths.append(np.array([0]))
            values.append(np.array([0.0]))
            continue
        row = m.data[m.indptr[i]:m.indptr[i + 1]]
        n = np.union1d(grid[grid <= total], [total]).astype(np.float64)
        rest = (total - row)[None, :]  # N - N_i, features along axis 1
        with np.errstate(invalid="ignore"):
            absent = np.exp(_lchoose(rest, n[:, None]) - _lchoose(total, n)[:, None])
        absent = np.where(rest >= n[:, None], absent, 0.0)
        samples.extend([sample] * len(n))
        out_depths.append(n.astype(np.int64))
        values.append((1.0 - absent).sum(axis=1))
    import pandas as pd

    return pd.DataFrame({
        "sample": samples,
        "depth": np.concatenate(out_depths) if out_depths else np.array([], dtype=np.int64),
        "observed_features": np.concatenate(values) if values else np.array([]),
    })


def _lchoose(n: np.ndarray | int, k: np.ndarray | int) -> np.ndarray:
    from scipy.special import gammaln  # here: scipy.special's import (0.1 s) only when used

    n = np.asarray(n, dtype=np.float64)
    k = np.asarray(k, dtype=np.float64)
    return gammaln(n + 1) - gammaln(k + 1) - gammaln(n - k + 1)
