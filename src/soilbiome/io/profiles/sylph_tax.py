"""sylph-tax ``taxprof`` output (``.sylphmpa``: one sample's sylph profile with its lineages).

``sylph-tax taxprof RESULT.tsv -t TAXONOMY`` turns a sylph ``profile`` TSV into one MetaPhlAn-like
file per sample. Layout (sylph-tax 1.x, checked against 1.9.0)::

    #SampleID<TAB>reads_1.fastq.gz<TAB>Taxonomies_used:[...]
    clade_name  relative_abundance  sequence_abundance  ANI (if strain-level)
        Coverage (if strain-level)  (one line, tab-separated)
    d__Bacteria  ...
    d__Bacteria|p__Pseudomonadota|...|s__Escherichia coli|t__GCF_000005845.2  ...

Every clade of every genome is a row, down to the genome itself (``t__`` + the genome's
accession or file name; ``NO_TAXONOMY|t__<genome file>:<first contig>`` for a genome the
taxonomy file lacks, kept under its genome file with no lineage); percentages
as in sylph's TSV, an optional sixth column ``Virus_host (if viral)``. What is kept is what
:mod:`soilbiome.io.profiles.sylph` keeps from sylph's own TSV: per genome its **sequence
abundance** (share of the reads, as a fraction of 1; the rest of the sample is ``unclassified``),
and the lineage the file gives it (:attr:`Profile.genome_lineages`, used for genomes that
``--taxonomy`` does not list). The clade rows above the genomes are checked against the genomes
below them (a file cut short by ``head`` does not add up) and not stored.
"""

from __future__ import annotations

from pathlib import Path

from soilbiome.io.genome_lineages import check_lineage
from soilbiome.io.profiles.model import (
    RELATIVE,
    Profile,
    ProfileError,
    numbered_lines,
    parse_number,
)

#: First line of a sylph-tax file (how ``--profiler sylph`` tells it from sylph's TSV).
MARK = "#SampleID"
COLUMNS = ("clade_name", "relative_abundance", "sequence_abundance", "ANI (if strain-level)",
           "Coverage (if strain-level)")
VIRUS_HOST = "Virus_host (if viral)"
NO_TAXONOMY = "NO_TAXONOMY"
#: Slack, in percent, on sums of abundances: sylph-tax prints full floats, sylph four decimals.
_TOLERANCE = 0.5


def is_sylph_tax(path: Path) -> bool:
    """Whether the file's first non-empty line is sylph-tax's ``#SampleID`` line."""
    for _number, line in numbered_lines(path):
        if line.strip():
            return line.startswith(MARK + "\t")
    return False


def _clade(path: Path, number: int, clade: str) -> tuple[str, str | None] | None:
    """``(genome, lineage or None)`` of a genome row, None for a clade row above genomes."""
    parts = [p.strip() for p in clade.split("|")]
    if not all(parts):
        raise ProfileError(path, number, f"column 'clade_name': '{clade[:80]}' has an empty "
                           "part")
    if parts == [NO_TAXONOMY]:  # the clade of the genomes the taxonomy file lacks
        return None
    if not parts[-1].startswith("t__"):
        if any(p.startswith("t__") for p in parts):
            raise ProfileError(path, number, f"column 'clade_name': '{clade[:80]}' is not a "
                               "lineage")
        problem = check_lineage(";".join(parts))
        if problem:
            raise ProfileError(path, number, f"column 'clade_name': {problem}")
        return None
    genome = parts[-1][3:]
    if not genome:
        raise ProfileError(path, number, "column 'clade_name': an empty genome name (t__)")
    if parts[:-1] == [NO_TAXONOMY]:  # sylph-tax 1.9 writes t__<genome file>:<first contig>
        return (genome.rsplit(":", 1)[0] or genome), None
    lineage = ";".join(parts[:-1])
    problem = check_lineage(lineage) if parts[:-1] else "no lineage above the genome"
    if problem:
        raise ProfileError(path, number, f"column 'clade_name': {problem}")
    return genome, lineage


def read_sylph_tax(path: Path) -> list[Profile]:
    """Read one sylph-tax ``.sylphmpa`` file: one sample, checked.

    Raises
    ------
    ProfileError
        The ``#SampleID`` line or the header missing, column count, numbers (percentages 0-100),
        a clade or genome listed twice, a malformed lineage, genome shares that do not add up to
        100 or clade rows that differ from the sum of their genomes.
    """
    from soilbiome.io.profiles.sylph import sample_name

    sample_file: str | None = None
    header: tuple[str, ...] | None = None
    profile: Profile | None = None
    relative: dict[str, float] = {}     # every row (clade or genome): its relative abundance
    below: dict[str, float] = {}        # clade -> the genomes' relative abundance below it
    first_row: dict[str, int] = {}
    genome_clades: list[str] = []       # the rows that are genomes (t__), in file order
    for number, line in numbered_lines(path):
        if not line.strip():
            continue
        fields = line.split("\t")
        if sample_file is None:
            if fields[0] != MARK or len(fields) < 2 or not fields[1].strip():
                raise ProfileError(path, number, "not a sylph-tax taxprof file (expected a "
                                   f"first line '{MARK}<TAB>sample file')")
            sample_file = fields[1].strip()
            profile = Profile(sample_name(sample_file), "sylph", path, value_kind=RELATIVE)
            continue
        if header is None:
            names = tuple(f.strip() for f in fields)
            if names not in (COLUMNS, (*COLUMNS, VIRUS_HOST)):
                raise ProfileError(path, number, "not a sylph-tax header (expected "
                                   f"{', '.join(COLUMNS)})")
            header = names
            continue
        if len(fields) != len(header):
            raise ProfileError(path, number, f"{len(fields)} columns, the header has "
                               f"{len(header)}")
        clade = fields[0].strip()
        if clade in relative:
            raise ProfileError(path, number, f"clade '{clade[:80]}' listed twice")
        shares = []
        for column, text in zip(COLUMNS[1:3], fields[1:3], strict=True):
            value = parse_number(path, number, column, text.strip())
            if value > 100 + _TOLERANCE:
                raise ProfileError(path, number, f"column '{column}': {text} is above 100 (a "
                                   "percentage)")
            shares.append(value)
        for column, text in zip(COLUMNS[3:5], fields[3:5], strict=True):
            if text.strip() != "NA":
                parse_number(path, number, column, text.strip())
        relative[clade] = shares[0]
        first_row.setdefault(clade, number)
        genome_row = _clade(path, number, clade)
        if genome_row is None:
            continue
        genome, lineage = genome_row
        genome_clades.append(clade)
        assert profile is not None
        if genome in profile.values:
            raise ProfileError(path, number, f"genome '{genome}' listed twice")
        profile.values[genome] = shares[1] / 100.0
        if lineage is not None:
            profile.genome_lineages[genome] = lineage
        parts = clade.split("|")
        for depth in range(1, len(parts)):
            key = "|".join(parts[:depth])
            below[key] = below.get(key, 0.0) + shares[0]
    if sample_file is None or profile is None:
        raise ProfileError(path, None, f"empty file (no '{MARK}' line)")
    if header is None:
        raise ProfileError(path, None, "no header line after the #SampleID line")
    if not profile.values:
        raise ProfileError(path, None, "no genome rows (t__): nothing was profiled")
    genomes = set(genome_clades)
    for clade, value in relative.items():  # first: a cut file fails here, naming a line
        if clade in genomes:
            continue
        if abs(value - below.get(clade, 0.0)) > _TOLERANCE:
            raise ProfileError(path, first_row[clade], f"clade '{clade[:80]}': "
                               f"relative_abundance {value:g} but its genomes sum to "
                               f"{below.get(clade, 0.0):g} (a cut or edited file?)")
    total = sum(relative[c] for c in genome_clades)
    if abs(total - 100.0) > _TOLERANCE:
        raise ProfileError(path, first_row[genome_clades[0]], "the genomes' relative "
                           f"abundances sum to {total:.2f}, not 100 (a cut or edited file?)")
    explained = sum(profile.values.values())
    if explained > 1.0 + _TOLERANCE / 100:
        raise ProfileError(path, first_row[genome_clades[0]], "the genomes' sequence abundances "
                           f"sum to {explained * 100:.2f} %, more than 100")
    profile.unclassified = max(0.0, 1.0 - explained)
    return [profile]
