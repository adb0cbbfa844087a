"""The Bracken k-mer distribution ``P(m | g)``: its model and its ``kmer_distrib`` file.

The distribution says, for every genome ``g`` of a Kraken2 database, which share of its
read-length windows Kraken2 classifies at each taxon ``m`` (Lu et al. 2017; see
:mod:`soilbiome.shotgun.bracken`). It is built by :mod:`soilbiome.shotgun.bracken_build` and
read back here, from our files or ``bracken-build``'s.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from soilbiome.errors import InputError
from soilbiome.io.atomic import atomic_write

#: Header of a Bracken ``database<L>mers.kmer_distrib`` file.
DISTRIB_HEADER = "mapped_taxid\tgenome_taxids:kmers_mapped:total_genome_kmers"


class BrackenError(InputError):
    """A k-mer distribution or a Kraken2 database for re-estimation is unusable."""


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
            for m in sorted(self.mapped, key=taxid_key):
                genomes = self.mapped[m]
                parts = [f"{g}:{genomes[g]}:{self.totals[g]}" for g in sorted(genomes,
                                                                              key=taxid_key)]
                handle.write(f"{m}\t{' '.join(parts)} \n")


def taxid_key(taxid: str) -> tuple[int, str]:
    """Sort key putting numeric taxon IDs in numeric order, other IDs after them.

    Parameters
    ----------
    taxid : str

    Returns
    -------
    tuple of (int, str)
    """
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
