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
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats as sps

from soilbiome.diversity import kernels
from soilbiome.diversity.beta import Distances, as_distances
from soilbiome.diversity.ordination import gower_centred

_EPS = np.sqrt(np.finfo(float).eps)  # vegan's tolerance when counting F_perm >= F


def _groups(dm: Distances, grouping: pd.Series) -> tuple[dict, list[str], pd.Series, str | None]:
    """Samples with a group value; the excluded ones with reasons; why the test is skipped."""
    ids = list(dm.ids)
    group = grouping.reindex(ids)
    missing = group.isna() | (group.astype(str).str.strip() == "")
    excluded = {s: f"no value for '{grouping.name}'" for s in group.index[missing]}
    keep = [s for s in ids if not missing[s]]
    groups = group[keep].astype(str)
    n_groups = groups.nunique()
    skip = None
    if len(keep) < 3 or n_groups < 2 or n_groups == len(keep):
        skip = (f"needs >= 2 groups with replicates; got {len(keep)} samples in "
                f"{n_groups} group(s)")
    return excluded, keep, groups, skip


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
        ``number_of_groups``, ``permutations``, ``seed``, ``excluded`` (sample -> reason); or
        ``skipped`` with a reason when the test cannot run.
    """
    dm = as_distances(distance_matrix)
    excluded, keep, groups, skip = _groups(dm, grouping)
    out: dict = {"group_by": str(grouping.name), "excluded": excluded}
    if skip:
        out["skipped"] = skip
        return out
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
    f = (ssa / (g - 1)) / (ssw / (n - g))
    f_obs = float(f[0])
    p_value = None
    if permutations > 0:
        p_value = float((np.sum(f[1:] >= f_obs - _EPS) + 1) / (permutations + 1))
    out.update(
        method="PERMANOVA",
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
            "Pr(>F)": [r["p_value"], np.nan, np.nan],
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
        ``distances`` (sample -> distance to its group centroid), ``average_distance``
        (group -> mean), ``excluded``; or ``skipped``.
    """
    dm = as_distances(distance_matrix)
    excluded, keep, groups, skip = _groups(dm, grouping)
    out: dict = {"group_by": str(grouping.name), "excluded": excluded}
    if skip:
        out["skipped"] = skip
        return out
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
    f_obs = float(_oneway_f(z[None, :], codes, g)[0])
    p_param = float(sps.f.sf(f_obs, g - 1, n - g))
    p_value = None
    if permutations > 0:
        means = np.bincount(codes, weights=z, minlength=g) / np.bincount(codes, minlength=g)
        resid = z - means[codes]
        perms = _permutations(n, int(permutations), seed)[1:]
        f_perm = _oneway_f(resid[perms], codes, g)
        p_value = float((np.sum(f_perm >= f_obs - _EPS) + 1) / (permutations + 1))
    out.update(
        method="PERMDISP",
        centroid="centroid",
        test_statistic=f_obs,
        test_statistic_name="F",
        p_value=p_value,
        p_value_parametric=p_param,
        df_model=g - 1,
        df_residual=n - g,
        sample_size=n,
        number_of_groups=g,
        permutations=int(permutations),
        seed=int(seed),
        distances={s: float(v) for s, v in zip(keep, z, strict=True)},
        average_distance={str(u): float(z[codes == k].mean()) for k, u in enumerate(uniques)},
    )
    return out
