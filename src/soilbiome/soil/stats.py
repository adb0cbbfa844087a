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
vegan's only within Monte Carlo error (standard error ``sqrt(p (1 - p) / N)``). Each result
carries that resolution: ``permutations`` and ``p_min = 1 / (N + 1)``, the smallest p-value
the test can give.

Every test returns a ``status`` (:mod:`soilbiome.model.stat_result`): ``computed``, or ``not
computable`` with the ``reason`` (too few samples, constant distances, a constant variable,
collinear variables, a statistic that is NaN or infinite). A not computable result has no
statistic and no p-value (None), so no NaN statistic ever gets a p-value. Only a wrong
argument (an unknown method) raises :class:`SoilStatsError`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.spatial.distance import pdist, squareform

from soilbiome.errors import InputError
from soilbiome.model.stat_result import COMPUTED, NOT_COMPUTABLE, p_min, statistic_problem


def _scipy_stats():  # noqa: ANN202 - the scipy.stats module
    """``scipy.stats``, imported at first use: the import takes about 0.4 s, which the report
    (it reads only this package's file names) and the pipeline's tail need not pay."""
    from scipy import stats

    return stats

EPS = float(np.sqrt(np.finfo(float).eps))


class SoilStatsError(InputError):
    """A test asked for wrongly (unknown method), or variables that cannot be scaled."""

#: Fewest samples of a Spearman correlation: with 3, rho takes 4 values and the
#: t-approximation has 1 degree of freedom.
SPEARMAN_MIN_SAMPLES = 4


def _constant(values: np.ndarray) -> bool:
    return bool(len(values)) and float(np.ptp(values)) <= 1e-12 * max(
        float(np.max(np.abs(values))), 1e-300)


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
    statistic: float | None
    p_value: float | None
    permutations: int
    n_samples: int
    status: str = COMPUTED
    reason: str | None = None

    @property
    def p_min(self) -> float | None:
        """Smallest p-value the test can give (None when not computed)."""
        return p_min(self.permutations) if self.status == COMPUTED else None


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

    def refused(reason: str) -> MantelResult:
        return MantelResult(method, None, None, permutations, n, NOT_COMPUTABLE, reason)

    if n < 3:
        return refused(f"fewer than 3 samples ({n})")
    low = np.tril_indices(n, -1)
    for name, dis in (("community", xdis), ("variable", ydis)):
        if _constant(dis[low]):
            return refused(f"constant distances (every {name} distance is "
                           f"{float(dis[low][0]):.6g})")

    def prep(v: np.ndarray) -> np.ndarray:
        return _scipy_stats().rankdata(v) if method == "spearman" else v

    y = prep(ydis[low])
    statistic = _corr(prep(xdis[low]), y)
    problem = statistic_problem(statistic, "Mantel statistic")
    if problem:
        return refused(problem)
    perms = _permutations(n, permutations, seed)
    permuted = np.array([_corr(prep(xdis[np.ix_(p, p)][low]), y) for p in perms])
    return MantelResult(method, statistic, _p_value(statistic, permuted), permutations, n)


@dataclass(frozen=True)
class VectorFit:
    """One fitted vector: unit-length direction on the ordination axes, r², p-value."""

    variable: str
    direction: tuple[float, ...] | None
    r2: float | None
    p_value: float | None
    permutations: int
    n_samples: int
    status: str = COMPUTED
    reason: str | None = None

    @property
    def p_min(self) -> float | None:
        """Smallest p-value the test can give (None when not computed)."""
        return p_min(self.permutations) if self.status == COMPUTED else None


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

    def refused(reason: str) -> VectorFit:
        return VectorFit(variable, None, None, None, permutations, n, NOT_COMPUTABLE, reason)

    if n < x.shape[1] + 2:
        return refused(f"fewer than {x.shape[1] + 2} samples ({n}) for {x.shape[1]} axes")
    if _constant(v):
        return refused(f"{variable} is constant over the samples")
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
    problem = statistic_problem(observed, "r²")
    if problem:
        return refused(problem)
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
    f: float | None
    p_value: float | None
    status: str = COMPUTED
    reason: str | None = None


@dataclass(frozen=True)
class DbrdaResult:
    """Distance-based RDA of a distance matrix on variables (vegan ``dbrda``)."""

    terms: tuple[DbrdaTerm, ...]
    model: DbrdaTerm | None
    residual_df: int
    residual_ss: float | None
    total_ss: float | None
    r2: float | None
    r2_adjusted: float | None
    permutations: int
    n_samples: int
    method: str = "dbrda"
    status: str = COMPUTED
    reason: str | None = None

    @property
    def p_min(self) -> float | None:
        """Smallest p-value the tests can give (None when not computed)."""
        return p_min(self.permutations) if self.status == COMPUTED else None


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

    def refused(reason: str) -> DbrdaResult:
        return DbrdaResult((), None, resid_df, None, None, None, None, permutations, n,
                           method, NOT_COMPUTABLE, reason)

    if resid_df < 1:
        return refused(f"fewer than {m + 2} samples ({n}) for {m} variable(s)")
    g = gower_centred(dis)
    total_inertia = float(np.trace(g))
    if not abs(total_inertia) > 0:
        return refused("constant distances (every distance is 0)")
    if method == "capscale":
        eigval, eigvec = np.linalg.eigh(g)
        keep = eigval > max(eigval.max(), 0.0) * 1e-10
        g = (eigvec[:, keep] * eigval[keep]) @ eigvec[:, keep].T
    xc = x - x.mean(axis=0)
    q, r = np.linalg.qr(xc)
    diag = np.abs(np.diag(r))
    if np.any(diag <= 1e-7 * max(diag.max(), 1e-300)):
        return refused("the variables are collinear (one is constant or a linear "
                       "combination of others); drop one from --env")
    total = float(np.trace(g))

    def term_ss(gm: np.ndarray) -> np.ndarray:
        return np.einsum("ij,ik,kj->j", q, gm, q)

    ss = term_ss(g)
    resid = total - ss.sum()
    if not resid > 1e-12 * abs(total_inertia):
        return refused("no residual variation (the variables account for all of the "
                       "distance): the F statistics are infinite or undefined")
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
    terms = tuple(_term(name, 1, float(ss[j]), float(f_terms[j]), perm_terms[:, j])
                  for j, name in enumerate(names))
    model = _term("model", m, float(ss.sum()), float(f_model), perm_model)
    r2 = float(ss.sum() / total_inertia)
    r2_adj = 1 - (1 - r2) * (n - 1) / resid_df
    return DbrdaResult(terms, model, resid_df, float(resid), total_inertia, r2, r2_adj,
                       permutations, n, method)


def _term(name: str, df: int, ss: float, f: float, permuted: np.ndarray) -> DbrdaTerm:
    problem = statistic_problem(f, "F")
    if problem:
        return DbrdaTerm(name, df, ss, None, None, NOT_COMPUTABLE, problem)
    return DbrdaTerm(name, df, ss, f, _p_value(f, permuted))


@dataclass(frozen=True)
class SpearmanResult:
    """Spearman's rho of one alpha index with one variable."""

    index: str
    variable: str
    rho: float | None
    p_value: float | None
    n_samples: int
    status: str = COMPUTED
    reason: str | None = None
    p_method: str | None = None


#: How the Spearman p-value was obtained.
P_T_APPROXIMATION = "t-approximation (R cor.test exact = FALSE)"
P_EXACT_PERFECT = ("permutation p of a perfect rank correlation, 2 x prod(t_i!) / n! (exact "
                   "without ties; an upper bound with ties)")


def spearman(a: np.ndarray, b: np.ndarray, index: str, variable: str) -> SpearmanResult:
    """Spearman's rho and its two-sided p-value.

    The p-value is R's ``cor.test(method = "spearman", exact = FALSE)`` t-approximation,
    except for a perfect rank correlation (|rho| = 1), where the t-approximation gives 0: there
    the permutation p-value is given, ``2 x prod(t_i!) / n!`` (``t_i`` the sizes of the tied
    groups: the permutations that keep the ranks or reverse them; exact without ties, as R's
    ``exact = TRUE``, an upper bound with ties). Not computable with
    fewer than :data:`SPEARMAN_MIN_SAMPLES` samples or when either variable is constant.
    """
    n = len(a)

    def refused(reason: str) -> SpearmanResult:
        return SpearmanResult(index, variable, None, None, n, NOT_COMPUTABLE, reason)

    if n < SPEARMAN_MIN_SAMPLES:
        return refused(f"fewer than {SPEARMAN_MIN_SAMPLES} samples ({n})")
    ra, rb = _scipy_stats().rankdata(a), _scipy_stats().rankdata(b)
    for name, r in ((index, ra), (variable, rb)):
        if np.ptp(r) == 0:
            return refused(f"constant input ({name} has the same value in every sample)")
    rho = _corr(ra, rb)
    problem = statistic_problem(rho, "rho")
    if problem:
        return refused(problem)
    if abs(rho) >= 1:
        _, ties = np.unique(ra, return_counts=True)
        log_p = (math.log(2) + sum(math.lgamma(int(t) + 1) for t in ties)
                 - math.lgamma(n + 1))
        return SpearmanResult(index, variable, rho, min(1.0, math.exp(log_p)), n,
                              p_method=P_EXACT_PERFECT)
    t = rho * np.sqrt((n - 2) / (1 - rho**2))
    p = float(2 * _scipy_stats().t.sf(abs(t), n - 2))
    return SpearmanResult(index, variable, rho, p, n, p_method=P_T_APPROXIMATION)


def benjamini_hochberg(p_values: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg q-values over the computed tests (R ``p.adjust(method = "BH")``).

    A missing p-value (None or NaN: a test that was not computable) is left out of the
    correction and gets no q-value (NaN).
    """
    p = np.array([np.nan if v is None else v for v in p_values], dtype=float)
    out = np.full(p.shape, np.nan)
    ok = np.isfinite(p)
    if ok.any():
        out[ok] = _scipy_stats().false_discovery_control(p[ok], method="bh")
    return out
