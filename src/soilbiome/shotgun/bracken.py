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
"""

from __future__ import annotations

import re
import struct
import subprocess
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from soilbiome.errors import InputError, ToolError
from soilbiome.io.atomic import atomic_write
from soilbiome.taxonomy.taxdump import Taxonomy

#: Header of a Bracken ``database<L>mers.kmer_distrib`` file.
DISTRIB_HEADER = "mapped_taxid\tgenome_taxids:kmers_mapped:total_genome_kmers"
_KRAKEN_TAXID = re.compile(r"kraken:taxid\|(\d+)")


class BrackenError(InputError):
    """A k-mer distribution or a Kraken2 database for re-estimation is unusable."""


# ------------------------------------------------------------------------ k-mer distribution


@dataclass
class KmerDistribution:
    """``P(m | g)`` as counts: for each mapped taxon ``m``, windows of each genome ``g``.

    Attributes
    ----------
    mapped : dict
        ``m -> {g: windows of g classified at m}`` (unclassified windows are in ``totals``
        only, as in Bracken's files).
    totals : dict
        ``g -> number of read-length windows of g``.
    """

    mapped: dict[str, dict[str, int]] = field(default_factory=dict)
    totals: dict[str, int] = field(default_factory=dict)

    def fraction(self, m: str, g: str) -> float | None:
        """``P(m | g)``, or None when ``g`` never reaches ``m``."""
        count = self.mapped.get(m, {}).get(g)
        return None if count is None else count / self.totals[g]

    def write(self, out: str | Path) -> None:
        """Write Bracken's ``kmer_distrib`` format (readable by Bracken's ``est_abundance.py``)."""
        with atomic_write(out) as handle:
            handle.write(DISTRIB_HEADER + "\n")
            for m in sorted(self.mapped, key=_taxid_key):
                genomes = self.mapped[m]
                parts = [f"{g}:{genomes[g]}:{self.totals[g]}" for g in sorted(genomes,
                                                                              key=_taxid_key)]
                handle.write(f"{m}\t{' '.join(parts)} \n")


def _taxid_key(taxid: str) -> tuple[int, str]:
    return (int(taxid), taxid) if taxid.isdigit() else (1 << 62, taxid)


def read_kmer_distribution(path: str | Path) -> KmerDistribution:
    """Read a Bracken ``database<L>mers.kmer_distrib`` file (ours or ``bracken-build``'s)."""
    path = Path(path)
    if not path.is_file():
        raise BrackenError("k-mer distribution not found", location=str(path))
    dist = KmerDistribution()
    with path.open(encoding="utf-8") as handle:
        header = handle.readline().rstrip("\n")
        if not header.startswith("mapped_taxid"):
            raise BrackenError(f"line 1: expected the header '{DISTRIB_HEADER}'",
                               location=str(path))
        for number, line in enumerate(handle, start=2):
            if not line.strip():
                continue
            parts = line.rstrip("\n").split("\t")
            if len(parts) != 2 or not parts[0].strip().isdigit():
                raise BrackenError(f"line {number}: expected 'taxid<TAB>g:mapped:total ...'",
                                   location=str(path))
            genomes: dict[str, int] = {}
            for item in parts[1].split():
                bits = item.split(":")
                if len(bits) != 3 or not all(b.isdigit() for b in bits):
                    raise BrackenError(f"line {number}: '{item}' is not genome:mapped:total",
                                       location=str(path))
                g, mapped, total = bits[0], int(bits[1]), int(bits[2])
                if total == 0 or mapped > total:
                    raise BrackenError(f"line {number}: '{item}': mapped must be 1..total",
                                       location=str(path))
                genomes[g] = mapped
                dist.totals[g] = total
            dist.mapped[parts[0].strip()] = genomes
    if not dist.mapped:
        raise BrackenError("no distribution lines", location=str(path))
    return dist


def kraken2_kmer_length(db: str | Path) -> int:
    """k of a Kraken2 database (first field of ``opts.k2d``)."""
    opts = Path(db) / "opts.k2d"
    if not opts.is_file():
        raise BrackenError("not a Kraken2 database (no opts.k2d)", location=str(db))
    with opts.open("rb") as handle:
        (k,) = struct.unpack("<Q", handle.read(8))
    if not 1 <= k <= 256:
        raise BrackenError(f"opts.k2d gives an implausible k = {k}", location=str(opts))
    return int(k)


def library_files(db: str | Path) -> list[Path]:
    """The FASTA files of a Kraken2 database's own library (``library/**/*.fna``)."""
    lib = Path(db) / "library"
    files = sorted(p for p in lib.rglob("*") if p.suffix in (".fna", ".fa", ".fasta")
                   and p.is_file()) if lib.is_dir() else []
    if not files:
        raise BrackenError(
            "the database has no library/ FASTA files (was it built with --clean?): a Bracken "
            "k-mer distribution needs the sequences the database was built from, or a "
            "database<L>mers.kmer_distrib file beside hash.k2d",
            location=str(db),
        )
    return files


def read_seqid2taxid(db: str | Path) -> dict[str, str]:
    """``seqid2taxid.map`` of a Kraken2 database (sequence ID -> taxon ID)."""
    path = Path(db) / "seqid2taxid.map"
    mapping: dict[str, str] = {}
    if path.is_file():
        with path.open(encoding="utf-8") as handle:
            for line in handle:
                parts = line.rstrip("\n").split("\t")
                if len(parts) >= 2:
                    mapping[parts[0]] = parts[1].strip()
    return mapping


def classify_library(db: str | Path, out: str | Path, threads: int = 1) -> Path:
    """Run Kraken2 on the database's library, keeping per-k-mer taxa (``bracken-build`` step 1)."""
    files = library_files(db)
    out = Path(out)
    cmd = ["kraken2", "--db", str(db), "--threads", str(threads), "--output", str(out),
           "--report", "/dev/null", *map(str, files)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise ToolError(f"kraken2 on the library failed: {proc.stderr.strip()[-500:]}")
    return out


def _kmer_runs(kmer_field: str) -> Iterable[tuple[str, int]]:
    for item in kmer_field.split():
        if item == "|:|":
            continue
        taxid, _, count = item.partition(":")
        yield ("0" if taxid == "A" else taxid), int(count)


def build_kmer_distribution(
    kraken_output: str | Path,
    taxonomy: Taxonomy,
    *,
    read_length: int,
    kmer_length: int,
    seqid2taxid: Mapping[str, str] | None = None,
) -> KmerDistribution:
    """Classify every read-length window of every library sequence (``kmer2read_distr``).

    Parameters
    ----------
    kraken_output : str or Path
        Kraken2 ``--output`` of the library (per sequence: C/U, ID, taxon, length, k-mer runs).
    taxonomy : Taxonomy
        The database's taxonomy (parents for scores and LCAs).
    read_length, kmer_length : int
        Window = ``read_length - kmer_length + 1`` k-mers.
    seqid2taxid : mapping, optional
        Genome taxon of each sequence ID; default: ``kraken:taxid|N`` in the ID.

    Returns
    -------
    KmerDistribution
    """
    window = read_length - kmer_length + 1
    if window < 1:
        raise BrackenError(f"read length {read_length} is shorter than k = {kmer_length}")
    index: dict[str, int] = {}
    genomes: dict[str, int] = {}

    def taxon_index(taxid: str) -> int:
        if taxid not in index:
            index[taxid] = len(index)
        return index[taxid]

    seq_kmers: list[np.ndarray] = []
    seq_genome: list[int] = []
    path = Path(kraken_output)
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            parts = line.rstrip("\n").split("\t")
            if len(parts) < 5:
                raise BrackenError(f"line {number}: not Kraken2 per-sequence output",
                                   location=str(path))
            seqid = parts[1]
            genome = (seqid2taxid or {}).get(seqid)
            if genome is None:
                match = _KRAKEN_TAXID.search(seqid)
                if not match:
                    raise BrackenError(f"line {number}: no taxon for sequence {seqid} (neither "
                                       "in seqid2taxid.map nor kraken:taxid|N)",
                                       location=str(path))
                genome = match.group(1)
            runs = list(_kmer_runs(parts[4]))
            if sum(c for _, c in runs) < window:
                genomes.setdefault(genome, len(genomes))
                continue
            codes = np.repeat(
                np.array([-1 if t == "0" else taxon_index(t) for t, _ in runs], dtype=np.int64),
                np.array([c for _, c in runs], dtype=np.int64),
            )
            seq_kmers.append(codes)
            seq_genome.append(genomes.setdefault(genome, len(genomes)))
    # every taxon's ancestors get an index too, so scores and LCAs stay inside the arrays
    for taxid in list(index):
        if taxid in taxonomy:
            for ancestor in taxonomy.path(taxid):
                taxon_index(ancestor)
    taxa = sorted(index, key=_taxid_key)
    order = {t: i for i, t in enumerate(taxa)}
    remap = np.array([order[t] for t in index], dtype=np.int64)
    parent = np.full(len(taxa), -1, dtype=np.int64)
    depth = np.zeros(len(taxa), dtype=np.int64)
    root = -1
    for taxid, i in order.items():
        if taxid in taxonomy:
            chain = taxonomy.path(taxid)
            depth[i] = len(chain) - 1
            if len(chain) > 1:
                parent[i] = order[chain[-2]]
            else:
                root = i
    kmers = (np.concatenate([np.where(c >= 0, remap[np.maximum(c, 0)], -1) for c in seq_kmers])
             if seq_kmers else np.zeros(0, dtype=np.int64))
    offsets = np.zeros(len(seq_kmers) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([len(c) for c in seq_kmers])
    run_genome, run_taxon, run_count = _classify_windows(
        kmers, offsets, np.array(seq_genome, dtype=np.int64), parent, depth, root, window)
    genome_ids = list(genomes)
    dist = KmerDistribution()
    totals = np.zeros(len(genome_ids), dtype=np.int64)
    np.add.at(totals, run_genome, run_count)
    acc: dict[tuple[int, int], int] = defaultdict(int)
    if len(run_genome):
        keys = run_genome * (len(taxa) + 1) + (run_taxon + 1)
        uniq, inverse = np.unique(keys, return_inverse=True)
        sums = np.bincount(inverse, weights=run_count).astype(np.int64)
        for key, total in zip(uniq, sums, strict=True):
            acc[(int(key) // (len(taxa) + 1), int(key) % (len(taxa) + 1) - 1)] += int(total)
    for (g, t), count in acc.items():
        if t < 0:
            continue  # unclassified windows count in the genome total only
        dist.mapped.setdefault(taxa[t], {})[genome_ids[g]] = count
    for g, total in enumerate(totals):
        if total:
            dist.totals[genome_ids[g]] = int(total)
    return dist


def _classify_windows_py(kmers, offsets, seq_genome, parent, depth, root, window):  # noqa: ANN001, ANN202, C901
    """Kernel of :func:`build_kmer_distribution` (compiled with numba when available)."""
    n_taxa = len(parent)
    hits = np.zeros(n_taxa + 1, dtype=np.int64)
    cap = 1024
    out_g = np.empty(cap, dtype=np.int64)
    out_t = np.empty(cap, dtype=np.int64)
    out_c = np.empty(cap, dtype=np.int64)
    n_out = 0
    active = np.empty(window + 1, dtype=np.int64)
    for s in range(len(offsets) - 1):
        start, stop = offsets[s], offsets[s + 1]
        if stop - start < window:
            continue
        for i in range(start, start + window):
            hits[kmers[i] if kmers[i] >= 0 else n_taxa] += 1
        current = -2
        run = 0
        for w in range(start, stop - window + 1):
            if w > start:
                dropped = kmers[w - 1]
                added = kmers[w + window - 1]
                hits[dropped if dropped >= 0 else n_taxa] -= 1
                hits[added if added >= 0 else n_taxa] += 1
                recompute = dropped != added
            else:
                recompute = True
            if recompute:
                n_active = 0
                found_root = False
                for i in range(w, w + window):
                    t = kmers[i]
                    if t < 0:
                        continue
                    if t == root:
                        found_root = True
                        continue
                    seen = False
                    for j in range(n_active):
                        if active[j] == t:
                            seen = True
                            break
                    if not seen:
                        active[n_active] = t
                        n_active += 1
                if n_active == 0:
                    best = root if found_root else -1
                elif n_active == 1:
                    best = active[0]
                else:
                    # taxa in ascending taxon-ID order (indices are sorted by taxon ID)
                    for a in range(1, n_active):
                        key = active[a]
                        b = a - 1
                        while b >= 0 and active[b] > key:
                            active[b + 1] = active[b]
                            b -= 1
                        active[b + 1] = key
                    best = -1
                    best_score = 0
                    for a in range(n_active):
                        t = active[a]
                        score = 0
                        node = t
                        while node >= 0:
                            if node != root:
                                score += hits[node]
                            node = parent[node]
                        if score > best_score:
                            best_score = score
                            best = t
                        elif score == best_score:
                            x, y = t, best
                            while depth[x] > depth[y]:
                                x = parent[x]
                            while depth[y] > depth[x]:
                                y = parent[y]
                            while x != y:
                                x = parent[x]
                                y = parent[y]
                            best = x
                if best != current:
                    if run > 0:
                        if n_out == len(out_g):
                            out_g = np.concatenate((out_g, np.empty(len(out_g), np.int64)))
                            out_t = np.concatenate((out_t, np.empty(len(out_t), np.int64)))
                            out_c = np.concatenate((out_c, np.empty(len(out_c), np.int64)))
                        out_g[n_out] = seq_genome[s]
                        out_t[n_out] = current
                        out_c[n_out] = run
                        n_out += 1
                    current = best
                    run = 0
            run += 1
        if run > 0:
            if n_out == len(out_g):
                out_g = np.concatenate((out_g, np.empty(len(out_g), np.int64)))
                out_t = np.concatenate((out_t, np.empty(len(out_t), np.int64)))
                out_c = np.concatenate((out_c, np.empty(len(out_c), np.int64)))
            out_g[n_out] = seq_genome[s]
            out_t[n_out] = current
            out_c[n_out] = run
            n_out += 1
        for i in range(stop - window, stop):
            hits[kmers[i] if kmers[i] >= 0 else n_taxa] -= 1
    return out_g[:n_out], out_t[:n_out], out_c[:n_out]


try:  # numba makes the window scan ~100x faster; the pure-Python kernel is the reference
    from numba import njit

    _classify_windows = njit(cache=True)(_classify_windows_py)
except ImportError:  # pragma: no cover - numba is a declared dependency
    _classify_windows = _classify_windows_py


# ------------------------------------------------------------------------------ re-estimation


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
    below = sorted((s for s in clade if s not in kept), key=_taxid_key)
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
