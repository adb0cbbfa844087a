"""Profiles whose taxa are genomes or lineages (sylph, SingleM) -> a GTDB-style taxonomy.

Kraken2-like profilers report taxon IDs of a taxonomy dump; sylph reports genomes (lineages come
from a genome -> lineage file) and SingleM reports lineages themselves. Both become a
:class:`~soilbiome.taxonomy.taxdump.Taxonomy` built from the lineage strings, so that the one
table writer (:func:`soilbiome.shotgun.table.write_profile_table`) places them on the fixed ranks
like every other profile, with GTDB names kept as GTDB writes them:

* a genome of a named species counts for its species (``gtdb:s__Phocaeicola_dorei``);
* a genome whose lineage stops above species (a MAG of a new species) is its own feature,
  ``genome:<accession or file stem>``, with its lineage down to the deepest named rank;
* a genome missing from the lineage file is kept as ``genome:<...>`` with an empty lineage and
  reported (never dropped);
* a SingleM taxon placed only to, say, the family stays at the family (``gtdb:f__...``).
"""

from __future__ import annotations

from collections.abc import Sequence

from soilbiome.io.genome_lineages import accession, file_stem, name_variants
from soilbiome.io.profiles.model import Profile
from soilbiome.taxonomy.taxdump import Taxonomy, taxonomy_from_lineages


def genome_key(name: str) -> str:
    """Short, stable key of a genome file name: its accession, else the file stem."""
    return accession(name) or file_stem(name)


def genome_profiles_taxonomy(profiles: Sequence[Profile], lineages: dict[str, str] | None,
                             source: str = "") -> tuple[Taxonomy, list[str]]:
    """Re-key sylph profiles by :func:`genome_key` (in place) and build their taxonomy.

    Returns
    -------
    tuple
        ``(taxonomy, genomes without a lineage)``.
    """
    table = dict(lineages or {})
    by_key: dict[str, str] = {}
    for key, value in table.items():
        for variant in name_variants(key):
            by_key.setdefault(variant, value)
    found: dict[str, str] = {}
    missing: list[str] = []
    for profile in profiles:
        values: dict[str, float] = {}
        names: dict[str, str] = {}
        for genome, value in profile.values.items():
            key = genome_key(genome)
            values[key] = values.get(key, 0.0) + value
            names[key] = profile.names.get(genome, "")
            if key in found or key in missing:
                continue
            hit = next((by_key[v] for v in name_variants(genome) if v in by_key), None)
            if hit is None:
                missing.append(key)
            else:
                found[key] = hit
        profile.values, profile.names = values, names
    tax = taxonomy_from_lineages({**found, **dict.fromkeys(missing, "")}, source)
    return tax, missing


def lineage_profiles_taxonomy(profiles: Sequence[Profile], source: str = "") -> Taxonomy:
    """Re-key SingleM profiles by their deepest named taxon (in place) and build the taxonomy."""
    lineages: dict[str, str] = {}
    for profile in profiles:
        values: dict[str, float] = {}
        for lineage, value in profile.values.items():
            deepest = [p.strip() for p in lineage.split(";") if p.strip()][-1]
            lineages.setdefault(deepest, lineage)
            values[deepest] = values.get(deepest, 0.0) + value
        profile.values = values
    return taxonomy_from_lineages(lineages, source)
