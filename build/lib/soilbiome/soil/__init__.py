"""Diversity against soil properties: Mantel, envfit vectors, dbRDA and alpha correlations.

:mod:`soilbiome.soil.stats` holds the statistics (equal to vegan's), and
:mod:`soilbiome.soil.context` runs them on the outputs of ``soilbiome diversity --env``.
"""

from soilbiome.soil.context import run_soil_context

__all__ = ["run_soil_context"]
