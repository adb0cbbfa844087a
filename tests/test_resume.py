"""A run killed mid-way (SIGKILL, no clean shutdown) resumes from its finished tasks.

The test profile is started, Nextflow (and the tasks it runs) is SIGKILLed once some but not all
tasks have finished, and the same command is rerun with ``-resume``: the tasks that finished
before the kill must be reported cached (not rerun), the rest must run, and the published
outputs must equal those of an uninterrupted run.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest
from slurm_cluster import (
    MAIN,
    NEXTFLOW,
    nextflow,
    nextflow_env,
    output_differences,
    published_outputs,
)

from conftest import trace_rows

pytestmark = pytest.mark.nextflow



def finished_workdirs(work: Path) -> set[str]:
    """Task directories whose command finished with exit status 0."""
    done = set()
    for f in work.glob("*/*/.exitcode") if work.is_dir() else []:
        try:
            if f.read_text().strip() == "0":
                done.add(str(f.parent))
        except OSError:
            pass
    return done


def start_and_kill(launch: Path, outdir: Path, total: int, timeout: float = 300) -> set[str]:
    """Start the test profile, SIGKILL it once a third of its tasks finished; their work dirs."""
    kill_after = max(3, total // 3)
    log = (launch / "killed_run.out").open("w")
    # own process group: the kill takes Nextflow's JVM and the tasks it was running, as a
    # crash of the launching node would; nothing else is touched.
    proc = subprocess.Popen([str(NEXTFLOW), "run", str(MAIN), "-profile", "test",
                             "--outdir", str(outdir)], cwd=launch, env=nextflow_env(launch),
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + timeout
    try:
        while len(finished_workdirs(launch / "work")) < kill_after:
            assert proc.poll() is None, f"Nextflow ended before the kill: {proc.returncode}\n" + \
                (launch / "killed_run.out").read_text()[-3000:]
            assert time.monotonic() < deadline, "no task finished in time"
            time.sleep(0.05)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        log.close()
    time.sleep(0.5)  # let killed task scripts' last writes land before looking
    done = finished_workdirs(launch / "work")
    assert kill_after <= len(done) < total, f"{len(done)} of {total} tasks finished at the kill"
    return done


def test_killed_run_resumes_from_finished_tasks(tmp_path_factory, test_profile_run):
    ref_out, ref = test_profile_run  # the session's uninterrupted local run of -profile test
    ref_launch = ref_out.parent
    assert ref.returncode == 0, ref.stdout[-4000:] + ref.stderr[-2000:]
    ref_trace = trace_rows(ref_launch / "results")
    total = len(ref_trace)

    launch = tmp_path_factory.mktemp("nf_resume")
    outdir = launch / "results"
    t0 = time.monotonic()
    done_at_kill = start_and_kill(launch, outdir, total)
    t_kill = time.monotonic() - t0
    killed_trace = trace_rows(outdir)
    recorded = {t["workdir"] for t in killed_trace if t["status"] == "COMPLETED"}
    assert (launch / "killed_run.out").read_text().count("soilbiome OK") == 0

    t1 = time.monotonic()
    proc = nextflow("run", str(MAIN), "-profile", "test", "--outdir", str(outdir), "-resume",
                    cwd=launch)
    t_resume = time.monotonic() - t1
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]

    trace = trace_rows(outdir)
    cached = {t["workdir"]: t["name"] for t in trace if t["status"] == "CACHED"}
    rerun = [t for t in trace if t["status"] != "CACHED"]
    # every task the killed run had recorded as complete is reused, and only finished ones are
    assert recorded <= cached.keys(), sorted(recorded - cached.keys())
    assert cached.keys() <= done_at_kill, sorted(cached.keys() - done_at_kill)
    assert cached and rerun, (len(cached), len(rerun))
    assert {t["status"] for t in rerun} == {"COMPLETED"}, rerun
    assert sorted(t["name"] for t in trace) == sorted(t["name"] for t in ref_trace)
    # ... and says so in its log and summary
    said_cached = re.findall(r"\] Cached process > (.+)", proc.stdout)
    assert sorted(said_cached) == sorted(cached.values()), said_cached
    summary = f"{len(rerun)} tasks succeeded, 0 failed, {len(cached)} cached"
    assert summary in proc.stdout, (summary, proc.stdout[-1500:])

    a = published_outputs(ref_launch / "results", ref_launch)
    b = published_outputs(outdir, launch)
    assert "qc/qc_summary.tsv" in a
    assert output_differences(a, b) == []
    print(f"\n[resume] killed after {t_kill:.1f}s with {len(done_at_kill)}/{total} tasks finished "
          f"({len(recorded)} in the killed run's trace); -resume took {t_resume:.1f}s: "
          f"{len(cached)} cached ({', '.join(sorted(cached.values()))}), {len(rerun)} run; "
          f"{len(a)} published files identical to the uninterrupted run")
