"""GBIF export: a real stamped Atacama 16S table as a Darwin Core Archive, read back with
python-dwca-reader; refusals under restrictive terms; relative-abundance tables.

Counts are exact-sequence ASVs of the real Atacama soil reads (R1) with real ``vsearch
--sintax`` lineages (as in test_biom.py), built into a BIOM with ``biom build`` and stamped with
a run-time Ed25519 key under the project's open CC-BY-4.0 example agreement.
"""

from __future__ import annotations

import collections
import copy
import datetime as dt
import gzip
import json
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import h5py
import numpy as np
import pytest
import yaml
from click.testing import CliRunner
from dwca.read import DwCAReader

from conftest import ATACAMA_SHEET, TESTDATA, write_asvs
from soilbiome.cli import main
from soilbiome.export.gbif import ExportRefused, export_gbif
from soilbiome.export.gbif_rules import gbif_licence
from soilbiome.io.biom import build_table, read_counts, read_sample_metadata, write_biom
from soilbiome.io.biom_reader import read_table
from soilbiome.model.samplesheet import load_samplesheet
from soilbiome.sharing import generate_key, rewrite_trusted_keys, stamp_biom
from soilbiome.sharing.agreement import read_yaml
from soilbiome.taxonomy import RANKS, harmonise, read_lineage, write_lineage

ROOT = Path(__file__).resolve().parents[1]
OPEN = ROOT / "sharing_agreements" / "examples" / "open-cc-by.yaml"
SINTAX_16S = TESTDATA / "refdb" / "16s_sintax_ten16s.fa.gz"
TODAY = dt.date(2025, 6, 15)
NOW = dt.datetime(2025, 6, 15, 12, 0, tzinfo=dt.UTC)
DWC = "http://rs.tdwg.org/dwc/terms/"


def _r1(path: Path) -> list[str]:
    with gzip.open(path, "rt") as handle:
        return [line.strip() for i, line in enumerate(handle) if i % 4 == 1]


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> dict:
    """Real counts + lineages + sheet, a signing key, and the unstamped table."""
    if shutil.which("vsearch") is None:
        pytest.skip("vsearch not found")
    work = tmp_path_factory.mktemp("gbif")
    sheet = load_samplesheet(ATACAMA_SHEET)
    valid = work / "valid.csv"
    sheet.write_normalised(valid)
    per_sample = {r.sample: collections.Counter(_r1(r.fastq_1)) for r in sheet.rows}
    total = sum(per_sample.values(), collections.Counter())
    asvs = [seq for seq, n in total.most_common() if n >= 2]
    counts, fasta = write_asvs(work, per_sample, asvs)
    sintax = work / "sintax.tsv"
    subprocess.run(["vsearch", "--sintax", str(fasta), "--db", str(SINTAX_16S), "--tabbedout",
                    str(sintax), "--sintax_cutoff", "0.8", "--randseed", "1", "--threads", "1",
                    "--quiet"], check=True, capture_output=True)
    lineage = work / "lineage.tsv"
    write_lineage(harmonise("sintax", sintax, reference="ten16s TAXXI"), lineage)
    table = build_table(read_counts(counts), read_lineage(lineage), read_sample_metadata(valid))
    plain = work / "plain.biom"
    write_biom(table, plain)
    key = generate_key(work / "provider.key")
    return {"work": work, "plain": plain, "key": key, "table": table}


def _agreement(work: dict, tmp: Path, edit=None) -> Path:  # noqa: ANN001
    data = copy.deepcopy(read_yaml(OPEN)[0])
    if edit:
        edit(data)
    src = tmp / "agreement_src.yaml"
    src.write_text(yaml.safe_dump(data, sort_keys=False))
    return rewrite_trusted_keys(src, tmp / "agreement.yaml", [(work["key"], "provider-cl")],
                                valid_from="2025-01-01", valid_until="2027-12-31")


def _stamped(work: dict, tmp: Path, agreement: Path, source: Path | None = None) -> Path:
    path = tmp / "table.biom"
    shutil.copy(source or work["plain"], path)
    stamp_biom(path, agreement, work["key"].private_key_path, run_id="run-1", today=TODAY,
               now=NOW)
    return path


@pytest.fixture(scope="module")
def exported(work, tmp_path_factory) -> dict:
    tmp = tmp_path_factory.mktemp("open")
    agreement = _agreement(work, tmp)
    table = _stamped(work, tmp, agreement)
    out = tmp / "dwca"
    result = CliRunner().invoke(main, [
        "export", "gbif", str(table), "--agreement", str(agreement), "--out", str(out),
        "--today", "2025-06-15", "--target-gene", "16S rRNA", "--target-subfragment", "V4",
        "--primer-forward", "GTGYCAGCMGCCGCGGTAA", "--primer-reverse", "GGACTACNVGGGTWTCTAAT",
        "--primer-names", "515F,806R", "--seq-meth", "Illumina MiSeq"])
    assert result.exit_code == 0, result.output
    return {"table": table, "out": out, "stdout": result.stdout, "agreement": agreement}


def test_archive_reads_back_with_every_occurrence_and_count(exported):
    table = read_table(exported["table"])
    expected = {}
    totals = table.sample_totals()
    csr = table.counts
    for i, sample in enumerate(table.sample_ids):
        for j in range(csr.indptr[i], csr.indptr[i + 1]):
            if csr.data[j] > 0:
                expected[f"{sample}:{table.feature_ids[csr.indices[j]]}"] = (
                    int(csr.data[j]), int(totals[i]))
    assert len(expected) > 50
    sequences = dict(zip(table.feature_ids, table.observation_metadata["sequence"], strict=True))
    found = {}
    with DwCAReader(str(exported["out"] / "dwca.zip")) as dwca:
        assert dwca.descriptor.core.type == DWC + "Occurrence"
        assert [e.type for e in dwca.descriptor.extensions] == [
            "http://rs.gbif.org/terms/1.0/DNADerivedData"]
        for row in dwca:
            d = row.data
            assert d[DWC + "organismQuantityType"] == "DNA sequence reads"
            assert d[DWC + "sampleSizeUnit"] == "DNA sequence reads"
            found[d[DWC + "occurrenceID"]] = (int(d[DWC + "organismQuantity"]),
                                              int(d[DWC + "sampleSizeValue"]))
            assert d[DWC + "eventID"] == d[DWC + "occurrenceID"].split(":")[0]
            assert d[DWC + "basisOfRecord"] == "MaterialSample"
            feature = d[DWC + "taxonID"].removeprefix("ASV:")
            (ext,) = row.extensions
            assert ext.data["http://rs.gbif.org/terms/dna_sequence"] == sequences[feature]
            assert ext.data["https://w3id.org/mixs/0000044"] == "16S rRNA"
            assert ext.data["http://rs.gbif.org/terms/pcr_primer_forward"] == "GTGYCAGCMGCCGCGGTAA"
            assert ext.data["https://w3id.org/mixs/0000050"] == "Illumina MiSeq"
            assert ext.data["https://w3id.org/mixs/0000087"] == "ten16s TAXXI"
        assert found == expected
        rights = dwca.metadata.find(".//intellectualRights")
        text = ET.tostring(rights, encoding="unicode")
        assert "creativecommons.org/licenses/by/4.0/legalcode" in text
        assert "urn:uuid:6b1d2c4e-5a7f-4c1e-9d3b-2f8a0e6c1a01" in text
        box = dwca.metadata.find(".//boundingCoordinates")
        lats = [float(r.data[DWC + "decimalLatitude"]) for r in dwca]
        assert float(box.find("southBoundingCoordinate").text) == min(lats)
        assert float(box.find("northBoundingCoordinate").text) == max(lats)
        assert dwca.metadata.find(".//beginDate/calendarDate").text == "2010"
    summary = json.loads((exported["out"] / "export_summary.json").read_text())
    assert summary["occurrences"] == len(expected)
    assert summary["licence"] == "CC-BY-4.0"
    assert summary["samples_without_occurrences"] == ["BLANK"]
    assert "licence CC-BY-4.0" in exported["stdout"]


def test_taxon_names_are_the_lowest_assigned_rank(exported):
    table = read_table(exported["table"])
    with DwCAReader(str(exported["out"] / "dwca.zip")) as dwca:
        rows = {r.data[DWC + "taxonID"]: r.data for r in dwca}
    checked = 0
    for feature, lineage in table.taxonomy.iterrows():
        row = rows.get(f"ASV:{feature}")
        if row is None:
            continue
        assigned = [r for r in RANKS if lineage[r]]
        if not assigned:
            assert row[DWC + "scientificName"] == "incertae sedis"
            continue
        assert row[DWC + "scientificName"] == lineage[assigned[-1]].replace("_", " ")
        assert row[DWC + "taxonRank"] == assigned[-1]
        if lineage["domain"] in ("Bacteria", "Archaea"):
            assert row[DWC + "kingdom"] == lineage["domain"]
        assert row["http://purl.org/dc/terms/license"].startswith("http://creativecommons.org")
        checked += 1
    assert checked > 10
    atacama = next(iter(rows.values()))
    assert atacama[DWC + "decimalLatitude"].startswith("-")
    assert atacama[DWC + "country"] == "Chile"


def _refusal(work, tmp, edit, today="2025-06-15"):  # noqa: ANN001, ANN202
    agreement = _agreement(work, tmp, edit)
    table = _stamped(work, tmp, agreement)
    out = tmp / "dwca"
    result = CliRunner().invoke(main, ["export", "gbif", str(table), "--agreement",
                                       str(agreement), "--out", str(out), "--today", today])
    assert result.exit_code == 4, result.output
    assert not out.exists()
    assert result.output.count("\n") == 1 and "Traceback" not in result.output
    check = CliRunner().invoke(main, ["export", "gbif", str(table), "--agreement",
                                      str(agreement), "--check", "--today", today])
    assert check.exit_code == 1
    return result.output, check.output


def _restrict(data: dict) -> None:
    data["license"]["spdx"] = "LicenseRef-AtacamaDSA-1.0"
    data["license"]["derived_outputs_license"] = "LicenseRef-AtacamaDSA-1.0"
    data["data_use"]["duoDataUse"] += [
        {"id": "DUO:0000024", "label": "publication moratorium", "version": "2021-02-23",
         "until": "2027-06-30"},
        {"id": "DUO:0000022", "label": "geographical restriction", "version": "2021-02-23",
         "modifiers": [{"id": "ISO3166:CL"}]},
    ]
    data["access"]["allowed_regions"] = ["CL"]
    data["access"]["insdc_deposit"] = "metadata_only"


def test_restrictive_agreement_is_refused_with_rules_and_reasons(work, tmp_path):
    line, report = _refusal(work, tmp_path, _restrict)
    assert line.startswith("soilbiome: error: ")
    assert "[G2] license: the data are licensed 'LicenseRef-AtacamaDSA-1.0'" in line
    assert "[G3] terms.moratorium_until: a publication moratorium (DUO:0000024) applies until " \
           "2027-06-30" in line
    assert "[G4] terms.regions: the data may be held and used only in CL" in line
    assert re.search(r"^FAILED +G4 +Open to anyone", report, re.M) and "FAIL:" in report


def test_licence_gbif_does_not_accept_is_refused(work, tmp_path):
    def share_alike(data: dict) -> None:
        data["license"]["spdx"] = data["license"]["derived_outputs_license"] = "CC-BY-SA-4.0"

    line, _ = _refusal(work, tmp_path, share_alike)
    assert "[G2]" in line and "CC-BY-SA-4.0" in line and "CC0 1.0, CC BY 4.0 or CC BY-NC" in line


def test_restrictive_derived_outputs_licence_is_refused(work, tmp_path):
    def derived(data: dict) -> None:
        data["license"]["derived_outputs_license"] = "LicenseRef-AtacamaDerived-1.0"

    line, _ = _refusal(work, tmp_path, derived)
    assert "[G2] derived_outputs_license: derived outputs are licensed " \
           "'LicenseRef-AtacamaDerived-1.0'" in line


def test_table_changed_after_stamping_is_refused(work, tmp_path):
    agreement = _agreement(work, tmp_path)
    table = _stamped(work, tmp_path, agreement)
    with h5py.File(table, "a") as handle:
        handle.attrs["generated-by"] = "someone else"
    with pytest.raises(ExportRefused, match=r"\[G1\].*D3"):
        export_gbif(table, agreement, tmp_path / "out", today=TODAY)
    assert not (tmp_path / "out").exists()


def test_unstamped_table_is_refused(work, tmp_path):
    agreement = _agreement(work, tmp_path)
    with pytest.raises(ExportRefused, match=r"\[G1\].*D1.*stamp"):
        export_gbif(work["plain"], agreement, tmp_path / "out", today=TODAY)
    assert not (tmp_path / "out").exists()


def test_relative_table_exports_without_read_counts(work, tmp_path):
    rel = work["table"].norm(axis="sample", inplace=False)
    source = tmp_path / "relative.biom"
    write_biom(rel, source, attributes={"soilbiome:value-kind": "relative"})
    agreement = _agreement(work, tmp_path)
    table = _stamped(work, tmp_path, agreement, source)
    summary = export_gbif(table, agreement, tmp_path / "out", today=TODAY)
    assert summary.value_kind == "relative"
    ft = read_table(table)
    with DwCAReader(str(tmp_path / "out" / "dwca.zip")) as dwca:
        rows = [r.data for r in dwca]
    assert len(rows) == summary.occurrences == int((ft.counts.data > 0).sum())
    for d in rows:
        assert d[DWC + "sampleSizeValue"] == "" and d[DWC + "sampleSizeUnit"] == ""
        assert d[DWC + "organismQuantityType"].startswith("relative abundance")
        assert 0 < float(d[DWC + "organismQuantity"]) <= 1
    sample = rows[0][DWC + "eventID"]
    values = [float(d[DWC + "organismQuantity"]) for d in rows if d[DWC + "eventID"] == sample]
    assert sum(values) == pytest.approx(1.0)


def test_gbif_licences():
    assert gbif_licence("CC-BY-4.0") == "CC-BY-4.0"
    assert gbif_licence("CC0-1.0 AND CC-BY-NC-4.0") == "CC-BY-NC-4.0"
    assert gbif_licence("CC0-1.0 OR CC-BY-4.0") is None
    assert gbif_licence("LicenseRef-X") is None
    assert gbif_licence("CC-BY-SA-4.0") is None


def test_existing_output_is_not_overwritten(exported):
    result = CliRunner().invoke(main, [
        "export", "gbif", str(exported["table"]), "--agreement", str(exported["agreement"]),
        "--out", str(exported["out"]), "--today", "2025-06-15"])
    assert result.exit_code == 2
    assert "not empty" in result.output
    assert (exported["out"] / "dwca.zip").is_file()




HUMANN = TESTDATA / "shotgun" / "humann_demo.fastq.gz"
NAMES = TESTDATA / "shotgun" / "kraken2_library" / "names.dmp"


def _shotgun_table(path: Path) -> Path:
    """A shotgun taxon profile of the real HUMAnN demo reads: reads per species taken from the
    read names, NCBI taxids and names from the shipped names.dmp; marker 'shotgun'."""
    import biom

    from soilbiome.taxonomy import taxonomy_strings

    reads = collections.Counter()
    with gzip.open(HUMANN, "rt") as handle:
        for i, line in enumerate(handle):
            if i % 4 == 0 and line.startswith("@s__"):
                reads[line[4:].rsplit("_read", 1)[0].replace("_", " ")] += 1
    names = {}
    for line in NAMES.read_text().splitlines():
        taxid, name = [f.strip() for f in line.split("|")[:2]]
        names[name] = taxid
    lineage = {"domain": "Bacteria", "phylum": "Bacteroidetes", "class": "Bacteroidia",
               "order": "Bacteroidales", "family": "Bacteroidaceae", "genus": "Bacteroides"}
    species = sorted(reads)
    data = np.array([[reads[s]] for s in species], dtype=float)
    obs_md = [{"taxonomy": taxonomy_strings([lineage.get(r, s if r == "species" else "")
                                             for r in RANKS]),
               "classifier": "read names (HUMAnN demo)", "reference": "NCBI taxonomy"}
              for s in species]
    md = dict.fromkeys(("collection_date", "geo_loc_name", "lat_lon", "env_broad_scale",
                        "env_local_scale", "env_medium", "depth", "elev"), "not collected")
    table = biom.Table(data, [names[s] for s in species], ["humann_demo"],
                       observation_metadata=obs_md, sample_metadata=[md], type="OTU table")
    with h5py.File(path, "w") as handle:
        table.to_hdf5(handle, "soilbiome tests")
        handle.attrs["soilbiome:marker"] = "shotgun"
        handle.attrs["soilbiome:value-kind"] = "counts"
    return path


def test_shotgun_table_exports_taxon_occurrences_with_the_method(work, tmp_path):
    def cover(data: dict) -> None:
        data["datasets"][0]["samples"]["sample_ids"].append("humann_demo")

    agreement = _agreement(work, tmp_path, cover)
    table = _stamped(work, tmp_path, agreement, _shotgun_table(tmp_path / "shotgun.biom"))
    summary = export_gbif(table, agreement, tmp_path / "out", today=TODAY)
    assert summary.method == "shotgun"
    with DwCAReader(str(tmp_path / "out" / "dwca.zip")) as dwca:
        rows = {r.data[DWC + "scientificName"]: r for r in dwca}
        (ext,) = rows["Bacteroides dorei"].extensions
        assert ext.data["http://rs.gbif.org/terms/dna_sequence"] == ""
        assert ext.data["https://w3id.org/mixs/0000044"] == ""
    assert set(rows) == {"Bacteroides dorei", "Bacteroides vulgatus"}
    dorei = rows["Bacteroides dorei"].data
    assert dorei[DWC + "taxonID"] == "357276"
    assert dorei[DWC + "taxonRank"] == "species"
    assert dorei[DWC + "organismQuantity"] == "10848"
    assert dorei[DWC + "sampleSizeValue"] == str(10848 + 9152)
    assert dorei[DWC + "samplingProtocol"].startswith("shotgun metagenomic sequencing")


def test_formula_text_is_quoted_in_the_archive_and_numbers_are_not(work, tmp_path):
    """Spreadsheet formula injection (OWASP): a locality starting with '=' and a sample id
    starting with '-' reach occurrence.txt / dna_derived_data.txt with a leading quote; a
    negative depth stays a number."""
    import biom

    src = _shotgun_table(tmp_path / "plain.biom")
    with h5py.File(src) as handle:
        table = biom.Table.from_hdf5(handle)
    sample = "-Xdemo"
    md = dict(table.metadata("humann_demo"))
    md.update(geo_loc_name='Chile:=HYPERLINK("http://x","y")', depth="-5")
    table = biom.Table(table.matrix_data, table.ids("observation"), [sample],
                       observation_metadata=table.metadata(axis="observation"),
                       sample_metadata=[md], type="OTU table")
    path = tmp_path / "formula.biom"
    with h5py.File(path, "w") as handle:
        table.to_hdf5(handle, "soilbiome tests")
        handle.attrs["soilbiome:marker"] = "shotgun"
        handle.attrs["soilbiome:value-kind"] = "counts"

    def cover(data: dict) -> None:
        data["datasets"][0]["samples"]["sample_ids"].append(sample)

    agreement = _agreement(work, tmp_path, cover)
    stamped = _stamped(work, tmp_path, agreement, path)
    export_gbif(stamped, agreement, tmp_path / "out", today=TODAY)
    occurrence = (tmp_path / "out" / "occurrence.txt").read_text().splitlines()
    header = occurrence[0].split("\t")
    rows = [dict(zip(header, line.split("\t"), strict=True)) for line in occurrence[1:]]
    assert rows and {r["locality"] for r in rows} == {'\'=HYPERLINK("http://x","y")'}
    assert {r["eventID"] for r in rows} == {"'-Xdemo"}
    assert all(r["occurrenceID"].startswith("'-Xdemo") for r in rows)
    depth = [v for k, v in rows[0].items() if "Depth" in k]
    assert depth and all(v in ("-5", "-5.0", "") for v in depth), rows[0]
    dna = (tmp_path / "out" / "dna_derived_data.txt").read_text().splitlines()
    assert all(line.startswith("'-Xdemo") for line in dna[1:])
    for line in occurrence[1:] + dna[1:]:
        assert not any(cell.startswith(("=", "@", "+")) for cell in line.split("\t"))
