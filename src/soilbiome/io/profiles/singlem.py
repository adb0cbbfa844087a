"""SingleM ``pipe -p`` / ``condense`` taxonomic profiles -> standard profiles.

The condensed form (Woodcroft et al., SingleM; https://wwood.github.io/singlem/): tab-separated
``sample  coverage  taxonomy``, one row per taxon per sample, ``taxonomy`` a GTDB lineage from
``Root`` (``Root; d__Bacteria; p__Pseudomonadota; ...; s__Escherichia coli``). A row's coverage
is the coverage assigned *at* that taxon, not over its clade: what SingleM could place only to
the phylum stays at the phylum (unknown species kept at the deepest rank it could place). A row
of ``Root`` alone (marker reads no domain could be given) is the sample's ``unclassified``.
Coverages are stored as shares of the sample's total (relative profile).
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

HEADER = ("sample", "coverage", "taxonomy")


def read_singlem_samples(path: Path) -> list[Profile]:
    """Read every sample of a condensed SingleM profile; taxa are keyed by their lineage
    (``d__Bacteria;p__...``, without ``Root``), which :attr:`Profile.lineages` repeats.

    Raises
    ------
    ProfileError
        Header, column count, coverage, a lineage not from Root or malformed, a taxon listed
        twice for one sample, no rows.
    """
    seen_header = False
    by_sample: dict[str, Profile] = {}
    for number, line in numbered_lines(path):
        if not line.strip():
            continue
        fields = line.split("\t")
        if not seen_header:
            if tuple(f.strip() for f in fields) != HEADER:
                raise ProfileError(path, number, "not a condensed SingleM profile header "
                                   "(expected sample, coverage, taxonomy)")
            seen_header = True
            continue
        if len(fields) != 3:
            raise ProfileError(path, number, f"{len(fields)} columns, expected 3")
        sample, coverage, taxonomy = (f.strip() for f in fields)
        if not sample:
            raise ProfileError(path, number, "empty sample")
        value = parse_number(path, number, "coverage", coverage)
        parts = [p.strip() for p in taxonomy.split(";") if p.strip()]
        if not parts or parts[0] != "Root":
            raise ProfileError(path, number, f"column 'taxonomy': '{taxonomy[:60]}' does not "
                               "start at Root")
        profile = by_sample.setdefault(sample, Profile(sample, "singlem", path,
                                                       value_kind=RELATIVE))
        if len(parts) == 1:
            profile.unclassified += value
            continue
        lineage = ";".join(parts[1:])
        problem = check_lineage(lineage)
        if problem:
            raise ProfileError(path, number, f"column 'taxonomy': {problem}")
        if lineage in profile.values:
            raise ProfileError(path, number, f"taxon '{parts[-1]}' listed twice for sample "
                               f"'{sample}'")
        profile.values[lineage] = value
        profile.names[lineage] = parts[-1]
    if not seen_header:
        raise ProfileError(path, None, "empty file (no header)")
    if not by_sample:
        raise ProfileError(path, None, "no taxa in the profile")
    for profile in by_sample.values():  # coverage -> share of the sample's total coverage
        total = profile.total
        if total <= 0:
            raise ProfileError(path, None, f"sample '{profile.sample}' has no coverage")
        profile.values = {taxon: value / total for taxon, value in profile.values.items()}
        profile.unclassified /= total
    return list(by_sample.values())


def read_singlem(path: Path, sample: str) -> Profile:
    """One-sample form; a file of several samples is refused here (see ``import``)."""
    profiles = read_singlem_samples(path)
    if len(profiles) != 1:
        raise ProfileError(path, None, f"holds {len(profiles)} samples, expected one")
    profiles[0].sample = sample
    return profiles[0]
