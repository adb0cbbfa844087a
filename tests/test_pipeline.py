"""Real Nextflow runs of pipeline/main.nf on the bundled Atacama soil reads."""

from __future__ import annotations

import csv
import subprocess
from pathlib import Path

import pytest
import yaml

from conftest import (
    MAIN,
    ROOT,
    assert_strict_json_tree,
    cut_past_the_gate,
    nextflow_warnings,
    read_tsv,
    trace_rows,
    write_sheet,
)
from conftest import run_nextflow as nextflow

pytestmark = pytest.mark.nextflow


@pytest.fixture(scope="module")
def test_run(test_profile_run):
    return test_profile_run


def test_nextflow_version_offline(tmp_path):
    proc = nextflow("-version", cwd=tmp_path, check=True)
    assert "version 24.10.0" in proc.stdout


def test_test_profile_exits_zero(test_run):
    outdir, proc = test_run
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "soilbiome OK" in proc.stdout
    assert nextflow_warnings(proc) == []


def test_one_qc_record_per_sample_and_blank_reported(test_run):
    outdir, _ = test_run
    rows = read_tsv(outdir / "qc" / "qc_summary.tsv")
    with (ROOT / "assets" / "samplesheets" / "atacama_16s.csv").open() as handle:
        expected = [r["sample"] for r in csv.DictReader(handle)]
    assert [r["sample"] for r in rows] == expected and len(rows) == 11
    blank = next(r for r in rows if r["sample"] == "BLANK")
    assert (blank["status"], blank["reads_in"], blank["reads_out"]) == ("empty", "0", "0")
    for row in rows:
        if row["sample"] != "BLANK":
            assert int(row["reads_in"]) == 100 and int(row["reads_out"]) > 90
            assert (outdir / "qc" / "fastp" / f"{row['sample']}.fastp.json").is_file()


def test_tasks_and_versions_recorded(test_run):
    outdir, _ = test_run
    trace = trace_rows(outdir)
    # no primers, one DADA2 task on this machine: the QC ran inside it, beside DADA2
    processes = [t["process"].split(":")[-1] for t in trace]
    assert "FASTQ_QC" not in processes and processes.count("DADA2_BATCH") == 1, processes
    assert {t["status"] for t in trace} == {"COMPLETED"}
    versions = yaml.safe_load((outdir / "pipeline_info" / "software_versions.yml").read_text())
    assert versions["tools"]["nextflow"] == "24.10.0"
    assert versions["tools"]["fastp"].startswith("0.")
    assert versions["processes"]["DADA2_BATCH"]["fastp"] == versions["tools"]["fastp"]
    # R's and dada2's versions, asked for beside DADA2, are what R says
    said = subprocess.run(["Rscript", "-e", 'cat(as.character(getRversion()), '
                           'as.character(packageVersion("dada2")))'],
                          capture_output=True, text=True, check=True).stdout.split()
    batch = versions["processes"]["DADA2_BATCH"]
    assert [str(batch["R"]), str(batch["dada2"])] == said
    # the report collects the versions of the tools that made its table itself (no task of
    # its own before it), and does not wait for the exports (INTEROP)
    assert "TABLE_VERSIONS" not in processes and "SOFTWARE_VERSIONS" in processes
    html = (outdir / "soilbiome_report.html").read_text()
    part = html[html.index('<section id="versions">'):]
    part = part[: part.index("</section>")]
    assert "<td>DADA2_BATCH</td><td>dada2</td><td>" + said[1] in part, part[:2000]
    assert "<td>nextflow</td><td>24.10.0</td>" in part and "INTEROP" not in part


def test_every_json_file_of_the_run_is_strict_json(test_run):
    """R's jsonlite and JavaScript's JSON.parse refuse NaN/Infinity: no output may hold one."""
    outdir, proc = test_run
    assert proc.returncode == 0
    names = {p.name for p in assert_strict_json_tree(outdir)}
    assert {"diversity.json", "run_record.json", "params.json", "ro-crate-metadata.json",
            "asv_table.biom.sharing.dsse.json"} <= names, names


def test_the_table_records_its_processing_context(test_run):
    from soilbiome.io.biom_reader import read_table

    outdir, _ = test_run
    context = read_table(outdir / "biom" / "asv_table.biom").context
    assert (context.marker, context.region, context.method) == ("16S", "V4", "DADA2")
    assert (context.trunc_len_f, context.trunc_len_r) == ("150", "140")
    assert context.method_version.count(".") == 2  # DADA2's version, from its task
    assert context.reference == "ten16s_sintax" and len(context.reference_sha256) == 64
    assert context.classifier == "vsearch SINTAX" and context.value_kind == "counts"
    low, high = (int(x) for x in context.asv_length.split("-"))
    assert 200 < low <= high < 300  # merged 2x151 V4 reads


@pytest.mark.parametrize("damage", ["missing_file", "duplicate_sample"])
def test_bad_samplesheet_stops_before_any_task(tmp_path, atacama_rows, damage):
    header, rows = atacama_rows
    if damage == "missing_file":
        rows[3]["fastq_1"] = str(tmp_path / "gone_R1.fastq.gz")
        expect = f"line 5, sample '{rows[3]['sample']}', column 'fastq_1': file not found"
    else:
        rows[6]["sample"] = rows[2]["sample"]
        expect = f"line 8, sample '{rows[2]['sample']}', column 'sample': duplicate sample ID"
    sheet = write_sheet(tmp_path / "sheet.csv", header, rows)
    outdir = tmp_path / "results"
    proc = nextflow("run", str(MAIN), "-profile", "test", "--input", str(sheet),
                    "--outdir", str(outdir), cwd=tmp_path)
    assert proc.returncode != 0
    assert expect in proc.stdout + proc.stderr
    # no task folder: only the start-up gate's staging folder may exist in work/
    work = tmp_path / "work"
    assert not work.exists() or {p.name for p in work.iterdir()} <= {"soilbiome-startup"}
    assert not (outdir / "qc").exists()
    assert trace_rows(outdir) == []


def test_corrupt_reads_fail_their_task_with_a_clear_message(tmp_path, atacama_rows):
    """A gzip cut short where the start-up gate does not read: the check inside DADA2's task
    finds it, stops DADA2, and its one line is the run's error."""
    header, rows = atacama_rows
    rows = [r for r in rows if Path(r["fastq_1"]).stat().st_size > 100]  # samples with reads
    rows[0] = cut_past_the_gate(tmp_path, rows[0])
    sheet = write_sheet(tmp_path / "sheet.csv", header, rows[:3])
    outdir = tmp_path / "results"
    proc = nextflow("run", str(MAIN), "-profile", "test", "--input", str(sheet),
                    "--outdir", str(outdir), cwd=tmp_path)
    assert proc.returncode != 0
    text = proc.stdout + proc.stderr
    assert "cut_R1.fastq.gz: corrupt or truncated gzip" in text
    assert not (outdir / "qc" / "qc_summary.tsv").exists()
    # the check ran inside DADA2's task (no primers, local): its message is that task's error
    failed = [t["process"].split(":")[-1] for t in trace_rows(outdir) if t["status"] == "FAILED"]
    assert failed == ["DADA2_BATCH"], failed
    assert not (outdir / "dada2").exists()
