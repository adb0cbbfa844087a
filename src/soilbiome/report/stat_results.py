"""How a test result is shown in a report: the number with its meaning, or why there is none.

Shared by the batch report (``soilbiome report``) and the comparison report (``soilbiome
compare``). A computed test shows its statistic and its p-value with the permutation
resolution (``p = 0.004 (999 permutations; smallest possible p 0.001)``); a test that is not
computable shows ``not computable: <reason>`` and no number (:mod:`soilbiome.model.stat_result`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from soilbiome.model.stat_result import COMPUTED, NOT_COMPUTABLE, finite


def number(value: Any, digits: int = 4) -> str:
    """``value`` with ``digits`` significant digits ("" when it is not a finite number)."""
    return f"{float(value):.{digits}g}" if finite(value) else ""


def p_text(p: Any, permutations: Any = None, p_min: Any = None) -> str:
    """``p = 0.004 (999 permutations; smallest possible p 0.001)``; ``no p-value`` without one.

    Without ``permutations`` (a p-value from a distribution, e.g. Spearman's
    t-approximation) only ``p = ...`` is given.
    """
    if not finite(p):
        return "no p-value (no permutations)" if permutations == 0 else "no p-value"
    text = f"p = {float(p):.3g}"
    if finite(permutations) and float(permutations) > 0:
        n = int(float(permutations))
        low = float(p_min) if finite(p_min) else 1.0 / (n + 1)
        text += f" ({n:,} permutations; smallest possible p {low:.2g})"
    return text


def status_of(result: Mapping[str, Any]) -> str:
    """The status of a result (``computed`` for a result written before statuses existed)."""
    status = result.get("status")
    if isinstance(status, str) and status:
        return status
    return NOT_COMPUTABLE if result.get("skipped") else COMPUTED


def reason_of(result: Mapping[str, Any]) -> str:
    """Why a result is not computable (``""`` when it is computed)."""
    reason = result.get("reason") or result.get("skipped") or ""
    return "" if isinstance(reason, float) and math.isnan(reason) else str(reason)


def result_text(result: Mapping[str, Any], label: str, *, statistic: str = "test_statistic",
                extras: Iterable[tuple[str, str]] = ()) -> str:
    """One line for one test result.

    ``pseudo-F 2.31, R² 0.21, p = 0.004 (999 permutations; smallest possible p 0.001)``, or
    ``not computable: a group has fewer than 2 samples (PAP: 1)``.

    Parameters
    ----------
    result : mapping
        A test result (``status``, ``reason``, the statistic, ``p_value``, ``permutations``,
        ``p_min``).
    label : str
        Name of the statistic (``pseudo-F``, ``r``, ``rho`` ...).
    statistic : str
        Key of the statistic in ``result``.
    extras : iterable of (label, key)
        Further numbers shown after the statistic (e.g. ``("R²", "r_squared")``).
    """
    if status_of(result) != COMPUTED:
        return f"not computable: {reason_of(result) or 'no reason recorded'}"
    parts = [f"{label} {number(result.get(statistic))}"]
    parts += [f"{name} {number(result.get(key), 3)}" for name, key in extras
              if finite(result.get(key))]
    parts.append(p_text(result.get("p_value"), result.get("permutations"),
                        result.get("p_min")))
    return ", ".join(parts)


def results_frame(results: Mapping[str, Mapping[str, Any]], *, key: str = "metric",
                  statistic: str = "test_statistic", label: str = "statistic") -> pd.DataFrame:
    """A table of several results of one test (e.g. PERMANOVA per metric) for a report.

    Columns: ``key``, ``status``, ``label`` (the statistic, empty when not computable), ``R²``
    (when the results have one), ``p`` (with the permutation resolution), ``samples``,
    ``groups``, ``reason``.
    """
    rows = []
    has_r2 = any("r_squared" in r for r in results.values())
    for name, r in results.items():
        computed = status_of(r) == COMPUTED
        row: dict[str, Any] = {key: name, "status": status_of(r),
                               label: number(r.get(statistic)) if computed else ""}
        if has_r2:
            row["R²"] = number(r.get("r_squared"), 3) if computed else ""
        row["p"] = (p_text(r.get("p_value"), r.get("permutations"), r.get("p_min"))
                    if computed else "")
        row["samples"] = r.get("sample_size")
        row["groups"] = r.get("number_of_groups")
        row["reason"] = reason_of(r)
        rows.append(row)
    return pd.DataFrame(rows)


def tidy_test_table(frame: pd.DataFrame, statistics: Iterable[str]) -> pd.DataFrame:
    """A test TSV (``status``, ``reason``, ``p_value``, ``permutations``, ``p_min``) for a report.

    The statistic columns of a row that is not computable are emptied; ``p_value``,
    ``permutations`` and ``p_min`` become one ``p`` column of text with the resolution. A
    frame without a ``status`` column (written before statuses existed) is returned as it is.
    """
    if "status" not in frame.columns:
        return frame
    out = frame.copy()
    computed = out["status"].astype(str) == COMPUTED
    for column in statistics:
        if column in out.columns:
            out[column] = out[column].astype(object).where(computed, None)
    if "p_value" in out.columns:
        perms = out["permutations"] if "permutations" in out.columns else [None] * len(out)
        pmin = out["p_min"] if "p_min" in out.columns else [None] * len(out)
        texts = [p_text(p, n, m) if ok and finite(p) else ""
                 for p, n, m, ok in zip(out["p_value"], perms, pmin, computed, strict=True)]
        at = list(out.columns).index("p_value")
        out = out.drop(columns=[c for c in ("p_value", "permutations", "p_min")
                                if c in out.columns])
        out.insert(at, "p", texts)
    out["reason"] = out["reason"].fillna("") if "reason" in out.columns else ""
    return out
