"""A lab's own genomes made a database (``refdb build-sylph``, ``refdb build-kraken2``): the
checks both make before anything is written, and the database-sheet row both print."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from soilbiome.errors import InputError
from soilbiome.io.genome_lineages import match_lineages, read_genome_lineages


@dataclass(frozen=True)
class OwnBuild:
    """A database folder built from a lab's own genomes."""

    folder: Path
    genomes: tuple[str, ...]
    sha256: str
    #: its database-sheet row (:func:`catalogue_row`)
    row: dict[str, str]

    def row_csv(self) -> str:
        """The database-sheet header and row, as CSV text."""
        from soilbiome.refdb.add import row_csv

        return row_csv(self.row)


def checked_genomes(genomes: Sequence[str | Path], lineages: str | Path,
                    out: str | Path) -> tuple[list[Path], dict[str, str]]:
    """The genome files and ``file name -> lineage`` of each, once every check has passed.

    Raises
    ------
    InputError
        Naming the file: no genome, ``out`` already present, a missing genome file, two
        genomes of one file name (a genome is named by its file name, as sylph names it), a
        genome without a lineage or an unreadable lineage file.
    """
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
        raise InputError(f"genome file name(s) given more than once: {', '.join(dupes)} (a "
                         "genome is named by its file name, as sylph names it)")
    return paths, match_lineages(names, read_genome_lineages(lineages), str(lineages))


def catalogue_row(out: Path, fmt: str, digest: str, *, name: str | None, version: str | None,
                  licence: str, citation: str, taxonomy: str) -> dict[str, str]:
    """The database-sheet row of a database folder built from a lab's own genomes."""
    return {
        "name": name or out.name, "version": version or f"sha256-{digest[:12]}",
        "marker": "shotgun", "format": fmt, "licence": licence, "citation": citation,
        "path": str(out.resolve()), "sha256": digest, "taxonomy": taxonomy,
    }
