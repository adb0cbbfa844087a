"""Alpha and beta diversity, rarefaction, ordination and group tests on a BIOM count table.

The library works on a sparse *samples x features* table (the orientation of scikit-bio and
vegan): a :class:`~soilbiome.model.table.FeatureTable` from the one BIOM reader, or a
:class:`pandas.DataFrame` for library callers, brought into CSR form by :func:`as_sparse` and
never densified. ``soilbiome diversity``, the pipeline's DIVERSITY step and ``compare`` share
the same kernels:
:func:`alpha_diversity`, :func:`beta_diversity`, :func:`rarefy`, :func:`rarefaction_curve`,
:func:`pcoa` and :func:`permanova`. :func:`run_diversity` ties them together for the
``soilbiome diversity`` command and writes every output atomically.

Conventions (see ``docs/diversity.md``):

* Empty samples (all-zero) are kept in every table; an index that is undefined for them is
  NaN and the reason is written beside it. They are never dropped silently.
* Shannon's logarithm base is written with every value (column ``shannon_base``) and in
  ``diversity.json``: QIIME 2 uses base 2, scikit-bio and vegan base *e*.
* Simpson is the Gini-Simpson index ``1 - sum(p_i^2)`` (vegan ``diversity(x, "simpson")``,
  scikit-bio ``simpson``), not Simpson's dominance ``sum(p_i^2)``.
* Chao1 is the bias-corrected form ``S_obs + F1 (F1 - 1) / (2 (F2 + 1))`` used by both
  vegan ``estimateR`` and scikit-bio ``chao1(bias_corrected=True)``. It is computed only on
  integer counts: on relative abundances scikit-bio silently returns the observed richness.
* Values match vegan 2.6 within 1e-9 (tested against vegan itself).
"""

from importlib import import_module

# ``rarefy`` is also the name of its submodule: imported here, so that the package attribute
# is the function (an import of the submodule would otherwise set it to the module)
from soilbiome.diversity.rarefy import (
    CURVE_METHOD,
    RAREFACTION_METHOD,
    Rarefied,
    rarefaction_curve,
    rarefy,
)

#: Where each public name lives: imported on first use (PEP 562), so that a command that
#: needs one submodule (``beta block``, ``beta matrix``) does not import them all.
_EXPORTS: dict[str, str] = {
    "adonis2_table": "stats",
    "alpha_diversity": "alpha",
    "ALPHA_METRICS": "common",
    "as_sparse": "common",
    "beta_block": "beta",
    "beta_diversity": "beta",
    "BETA_METRICS": "common",
    "CHAO1_DEFINITION": "common",
    "clean_rank_label": "common",
    "CountTable": "common",
    "Distances": "beta",
    "DiversityError": "common",
    "is_integer_table": "common",
    "load_table": "common",
    "pcoa": "ordination",
    "pcoa_result": "ordination",
    "PCoAResult": "ordination",
    "permanova": "stats",
    "permdisp": "stats",
    "PHYLO_METRICS": "common",
    "RANKS": "common",
    "run_diversity": "run",
    "SHANNON_BASES": "common",
    "SIMPSON_DEFINITION": "common",
    "sparse_beta": "beta",
    "SparseCounts": "common",
    "versions": "run",
}


def __getattr__(name: str) -> object:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'soilbiome.diversity' has no attribute {name!r}")
    value = getattr(import_module(f"soilbiome.diversity.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})


__all__ = [
    "ALPHA_METRICS",
    "BETA_METRICS",
    "CHAO1_DEFINITION",
    "CURVE_METHOD",
    "PHYLO_METRICS",
    "RANKS",
    "RAREFACTION_METHOD",
    "SHANNON_BASES",
    "SIMPSON_DEFINITION",
    "CountTable",
    "Distances",
    "PCoAResult",
    "SparseCounts",
    "DiversityError",
    "Rarefied",
    "adonis2_table",
    "alpha_diversity",
    "as_sparse",
    "beta_block",
    "beta_diversity",
    "clean_rank_label",
    "is_integer_table",
    "load_table",
    "pcoa",
    "pcoa_result",
    "permanova",
    "permdisp",
    "rarefaction_curve",
    "rarefy",
    "run_diversity",
    "sparse_beta",
    "versions",
]
