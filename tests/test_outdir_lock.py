"""One run per results folder: a second run into an ``--outdir`` in use or holding another run's
results is refused at start-up, in one line, and leaves the folder as it was.

The lock is exercised with real processes (this test's own, alive; a finished child, gone) and
the real ``soilbiome outdir`` command; one real Nextflow launch checks that the pipeline's gate
refuses a second run into the finished ``-profile test`` results folder.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import MAIN, run_nextflow
from soilbiome.run.outdir import (
    LOCK,
    RECORD,
    OutdirInUseError,
    claim_outdir,
    process_start,
    read_holder,
    release_outdir,
)


def soilbiome(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "soilbiome", *args], capture_output=True,
                          text=True)


def gone_pid() -> int:
    """The id of a process that has ended."""
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def write_record(outdir: Path, session: str, status: str) -> None:
    (outdir / RECORD).parent.mkdir(parents=True, exist_ok=True)
    (outdir / RECORD).write_text(json.dumps({"status": status, "session_id": session,
                                             "run_name": "happy_turing"}))


def snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    return {p.relative_to(folder).as_posix(): (p.read_bytes(), p.stat().st_mtime_ns)
            for p in folder.rglob("*") if p.is_file()}


def test_claim_writes_a_lock_naming_the_run_and_release_removes_it(tmp_path):
    out = tmp_path / "results"
    lock = claim_outdir(out, "s-1", pid=12345, run_name="happy_turing")
    holder = read_holder(lock)
    assert lock == out.absolute() / LOCK
    assert (holder.pid, holder.session_id, holder.host) == (12345, "s-1", socket.gethostname())
    assert release_outdir(out, "s-2") is False and lock.exists()  # not that session's lock
    assert release_outdir(out, "s-1") is True and not lock.exists()


def test_a_live_run_holds_the_folder_even_for_its_own_session(tmp_path):
    import os

    out = tmp_path / "results"
    claim_outdir(out, "s-1", pid=os.getpid())  # this process: alive
    before = snapshot(out)
    for session in ("s-2", "s-1"):  # another run, or a -resume of the same one while it runs
        with pytest.raises(OutdirInUseError, match="in use by a run in progress .*session s-1"):
            claim_outdir(out, session, pid=os.getpid())
    assert snapshot(out) == before


def test_a_stale_lock_is_taken_over_by_the_same_session(tmp_path):
    out = tmp_path / "results"
    claim_outdir(out, "s-1", pid=gone_pid())  # the run was killed: its lock stays behind
    write_record(out, "s-1", "running")
    lock = claim_outdir(out, "s-1", pid=4242)  # -resume of that session
    assert read_holder(lock).pid == 4242


def test_a_reused_pid_does_not_keep_a_stale_lock_alive(tmp_path):
    import os

    out = tmp_path / "results"
    lock = claim_outdir(out, "s-1", pid=os.getpid())
    data = json.loads(lock.read_text())
    assert data["pid_start"] == process_start(os.getpid()) is not None
    data["pid_start"] = str(int(data["pid_start"]) - 1)  # the id now belongs to another process
    lock.write_text(json.dumps(data))
    claim_outdir(out, "s-1", pid=os.getpid())


@pytest.mark.parametrize(("status", "what"), [("succeeded", "a finished run"),
                                              ("failed", "a failed run"),
                                              ("running", "an interrupted run")])
def test_another_sessions_results_are_refused_with_the_way_forward(tmp_path, status, what):
    out = tmp_path / "results"
    if status == "running":  # killed: its lock is stale
        claim_outdir(out, "s-1", pid=gone_pid())
    write_record(out, "s-1", status)
    (out / "qc").mkdir()
    (out / "qc" / "qc_summary.tsv").write_text("sample\n")
    before = snapshot(out)
    with pytest.raises(OutdirInUseError) as caught:
        claim_outdir(out, "s-2", pid=4242)
    message = str(caught.value)
    assert "\n" not in message
    assert f"holds the results of {what} ('happy_turing', session s-1)" in message
    assert "choose another --outdir" in message and "-resume s-1" in message
    assert snapshot(out) == before
    claim_outdir(out, "s-1", pid=4242)  # that run itself may continue there (-resume)


def test_a_lock_of_another_host_is_never_taken_over(tmp_path):
    out = tmp_path / "results"
    claim_outdir(out, "s-1", pid=gone_pid(), host="node-17")
    with pytest.raises(OutdirInUseError, match="another host .*node-17.*remove .*run.lock"):
        claim_outdir(out, "s-1", pid=4242)


def test_cli_refusal_is_one_line_and_exit_2(tmp_path):
    out = tmp_path / "results"
    write_record(out, "s-1", "succeeded")
    proc = soilbiome("outdir", "claim", str(out), "--session-id", "s-2", "--pid", "1")
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert proc.stderr.startswith("soilbiome: error: --outdir ")
    assert not (out / LOCK).exists()


@pytest.mark.nextflow
def test_second_run_into_a_finished_outdir_is_refused_at_start_up(test_profile_run, tmp_path):
    outdir, first = test_profile_run
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-2000:]
    record = json.loads((outdir / RECORD).read_text())
    assert record["status"] == "succeeded" and not (outdir / LOCK).exists()  # released
    before = snapshot(outdir)
    proc = run_nextflow("run", str(MAIN), "-profile", "test", "--outdir", str(outdir),
                        cwd=tmp_path, timeout=300)
    assert proc.returncode != 0
    text = proc.stdout + proc.stderr
    assert f"--outdir {outdir} holds the results of a finished run" in text, text[-3000:]
    assert f"-resume {record['session_id']}" in text
    refusal = next(ln for ln in text.splitlines() if "holds the results of" in ln)
    assert "choose another --outdir" in refusal  # the way forward, on the same line
    assert "Traceback" not in text
    assert snapshot(outdir) == before  # no trace file, record or lock of the refused run
