"""Cross-institution comparison of stamped tables (``soilbiome compare``).

:func:`run_compare` verifies every input, combines the sharing terms, harmonises features and
sample IDs, computes every index with the diversity engine and writes a stamped merged table,
TSVs and a report. See ``docs/compare.md``.
"""

from soilbiome.compare.run import CompareRefused, run_compare

__all__ = ["CompareRefused", "run_compare"]
