"""Genome -> lineage files: which taxon each genome (or MAG) of a genome database stands for.

The layout of GTDB's ``bac120_taxonomy.tsv`` / ``ar53_taxonomy.tsv`` and of the taxonomy
metadata sylph-tax ships for its prebuilt databases: tab-separated, first column the genome
(accession such as ``GCA_000005845.2``, or the genome file name), second column a prefixed
lineage ``d__Bacteria;p__Pseudomonadota;...;s__Escherichia coli``. Extra columns are ignored; a
first line whose second field is not a lineage is a header. Ranks may stop early or end in an
empty ``s__`` (a MAG of a new species): the genome then stands for its deepest named rank.

Genome names are matched leniently, as sylph-tax does: the exact name, the file name without
folders and FASTA/gzip extensions, or the GenBank/RefSeq accession inside it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from soilbiome.errors import InputError

_PART = re.compile(r"^([dkpcofgs])__(.*)$")
_ORDER = "dkpcofgs"
_ACCESSION = re.compile(r"GC[AF]_\d{9}\.\d+")
_EXTENSIONS = (".gz", ".bz2", ".xz", ".fna", ".fa", ".fasta", ".ffn", ".fas", ".faa", ".syldb")


def check_lineage(text: str) -> str | None:
    """The problem with a prefixed lineage string, or None when it is well formed."""
    parts = [p.strip() for p in text.split(";") if p.strip()]
    if not parts:
        return "empty lineage"
    last = -1
    for part in parts:
        match = _PART.match(part)
        if not match:
            return f"'{part}' is not a prefixed rank (d__, p__, c__, o__, f__, g__, s__)"
        position = _ORDER.index(match.group(1))
        if position <= last:
            return f"rank '{part}' is out of order"
        last = position
    if _PART.match(parts[0]).group(1) not in "dk":  # type: ignore[union-attr]
        return "the lineage does not start at the domain (d__)"
    return None


def read_genome_lineages(path: str | Path) -> dict[str, str]:
    """Read a genome -> lineage file (plain or gzip).

    Raises
    ------
    InputError
        Naming the file and line: too few columns, a malformed lineage, a genome listed twice
        with different lineages, no rows.
    """
    from soilbiome.io.profiles.model import numbered_lines  # (profiles import this module)

    path = Path(path)
    if not path.is_file():
        raise InputError("genome lineage file not found", location=str(path))
    lineages: dict[str, str] = {}
    for number, line in numbered_lines(path):
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.split("\t")
        if len(fields) < 2:
            raise InputError(f"line {number}: expected 'genome<TAB>lineage', got "
                             f"{len(fields)} column(s)", location=str(path))
        genome, lineage = fields[0].strip(), fields[1].strip()
        if not lineages and "__" not in lineage:
            continue  # header
        problem = check_lineage(lineage)
        if problem or not genome:
            raise InputError(f"line {number}: {problem or 'empty genome name'}",
                             location=str(path))
        if lineages.get(genome, lineage) != lineage:
            raise InputError(f"line {number}: genome '{genome}' is listed again with another "
                             "lineage", location=str(path))
        lineages[genome] = lineage
    if not lineages:
        raise InputError("no genome lineages in the file", location=str(path))
    return lineages


def file_stem(name: str) -> str:
    """A genome name without folders and FASTA/gzip extensions."""
    stem = name.rsplit("/", 1)[-1]
    changed = True
    while changed:
        changed = False
        for ext in _EXTENSIONS:
            if stem.lower().endswith(ext) and len(stem) > len(ext):
                stem, changed = stem[: -len(ext)], True
                break
    return stem


def accession(name: str) -> str | None:
    """The GenBank/RefSeq assembly accession (``GCA_000005845.2``) inside a name, if any."""
    found = _ACCESSION.search(name.rsplit("/", 1)[-1])
    return found.group(0) if found else None


def name_variants(name: str) -> list[str]:
    """Keys a genome name may be listed under: itself, the file name, the file name without
    extensions, and the accession it holds (with and without its version)."""
    out = [name, name.rsplit("/", 1)[-1], file_stem(name)]
    acc = accession(name)
    if acc:
        out += [acc, acc.split(".")[0]]
    return list(dict.fromkeys(out))


def match_lineages(genomes: Iterable[str], lineages: dict[str, str],
                   where: str) -> dict[str, str]:
    """``genome name -> lineage`` for every genome; refuses any genome without a lineage."""
    by_key = dict(lineages)
    for key, value in lineages.items():  # a lineage file listing versioned accessions
        found = _ACCESSION.search(key)
        if found:
            by_key.setdefault(found.group(0).split(".")[0], value)
    out: dict[str, str] = {}
    missing: list[str] = []
    for genome in genomes:
        hit = next((by_key[k] for k in name_variants(genome) if k in by_key), None)
        if hit is None:
            missing.append(genome)
        else:
            out[genome] = hit
    if missing:
        more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        raise InputError(f"{len(missing)} genome(s) have no lineage: "
                         f"{', '.join(missing[:5])}{more}", location=where)
    return out
