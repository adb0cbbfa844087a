"""The fixed ranks of the harmonised lineage, their prefixes and the top-rank vocabulary.

:data:`RANKS` is the one list of ranks every module uses (symbolically; never hard-code it),
:data:`RANK_PREFIXES` their Greengenes letters (:func:`taxonomy_strings`), and :data:`DOMAINS` /
:data:`EUKARYOTE_KINGDOMS` tell a domain from a eukaryote kingdom whatever rank a reference
gives it (see :func:`soilbiome.taxonomy.names.place_top_ranks`).
"""

from __future__ import annotations

from collections.abc import Sequence

#: The fixed ranks of the harmonised lineage, top to bottom.
RANKS: tuple[str, ...] = (
    "domain",
    "kingdom",
    "phylum",
    "class",
    "order",
    "family",
    "genus",
    "species",
)
#: One-letter prefix of each rank in Greengenes-style strings (``d__Bacteria``, ``k__Fungi``).
RANK_PREFIXES: dict[str, str] = dict(zip(RANKS, "dkpcofgs", strict=True))
#: The domains of life (the top rank of SILVA, GTDB, RDP; NCBI's superkingdom).
DOMAINS: frozenset[str] = frozenset({"Bacteria", "Archaea", "Eukaryota"})
#: The domain every eukaryote kingdom belongs to.
EUKARYOTA = "Eukaryota"
#: Kingdom-level names of eukaryote references (UNITE's ``k__`` values, NCBI and classic
#: kingdoms, the supergroups UNITE's all-eukaryote release places at kingdom rank). Each is
#: placed at rank ``kingdom`` under domain ``Eukaryota``. Names ending in
#: ``_kgd_Incertae_sedis`` (UNITE's ``Eukaryota_kgd_Incertae_sedis``) count too.
EUKARYOTE_KINGDOMS: frozenset[str] = frozenset(
    {
        "Fungi",
        "Metazoa",
        "Animalia",
        "Viridiplantae",
        "Plantae",
        "Protista",
        "Protozoa",
        "Chromista",
        "Rhizaria",
        "Stramenopila",
        "Alveolata",
        "Amoebozoa",
        "Apusozoa",
        "Choanoflagellozoa",
        "Cryptista",
        "Discoba",
        "Excavata",
        "Haptista",
        "Heterolobosea",
        "Ichthyosporia",
        "Rhodoplantae",
        "Glaucocystophyceae",
    }
)


def is_eukaryote_kingdom(name: str) -> bool:
    """True if ``name`` is a kingdom of domain Eukaryota (:data:`EUKARYOTE_KINGDOMS`)."""
    return name in EUKARYOTE_KINGDOMS or name.lower().endswith("_kgd_incertae_sedis")


def taxonomy_strings(names: Sequence[str]) -> list[str]:
    """Greengenes-style prefixed names, one per rank: ``["d__Bacteria", "k__", ...]``.

    A bare prefix marks an empty rank, so no rank ever shifts (biom-format's reader drops
    empty strings from taxonomy lists). Used in the BIOM ``taxonomy`` metadata and the
    QIIME 2 taxonomy TSV.

    Parameters
    ----------
    names : sequence of str
        One bare name per rank of :data:`RANKS`.

    Returns
    -------
    list of str
    """
    if len(names) != len(RANKS):
        raise ValueError(f"expected {len(RANKS)} names ({', '.join(RANKS)}), got {len(names)}")
    return [f"{RANK_PREFIXES[rank]}__{name}" for rank, name in zip(RANKS, names, strict=True)]
