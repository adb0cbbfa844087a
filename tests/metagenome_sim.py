"""A small deterministic metagenome simulator for accuracy tests and the shotgun benchmark.

Genomes are random sequences (GC 50 %) or mutated copies of one (a *neighbour* at a chosen
ANI: substitutions at random positions). Paired-end Illumina-like reads: fragment lengths
~ Normal(mean, sd), R2 the reverse complement of the fragment's other end, Phred qualities
falling along the read (about Q37 at the start to Q25 at the end, with noise, as in MiSeq /
HiSeq runs) and substitution errors drawn per base with the probability its quality states
(p = 10^(-Q/10)). Reads are named ``<genome>_<n>/1`` so the truth can be counted. Everything
is drawn from one seeded numpy generator: same arguments, same bytes.
"""

from __future__ import annotations

import gzip
from collections.abc import Mapping
from pathlib import Path

import numpy as np

_BASES = np.frombuffer(b"ACGT", dtype=np.uint8)
_COMPLEMENT = np.zeros(256, dtype=np.uint8)
for _a, _b in zip(b"ACGTN", b"TGCAN", strict=True):
    _COMPLEMENT[_a] = _b


def random_genome(length: int, rng: np.random.Generator) -> np.ndarray:
    """A random sequence (uint8 ASCII)."""
    return _BASES[rng.integers(0, 4, size=length)]


def neighbour(genome: np.ndarray, ani: float, rng: np.random.Generator) -> np.ndarray:
    """A copy of ``genome`` with a share ``1 - ani`` of its bases substituted."""
    out = genome.copy()
    sites = rng.choice(len(out), size=int(round(len(out) * (1 - ani))), replace=False)
    shift = rng.integers(1, 4, size=len(sites))
    codes = np.searchsorted(_BASES, out[sites])
    out[sites] = _BASES[(codes + shift) % 4]
    return out


def write_fasta(genome: np.ndarray, name: str, path: Path, width: int = 80) -> None:
    """Write one genome as gzip FASTA."""
    with gzip.open(path, "wb", compresslevel=1) as handle:
        handle.write(f">{name}_contig1\n".encode())
        for i in range(0, len(genome), width):
            handle.write(genome[i:i + width].tobytes() + b"\n")


def _qualities(n: int, length: int, rng: np.random.Generator) -> np.ndarray:
    start, end = 37.0, 25.0
    mean = start + (end - start) * (np.arange(length) / max(length - 1, 1)) ** 1.5
    q = mean[None, :] + rng.normal(0, 3, size=(n, length))
    return np.clip(np.rint(q), 2, 41).astype(np.uint8)


def _with_errors(reads: np.ndarray, quals: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    p = 10.0 ** (-quals.astype(np.float64) / 10.0)
    hit = rng.random(reads.shape) < p
    codes = np.searchsorted(_BASES, reads[hit])
    reads = reads.copy()
    reads[hit] = _BASES[(codes + rng.integers(1, 4, size=codes.size)) % 4]
    return reads


def simulate_pairs(genomes: Mapping[str, np.ndarray], coverage: Mapping[str, float],
                   out_r1: Path, out_r2: Path, *, read_length: int = 150,
                   fragment_mean: int = 350, fragment_sd: int = 30, seed: int = 1
                   ) -> dict[str, int]:
    """Write gzip FASTQ pairs; ``coverage`` per genome (bases of reads / genome length).

    Returns
    -------
    dict
        Read pairs per genome.
    """
    rng = np.random.default_rng(seed)
    pairs: dict[str, int] = {}
    with gzip.open(out_r1, "wb", compresslevel=1) as h1, \
            gzip.open(out_r2, "wb", compresslevel=1) as h2:
        for name, genome in genomes.items():
            n = int(round(coverage.get(name, 0.0) * len(genome) / (2 * read_length)))
            pairs[name] = n
            if n == 0:
                continue
            frag = np.clip(rng.normal(fragment_mean, fragment_sd, n).astype(int),
                           read_length, len(genome))
            starts = rng.integers(0, len(genome) - frag + 1)
            idx1 = starts[:, None] + np.arange(read_length)[None, :]
            idx2 = (starts + frag - 1)[:, None] - np.arange(read_length)[None, :]
            r1 = genome[idx1]
            r2 = _COMPLEMENT[genome[idx2]]
            flip = rng.random(n) < 0.5  # fragments from both strands
            r1[flip], r2[flip] = r2[flip].copy(), r1[flip].copy()
            q1, q2 = _qualities(n, read_length, rng), _qualities(n, read_length, rng)
            r1, r2 = _with_errors(r1, q1, rng), _with_errors(r2, q2, rng)
            for handle, reads, quals, mate in ((h1, r1, q1, 1), (h2, r2, q2, 2)):
                chunks = []
                for i in range(n):
                    chunks.append(b"@%s_%d/%d\n%s\n+\n%s\n" % (
                        name.encode(), i, mate, reads[i].tobytes(), (quals[i] + 33).tobytes()))
                handle.write(b"".join(chunks))
    return pairs
