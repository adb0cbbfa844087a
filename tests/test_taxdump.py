"""Taxonomy dumps (NCBI names.dmp/nodes.dmp, GTDB-style names) onto the fixed ranks."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import TESTDATA
from soilbiome.taxonomy.lineage import RANKS, TaxonomyError
from soilbiome.taxonomy.taxdump import read_taxdump, taxonomy_from_lineages

LIBRARY = TESTDATA / "shotgun" / "kraken2_library"


def _names(lineage: tuple[str, ...]) -> dict[str, str]:
    return {rank: name for rank, name in zip(RANKS, lineage, strict=True) if name}


def test_ncbi_dump_places_species_on_the_fixed_ranks():
    tax = read_taxdump(LIBRARY)
    anchor, lineage = tax.placement("357276")
    assert anchor == "357276"
    names = _names(lineage)
    assert names["domain"] == "Bacteria"
    assert names["genus"] == "Bacteroides"
    assert names["species"] == "Bacteroides_dorei"
    # 'cellular organisms' (no rank) fills nothing; the lineage has one entry per RANKS
    assert len(lineage) == len(RANKS)
    assert tax.feature_id(anchor) == "ncbi:357276"


def _write_dump(folder: Path, nodes: list[str], names: list[str], merged: str = "") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "nodes.dmp").write_text("".join(f"{n}\t|\n" for n in nodes))
    (folder / "names.dmp").write_text("".join(f"{n}\t|\n" for n in names))
    if merged:
        (folder / "merged.dmp").write_text(merged)
    return folder


def test_strain_counts_for_its_species_and_merged_ids_resolve(tmp_path):
    folder = _write_dump(
        tmp_path / "tax",
        ["1\t|\t1\t|\tno rank", "2\t|\t1\t|\tsuperkingdom", "10\t|\t2\t|\tgenus",
         "11\t|\t10\t|\tspecies", "12\t|\t11\t|\tstrain", "13\t|\t10\t|\tclade"],
        ["1\t|\troot\t|\t\t|\tscientific name", "2\t|\tBacteria\t|\t\t|\tscientific name",
         "10\t|\tGenus\t|\t\t|\tscientific name", "11\t|\tGenus species\t|\t\t|\tscientific name",
         "11\t|\tG. species\t|\t\t|\tsynonym",
         "12\t|\tGenus species X1\t|\t\t|\tscientific name",
         "13\t|\tGenus group\t|\t\t|\tscientific name"],
        merged="99\t|\t11\t|\n",
    )
    tax = read_taxdump(folder)
    assert tax.placement("12")[0] == "11"        # strain -> species
    assert tax.placement("13")[0] == "10"        # clade under the genus -> genus
    assert tax.placement("99")[0] == "11"        # merged ID -> current ID
    assert _names(tax.placement("12")[1])["species"] == "Genus_species"


def test_gtdb_style_names_are_stripped_and_named_by_name(tmp_path):
    folder = _write_dump(
        tmp_path / "gtdb",
        ["1\t|\t1\t|\tno rank", "2\t|\t1\t|\tdomain", "3\t|\t2\t|\tphylum",
         "4\t|\t3\t|\tspecies"],
        ["1\t|\troot\t|\t\t|\tscientific name", "2\t|\td__Bacteria\t|\t\t|\tscientific name",
         "3\t|\tp__Bacteroidota\t|\t\t|\tscientific name",
         "4\t|\ts__Phocaeicola dorei\t|\t\t|\tscientific name"],
    )
    tax = read_taxdump(folder)
    assert tax.namespace == "gtdb"
    anchor, lineage = tax.placement("4")
    assert _names(lineage) == {"domain": "Bacteria", "phylum": "Bacteroidota",
                               "species": "Phocaeicola_dorei"}
    assert tax.feature_id(anchor) == "gtdb:s__Phocaeicola_dorei"


def test_gtdb_taxonomy_tsv_lineages():
    tax = taxonomy_from_lineages(
        {"GCF_1": "d__Bacteria;p__Bacillota;g__Bacillus;s__Bacillus subtilis"})
    assert _names(tax.placement("GCF_1")[1])["species"] == "Bacillus_subtilis"


def test_malformed_dump_names_file_and_line(tmp_path):
    folder = _write_dump(tmp_path / "bad", ["1\t|\t1\t|\tno rank", "x\t|\t1\t|\tgenus"],
                         ["1\t|\troot\t|\t\t|\tscientific name"])
    with pytest.raises(TaxonomyError, match=r"nodes.dmp: line 2"):
        read_taxdump(folder)


def test_unknown_parent_is_refused(tmp_path):
    folder = _write_dump(tmp_path / "orphan", ["1\t|\t1\t|\tno rank", "5\t|\t7\t|\tgenus"],
                         ["1\t|\troot\t|\t\t|\tscientific name",
                          "5\t|\tG\t|\t\t|\tscientific name"])
    with pytest.raises(TaxonomyError, match="parent taxon not in the dump"):
        read_taxdump(folder)
