"""Classes 1, 4, 5 and 6 against the real pipeline: one start-up gate, earlier results never
damaged, decide at start what can be decided at start, single-end end to end, a failing task's
own message shown by ``soilbiome run``.

A results folder from a finished ``-profile test`` run (the session fixture) is re-run into
with bad inputs: every refusal happens before any task, names the file/row/field, and leaves
every earlier file byte-identical with no file added (not even the trace file Nextflow opens
in ``pipeline_info/`` at launch: a refused run removes it).
"""

from __future__ import annotations

import gzip
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ATACAMA_SHEET, MAIN, ROOT, read_sheet, run_nextflow, trace_rows, write_sheet

from .conftest import snapshot

pytestmark = pytest.mark.nextflow


def _earlier_files_unchanged(before: dict[str, str], after: dict[str, str]) -> None:
    changed = {k for k in before if after.get(k) != before[k]}
    added = {k for k in after if k not in before}
    assert not changed and not added, f"changed: {sorted(changed)}; added: {sorted(added)}"


def _absolute_rows() -> tuple[list[str], list[dict]]:
    header, rows = read_sheet(ATACAMA_SHEET)
    for row in rows:
        for col in ("fastq_1", "fastq_2"):
            row[col] = str((ATACAMA_SHEET.parent / row[col]).resolve())
    return header, rows


def test_finished_run_is_marked_and_verifies(test_profile_run) -> None:
    outdir, proc = test_profile_run
    assert proc.returncode == 0, proc.stdout[-3000:]
    record = json.loads((outdir / "pipeline_info" / "run_record.json").read_text())
    assert record["status"] == "succeeded" and record["error"] is None
    for name in ("samplesheet.valid.csv", "reference_database.json"):
        assert (outdir / "pipeline_info" / name).is_file()
    verify = subprocess.run(
        [sys.executable, "-m", "soilbiome", "verify", outdir / "biom" / "asv_table.biom",
         "--agreement", outdir / "sharing" / "agreement.yaml"], capture_output=True, text=True)
    assert verify.returncode in (0, 5), verify.stdout  # no ERROR finding


def test_refused_reruns_leave_earlier_results_untouched(test_profile_run, tmp_path: Path) -> None:
    outdir, proc = test_profile_run
    assert proc.returncode == 0
    before = snapshot(outdir)
    # one re-run, four start-up problems: every one named, none of them reaches a task
    header, rows = _absolute_rows()
    plain = tmp_path / "cut_R1.fastq"
    with gzip.open(rows[2]["fastq_1"], "rb") as handle:
        data = handle.read()
    plain.write_bytes(data[: len(data) // 2 + 7])  # ends inside a record
    rows[2]["fastq_1"], rows[2]["fastq_2"] = str(plain), ""
    sheet = write_sheet(tmp_path / "sheet.csv", header, rows)
    source = ROOT / "assets" / "refdb" / "test_refdb.csv"
    db_header, db_rows = read_sheet(source)
    for row in db_rows:
        row["path"] = str((source.parent / row["path"]).resolve())
        row["sha256"] = "0" * 64  # the file on disk is not the one the sheet promises
    refdb = write_sheet(tmp_path / "refdb.csv", db_header, db_rows)
    launch = tmp_path / "launch"
    launch.mkdir()
    run = run_nextflow(
        "run", str(MAIN), "-profile", "test", "--outdir", str(outdir), "--input", str(sheet),
        "--refdb_sheet", str(refdb), "--dada2_trunc_len_f", "400",
        "--agreement", str(ROOT / "sharing_agreements" / "examples" / "controlled-pilot-dsa.yaml"),
        cwd=launch)
    out = run.stdout + run.stderr
    assert run.returncode != 0, out[-3000:]
    assert "Start-up checks failed" in out and "nothing was written to the results" in out
    assert "column 'sha256': checksum mismatch" in out
    assert "covers none of its 11 sample(s)" in out
    assert "--dada2_trunc_len_f 400 exceeds the read length" in out and "line 2" in out
    assert f"line 4, sample '{rows[2]['sample']}', column 'fastq_1'" in out
    assert "ends inside a record" in out
    assert "Submitted process" not in out
    _earlier_files_unchanged(before, snapshot(outdir))


def test_expired_agreement_with_resume_is_refused_at_start(test_profile_run,
                                                          tmp_path: Path) -> None:
    import yaml

    outdir, proc = test_profile_run
    before = snapshot(outdir)
    data = yaml.safe_load((ROOT / "sharing_agreements" / "examples" / "open-cc-by.yaml")
                          .read_text())
    data["agreement"]["valid_from"], data["agreement"]["valid_until"] = "2020-01-01", "2021-01-01"
    expired = tmp_path / "expired.yaml"
    expired.write_text(yaml.safe_dump(data, sort_keys=False))
    launch = outdir.parent  # the finished run's launch folder: -resume has a cache to use
    run = run_nextflow("run", str(MAIN), "-profile", "test", "--outdir", str(outdir),
                       "--agreement", str(expired), "-resume", cwd=launch)
    out = run.stdout + run.stderr
    assert run.returncode != 0 and "A16" in out and "expired on 2021-01-01" in out, out[-3000:]
    _earlier_files_unchanged(before, snapshot(outdir))


def test_single_end_end_to_end_and_truncated_reads_refused_at_start(tmp_path: Path) -> None:
    header, rows = _absolute_rows()
    rows = rows[:4]
    for row in rows:
        row["fastq_2"] = ""  # forward reads only
    broken = tmp_path / "broken_R1.fastq.gz"
    raw = Path(rows[0]["fastq_1"]).read_bytes()
    broken.write_bytes(raw[: len(raw) // 2])  # a gzip stream cut short
    sheet = write_sheet(tmp_path / "se.csv", header, rows)
    outdir = tmp_path / "results"
    launch = tmp_path / "launch"
    launch.mkdir()
    # through `soilbiome run`, as a user launches it: progress lines and a final status
    run = subprocess.run(
        [sys.executable, "-m", "soilbiome", "run", "--profile", "test", "--input", str(sheet),
         "--outdir", str(outdir), "--dada2_trunc_len_r", "0"],
        cwd=launch, capture_output=True, text=True, timeout=1500)
    assert run.returncode == 0, (run.stdout + run.stderr)[-4000:]
    last = [line for line in run.stdout.splitlines() if line.startswith("[soilbiome] tasks")][-1]
    done, total = re.match(r"\[soilbiome\] tasks (\d+)/(\d+) done \(0 cached, 0 failed\)",
                           last).groups()
    assert done == total and int(total) >= 13
    assert "pipeline finished OK" in run.stdout
    assert (outdir / "pipeline_info" / "nextflow.log").is_file()
    record = json.loads((outdir / "pipeline_info" / "run_record.json").read_text())
    assert record["status"] == "succeeded"
    assert (outdir / "biom" / "asv_table.biom").is_file()
    names = {r["name"].split(" ")[0] for r in trace_rows(outdir)}
    assert "AMPLICON:STAMP" in names
    # the per-sample QC ran as FASTQ_QC tasks or, reads without primers in one DADA2 task,
    # inside DADA2_BATCH: either way every sample has its record
    assert "AMPLICON:FASTQ_QC" in names or "AMPLICON:DADA2:DADA2_BATCH" in names, names
    qc_rows = (outdir / "qc" / "qc_summary.tsv").read_text().strip().splitlines()[1:]
    assert sorted(r.split("\t")[0] for r in qc_rows) == sorted(r["sample"] for r in rows)
    # DADA2 as one task (DADA2_BATCH) or split (DADA2:DADA2_DENOISE...), chosen from the cores
    assert any(n.split(":")[-1].startswith("DADA2_") for n in names), names

    # the same batch with one truncated gzip: found at start-up, before any task, with the
    # sheet line, column and file named; the finished results stay complete and verified
    before = snapshot(outdir)
    first = sheet
    rows[1]["fastq_1"] = str(broken)
    sheet = write_sheet(tmp_path / "se_broken.csv", header, rows)
    proc = subprocess.run(
        [sys.executable, "-m", "soilbiome", "run", "--profile", "test", "--input", str(sheet),
         "--outdir", str(outdir), "--dada2_trunc_len_r", "0"],
        cwd=launch, capture_output=True, text=True, timeout=1500)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0 and "Traceback" not in out, out[-4000:]
    assert f"line 3, sample '{rows[1]['sample']}', column 'fastq_1'" in out, out[-4000:]
    assert str(broken) in out and "corrupt or truncated gzip stream" in out
    assert "Submitted process" not in out
    record = json.loads((outdir / "pipeline_info" / "run_record.json").read_text())
    assert record["status"] == "succeeded"
    _earlier_files_unchanged(before, snapshot(outdir))

    # --resume after that refused start-up resumes the last session that ran tasks (Nextflow's
    # own -resume would take the refused session and recompute everything)
    proc = subprocess.run(
        [sys.executable, "-m", "soilbiome", "run", "--profile", "test", "--input", str(first),
         "--outdir", str(outdir), "--dada2_trunc_len_r", "0", "--resume"],
        cwd=launch, capture_output=True, text=True, timeout=1500)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    last = [line for line in proc.stdout.splitlines() if line.startswith("[soilbiome] tasks")][-1]
    done, total, cached = re.match(r"\[soilbiome\] tasks (\d+)/(\d+) done \((\d+) cached",
                                   last).groups()
    # every task before the table is reused; the table, its stamp and what reads them are made
    # again, because they carry the run's name (table id, stamp run_id matched by the crate)
    again = {r["process"].split(":")[-1] for r in trace_rows(outdir) if r["status"] != "CACHED"}
    assert again <= {"BUILD_BIOM", "STAMP", "DIVERSITY", "INTEROP", "SOFTWARE_VERSIONS",
                     "REPORT"}, (again, last)
    # DADA2 (one task on a small machine, its steps when split; with the per-sample QC inside
    # it or as FASTQ_QC tasks), taxonomy and the tree reused
    reused = {r["process"].split(":")[-1] for r in trace_rows(outdir) if r["status"] == "CACHED"}
    assert any(n.startswith("DADA2_") for n in reused), (reused, last)
    assert {"VSEARCH_SINTAX", "CLEANUP", "PHYLOGENY", "QC_SUMMARY"} <= reused, (reused, last)
    assert int(cached) >= 7 and int(cached) + len(again) == int(total), last
    shutil.rmtree(launch / "work", ignore_errors=True)


def test_sigterm_to_soilbiome_run_stops_nextflow_cleanly(tmp_path: Path) -> None:
    """A scheduler or a user sends SIGTERM to `soilbiome run` only: Nextflow is stopped too
    (no run left behind writing into --outdir), the run record says failed, the results
    folder's lock is released and `soilbiome run` exits 143 with one line."""
    import os
    import signal
    import time

    launch, outdir = tmp_path / "launch", tmp_path / "results"
    launch.mkdir()
    proc = subprocess.Popen(
        [sys.executable, "-m", "soilbiome", "run", "--profile", "test", "--outdir", str(outdir)],
        cwd=launch, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    record = outdir / "pipeline_info" / "run_record.json"
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline and proc.poll() is None:  # a task has started
        if record.is_file() and any((launch / "work").glob("*/*/.command.begin")):
            break
        time.sleep(0.5)
    assert proc.poll() is None, proc.communicate()
    os.kill(proc.pid, signal.SIGTERM)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 143, (out[-2000:], err[-2000:])
    lines = [line for line in err.splitlines() if line.strip()]
    assert lines == ["soilbiome: error: stopped by SIGTERM; temporary files removed"], err
    assert json.loads(record.read_text())["status"] == "failed"
    assert not (outdir / "pipeline_info" / "run.lock").exists()
    left = []  # nothing of the launch still running (Nextflow, its tasks)
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if Path(f"/proc/{pid}/cwd").resolve().is_relative_to(launch):
                left.append(Path(f"/proc/{pid}/cmdline").read_bytes()[:200])
        except OSError:
            continue
    assert left == []
    shutil.rmtree(launch / "work", ignore_errors=True)
