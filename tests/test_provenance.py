"""Provenance of a real run (-profile test): params.json, the report's provenance section."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from conftest import trace_rows

pytestmark = pytest.mark.nextflow


@pytest.fixture(scope="module")
def run16s(test_profile_run) -> Path:
    outdir, proc = test_profile_run
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    return outdir


@pytest.fixture(scope="module")
def report_html(run16s: Path) -> str:
    return (run16s / "soilbiome_report.html").read_text()


def _section(html: str, key: str) -> str:
    start = html.index(f'<section id="{key}">')
    return html[start: html.index("</section>", start)]


def test_report_is_titled_by_the_batch_not_the_run_name(report_html: str) -> None:
    # -profile test gives no --batch_name: the samplesheet's name is used
    assert re.search(r"<h1>atacama_16s</h1>", report_html)
    assert "<title>atacama_16s · soilbiome report</title>" in report_html


def test_report_provenance_names_reference_parameters_stamp_and_samples(
    report_html: str, run16s: Path
) -> None:
    prov = _section(report_html, "provenance")
    db = json.loads((run16s / "pipeline_info" / "reference_database.json").read_text())
    for value in (db["name"], db["version"], db["licence"], db["sha256"]):
        assert value in prov, value
    assert "Edgar RC (2018)" in prov  # the citation
    used = json.loads((run16s / "pipeline_info" / "params.json").read_text())
    for name in ("dada2_trunc_len_f", "dada2_max_ee_f", "dada2_pool", "fastp_min_length"):
        assert f"<dt>{name}</dt><dd>{used[name]}</dd>" in prov, name
    # an amplicon run: its own option groups, not the shotgun profilers' options
    for group in ("Primers", "DADA2", "Clean-up and tree"):
        assert f"<h4>{group}</h4>" in prov, group
    assert "Shotgun profiling" not in prov and "<dt>kraken2_confidence</dt>" not in prov
    # the licence stamp was verified in the run, and the report says so: the verdict of
    # verify, D7/D9 after publication with the command that decides them, no work folder
    assert "OK: the stamp verifies (8 rules passed)" in prov and "D2" in prov  # D7/D9 later
    assert "<td>D7</td><td>Run record matches</td><td>after publication</td>" in prov
    assert "soilbiome verify biom/asv_table.biom --agreement sharing/agreement.yaml" in prov
    assert "What the recipient may do" in prov and "undecided" not in prov
    licence = prov[prov.index("<h3>Licence stamp</h3>"):]
    licence = licence[:licence.index("<h3>", 10)]
    assert not re.search(r"/work/[0-9a-f]{2}/[0-9a-f]{6,}", licence)  # no Nextflow task folder
    assert str(run16s) not in licence
    # the sample metadata, every sample
    for sample in ("BAQ2420.2", "YUN3153.3", "BLANK"):
        assert f"<td>{sample}</td>" in prov
    assert "env_broad_scale" in prov


# ------------------------------------------------------------------------------ RO-Crate


@pytest.fixture(scope="module")
def crate(run16s: Path) -> dict:
    return json.loads((run16s / "ro-crate-metadata.json").read_text())


def _graph(crate: dict) -> dict[str, dict]:
    return {e["@id"]: e for e in crate["@graph"]}


def _types(entity: dict) -> list[str]:
    t = entity.get("@type", [])
    return [t] if isinstance(t, str) else t


def test_crate_loads_with_rocrate_and_declares_the_profiles(run16s: Path, crate: dict) -> None:
    from rocrate.rocrate import ROCrate

    loaded = ROCrate(run16s)
    assert loaded.mainEntity is not None and loaded.mainEntity.id == "workflow/main.nf"
    root = _graph(crate)["./"]
    profiles = {p["@id"] for p in root["conformsTo"]}
    assert "https://w3id.org/ro/wfrun/provenance/0.5" in profiles
    assert "https://w3id.org/ro/wfrun/workflow/0.5" in profiles
    assert root["license"]["@id"] == "https://spdx.org/licenses/CC-BY-4.0"  # the agreement's


def test_crate_outputs_match_the_files(run16s: Path, crate: dict) -> None:
    from soilbiome.io.hashing import sha256_file

    graph = _graph(crate)
    files = [e for e in graph.values() if "File" in _types(e)
             and not e["@id"].startswith("file://")]
    listed = {e["@id"] for e in files}
    for rel in ("biom/asv_table.biom", "biom/asv_table.biom.sharing.dsse.json",
                "soilbiome_report.html", "pipeline_info/params.json",
                "taxonomy/lineage.tsv", "workflow/main.nf"):
        assert rel in listed, rel
    for entity in files:
        path = run16s / entity["@id"]
        assert entity["sha256"] == sha256_file(path), entity["@id"]
        assert entity["contentSize"] == str(path.stat().st_size)


def test_crate_inputs_parameters_tools_and_tasks(run16s: Path, crate: dict) -> None:
    from soilbiome.io.hashing import sha256_file

    graph = _graph(crate)
    runs = [e for e in graph.values() if "CreateAction" in _types(e)
            and e.get("instrument") == {"@id": "workflow/main.nf"}]
    assert len(runs) == 1
    run = runs[0]
    objects = [graph[o["@id"]] for o in run["object"]]
    inputs = {Path(e["@id"].removeprefix("file://")).name: e for e in objects
              if "File" in _types(e)}
    for name in ("atacama_16s.csv", "test_refdb.csv", "16s_sintax_ten16s.fa.gz",
                 "open-cc-by.yaml", "BAQ2420.2_10_L001_R1_001.fastq.gz",
                 "BLANK_21_L001_R2_001.fastq.gz"):
        assert name in inputs, name
        entity = inputs[name]
        assert entity["sha256"] == sha256_file(entity["@id"].removeprefix("file://"))
    values = {e["name"]: e["value"] for e in objects if "PropertyValue" in _types(e)}
    used = json.loads((run16s / "pipeline_info" / "params.json").read_text())
    assert values["refdb"] == used["refdb"] and values["dada2_max_ee_f"] == "2"
    tools = {e["name"]: e["softwareVersion"] for e in graph.values()
             if e.get("@id", "").startswith("#tool-")}
    assert {"vsearch", "fastp", "dada2", "soilbiome"} <= set(tools)
    tasks = [e for e in graph.values() if e["@id"].startswith("#task-")]
    assert len(tasks) == len(trace_rows(run16s)) > 10
    assert any(t["name"].split(":")[-1].startswith("DADA2_") for t in tasks)
    controls = [e for e in graph.values() if "ControlAction" in _types(e)]
    assert {c["object"]["@id"] for c in controls} == {t["@id"] for t in tasks}


def test_verify_decides_d7_d9_on_the_pipeline_output(run16s: Path) -> None:
    """The stamp links to the crate: D7 and D9 decide instead of abstaining."""
    from soilbiome.sharing.findings import Severity
    from soilbiome.sharing.verify import verify_report

    table = run16s / "biom" / "asv_table.biom"
    report = verify_report(table, run16s / "sharing" / "agreement.yaml")
    assert {"D7", "D9"} <= report.passed_rules(), report.to_text()
    assert not report.has_errors and not report.rules(Severity.ABSTAIN) & {"D7", "D9"}


# ------------------------------------------------------------------------------ MultiQC, interop


def test_multiqc_aggregates_fastp_and_read_tracking(run16s: Path) -> None:
    html = (run16s / "multiqc" / "multiqc_report.html").read_text()
    data = run16s / "multiqc" / "multiqc_report_data"
    assert "fastp" in html and "DADA2 read tracking" in html
    general = (data / "multiqc_general_stats.txt").read_text()
    for sample in ("BAQ2420.2", "YUN3153.3"):
        assert sample in general
    assert (data / "multiqc_fastp.txt").is_file()


def test_interop_files_of_a_real_run(run16s: Path) -> None:
    taxonomy = (run16s / "qiime2" / "taxonomy.tsv").read_text().splitlines()
    assert taxonomy[0] == "Feature ID\tTaxon\tConfidence"
    lineage = (run16s / "taxonomy" / "lineage.tsv").read_text().splitlines()
    assert len(taxonomy) == len(lineage)
    assert any(line.split("\t")[1].startswith("d__Bacteria; k__; p__") for line in taxonomy)
    fasta = (run16s / "qiime2" / "dna-sequences.fasta").read_text().splitlines()
    assert len(fasta) == 2 * (len(taxonomy) - 1)
    assert (run16s / "phyloseq" / "phyloseq.rds").stat().st_size > 1000


def test_crate_records_a_database_folder_without_rehashing(tmp_path: Path) -> None:
    """A Kraken2 reference is a folder: it becomes a Dataset carrying the sheet's digest."""
    from soilbiome.run.crate import _inputs

    db = tmp_path / "k2db"
    db.mkdir()
    for name in ("hash.k2d", "opts.k2d", "taxo.k2d"):
        (db / name).write_bytes(b"x")
    record = {"name": "demo", "version": "1", "path": str(db), "sha256": "ab" * 32}
    entities = _inputs(None, record, None, None)
    assert [e["@type"] for e in entities] == ["Dataset"]
    assert entities[0]["@id"] == db.resolve().as_uri() + "/"
    assert entities[0]["sha256"] == "ab" * 32


def test_crate_inputs_take_remembered_digests_and_stay_right(tmp_path: Path, monkeypatch) -> None:
    """The reads' digests are remembered per file identity: a second crate reads none of them
    again, and a file rewritten since is read again (its new digest recorded)."""
    import hashlib

    import soilbiome.io.digest_cache as cache
    from soilbiome.io.hashing import sha256_file
    from soilbiome.run.crate import _inputs

    monkeypatch.setenv("SOILBIOME_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(cache, "SETTLED_NS", 0)  # files written just now may be remembered
    reads = [tmp_path / f"s{i}.fastq.gz" for i in (1, 2)]
    for i, read in enumerate(reads):
        read.write_bytes(b"@r\nACGT\n+\nIIII\n" * (i + 1))
    sheet = tmp_path / "samplesheet.csv"
    sheet.write_text("sample,fastq_1,fastq_2\ns1,s1.fastq.gz,s2.fastq.gz\n")
    first = {e["@id"]: e["sha256"] for e in _inputs(sheet, None, None, None)}
    assert first == {p.resolve().as_uri(): hashlib.sha256(p.read_bytes()).hexdigest()
                     for p in (sheet, *reads)}
    read_again: list[str] = []
    monkeypatch.setattr(cache, "sha256_file",
                        lambda p: read_again.append(str(p)) or sha256_file(p))
    assert {e["@id"]: e["sha256"] for e in _inputs(sheet, None, None, None)} == first
    assert read_again == []
    reads[0].write_bytes(b"@r\nTTTT\n+\nIIII\n")
    again = {e["@id"]: e["sha256"] for e in _inputs(sheet, None, None, None)}
    assert again[reads[0].resolve().as_uri()] == hashlib.sha256(reads[0].read_bytes()).hexdigest()
    assert read_again == [str(reads[0].resolve())]
