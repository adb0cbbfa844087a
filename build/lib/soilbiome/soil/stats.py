"""Community composition and diversity against soil variables, computed as vegan does.

* :func:`mantel`: Mantel test between a community distance matrix and another distance matrix
  (vegan ``mantel``; Pearson or Spearman; permutations of the first matrix's rows and columns).
* :func:`env_distance`: Euclidean distance of standardised variables
  (``dist(scale(env))`` in R; standard deviation with ``n - 1``).
* :func:`envfit_vectors`: vectors fitted onto an ordination (vegan ``envfit`` /
  ``vectorfit``): unit-length arrow directions, r² and a permutation p-value per variable.
* :func:`dbrda`: distance-based redundancy analysis (Legendre & Anderson 1999; vegan
  ``dbrda``, or ``capscale`` with ``method="capscale"``) with R², adjusted R² (Ezekiel's
  formula as vegan ``RsquareAdj``) and permutation F-tests of the model and of each term
  added sequentially (vegan ``anova(..., by = "terms")`` under the reduced model).
* :func:`spearman`: Spearman's rho of each alpha index with each variable, with the
  t-approximation p-value (R ``cor.test(method = "spearman", exact = FALSE)``) and
  Benjamini-Hochberg q-values.

Permutation p-values are ``(#{F* >= F - eps} + 1) / (N + 1)`` with ``eps = sqrt(machine
epsilon)``, as in vegan; permutations come from a seeded numpy generator, so p-values equal
vegan's only within Monte Carlo error (standard error ``sqrt(p (1 - p) / N)``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats
from scipy.spatial.distance import pdist, squareform

from soilbiome.errors import InputError

EPS = float(np.sqrt(np.finfo(float).eps))


class SoilStatsError(InputError):
    """The data cannot support a test (too few samples, a constant variable ...)."""


def _permutations(n: int, permutations: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.array([rng.permutation(n) for _ in range(permutations)], dtype=np.intp)


def _p_value(observed: float, permuted: np.ndarray) -> float:
    if len(permuted) == 0:
        return float("nan")
    return float((np.sum(permuted >= observed - EPS) + 1) / (len(permuted) + 1))


def env_distance(values: np.ndarray) -> np.ndarray:
    """Euclidean distance between samples of standardised variables (``dist(scale(x))``).

    Parameters
    ----------
    values : numpy.ndarray
        Samples x variables, no missing values.

    Returns
    -------
    numpy.ndarray
        Square distance matrix.
    """
    values = np.asarray(values, dtype=float)
    if values.ndim == 1:
        values = values[:, None]
    sd = values.std(axis=0, ddof=1)
    if np.any(~(sd > 0)):
        raise SoilStatsError("a variable is constant over the samples; it cannot be scaled")
    z = (values - values.mean(axis=0)) / sd
    return squareform(pdist(z, "euclidean"))


@dataclass(frozen=True)
class MantelResult:
    """Mantel statistic ``r`` (Pearson or Spearman), permutation p-value, sample count."""

    method: str
    statistic: float
    p_value: float
    permutations: int
    n_samples: int


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    a = a - a.mean()
    b = b - b.mean()
    return float(a @ b / np.sqrt((a @ a) * (b @ b)))


def mantel(
    xdis: np.ndarray,
    ydis: np.ndarray,
    *,
    method: str = "pearson",
    permutations: int = 999,
    seed: int = 42,
) -> MantelResult:
    """Mantel test of two square distance matrices (vegan ``mantel``).

    Parameters
    ----------
    xdis, ydis : numpy.ndarray
        Square, symmetric, same sample order. ``xdis`` is permuted.
    method : {"pearson", "spearman"}
    permutations : int
    seed : int
    """
    if method not in ("pearson", "spearman"):
        raise SoilStatsError(f"Mantel method '{method}' is not pearson or spearman")
    xdis, ydis = np.asarray(xdis, float), np.asarray(ydis, float)
    n = xdis.shape[0]
    if n < 3:
        raise SoilStatsError(f"Mantel test needs at least 3 samples, got {n}")
    low = np.tril_indices(n, -1)

    def prep(v: np.ndarray) -> np.ndarray:
        return stats.rankdata(v) if method == "spearman" else v

    y = prep(ydis[low])
    statistic = _corr(prep(xdis[low]), y)
    perms = _permutations(n, permutations, seed)
    permuted = np.array([_corr(prep(xdis[np.ix_(p, p)][low]), y) for p in perms])
    return MantelResult(method, statistic, _p_value(statistic, permuted), permutations, n)


@dataclass(frozen=True)
class VectorFit:
    """One fitted vector: unit-length direction on the ordination axes, r², p-value."""

    variable: str
    direction: tuple[float, ...]
    r2: float
    p_value: float
    permutations: int
    n_samples: int


def envfit_vectors(
    scores: np.ndarray,
    values: np.ndarray,
    variable: str,
    *,
    permutations: int = 999,
    seed: int = 42,
) -> VectorFit:
    """Fit one variable as a vector onto ordination scores (vegan ``vectorfit``).

    The centred variable is regressed on the centred scores; the direction is the regression
    coefficient vector scaled to unit length, r² the squared correlation of fitted and observed
    values. The p-value permutes the variable over samples.

    Parameters
    ----------
    scores : numpy.ndarray
        Samples x axes (e.g. PCoA axes 1 and 2).
    values : numpy.ndarray
        The variable, one value per sample (no missing values).
    variable : str
        Its name.
    """
    x = np.asarray(scores, float)
    v = np.asarray(values, float)
    n = len(v)
    if n < x.shape[1] + 2:
        raise SoilStatsError(f"envfit of {variable} needs more than {x.shape[1] + 1} samples, "
                             f"got {n}")
    x = x - x.mean(axis=0)
    q, _ = np.linalg.qr(x)
    vc = v - v.mean()
    coef = np.linalg.lstsq(x, vc, rcond=None)[0]
    norm = np.linalg.norm(coef)
    direction = coef / norm if norm > 0 else coef

    def r2(y: np.ndarray) -> float:
        fitted = q @ (q.T @ y)
        if not np.any(fitted) or not np.any(y):
            return 0.0
        return _corr(fitted, y) ** 2

    observed = r2(vc)
    perms = _permutations(n, permutations, seed)
    permuted = np.array([r2(vc[p]) for p in perms])
    return VectorFit(variable, tuple(float(d) for d in direction), observed,
                     _p_value(observed, permuted), permutations, n)


@dataclass(frozen=True)
class DbrdaTerm:
    """One row of the sequential permutation test."""

    term: str
    df: int
    sum_of_squares: float
    f: float
    p_value: float


@dataclass(frozen=True)
class DbrdaResult:
    """Distance-based RDA of a distance matrix on variables (vegan ``dbrda``)."""

    terms: tuple[DbrdaTerm, ...]
    model: DbrdaTerm
    residual_df: int
    residual_ss: float
    total_ss: float
    r2: float
    r2_adjusted: float
    permutations: int
    n_samples: int
    method: str = "dbrda"


def gower_centred(dis: np.ndarray) -> np.ndarray:
    """Gower's centred matrix ``G = -1/2 J D² J`` of a distance matrix."""
    a = -0.5 * np.asarray(dis, float) ** 2
    a -= a.mean(axis=0, keepdims=True)
    a -= a.mean(axis=1, keepdims=True)
    return a


def dbrda(
    dis: np.ndarray,
    values: np.ndarray,
    names: list[str],
    *,
    permutations: int = 999,
    seed: int = 42,
    method: str = "dbrda",
) -> DbrdaResult:
    """Distance-based RDA (vegan ``dbrda(dis ~ v1 + v2 + ...)``) with permutation tests.

    Sums of squares are traces of the projected Gower matrix (negative eigenvalues of a
    non-Euclidean distance included, as vegan does). Terms enter in the given order; each term
    test is the sequential F (``anova(model, by = "terms")``), the model test the overall F
    (``anova(model)``). Permutations shuffle samples of the Gower matrix (reduced model,
    no conditioning variables).

    Parameters
    ----------
    dis : numpy.ndarray
        Square distance matrix.
    values : numpy.ndarray
        Samples x variables, no missing values.
    names : list of str
        Variable names (terms), one per column.
    method : {"dbrda", "capscale"}
        ``dbrda`` uses the Gower matrix as it is (negative eigenvalues of a non-Euclidean
        distance included); ``capscale`` (vegan ``capscale``, no additive constant) keeps its
        positive-eigenvalue part for the fit and the residual, and divides by the full trace
        for R², as vegan does.
    """
    if method not in ("dbrda", "capscale"):
        raise SoilStatsError(f"constrained ordination '{method}' is not dbrda or capscale")
    x = np.asarray(values, float)
    if x.ndim == 1:
        x = x[:, None]
    n, m = x.shape
    resid_df = n - m - 1
    if resid_df < 1:
        raise SoilStatsError(f"dbRDA with {m} variable(s) needs at least {m + 2} samples, "
                             f"got {n}")
    g = gower_centred(dis)
    total_inertia = float(np.trace(g))
    if method == "capscale":
        eigval, eigvec = np.linalg.eigh(g)
        keep = eigval > max(eigval.max(), 0.0) * 1e-10
        g = (eigvec[:, keep] * eigval[keep]) @ eigvec[:, keep].T
    xc = x - x.mean(axis=0)
    q, r = np.linalg.qr(xc)
    diag = np.abs(np.diag(r))
    if np.any(diag <= 1e-7 * max(diag.max(), 1e-300)):
        raise SoilStatsError("the variables are collinear (one is a linear combination of "
                             "others); drop one from --env")
    total = float(np.trace(g))

    def term_ss(gm: np.ndarray) -> np.ndarray:
        return np.einsum("ij,ik,kj->j", q, gm, q)

    ss = term_ss(g)
    resid = total - ss.sum()
    f_terms = ss / (resid / resid_df)
    f_model = (ss.sum() / m) / (resid / resid_df)
    perms = _permutations(n, permutations, seed)
    perm_terms = np.empty((len(perms), m))
    perm_model = np.empty(len(perms))
    for i, p in enumerate(perms):
        ssp = term_ss(g[np.ix_(p, p)])
        rp = total - ssp.sum()
        perm_terms[i] = ssp / (rp / resid_df)
        perm_model[i] = (ssp.sum() / m) / (rp / resid_df)
    terms = tuple(
        DbrdaTerm(name, 1, float(ss[j]), float(f_terms[j]),
                  _p_value(float(f_terms[j]), perm_terms[:, j]))
        for j, name in enumerate(names)
    )
    model = DbrdaTerm("model", m, float(ss.sum()), float(f_model),
                      _p_value(float(f_model), perm_model))
    r2 = float(ss.sum() / total_inertia)
    r2_adj = 1 - (1 - r2) * (n - 1) / resid_df
    return DbrdaResult(terms, model, resid_df, float(resid), total_inertia, r2, r2_adj,
                       permutations, n, method)


@dataclass(frozen=True)
class SpearmanResult:
    """Spearman's rho of one alpha index with one variable."""

    index: str
    variable: str
    rho: float
    p_value: float
    n_samples: int


def spearman(a: np.ndarray, b: np.ndarray, index: str, variable: str) -> SpearmanResult:
    """Spearman's rho and its t-approximation p-value (two-sided)."""
    n = len(a)
    if n < 3:
        raise SoilStatsError(f"Spearman correlation needs at least 3 samples, got {n}")
    ra, rb = stats.rankdata(a), stats.rankdata(b)
    if np.ptp(ra) == 0 or np.ptp(rb) == 0:
        return SpearmanResult(index, variable, float("nan"), float("nan"), n)
    rho = _corr(ra, rb)
    if abs(rho) >= 1:
        p = 0.0
    else:
        t = rho * np.sqrt((n - 2) / (1 - rho**2))
        p = float(2 * stats.t.sf(abs(t), n - 2))
    return SpearmanResult(index, variable, rho, p, n)


def benjamini_hochberg(p_values: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg q-values (NaN p-values stay NaN; R ``p.adjust(method = "BH")``)."""
    p = np.asarray(p_values, float)
    out = np.full(p.shape, np.nan)
    ok = np.isfinite(p)
    if ok.any():
        out[ok] = stats.false_discovery_control(p[ok], method="bh")
    return out
