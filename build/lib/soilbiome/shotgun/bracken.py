"""Abundance re-estimation of Kraken2 results by the Bracken method (Lu et al. 2017).

Lu J, Breitwieser FP, Thielen P, Salzberg SL (2017) Bracken: estimating species abundance in
metagenomics data. PeerJ Computer Science 3:e104. https://doi.org/10.7717/peerj-cs.104

Kraken2 leaves a read at the lowest common ancestor of the taxa its k-mers hit, so reads of
closely related species pile up at their genus. Bracken moves them back down using how the
*database itself* classifies reads of each of its genomes:

1. **k-mer distribution** (:func:`build_kmer_distribution`, what ``bracken-build`` does). Every
   library sequence is classified by Kraken2 once, keeping its per-k-mer taxon list. Every
   read-length window of the sequence (``read_length - k + 1`` consecutive k-mers) is then
   classified the way ``kmer2read_distr`` does: each taxon hit in the window scores its own
   hits plus the hits of its ancestors (hits at the root are not scored), the best score wins,
   ties go to the lowest common ancestor; a window with no hit is unclassified. For every genome
   (the taxon of a library sequence) this gives ``P(m | g)``: the share of its windows that end
   at taxon ``m``.
2. **Re-estimation** (:func:`estimate`, ``est_abundance.py``). For the species level: species
   with fewer than ``threshold`` reads in their clade are not re-estimated. Reads at a node
   ``m`` above species are shared among the genomes ``g`` that reach ``m`` in the distribution
   and were seen in the sample, in proportion to ``P(m | g) * A(g)``, where
   ``A(g) = reads at g / P(g | g)`` estimates the reads that really came from ``g``. A species
   gets its clade reads plus the reads shared to its genomes.

Where this differs from Bracken 2.9 (see ``docs/shotgun.md``): reads that cannot be
re-estimated (at a node no genome of the sample reaches, or in species below the threshold)
stay at their taxon in the table instead of being left out of the species output, so the table
still holds every classified read; the per-window classification is ours (numba), written from
the paper and Bracken's documented algorithm; the Kraken2 classification of the library runs
the installed ``kraken2``.

This module re-estimates (step 2); building the distribution (step 1) lives in
:mod:`soilbiome.shotgun.bracken_build` and its model and file format in
:mod:`soilbiome.shotgun.kmer_distrib` (both re-exported here).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass

from soilbiome.shotgun.bracken_build import (  # noqa: F401  (re-exported)
    _classify_windows,
    _classify_windows_py,
    build_kmer_distribution,
    classify_library,
    kraken2_kmer_length,
    library_files,
    read_seqid2taxid,
)
from soilbiome.shotgun.kmer_distrib import (  # noqa: F401  (re-exported)
    DISTRIB_HEADER,
    BrackenError,
    KmerDistribution,
    read_kmer_distribution,
    taxid_key,
)
from soilbiome.taxonomy.taxdump import Taxonomy


@dataclass
class Estimate:
    """Result of :func:`estimate`.

    Attributes
    ----------
    reads : dict
        ``taxon ID -> estimated reads``: re-estimated species, plus taxa whose reads could not
        be re-estimated (kept at their Kraken2 counts). Sums to the classified reads.
    kraken_reads : dict
        ``species taxon ID -> Kraken2 reads in its clade`` (before re-estimation).
    distributed, undistributed : float
        Reads above species that were moved down / kept where they were.
    below_threshold : list of str
        Species with fewer than ``threshold`` clade reads (not re-estimated).
    """

    reads: dict[str, float]
    kraken_reads: dict[str, float]
    distributed: float
    undistributed: float
    below_threshold: list[str]


def estimate(
    direct_reads: Mapping[str, float],
    taxonomy: Taxonomy,
    distribution: KmerDistribution,
    *,
    level: str = "species",
    threshold: int = 10,
) -> Estimate:
    """Re-estimate reads at ``level`` (Bracken's ``est_abundance``; see the module docstring).

    Parameters
    ----------
    direct_reads : mapping
        ``taxon ID -> reads Kraken2 assigned directly to it`` (unclassified excluded).
    taxonomy : Taxonomy
        The database's taxonomy.
    distribution : KmerDistribution
    level : str
        A rank of the taxonomy (``species`` by default).
    threshold : int
        Minimum clade reads for a taxon at ``level`` to be re-estimated (Bracken's ``-t``).

    Returns
    -------
    Estimate
    """
    # which taxon at `level` each taxon falls under (None: above the level or not in the tree)
    at_level: dict[str, str | None] = {}
    for taxid in direct_reads:
        anchor = None
        if taxid in taxonomy:
            for node in taxonomy.path(taxid):
                if taxonomy.rank.get(node, "") == level:
                    anchor = node
        at_level[taxid] = anchor
    clade: dict[str, float] = defaultdict(float)
    for taxid, reads in direct_reads.items():
        if at_level[taxid] is not None:
            clade[at_level[taxid]] += reads
    kept = {s for s, r in clade.items() if r >= threshold}
    below = sorted((s for s in clade if s not in kept), key=taxid_key)
    # genomes of the sample: taxa at or below a kept level taxon (Bracken's map2lvl_taxids)
    genome_reads = {t: r for t, r in direct_reads.items() if at_level[t] in kept}
    added: dict[str, float] = defaultdict(float)
    result: dict[str, float] = defaultdict(float)
    distributed = undistributed = 0.0
    for taxid, reads in direct_reads.items():
        if at_level[taxid] is not None:
            result[at_level[taxid] if at_level[taxid] in kept else taxid] += reads
            continue
        if reads <= 0:
            continue
        weights: dict[str, float] = {}
        for genome, count in distribution.mapped.get(taxid, {}).items():
            if genome not in genome_reads:
                continue
            p_read_given_genome = count / distribution.totals[genome]
            own = distribution.fraction(genome, genome) or 1.0
            weights[genome] = p_read_given_genome * (genome_reads[genome] / own)
        total = sum(weights.values())
        if total <= 0:
            result[taxid] += reads
            undistributed += reads
            continue
        distributed += reads
        for genome, weight in weights.items():
            added[genome] += reads * weight / total
    for genome, reads in added.items():
        result[at_level[genome]] += reads
    return Estimate(dict(result), {s: clade[s] for s in clade}, distributed, undistributed,
                    below)
