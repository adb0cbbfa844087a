"""Group tests on a distance matrix: PERMANOVA (vegan ``adonis2``) and PERMDISP (``betadisper``).

PERMANOVA (Anderson 2001, *Austral Ecology* 26:32-46) partitions the sum of squared
distances into between- and within-group parts; the table reports degrees of freedom, sums
of squares, R² (= SS_between / SS_total), the pseudo-F and its permutation p-value,
``(#{F_perm >= F} + 1) / (permutations + 1)``, as vegan's ``adonis2`` does. The permuted
within-group sums are computed by a compiled kernel over the condensed matrix.

PERMDISP (Anderson 2006, *Biometrics* 62:245-253) tests the homogeneity of group
dispersions: distances of every sample to its group centroid in the full principal
coordinate space (positive and negative eigenvalue axes, as vegan's ``betadisper`` with
``type = "centroid"``), then a one-way ANOVA F on them, with the parametric p-value (vegan
``anova.betadisper``) and a permutation p-value that permutes the model's residuals (vegan
``permutest.betadisper``).

Both return a ``status`` (:mod:`soilbiome.model.stat_result`): ``computed``, or ``not
computable`` with the ``reason`` (fewer than 3 samples, fewer than 2 groups, no group with
more than one sample, no variation within the groups; for PERMDISP also a group with fewer
than 2 samples, whose distance to its own centroid is 0 by construction). A not computable
test has no statistic and no p-value (None); a computed one gives its p-value with
``permutations`` and ``p_min`` (the smallest p-value it can give, ``1 / (permutations + 1)``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import fdtrc  # F survival function: scipy.stats' f.sf, without its import

from soilbiome.diversity import kernels
from soilbiome.diversity.beta import Distances, as_distances
from soilbiome.diversity.ordination import gower_centred
from soilbiome.model.stat_result import (
    COMPUTED,
    NOT_COMPUTABLE,
    p_min,
    statistic_problem,
)

_EPS = np.sqrt(np.finfo(float).eps)  # vegan's tolerance when counting F_perm >= F


def _groups(dm: Distances, grouping: pd.Series) -> tuple[dict, list[str], pd.Series, str | None]:
    """Samples with a group value; the excluded ones with reasons; why the test cannot run."""
    ids = list(dm.ids)
    group = grouping.reindex(ids)
    missing = group.isna() | (group.astype(str).str.strip() == "")
    excluded = {s: f"no value for '{grouping.name}'" for s in group.index[missing]}
    keep = [s for s in ids if not missing[s]]
    groups = group[keep].astype(str)
    n_groups = groups.nunique()
    skip = None
    if len(keep) < 3:
        skip = f"fewer than 3 samples ({len(keep)} with a value for '{grouping.name}')"
    elif n_groups < 2:
        skip = f"fewer than 2 groups ({len(keep)} samples, all in one group)"
    elif n_groups == len(keep):
        skip = (f"no group has more than 1 sample ({len(keep)} samples in {n_groups} groups: "
                "no residual degrees of freedom)")
    return excluded, keep, groups, skip


def _small_groups(groups: pd.Series, minimum: int = 2) -> str | None:
    """``a group has fewer than 2 samples (X: 1, Y: 1)``, or None."""
    sizes = groups.value_counts(sort=False)
    small = sizes[sizes < minimum]
    if small.empty:
        return None
    listed = ", ".join(f"{g}: {int(k)}" for g, k in sorted(small.items()))
    return f"a group has fewer than {minimum} samples ({listed})"


def _not_computable(out: dict, method: str, reason: str, permutations: int, seed: int,
                    **fields: object) -> dict:
    out.update(method=method, status=NOT_COMPUTABLE, reason=reason, test_statistic=None,
               p_value=None, permutations=int(permutations), p_min=None, seed=int(seed),
               **fields)
    return out


def _permutations(n: int, permutations: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(int(seed))
    perms = np.empty((permutations + 1, n), dtype=np.int64)
    perms[0] = np.arange(n)
    for p in range(1, permutations + 1):
        perms[p] = rng.permutation(n)
    return perms


def permanova(
    distance_matrix: object,
    grouping: pd.Series,
    permutations: int = 999,
    seed: int = 42,
) -> dict:
    """PERMANOVA of a distance matrix by a sample grouping, reported as vegan ``adonis2``.

    Parameters
    ----------
    distance_matrix : Distances or skbio.DistanceMatrix
        Dissimilarities between samples.
    grouping : pandas.Series
        Group per sample ID; samples missing from it or with a missing value are left out
        and reported.
    permutations : int, default 999
        Number of permutations (0: no p-value).
    seed : int, default 42
        Seed for the permutations.

    Returns
    -------
    dict
        ``test_statistic`` (pseudo-F), ``p_value``, ``r_squared``, ``df_model``,
        ``df_residual``, ``ss_model``, ``ss_residual``, ``ss_total``, ``sample_size``,
        ``number_of_groups``, ``permutations``, ``p_min``, ``seed``, ``excluded`` (sample ->
        reason), ``status`` and ``reason`` (see the module docstring).
    """
    dm = as_distances(distance_matrix)
    excluded, keep, groups, skip = _groups(dm, grouping)
    out: dict = {"group_by": str(grouping.name), "excluded": excluded}
    if skip:
        return _not_computable(out, "PERMANOVA", skip, permutations, seed,
                               test_statistic_name="pseudo-F", sample_size=len(keep),
                               number_of_groups=int(groups.nunique()))
    sub = dm.filter(keep) if len(keep) != len(dm.ids) else dm
    n = len(keep)
    codes, uniques = pd.factorize(groups.to_numpy())
    g = len(uniques)
    sizes = np.bincount(codes, minlength=g).astype(np.float64)
    d2 = sub.data
    d2 *= d2
    ss_total = float(np.sum(sub.condensed ** 2)) / n
    perms = _permutations(n, int(permutations), seed)
    ssw = kernels.permanova_ssw(d2, codes.astype(np.int64), 1.0 / sizes, perms)
    ssa = ss_total - ssw
    sums = {"df_model": g - 1, "df_residual": n - g, "ss_total": ss_total,
            "sample_size": n, "number_of_groups": g}
    if not ss_total > 0:
        return _not_computable(out, "PERMANOVA", "constant distances (every distance is 0)",
                               permutations, seed, test_statistic_name="pseudo-F", **sums)
    if not ssw[0] > 1e-12 * ss_total:
        return _not_computable(
            out, "PERMANOVA", "no variation within the groups (residual sum of squares is 0):"
            " the pseudo-F is infinite", permutations, seed, test_statistic_name="pseudo-F",
            **sums)
    with np.errstate(divide="ignore", invalid="ignore"):
        f = (ssa / (g - 1)) / (ssw / (n - g))
    f_obs = float(f[0])
    problem = statistic_problem(f_obs, "pseudo-F")
    if problem:
        return _not_computable(out, "PERMANOVA", problem, permutations, seed,
                               test_statistic_name="pseudo-F", **sums)
    p_value = None
    if permutations > 0:
        p_value = float((np.sum(f[1:] >= f_obs - _EPS) + 1) / (permutations + 1))
    out.update(
        method="PERMANOVA",
        status=COMPUTED,
        reason=None,
        test_statistic=f_obs,
        test_statistic_name="pseudo-F",
        p_value=p_value,
        r_squared=float(ssa[0] / ss_total),
        df_model=g - 1,
        df_residual=n - g,
        ss_model=float(ssa[0]),
        ss_residual=float(ssw[0]),
        ss_total=ss_total,
        sample_size=n,
        number_of_groups=g,
        permutations=int(permutations),
        p_min=p_min(permutations),
        seed=int(seed),
    )
    return out


def adonis2_table(result: dict) -> pd.DataFrame:
    """The rows ``Model``, ``Residual``, ``Total`` of vegan's ``adonis2`` output."""
    r = result
    return pd.DataFrame(
        {
            "Df": [r["df_model"], r["df_residual"], r["df_model"] + r["df_residual"]],
            "SumOfSqs": [r["ss_model"], r["ss_residual"], r["ss_total"]],
            "R2": [r["r_squared"], r["ss_residual"] / r["ss_total"], 1.0],
            "F": [r["test_statistic"], np.nan, np.nan],
            "Pr(>F)": [np.nan if r["p_value"] is None else r["p_value"], np.nan, np.nan],
        },
        index=pd.Index(["Model", "Residual", "Total"], name="term"),
    )


def _oneway_f(y: np.ndarray, codes: np.ndarray, g: int) -> np.ndarray:
    """One-way ANOVA F of each row of ``y`` (``P x n``) by ``codes``."""
    n = y.shape[1]
    onehot = np.zeros((n, g))
    onehot[np.arange(n), codes] = 1.0
    sizes = onehot.sum(axis=0)
    means = (y @ onehot) / sizes
    fitted = means[:, codes]
    grand = y.mean(axis=1, keepdims=True)
    mss = ((fitted - grand) ** 2).sum(axis=1)
    rss = ((y - fitted) ** 2).sum(axis=1)
    return (mss / (g - 1)) / (rss / (n - g))


def permdisp(
    distance_matrix: object,
    grouping: pd.Series,
    permutations: int = 999,
    seed: int = 42,
) -> dict:
    """Homogeneity of group dispersions (vegan ``betadisper(type = "centroid")``).

    Parameters
    ----------
    distance_matrix : Distances or skbio.DistanceMatrix
    grouping : pandas.Series
        Group per sample ID (missing values are left out and reported).
    permutations : int, default 999
    seed : int, default 42

    Returns
    -------
    dict
        ``test_statistic`` (F), ``p_value`` (permutation), ``p_value_parametric``,
        ``permutations``, ``p_min``, ``distances`` (sample -> distance to its group
        centroid), ``average_distance`` (group -> mean), ``excluded``, ``status`` and
        ``reason``. A not computable test keeps ``distances`` and ``average_distance`` when
        they could be computed (descriptive), with no F and no p-values.
    """
    dm = as_distances(distance_matrix)
    excluded, keep, groups, skip = _groups(dm, grouping)
    out: dict = {"group_by": str(grouping.name), "excluded": excluded}
    if skip:
        return _not_computable(out, "PERMDISP", skip, permutations, seed, centroid="centroid",
                               test_statistic_name="F", p_value_parametric=None,
                               sample_size=len(keep), number_of_groups=int(groups.nunique()))
    sub = dm.filter(keep) if len(keep) != len(dm.ids) else dm
    n = len(keep)
    codes, uniques = pd.factorize(groups.to_numpy())
    g = len(uniques)
    vals, vecs = np.linalg.eigh(gower_centred(sub))
    order = np.argsort(vals)[::-1]
    vals, vecs = vals[order], vecs[:, order]
    tol = 1e-7
    want = np.abs(vals) > max(tol, tol * vals[0])
    vals, vecs = vals[want], vecs[:, want]
    coords = vecs * np.sqrt(np.abs(vals))
    pos = vals > 0
    onehot = np.zeros((n, g))
    onehot[np.arange(n), codes] = 1.0
    centroids = (onehot.T @ coords) / onehot.sum(axis=0)[:, None]
    diff2 = (coords - centroids[codes]) ** 2
    dist_pos = diff2[:, pos].sum(axis=1)
    dist_neg = diff2[:, ~pos].sum(axis=1)
    z = np.sqrt(np.clip(dist_pos - dist_neg, 0.0, None))
    described = {
        "centroid": "centroid", "test_statistic_name": "F", "p_value_parametric": None,
        "df_model": g - 1, "df_residual": n - g, "sample_size": n, "number_of_groups": g,
        "distances": {s: float(v) for s, v in zip(keep, z, strict=True)},
        "average_distance": {str(u): float(z[codes == k].mean())
                             for k, u in enumerate(uniques)},
    }
    means = np.bincount(codes, weights=z, minlength=g) / np.bincount(codes, minlength=g)
    resid = z - means[codes]
    reason = _small_groups(groups)
    if reason is None and not float(resid @ resid) > 1e-12 * float(z @ z):
        reason = ("the distances to the group centroids do not vary within any group "
                  "(e.g. every group has 2 samples): the F is infinite or undefined")
    with np.errstate(divide="ignore", invalid="ignore"):
        f_obs = float(_oneway_f(z[None, :], codes, g)[0])
    if reason is None:
        reason = statistic_problem(f_obs, "F")
    if reason is not None:
        return _not_computable(out, "PERMDISP", reason, permutations, seed, **described)
    p_param = float(fdtrc(g - 1, n - g, f_obs))
    p_value = None
    if permutations > 0:
        perms = _permutations(n, int(permutations), seed)[1:]
        with np.errstate(divide="ignore", invalid="ignore"):
            f_perm = _oneway_f(resid[perms], codes, g)
        p_value = float((np.sum(f_perm >= f_obs - _EPS) + 1) / (permutations + 1))
    out.update(
        method="PERMDISP",
        status=COMPUTED,
        reason=None,
        test_statistic=f_obs,
        p_value=p_value,
        permutations=int(permutations),
        p_min=p_min(permutations),
        seed=int(seed),
        **{**described, "p_value_parametric": p_param},
    )
    return out
