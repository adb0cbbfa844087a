"""Shotgun metagenomes: Bracken-method re-estimation of Kraken2 results and taxon tables.

:mod:`soilbiome.shotgun.bracken` (k-mer distribution + re-estimation, Lu et al. 2017),
:mod:`soilbiome.shotgun.table` (profiles -> harmonised BIOM), :mod:`soilbiome.shotgun.run`
(the pipeline's table step). See ``docs/shotgun.md``.
"""
