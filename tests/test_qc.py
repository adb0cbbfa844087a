"""QC records from real fastp reports, and the summary's refusal to lose samples."""

from __future__ import annotations

import json
import subprocess
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


def test_summary_refuses_to_lose_a_sample(tmp_path):
    sheet = tmp_path / "valid.csv"
    load_samplesheet(ATACAMA_SHEET).write_normalised(sheet)
    rec = tmp_path / "BLANK.qc.json"
    rec.write_text(json.dumps({"sample": "BLANK", "status": "empty"}))
    out = tmp_path / "qc_summary.tsv"
    with pytest.raises(InputError, match="no QC record for sample.*BAQ3473.2"):
        summarise([rec], out, sheet)
    assert not out.exists()
