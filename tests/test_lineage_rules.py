"""Lineage rules of the harmonised lineage model, one rule at a time (no classifier runs:
those are in tests/test_taxonomy.py): feature IDs, placeholders, cut-offs, top ranks,
species names, taxonomy strings and the lineage TSV."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from soilbiome.taxonomy import (
    RANKS,
    Lineage,
    TaxonomyError,
    build_lineage,
    feature_id_for,
    is_placeholder,
    read_lineage,
    write_lineage,
)
from soilbiome.taxonomy.lineage import (
    names_from_taxonomy,
    place_top_ranks,
    species_name,
    taxonomy_strings,
)

SPECIES = RANKS.index("species")


def test_feature_id_is_md5_of_uppercase_sequence() -> None:
    seq = "TACGTAGGGTGCAAGCGTTGTCCGG"
    assert feature_id_for(seq) == hashlib.md5(seq.encode()).hexdigest()
    assert feature_id_for(seq.lower()) == feature_id_for(seq)
    assert feature_id_for(f" {seq}\n") == feature_id_for(seq)


@pytest.mark.parametrize(
    ("name", "rank", "expected"),
    [
        ("unidentified", "genus", True),
        ("Unidentified_Fungi", "class", True),
        ("uncultured", "family", True),
        ("uncultured_bacterium", "species", True),
        ("NA", "phylum", True),
        ("Fusarium_sp", "species", True),
        ("Fungi_sp", "species", True),
        ("Bacillus sp.", "species", True),
        ("Fungi_phy_Incertae_sedis", "phylum", False),
        ("Burkholderiales_incertae_sedis", "family", False),
        ("Fusarium_oxysporum", "species", False),
        ("Bacillus", "genus", False),
        ("Sphingomonas_sp", "genus", False),
    ],
)
def test_placeholder_rule(name: str, rank: str, expected: bool) -> None:
    assert is_placeholder(name, rank) is expected


def test_cutoff_truncates_and_never_backfills() -> None:
    raw = {
        "domain": ("Bacteria", 1.0),
        "phylum": ("Firmicutes", 0.9),
        "class": ("Bacilli", 0.5),
        "order": ("Bacillales", 0.95),  # higher than its parent: still below a failed rank
        "genus": ("Bacillus", 0.4),
    }
    lineage = build_lineage("x", raw, min_confidence=0.8, classifier="c", reference="r")
    assert lineage.names == ("Bacteria", "", "Firmicutes", "", "", "", "", "")
    assert lineage.confidences == (1.0, None, 0.9, 0.5, 0.95, None, 0.4, None)


def test_placeholder_empties_only_its_rank() -> None:
    raw = {
        "domain": ("Fungi", 1.0),
        "phylum": ("Ascomycota", 1.0),
        "class": ("unidentified", 1.0),
        "order": ("Pleosporales", 1.0),
        "genus": ("Alternaria", 1.0),
        "species": ("Alternaria_sp", 1.0),
    }
    lineage = build_lineage("x", raw, min_confidence=0.8, classifier="c", reference="r")
    # 'Fungi' given as the top rank is placed as kingdom under domain Eukaryota
    assert lineage.names == (
        "Eukaryota", "Fungi", "Ascomycota", "", "Pleosporales", "", "Alternaria", ""
    )  # fmt: skip
    assert lineage.confidences[:2] == (1.0, 1.0)


@pytest.mark.parametrize(
    ("genus", "species", "stored"),
    [
        ("Fusarium", "Fusarium_oxysporum", "Fusarium_oxysporum"),  # UNITE, SILVA
        ("Fusarium", "Fusarium.oxysporum", "Fusarium.oxysporum"),  # dotted references
        ("Bacillus", "Bacillus subtilis", "Bacillus subtilis"),
        ("Escherichia", "coli", "Escherichia_coli"),  # DADA2 addSpecies epithet
        ("Escherichia", "coli/fergusonii", "Escherichia_coli/fergusonii"),  # allowMultiple
        ("", "Fusarium.oxysporum", "Fusarium.oxysporum"),  # full name, genus cut off
        ("Fusarium", "Gibberella_zeae", "Gibberella_zeae"),  # another genus: as written
    ],
)
def test_species_kept_as_the_reference_writes_it(genus: str, species: str, stored: str) -> None:
    raw = {"domain": ("Bacteria", None), "genus": (genus, None), "species": (species, None)}
    lineage = build_lineage("x", raw, min_confidence=0.8, classifier="c", reference="r")
    assert lineage.names[SPECIES] == stored
    assert species_name(species, genus) == stored


@pytest.mark.parametrize(
    ("raw", "domain", "kingdom"),
    [
        ({"kingdom": ("Bacteria", 0.9)}, ("Bacteria", 0.9), ("", None)),  # SILVA 'Kingdom'
        ({"domain": ("Archaea", 1.0)}, ("Archaea", 1.0), ("", None)),  # GTDB d__
        ({"kingdom": ("Fungi", 0.85)}, ("Eukaryota", 0.85), ("Fungi", 0.85)),  # UNITE k__
        ({"domain": ("Fungi", 1.0)}, ("Eukaryota", 1.0), ("Fungi", 1.0)),
        ({"kingdom": ("Eukaryota_kgd_Incertae_sedis", 1.0)}, ("Eukaryota", 1.0),
         ("Eukaryota_kgd_Incertae_sedis", 1.0)),
        ({"domain": ("Eukaryota", 1.0), "kingdom": ("Metazoa", 0.7)}, ("Eukaryota", 1.0),
         ("Metazoa", 0.7)),
        ({"kingdom": ("Unknownia", 1.0)}, ("", None), ("Unknownia", 1.0)),  # left as given
    ],
)
def test_top_ranks_placed_by_what_they_are(raw, domain, kingdom) -> None:
    placed = place_top_ranks(raw)
    assert placed.get("domain", ("", None)) == domain
    assert placed.get("kingdom", ("", None)) == kingdom


def test_fungi_below_cutoff_leave_domain_empty_too() -> None:
    raw = {"kingdom": ("Fungi", 0.5), "phylum": ("Ascomycota", 0.4)}
    lineage = build_lineage("x", raw, min_confidence=0.8, classifier="c", reference="r")
    assert lineage.names == ("",) * len(RANKS)
    assert lineage.confidences[:3] == (0.5, 0.5, 0.4)


def test_two_domains_in_one_lineage_refused() -> None:
    with pytest.raises(TaxonomyError, match="two names for rank domain: Bacteria and Archaea"):
        place_top_ranks({"domain": ("Bacteria", 1.0), "kingdom": ("Archaea", 1.0)}, where="x")


@pytest.mark.parametrize(
    ("entries", "expected"),
    [
        (["d__Bacteria", "k__", "p__Firmicutes", "c__", "o__", "f__", "g__", "s__"],
         ("Bacteria", "", "Firmicutes", "", "", "", "", "")),
        # a seven-rank table of soilbiome 0.1 / Greengenes
        (["k__Fungi", "p__Ascomycota", "c__", "o__", "f__", "g__Fusarium", "s__Fusarium_ox"],
         ("Eukaryota", "Fungi", "Ascomycota", "", "", "", "Fusarium", "Fusarium_ox")),
        (["k__Bacteria", "p__Firmicutes"], ("Bacteria", "", "Firmicutes", "", "", "", "", "")),
        (["D_0__Bacteria", "D_1__Proteobacteria"],
         ("Bacteria", "", "Proteobacteria", "", "", "", "", "")),
        (["Bacteria", "Firmicutes", "Bacilli"],
         ("Bacteria", "", "Firmicutes", "Bacilli", "", "", "", "")),
    ],
)
def test_names_from_taxonomy_lists(entries: list[str], expected: tuple[str, ...]) -> None:
    assert names_from_taxonomy(entries) == expected


def test_taxonomy_strings_roundtrip() -> None:
    names = ("Eukaryota", "Fungi", "Ascomycota", "", "", "", "Fusarium", "Fusarium.oxysporum")
    strings = taxonomy_strings(names)
    assert strings[:2] == ["d__Eukaryota", "k__Fungi"] and strings[3] == "c__"
    assert names_from_taxonomy(strings) == names


def test_species_epithet_joined_with_genus_and_dropped_without_one() -> None:
    raw = {"domain": ("Bacteria", None), "genus": ("Escherichia", None), "species": ("coli", None)}
    lineage = build_lineage("x", raw, min_confidence=0.8, classifier="c", reference="r")
    assert lineage.names[SPECIES] == "Escherichia_coli"
    raw["genus"] = ("", None)
    lineage = build_lineage("x", raw, min_confidence=0.8, classifier="c", reference="r")
    assert lineage.names[-1] == ""




def test_write_and_read_lineage_roundtrip(tmp_path: Path) -> None:
    lineage = Lineage(
        feature_id_for("ACGT"),
        ("Bacteria", "", "Firmicutes", "", "", "", "", ""),
        (1.0, None, 0.85, 0.5, None, None, None, None),
        "vsearch-sintax",
        "ref",
    )
    out = tmp_path / "l.tsv"
    assert write_lineage([lineage], out) == 1
    assert read_lineage(out) == {lineage.feature_id: lineage}
