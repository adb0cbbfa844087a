"""primer-summary on real cutadapt reports: one row per sample, and damaged reports refused."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import TESTDATA

ITS = TESTDATA / "amplicon" / "its2_primers_on"
ITS3 = "GCATCGATGAAGAACGCAGC"


def _cutadapt(tmp_path: Path, sample: str, primer: str) -> Path:
    """cutadapt as CUTADAPT runs it, on the R1 reads of the ITS2 test data (primers on)."""
    report = tmp_path / f"{sample}.cutadapt.json"
    subprocess.run(["cutadapt", "-j", "1", "-n", "2", "--discard-untrimmed", "--minimum-length",
                    "1", "--json", str(report), "-g", primer, "-o",
                    str(tmp_path / f"{sample}.trim.fastq.gz"),
                    str(ITS / "4774-1-MSITS3_R1.fastq.gz")],
                   check=True, capture_output=True)
    return report


def _summary(*args: object) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "soilbiome", "primer-summary",
                           *map(str, args)], capture_output=True, text=True, check=False)


def test_real_reports_give_one_row_each_and_flag_a_wrong_primer(tmp_path):
    right = _cutadapt(tmp_path, "its3", ITS3)
    wrong = _cutadapt(tmp_path, "wrong", "GTGCCAGCMGCCGCGGTAA")  # 515F: not on these reads
    out = tmp_path / "primer_summary.tsv"
    proc = _summary(right, wrong, "--out", out)
    assert proc.returncode == 0, proc.stderr
    rows = [line.split("\t") for line in out.read_text().splitlines()[1:]]
    assert [r[0] for r in rows] == ["its3", "wrong"]
    counts = json.loads(right.read_text())["read_counts"]
    assert rows[0][1:3] == [str(counts["input"]), str(counts["output"])] and rows[0][4] == ""
    assert "most reads lack the primer" in rows[1][4] and "'wrong'" in proc.stderr


@pytest.mark.parametrize("case", ["twice", "same sample elsewhere", "more out than in",
                                  "not a number", "fraction above 1"])
def test_a_report_that_cannot_be_right_is_refused_naming_it(tmp_path, case):
    right = _cutadapt(tmp_path, "its3", ITS3)
    out = tmp_path / "primer_summary.tsv"
    out.write_text("an earlier summary\n")
    args: list[object] = [right, right]
    message = "a second cutadapt report of sample 'its3'"
    if case == "same sample elsewhere":
        (tmp_path / "b").mkdir()
        args = [right, Path(tmp_path / "b" / right.name)]
        args[1].write_bytes(right.read_bytes())
    elif case in ("more out than in", "not a number"):
        report = json.loads(right.read_text())
        report["read_counts"]["output"] = (report["read_counts"]["input"] + 1
                                           if case == "more out than in" else "many")
        args = [tmp_path / "b.cutadapt.json"]
        args[0].write_text(json.dumps(report))
        message = ("b.cutadapt.json: sample 'b': cutadapt report counts" if case ==
                   "more out than in" else "b.cutadapt.json: sample 'b': cutadapt report lacks")
    elif case == "fraction above 1":
        args = [right, "--min-fraction", "3"]
        message = "--min-fraction 3.0: a fraction of reads, 0 to 1"
    proc = _summary(*args, "--out", out)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], proc.stderr
    assert out.read_text() == "an earlier summary\n"
