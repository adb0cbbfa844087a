"""QC records from real fastp reports, and the summary's refusal to lose samples."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ATACAMA, ATACAMA_SHEET
from soilbiome.amplicon.qc import qc_record, summarise
from soilbiome.errors import InputError
from soilbiome.io.fastq import check_sample
from soilbiome.model.samplesheet import load_samplesheet


def _fastp(tmp_path: Path, r1: Path, r2: Path, name: str) -> dict:
    report = tmp_path / f"{name}.json"
    subprocess.run(
        ["fastp", "-i", r1, "-I", r2, "-o", tmp_path / f"{name}_1.fq.gz",
         "-O", tmp_path / f"{name}_2.fq.gz", "-j", report, "-h", tmp_path / f"{name}.html"],
        check=True, capture_output=True,
    )
    return json.loads(report.read_text())


def test_record_counts_pairs_from_real_fastp(tmp_path):
    r1 = ATACAMA / "BAQ2420.2_10_L001_R1_001.fastq.gz"
    r2 = ATACAMA / "BAQ2420.2_11_L001_R2_001.fastq.gz"
    report = _fastp(tmp_path, r1, r2, "baq")
    record = qc_record(check_sample("BAQ2420.2", r1, r2).to_dict(), report)
    assert record["reads_in"] == 100
    assert record["reads_out"] == report["summary"]["after_filtering"]["total_reads"] // 2
    assert record["status"] == "ok"


def test_blank_is_reported_empty(tmp_path):
    r1, r2 = ATACAMA / "BLANK_20_L001_R1_001.fastq.gz", ATACAMA / "BLANK_21_L001_R2_001.fastq.gz"
    record = qc_record(check_sample("BLANK", r1, r2).to_dict(), _fastp(tmp_path, r1, r2, "blank"))
    assert (record["status"], record["reads_in"], record["reads_out"]) == ("empty", 0, 0)


def _blank_record(tmp_path: Path) -> dict:
    r1, r2 = ATACAMA / "BLANK_20_L001_R1_001.fastq.gz", ATACAMA / "BLANK_21_L001_R2_001.fastq.gz"
    return qc_record(check_sample("BLANK", r1, r2).to_dict(), _fastp(tmp_path, r1, r2, "blank"))


def test_summary_refuses_to_lose_a_sample(tmp_path):
    sheet = tmp_path / "valid.csv"
    load_samplesheet(ATACAMA_SHEET).write_normalised(sheet)
    rec = tmp_path / "BLANK.qc.json"
    rec.write_text(json.dumps(_blank_record(tmp_path)))
    out = tmp_path / "qc_summary.tsv"
    with pytest.raises(InputError, match="no QC record for sample.*BAQ3473.2"):
        summarise([rec], out, sheet)
    assert not out.exists()


def _cli(*args: object) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "soilbiome", *map(str, args)],
                          capture_output=True, text=True, check=False)


def test_records_of_another_shape_are_one_line_naming_file_and_field(tmp_path):
    """The JSON files qc-record and qc-summary read are checked field by field: a list, a
    missing or mistyped field, an impossible count, a record of a sample the sheet does not
    list -- one line naming the file, no traceback, no output."""
    good = _blank_record(tmp_path)
    check = {"sample": "BLANK", "reads": 0, "paired": True}
    fastp = tmp_path / "blank.json"
    files = {
        "list.json": [1, 2],
        "no_reads.json": {k: v for k, v in check.items() if k != "reads"},
        "str_reads.json": {**check, "reads": "many"},
        "neg_reads.json": {**check, "reads": -1},
        "list.qc.json": [good],
        "lots.qc.json": {**good, "reads_in": "lots"},
        "more_out.qc.json": {**good, "reads_in": 5, "reads_out": 9},
        "ZZZ.qc.json": {**good, "sample": "ZZZ"},
        "BLANK.qc.json": good,
        "fastp_list.json": [],
        "fastp_nosummary.json": {"filtering_result": {}},
    }
    for name, value in files.items():
        (tmp_path / name).write_text(json.dumps(value))
    sheet = tmp_path / "sheet.csv"
    sheet.write_text("sample\nBLANK\n")
    out = tmp_path / "out"
    cases = [
        (["qc-record", "--check", tmp_path / "list.json", "--fastp", fastp],
         "list.json: not a JSON object but list"),
        (["qc-record", "--check", tmp_path / "no_reads.json", "--fastp", fastp],
         "no_reads.json: no 'reads' field"),
        (["qc-record", "--check", tmp_path / "str_reads.json", "--fastp", fastp],
         "str_reads.json: 'reads' is 'many', not an int"),
        (["qc-record", "--check", tmp_path / "neg_reads.json", "--fastp", fastp],
         "neg_reads.json: 'reads' is -1, not a non-negative int"),
        (["qc-record", "--check", tmp_path / "BLANK.qc.json", "--fastp",
          tmp_path / "fastp_list.json"], "'reads' field"),
        (["qc-record", "--check", tmp_path / "no_reads.json", "--fastp",
          tmp_path / "fastp_list.json"], "no_reads.json: no 'reads' field"),
        (["qc-summary", tmp_path / "BLANK.qc.json", tmp_path / "list.qc.json"],
         "list.qc.json: not a JSON object but list"),
        (["qc-summary", tmp_path / "lots.qc.json"], "'reads_in' is 'lots', not an int"),
        (["qc-summary", tmp_path / "more_out.qc.json"], "reads_out 9 is more than reads_in 5"),
        (["qc-summary", tmp_path / "BLANK.qc.json", tmp_path / "ZZZ.qc.json",
          "--samplesheet", sheet], "QC record for sample(s) not in the samplesheet: ZZZ"),
    ]
    for args, message in cases:
        target = ["--out", out / "qc.json"] if args[0] == "qc-record" else [
            "--out", out / "qc_summary.tsv"]
        proc = _cli(*args, *target)
        assert proc.returncode == 2, (args, proc.stderr)
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and message in lines[0], (message, proc.stderr)
        assert not out.exists() or not list(out.iterdir()), args
    proc = _cli("qc-record", "--check", tmp_path / "check.json", "--fastp",
                tmp_path / "fastp_list.json", "--out", out / "qc.json")
    assert proc.returncode == 2  # (no such check file)
    (tmp_path / "check.json").write_text(json.dumps(check))
    for bad, message in (("fastp_list.json", "fastp_list.json: not a JSON object"),
                         ("fastp_nosummary.json", "fastp_nosummary.json: fastp report lacks")):
        proc = _cli("qc-record", "--check", tmp_path / "check.json", "--fastp", tmp_path / bad,
                    "--out", out / "qc.json")
        assert proc.returncode == 2 and message in proc.stderr, proc.stderr
    proc = _cli("qc-record", "--check", tmp_path / "check.json", "--fastp", fastp,
                "--out", out / "qc.json")
    assert proc.returncode == 0, proc.stderr  # the real fastp report of the same reads
