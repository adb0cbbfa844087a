"""Contaminant ASVs by prevalence in negative controls.

A faithful re-implementation of the prevalence method of decontam's
``isContaminant(seqtab, neg = ..., method = "prevalence")`` (Davis et al. 2018, Microbiome
6:226, doi:10.1186/s40168-018-0605-2; decontam ``R/decontam.R``, function
``isContaminantPrevalence``), with decontam's defaults (one batch, ``threshold = 0.1``):

1. samples with zero reads are left out;
2. for each ASV present in more than one sample, when there is at least one negative control
   and at least one other sample, the 2 x 2 table
   ``[[controls with, controls without], [samples with, samples without]]`` is tested for a
   higher prevalence in the controls: ``0.5`` when the ASV is present in every sample;
   otherwise the one-sided two-proportion chi-square test with Yates' continuity correction
   (R's ``prop.test(tab, alternative = "greater")``), or, where R would warn that the
   chi-square approximation may be incorrect (an expected count below 5), Fisher's exact test
   as a mid-p value: ``P(X >= x) - P(X = x) / 2`` with X hypergeometric;
3. an ASV is a contaminant when its score is strictly below the threshold; ASVs without a
   score (present in fewer than two samples, or no controls) are not.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse

#: decontam's default probability threshold.
DEFAULT_THRESHOLD = 0.1


@dataclass(frozen=True)
class PrevalenceResult:
    """Prevalence scores of every ASV.

    Attributes
    ----------
    feature_ids : tuple of str
    prevalence : numpy.ndarray
        Number of non-empty samples (controls included) with the ASV.
    prevalence_controls : numpy.ndarray
        Number of non-empty negative controls with the ASV.
    freq : numpy.ndarray
        Mean relative abundance over the non-empty samples (decontam's ``freq`` column).
    p : numpy.ndarray
        The prevalence score (decontam's ``p.prev``); NaN where there is none.
    contaminant : numpy.ndarray
        bool, ``p < threshold``.
    n_controls, n_samples : int
        Non-empty negative controls and other samples that were tested.
    threshold : float
    """

    feature_ids: tuple[str, ...]
    prevalence: np.ndarray
    prevalence_controls: np.ndarray
    freq: np.ndarray
    p: np.ndarray
    contaminant: np.ndarray
    n_controls: int
    n_samples: int
    threshold: float


def _prop_test_greater(tab: np.ndarray) -> tuple[float, bool]:
    """R's ``prop.test(tab, alternative = "greater")`` on a 2 x 2 table (Yates-corrected).

    Returns the p-value and whether R would warn "Chi-squared approximation may be incorrect".
    """
    x = tab[:, 0].astype(float)
    n = tab.sum(axis=1).astype(float)
    estimate = x / n
    delta = estimate[0] - estimate[1]
    yates = min(0.5, abs(delta) / np.sum(1.0 / n))
    p_pooled = x.sum() / n.sum()
    observed = np.column_stack([x, n - x])
    expected = np.column_stack([n * p_pooled, n * (1.0 - p_pooled)])
    warns = bool((expected < 5).any())
    with np.errstate(divide="ignore", invalid="ignore"):
        statistic = float(np.sum((np.abs(observed - expected) - yates) ** 2 / expected))
    z = np.sign(delta) * np.sqrt(statistic)
    from scipy import stats  # 0.5 s to import: only runs with negative controls need it

    return float(stats.norm.sf(z)), warns


def _fisher_mid_p_greater(tab: np.ndarray) -> float:
    """decontam's ``fisher.pval(tab, "greater")``: Fisher's one-sided p minus half P(table)."""
    present = int(tab[:, 0].sum())
    absent = int(tab[:, 1].sum())
    controls = int(tab[0].sum())
    x = int(tab[0, 0])
    from scipy import stats

    dist = stats.hypergeom(present + absent, present, controls)
    greater = float(dist.sf(x - 1))
    less = float(dist.cdf(x))
    excess = greater + less - 1.0
    return greater - excess / 2.0


def prevalence_score(present_controls: int, n_controls: int, present_samples: int,
                     n_samples: int) -> float:
    """decontam's prevalence score of one ASV (NaN where decontam gives NA).

    Parameters
    ----------
    present_controls, n_controls : int
        Negative controls with the ASV, and all (non-empty) negative controls.
    present_samples, n_samples : int
        Other samples with the ASV, and all (non-empty) other samples.

    Returns
    -------
    float
    """
    if present_controls + present_samples <= 1 or n_controls == 0 or n_samples == 0:
        return float("nan")
    tab = np.array([[present_controls, n_controls - present_controls],
                    [present_samples, n_samples - present_samples]])
    if tab[:, 1].sum() == 0:
        return 0.5
    p, warns = _prop_test_greater(tab)
    return _fisher_mid_p_greater(tab) if warns else p


def prevalence_contaminants(
    counts: sparse.spmatrix,
    negative: Sequence[bool],
    feature_ids: Sequence[str],
    threshold: float = DEFAULT_THRESHOLD,
) -> PrevalenceResult:
    """Score every ASV of a samples x ASVs count matrix.

    Parameters
    ----------
    counts : scipy.sparse matrix
        Samples x ASVs counts.
    negative : sequence of bool
        One per sample (row): True for a negative control.
    feature_ids : sequence of str
        One per ASV (column).
    threshold : float
        Contaminant when the score is strictly below it (decontam's default 0.1).

    Returns
    -------
    PrevalenceResult
    """
    matrix = sparse.csr_matrix(counts, dtype=np.float64)
    negative = np.asarray(negative, dtype=bool)
    if matrix.shape[0] != negative.size or matrix.shape[1] != len(feature_ids):
        raise ValueError("counts, negative and feature_ids do not match in size")
    depth = np.asarray(matrix.sum(axis=1)).ravel()
    keep = depth > 0
    matrix, negative, depth = matrix[keep], negative[keep], depth[keep]
    presence = (matrix > 0).astype(np.int64).tocsc()
    in_controls = np.asarray(presence[negative].sum(axis=0)).ravel()
    in_samples = np.asarray(presence[~negative].sum(axis=0)).ravel()
    n_controls, n_samples = int(negative.sum()), int((~negative).sum())
    relative = sparse.diags(1.0 / depth) @ matrix if depth.size else matrix
    freq = (np.asarray(relative.mean(axis=0)).ravel() if depth.size
            else np.full(len(feature_ids), np.nan))
    p = np.array([prevalence_score(int(c), n_controls, int(s), n_samples)
                  for c, s in zip(in_controls, in_samples, strict=True)], dtype=float)
    with np.errstate(invalid="ignore"):
        contaminant = np.where(np.isnan(p), False, p < threshold)
    return PrevalenceResult(tuple(feature_ids), in_controls + in_samples, in_controls, freq, p,
                            contaminant.astype(bool), n_controls, n_samples, threshold)
