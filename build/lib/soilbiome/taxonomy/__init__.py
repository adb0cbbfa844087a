"""Taxonomy services: one harmonised lineage model whatever the classifier or reference.

See :mod:`soilbiome.taxonomy.lineage` for the model and its rules (with
:mod:`soilbiome.taxonomy.ranks` and :mod:`soilbiome.taxonomy.names`) and
:mod:`soilbiome.taxonomy.readers` for the SINTAX and DADA2 readers.
"""

from __future__ import annotations

from soilbiome.taxonomy.lineage import (
    DEFAULT_MIN_CONFIDENCE,
    DOMAINS,
    EUKARYOTE_KINGDOMS,
    LINEAGE_COLUMNS,
    RANK_PREFIXES,
    RANKS,
    Lineage,
    TaxonomyError,
    build_lineage,
    feature_id_for,
    is_placeholder,
    names_from_taxonomy,
    place_top_ranks,
    read_lineage,
    species_name,
    taxonomy_strings,
    write_lineage,
)
from soilbiome.taxonomy.readers import harmonise, read_dada2, read_sintax, strip_prefix

__all__ = [
    "DEFAULT_MIN_CONFIDENCE",
    "DOMAINS",
    "EUKARYOTE_KINGDOMS",
    "LINEAGE_COLUMNS",
    "RANK_PREFIXES",
    "RANKS",
    "Lineage",
    "TaxonomyError",
    "build_lineage",
    "feature_id_for",
    "harmonise",
    "is_placeholder",
    "names_from_taxonomy",
    "place_top_ranks",
    "read_dada2",
    "read_lineage",
    "read_sintax",
    "species_name",
    "strip_prefix",
    "taxonomy_strings",
    "write_lineage",
]
