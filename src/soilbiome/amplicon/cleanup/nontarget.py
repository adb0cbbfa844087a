"""16S non-target ASVs: chloroplasts and mitochondria, found by lineage.

Plastid and mitochondrial 16S genes are amplified by the common 16S primers; reference
databases place them inside the bacteria (SILVA: order *Chloroplast* in Cyanobacteria, family
*Mitochondria* in Rickettsiales; Greengenes: class *Chloroplast*, family *mitochondria*). An
ASV is non-target when any rank of its lineage is named ``Chloroplast`` or ``Mitochondria``
(case-insensitive; also ``Chloroplasts``/``Mitochondrion``). Names that merely contain the word
(RDP's phylum ``Cyanobacteria/Chloroplast``, which holds free-living cyanobacteria too) do not
count: the lower ranks decide there.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from soilbiome.taxonomy.lineage import Lineage

#: Category -> rank names (lower case) that mark it.
NON_TARGET_16S: dict[str, frozenset[str]] = {
    "chloroplast": frozenset({"chloroplast", "chloroplasts"}),
    "mitochondria": frozenset({"mitochondria", "mitochondrion"}),
}


def nontarget_category(lineage: Lineage | None) -> str | None:
    """``"chloroplast"``, ``"mitochondria"`` or None for a lineage (None: no lineage)."""
    if lineage is None:
        return None
    for name in lineage.names:
        low = name.strip().lower()
        for category, names in NON_TARGET_16S.items():
            if low in names:
                return category
    return None


def nontarget_categories(feature_ids: Sequence[str],
                         lineages: Mapping[str, Lineage]) -> list[str | None]:
    """The non-target category of each feature (None for target ASVs)."""
    return [nontarget_category(lineages.get(f)) for f in feature_ids]
