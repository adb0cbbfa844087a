"""The status of a statistical test: no statistic and no p-value without its meaning.

Every test of the package (PERMANOVA, PERMDISP, Mantel, envfit, dbRDA, Spearman) reports a
``status``:

* ``computed``: the statistic is a finite number; a p-value, when there is one, comes with the
  resolution of the test (``permutations`` and ``p_min``, the smallest p-value the permutation
  test can give, ``1 / (permutations + 1)``);
* ``not computable``: the data cannot support the test; ``reason`` says why (``a group has
  fewer than 2 samples``, ``fewer than 4 samples``, ``constant distances`` ...), and the
  statistic and p-value are ``None`` (``null`` in JSON, empty or ``NaN`` in a TSV beside the
  status and the reason).
"""

from __future__ import annotations

import math
from typing import Any

COMPUTED = "computed"
NOT_COMPUTABLE = "not computable"
STATUSES = (COMPUTED, NOT_COMPUTABLE)


def p_min(permutations: int | None) -> float | None:
    """Smallest p-value of a permutation test, ``1 / (permutations + 1)`` (None without any)."""
    if not permutations or permutations <= 0:
        return None
    return 1.0 / (int(permutations) + 1)


def resolution(permutations: int | None) -> dict[str, Any]:
    """``{"permutations": N, "p_min": 1 / (N + 1)}``: how fine a permutation p-value can be."""
    return {"permutations": int(permutations or 0), "p_min": p_min(permutations)}


def finite(value: object) -> bool:
    """True for a real, finite number."""
    try:
        return math.isfinite(float(value))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False


def statistic_problem(value: object, name: str = "statistic") -> str | None:
    """Why ``value`` is not a usable statistic (NaN, infinite), or None when it is finite."""
    if finite(value):
        return None
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return f"{name} is missing"
    return f"{name} is NaN" if math.isnan(v) else f"{name} is infinite"


def not_computable(reason: str, **fields: Any) -> dict[str, Any]:
    """A test result that could not be computed: ``status``, ``reason`` and ``fields``."""
    return {"status": NOT_COMPUTABLE, "reason": reason, **fields}


def is_computed(result: dict[str, Any] | None) -> bool:
    """True when ``result`` (a test result dict) has status ``computed``."""
    return bool(result) and result.get("status") == COMPUTED
