"""The ``--profiler`` names ``soilbiome import`` reads, without importing the readers.

Kept apart from :mod:`soilbiome.io.profiles` (whose readers pull in pandas) so that the
command line starts quickly: every pipeline task runs ``soilbiome`` at least once.
"""

from __future__ import annotations

PROFILERS: tuple[str, ...] = ("kraken2", "bracken", "metaphlan", "centrifuge", "kaiju", "ganon",
                              "kmcp", "krakenuniq", "diamond", "megan6", "sylph", "singlem")
#: Profilers whose files name genomes or lineages, not taxon IDs of a taxonomy dump.
LINEAGE_PROFILERS: tuple[str, ...] = ("sylph", "singlem")
