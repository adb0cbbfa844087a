"""Your own genome catalogue as a Kraken2 database: ``soilbiome refdb build-kraken2``.

The Kraken2 counterpart of ``refdb build-sylph``, from the same genome files and the same
genome -> lineage file, so that a lab's soil MAGs (or a national catalogue) can be profiled by
both (``--shotgun_profiler sylph,kraken2``) against the same genomes. Kraken2 needs a taxonomy
dump; the lineages become one in GTDB's style (as ``gtdb_to_taxdump`` makes for GTDB: nodes
named by prefixed names, ``d__Bacteria`` ... ``s__Escherichia coli``), so that the table's
observations are ``gtdb:<prefixed name>`` (:mod:`soilbiome.taxonomy.taxdump`). A genome whose
lineage stops early (a MAG of a new species: ``g__X`` or an empty ``s__``) is classified to
its deepest named rank.

Steps: every input is checked before anything is written (the genome files, one name per
genome, a lineage for every genome, one parent per taxon, the output folder not already
there, ``kraken2-build`` on the PATH); the library (each genome's contigs tagged with its
taxon, ``kraken:taxid|N|``), ``kraken2-build --add-to-library --no-masking`` and ``--build``;
then the Bracken-method k-mer distribution for each read length
(:mod:`soilbiome.shotgun.bracken_build`). All of it happens in a hidden folder beside ``out``
that takes its name only when complete. The library is kept: the database's digest covers it
and a k-mer distribution for another read length is built from it.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from soilbiome.errors import InputError, ToolError
from soilbiome.io.atomic import atomic_outputs
from soilbiome.refdb.own_genomes import OwnBuild, catalogue_row, checked_genomes

#: GTDB rank prefix -> rank written into nodes.dmp (NCBI's names, which Kraken2 reports).
RANK_OF_PREFIX = {"d": "superkingdom", "k": "kingdom", "p": "phylum", "c": "class",
                  "o": "order", "f": "family", "g": "genus", "s": "species"}


@dataclass(frozen=True)
class Kraken2Build(OwnBuild):
    """What :func:`build_kraken2` made."""

    read_lengths: tuple[int, ...] = ()


@dataclass(frozen=True)
class LineageTaxonomy:
    """A taxonomy dump made from genome lineages (:func:`lineage_taxonomy`)."""

    #: genome -> taxon ID of its deepest named rank
    taxid: dict[str, int]
    names_dmp: str
    nodes_dmp: str


def lineage_taxonomy(lineages: dict[str, str], where: str) -> LineageTaxonomy:
    """NCBI-layout ``names.dmp`` and ``nodes.dmp`` of the taxa named in ``lineages`` (genome
    -> prefixed lineage), numbered 2, 3, ... in the sorted order of the lineages (the same
    lineages give the same numbers).

    Raises
    ------
    InputError
        Naming ``where``: a taxon placed under two different parents (two lineages disagree).
    """
    ids: dict[str, int] = {}
    parent_of: dict[str, str | None] = {}
    deepest: dict[str, str] = {}
    for lineage in sorted(set(lineages.values())):
        above: str | None = None
        for part in (p.strip() for p in lineage.split(";")):
            if not part or part.endswith("__"):  # an empty rank (s__ of a new species)
                continue
            if part not in ids:
                ids[part], parent_of[part] = len(ids) + 2, above
            elif parent_of[part] != above:
                raise InputError(f"'{part}' is placed under '{parent_of[part] or 'the root'}' "
                                 f"in one lineage and under '{above or 'the root'}' in another",
                                 location=where)
            above = part
        deepest[lineage] = above or ""
    names = ["1\t|\troot\t|\t\t|\tscientific name\t|\n"]
    nodes = ["1\t|\t1\t|\tno rank\t|\n"]
    for part, taxid in ids.items():
        parent = ids[parent_of[part]] if parent_of[part] else 1
        nodes.append(f"{taxid}\t|\t{parent}\t|\t{RANK_OF_PREFIX[part[0]]}\t|\n")
        names.append(f"{taxid}\t|\t{part}\t|\t\t|\tscientific name\t|\n")
    return LineageTaxonomy({g: ids[deepest[lin]] for g, lin in lineages.items()},
                           "".join(names), "".join(nodes))


def _kraken2_build(args: list[str], log: Path) -> None:
    with log.open("a") as handle:
        proc = subprocess.run(["kraken2-build", *args], stdout=handle,
                              stderr=subprocess.STDOUT, check=False)
    if proc.returncode != 0:
        tail = log.read_text(errors="replace").strip().splitlines()[-1:] or ["no output"]
        raise ToolError(f"kraken2-build {args[0]} failed (exit {proc.returncode}): {tail[0]}")


def _write_library(paths: Sequence[Path], taxid: dict[str, int], out: Path) -> None:
    """Every genome's contigs, each tagged with its genome's taxon (unique sequence IDs:
    ``<genome file name>_<contig number>``; MAGs' contig names repeat between genomes)."""
    from soilbiome.io.fasta import fasta_sequences

    with out.open("wb") as handle:
        for path in paths:
            for k, contig in enumerate(fasta_sequences(path), start=1):
                handle.write(f">kraken:taxid|{taxid[path.name]}|{path.name}_{k}\n".encode())
                handle.write(contig)
                handle.write(b"\n")


def build_kraken2(genomes: Sequence[str | Path], lineages: str | Path, out: str | Path, *,
                  read_lengths: Sequence[int] = (150,), threads: int = 1,
                  name: str | None = None, version: str | None = None, licence: str = "",
                  citation: str = "", taxonomy: str = "GTDB") -> Kraken2Build:
    """Build the Kraken2 database folder ``out`` from ``genomes`` (see the module docstring).

    Raises
    ------
    InputError
        Naming the file: a missing or unreadable genome, two genomes of one file name, a
        genome without a lineage, lineages that disagree, ``out`` already present.
    ToolError
        ``kraken2-build`` missing or failing.
    """
    from soilbiome.refdb.add import reference_digest
    from soilbiome.shotgun.bracken_build import database_distributions

    out = Path(out)
    if not read_lengths or min(read_lengths) < 1:
        raise InputError("read lengths must be positive")
    paths, matched = checked_genomes(genomes, lineages, out)
    tax = lineage_taxonomy(matched, str(lineages))
    if shutil.which("kraken2-build") is None:
        raise ToolError("kraken2-build not found on PATH (Debian package kraken2)")
    with atomic_outputs() as outputs:  # a hidden folder beside out, renamed when complete
        work = outputs.folder(out)
        (work / "taxonomy").mkdir()
        (work / "taxonomy" / "names.dmp").write_text(tax.names_dmp, encoding="utf-8")
        (work / "taxonomy" / "nodes.dmp").write_text(tax.nodes_dmp, encoding="utf-8")
        log = work / "build.log"
        library = work / "genomes.fna"
        _write_library(paths, tax.taxid, library)
        _kraken2_build(["--add-to-library", str(library), "--db", str(work), "--no-masking"],
                       log)
        library.unlink()
        _kraken2_build(["--build", "--db", str(work), "--threads", str(threads)], log)
        made = database_distributions(work, sorted(set(read_lengths)), threads=threads,
                                      workdir=work)
        for length, dist in made.items():
            dist.write(work / f"database{length}mers.kmer_distrib")
    digest = reference_digest(out, "kraken2")
    row = catalogue_row(out, "kraken2", digest, name=name, version=version, licence=licence,
                        citation=citation, taxonomy=taxonomy)
    return Kraken2Build(out, tuple(p.name for p in paths), digest, row,
                        tuple(sorted(set(read_lengths))))
