"""Shotgun metagenomes: Bracken-method re-estimation of Kraken2 results and taxon tables.

:mod:`soilbiome.shotgun.bracken` (re-estimation, Lu et al. 2017) with
:mod:`soilbiome.shotgun.bracken_build` and :mod:`soilbiome.shotgun.kmer_distrib` (its k-mer
distribution),
:mod:`soilbiome.shotgun.table` (profiles -> harmonised BIOM), :mod:`soilbiome.shotgun.run`
(the pipeline's table step). See ``docs/shotgun.md``.
"""
