"""Build the Bracken k-mer distribution from a Kraken2 database's own library (``bracken-build``).

Every library sequence is classified by the installed ``kraken2`` once, keeping its per-k-mer
taxon list (:func:`classify_library`); :func:`build_kmer_distribution` then classifies every
read-length window of every sequence the way Bracken's ``kmer2read_distr`` does (Lu et al. 2017;
the rules are in :mod:`soilbiome.shotgun.bracken`), in a numba kernel.
"""

from __future__ import annotations

import re
import struct
import subprocess
from collections import defaultdict
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np

from soilbiome.errors import ToolError
from soilbiome.shotgun.kmer_distrib import BrackenError, KmerDistribution, taxid_key
from soilbiome.taxonomy.taxdump import Taxonomy

_KRAKEN_TAXID = re.compile(r"kraken:taxid\|(\d+)")


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
    taxa = sorted(index, key=taxid_key)
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


def database_distributions(db: str | Path, read_lengths: Iterable[int], *, threads: int = 1,
                           workdir: str | Path) -> dict[int, KmerDistribution]:
    """The Bracken k-mer distribution of ``db`` for each read length, from one classification
    of its library (written into ``workdir`` and removed): what ``bracken-build`` makes."""
    from soilbiome.taxonomy.taxdump import read_taxdump

    taxonomy = read_taxdump(db)
    k = kraken2_kmer_length(db)
    classified = classify_library(db, Path(workdir) / "library.kraken", threads=threads)
    seqids = read_seqid2taxid(db)
    try:
        return {length: build_kmer_distribution(classified, taxonomy, read_length=length,
                                                kmer_length=k, seqid2taxid=seqids)
                for length in read_lengths}
    finally:
        classified.unlink(missing_ok=True)


def _push_run_py(out_g, out_t, out_c, n_out, genome, taxon, count):  # noqa: ANN001, ANN202
    """Store one run of windows (genome, taxon, count) at ``n_out``; buffers double when full."""
    if n_out == len(out_g):
        out_g = np.concatenate((out_g, np.empty(len(out_g), np.int64)))
        out_t = np.concatenate((out_t, np.empty(len(out_t), np.int64)))
        out_c = np.concatenate((out_c, np.empty(len(out_c), np.int64)))
    out_g[n_out] = genome
    out_t[n_out] = taxon
    out_c[n_out] = count
    return out_g, out_t, out_c


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
                        out_g, out_t, out_c = _push_run(out_g, out_t, out_c, n_out,
                                                        seq_genome[s], current, run)
                        n_out += 1
                    current = best
                    run = 0
            run += 1
        if run > 0:
            out_g, out_t, out_c = _push_run(out_g, out_t, out_c, n_out, seq_genome[s], current,
                                            run)
            n_out += 1
        for i in range(stop - window, stop):
            hits[kmers[i] if kmers[i] >= 0 else n_taxa] -= 1
    return out_g[:n_out], out_t[:n_out], out_c[:n_out]


try:  # numba makes the window scan ~100x faster; the pure-Python kernel is the reference
    from numba import njit

    _push_run = njit(cache=True)(_push_run_py)
    _classify_windows = njit(cache=True)(_classify_windows_py)
except ImportError:  # pragma: no cover - numba is a declared dependency
    _push_run = _push_run_py
    _classify_windows = _classify_windows_py
