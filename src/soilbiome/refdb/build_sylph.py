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

from soilbiome.errors import InputError
from soilbiome.io.genome_lineages import match_lineages, read_genome_lineages
from soilbiome.refdb.sheet import SYLPH_FILES, listing_digest


@dataclass(frozen=True)
class SylphBuild:
    """What :func:`build_sylph` made."""

    folder: Path
    genomes: tuple[str, ...]
    sha256: str
    row: dict[str, str]
    #: genomes with too few sampled k-mers for sylph to ever report them (kept in the database)
    too_small: tuple[str, ...] = ()

    def row_csv(self) -> str:
        """The database-sheet header and row, as CSV text."""
        from soilbiome.refdb.add import row_csv

        return row_csv(self.row)


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
    paths = [Path(g) for g in genomes]
    if not paths:
        raise InputError("no genome files given")
    if out.exists():
        raise InputError("output database folder exists already (remove it or choose "
                         "another --out)", location=str(out))
    for path in paths:
        if not path.is_file():
            raise InputError("genome file not found", location=str(path))
    names = [p.name for p in paths]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise InputError(f"genome file name(s) given more than once: {', '.join(dupes)} (sylph "
                         "names a genome by its file name)")
    table = read_genome_lineages(lineages)
    matched = match_lineages(names, table, str(lineages))
    done = sketch_genomes(paths, matched, out)
    digest = listing_digest(out, SYLPH_FILES)
    row = {
        "name": name or out.name, "version": version or f"sha256-{digest[:12]}",
        "marker": "shotgun", "format": "sylph", "licence": licence, "citation": citation,
        "path": str(out.resolve()), "sha256": digest, "taxonomy": taxonomy,
    }
    small = tuple(g for g, kmers in done.items() if kmers < MIN_KMERS)
    return SylphBuild(out, tuple(done), digest, row, small)
