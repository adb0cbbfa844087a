"""Your own genome catalogue as a sylph database: ``soilbiome refdb build-sylph``.

A lab's soil MAGs or a national genome catalogue are sketched (:mod:`soilbiome.shotgun.sylph`)
into a database folder (``database.syldb`` + ``lineages.tsv``) whose database-sheet row (format
``sylph``, marker ``shotgun``, the folder's digest) is printed, or written into a sheet with
``--sheet``. Everything is checked before any genome is sketched: the genome files, one name per
genome, a lineage for every genome, the output folder not already there.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from soilbiome.refdb.own_genomes import OwnBuild, catalogue_row, checked_genomes
from soilbiome.refdb.sheet import SYLPH_FILES, listing_digest


@dataclass(frozen=True)
class SylphBuild(OwnBuild):
    """What :func:`build_sylph` made."""

    #: genomes with too few sampled k-mers for sylph to ever report them (kept in the database)
    too_small: tuple[str, ...] = ()


def build_sylph(genomes: Sequence[str | Path], lineages: str | Path, out: str | Path, *,
                name: str | None = None, version: str | None = None, licence: str = "",
                citation: str = "", taxonomy: str = "GTDB") -> SylphBuild:
    """Sketch ``genomes`` into the sylph database folder ``out``.

    Raises
    ------
    InputError
        Naming the file: a missing genome, two genomes of one file name, a genome without a
        lineage, ``out`` already present.
    """
    from soilbiome.shotgun.sylph import MIN_KMERS, sketch_genomes

    out = Path(out)
    paths, matched = checked_genomes(genomes, lineages, out)
    done = sketch_genomes(paths, matched, out)
    digest = listing_digest(out, SYLPH_FILES)
    row = catalogue_row(out, "sylph", digest, name=name, version=version, licence=licence,
                        citation=citation, taxonomy=taxonomy)
    small = tuple(g for g, kmers in done.items() if kmers < MIN_KMERS)
    return SylphBuild(out, tuple(done), digest, row, small)
