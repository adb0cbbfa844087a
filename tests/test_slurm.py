"""The pipeline on a real (throwaway, single-node) SLURM cluster: ``-profile test,slurm``.

The cluster is started by the ``cluster`` fixture (tests/slurm_cluster.py) and stopped, by pid,
when the module's tests are done, whatever their outcome.
"""

from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path

import pytest
from slurm_cluster import (
    MAIN,
    SlurmCluster,
    nextflow,
    nextflow_env,
    output_differences,
    published_outputs,
    slurm_unavailable,
)

from conftest import cut_past_the_gate, trace_rows, write_sheet

pytestmark = [pytest.mark.slurm, pytest.mark.nextflow]

ACCOUNT = "soil-lab"
COMMENT = "soilbiome-ci"

# What a lab puts in its site config (docs/slurm.md); here: poll fast, submit without throttle,
# so that the test is quick. The partition comes from the cluster, account and sbatch options
# are passed as --slurm_* parameters so the test proves they reach sbatch.
SITE_CONFIG = """\
executor {
    pollInterval      = '1 sec'
    queueStatInterval = '5 sec'
    submitRateLimit   = '100/1s'
}
"""
# For the main run only: QC_SUMMARY's first attempt dies as if the OOM killer had struck (exit
# 137, before its script starts), which must make Nextflow resubmit it with more memory.
OOM_ONCE = """
process {
    withName: '.*:QC_SUMMARY' {
        beforeScript = { task.attempt == 1 ? 'exit 137' : 'true' }
    }
}
"""


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    reason = slurm_unavailable()
    if reason:
        pytest.skip(reason)
    c = SlurmCluster()
    t0 = time.monotonic()
    try:
        c.start()
        print(f"\n[slurm] cluster up in {time.monotonic() - t0:.1f}s: {c.conf} "
              f"(pids {', '.join(f'{k}={p.pid}' for k, p in c.procs.items())})")
        yield c
    finally:
        c.stop()
        c.cleanup(keep_logs_in=tmp_path_factory.mktemp("slurm_cluster_logs"))


def run_on_slurm(cluster: SlurmCluster, launch: Path, *args: str,
                 extra_config: str = "") -> subprocess.CompletedProcess:
    (launch / "site.config").write_text(SITE_CONFIG + extra_config)
    env = cluster.env(nextflow_env(launch))
    return nextflow("run", str(MAIN), "-profile", "test,slurm", "-c", str(launch / "site.config"),
                    "--slurm_queue", cluster.partition, "--slurm_account", ACCOUNT,
                    f"--slurm_options=--comment={COMMENT}", *args, cwd=launch, env=env)


@pytest.fixture(scope="module")
def slurm_run(cluster, tmp_path_factory):
    launch = tmp_path_factory.mktemp("nf_test_slurm")
    t0 = time.monotonic()
    proc = run_on_slurm(cluster, launch, "--outdir", str(launch / "results"),
                        extra_config=OOM_ONCE)
    print(f"\n[slurm] -profile test,slurm took {time.monotonic() - t0:.1f}s")
    return launch, proc


def test_test_profile_runs_every_task_through_slurm(cluster, slurm_run):
    launch, proc = slurm_run
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:] + cluster.logs()
    trace = trace_rows(launch / "results")
    assert trace, "no execution trace written"
    submitted = cluster.submitted_job_ids()
    finished = cluster.completed_jobs()
    for task in trace:
        job = task["native_id"]
        assert re.fullmatch(r"\d+", job), f"{task['name']}: native_id {job!r} is no SLURM job id"
        assert job in submitted, f"{task['name']}: job {job} not in slurmctld's log"
        rec = finished.get(job)
        assert rec is not None, f"{task['name']}: job {job} not in the job completion log"
        assert rec["WorkDir"] == task["workdir"], (rec, task)
        assert rec["Partition"] == cluster.partition and rec["Account"] == ACCOUNT, rec
        assert rec["Name"].startswith("nf-"), rec
        if task["status"] == "COMPLETED":
            assert (rec["JobState"], rec["ExitCode"]) == ("COMPLETED", "0:0"), rec
    # every task completed, QC_SUMMARY after one resubmission
    failed = [t for t in trace if t["status"] != "COMPLETED"]
    assert [(t["process"].split(":")[-1], t["exit"]) for t in failed] == [("QC_SUMMARY", "137")]
    # the free-form sbatch options reached slurmctld too
    job = trace[0]["native_id"]
    shown = subprocess.run(["scontrol", "show", "job", job], env=cluster.env(),
                           capture_output=True, text=True).stdout
    assert f"Comment={COMMENT}" in shown, shown
    ids = sorted(int(t["native_id"]) for t in trace)
    procs = sorted({t["process"].split(":")[-1] for t in trace})
    print(f"\n[slurm] {len(trace)} tasks ran as SLURM jobs {ids} "
          f"(processes: {', '.join(procs)}); all in slurmctld's log and the jobcomp log, "
          f"partition={cluster.partition}, account={ACCOUNT}, Comment={COMMENT}")


def test_task_killed_with_137_is_resubmitted_with_more_memory(cluster, slurm_run):
    launch, proc = slurm_run
    attempts = [t for t in trace_rows(launch / "results") if t["process"].endswith("QC_SUMMARY")]
    attempts.sort(key=lambda t: int(t["attempt"]))
    assert [(t["attempt"], t["status"], t["exit"]) for t in attempts] == [
        ("1", "FAILED", "137"), ("2", "COMPLETED", "0")], attempts
    jobs = [cluster.completed_jobs()[t["native_id"]] for t in attempts]
    assert [j["JobState"] for j in jobs] == ["FAILED", "COMPLETED"], jobs
    mem = [re.search(r"mem=([^,]+)", j["Tres"]).group(1) for j in jobs]
    assert [t["memory"] for t in attempts] == ["1 GB", "2 GB"] and mem == ["1G", "2G"], mem
    assert "Re-submitted process > AMPLICON:QC_SUMMARY" in proc.stdout
    print(f"\n[slurm] QC_SUMMARY: job {attempts[0]['native_id']} exit 137 with mem={mem[0]}, "
          f"resubmitted as job {attempts[1]['native_id']} with mem={mem[1]}")


def test_slurm_outputs_equal_a_local_run(slurm_run, test_profile_run):
    launch, proc = slurm_run
    assert proc.returncode == 0, proc.stdout[-4000:]
    local_out, local = test_profile_run  # the session's local run of -profile test
    local_launch = local_out.parent
    assert local.returncode == 0, local.stdout[-4000:] + local.stderr[-2000:]
    slurm_trace, local_trace = trace_rows(launch / "results"), trace_rows(local_launch / "results")
    # DADA2 is one task or split into chunks, chosen from the executor; the per-sample QC runs
    # as FASTQ_QC jobs on SLURM and inside the one DADA2 task locally (no primers)
    def layout(name):
        process = name.split(" ")[0]
        return "DADA2" in process or process.split(":")[-1] == "FASTQ_QC"

    def done(trace):
        names = [t["name"] for t in trace if t["status"] == "COMPLETED"]
        assert any(n.startswith("AMPLICON:DADA2:") or n.startswith("AMPLICON:DADA2_BATCH")
                   for n in names), names
        return sorted(n for n in names if not layout(n))

    assert done(slurm_trace) == done(local_trace)
    a = published_outputs(local_launch / "results", local_launch)
    b = published_outputs(launch / "results", launch)
    assert "qc/qc_summary.tsv" in a
    assert sum(k.endswith(".fastp.json") for k in a) == sum(k.endswith(".fastp.json") for k in b)
    for files in (a, b):  # fastp's command line names the folder the task staged the reads in
        for k in files:
            if k.endswith(".fastp.json"):
                files[k].pop("command")
    # software_versions.yml names the processes that ran: the DADA2 and QC ones differ by layout
    va, vb = (x.pop("pipeline_info/software_versions.yml") for x in (a, b))
    assert va["tools"] == vb["tools"], (va["tools"], vb["tools"])
    for v in (va, vb):  # whichever layout ran, a DADA2 process reports R and dada2
        assert any(p.get("R") == v["tools"]["R"] and p.get("dada2") == v["tools"]["dada2"]
                   for k, p in v["processes"].items() if "DADA2" in k), v["processes"]
    assert ({k: v for k, v in va["processes"].items() if not layout(k)}
            == {k: v for k, v in vb["processes"].items() if not layout(k)})
    assert output_differences(a, b) == []
    print(f"\n[slurm] {len(a)} published files identical to the local run: "
          f"{', '.join(sorted(a))}")


def test_truncated_gzip_fails_its_slurm_job_cleanly(cluster, tmp_path, atacama_rows):
    """A gzip cut short far into the file: the start-up gate reads only the first records of a
    gzip (preflight.SAMPLE_READS), so the sample's own FASTQ_QC job finds it, fails alone, is not
    retried, and leaves no partial output."""
    header, rows = atacama_rows
    rows = [r for r in rows if Path(r["fastq_1"]).stat().st_size > 100]  # samples with reads
    rows[0] = cut_past_the_gate(tmp_path, rows[0])
    sheet = write_sheet(tmp_path / "sheet.csv", header, rows[:3])
    outdir = tmp_path / "results"
    t0 = time.monotonic()
    proc = run_on_slurm(cluster, tmp_path, "--input", str(sheet), "--outdir", str(outdir))
    elapsed = time.monotonic() - t0
    text = proc.stdout + proc.stderr
    assert proc.returncode != 0, text[-4000:]
    assert "cut_R1.fastq.gz: corrupt or truncated gzip" in text, text[-4000:]
    trace = trace_rows(outdir)
    qc = {t["tag"]: t for t in trace if t["process"].endswith("FASTQ_QC")}
    assert rows[0]["sample"] in qc, text[-3000:]
    bad = qc[rows[0]["sample"]]
    assert bad["status"] == "FAILED" and bad["attempt"] == "1", bad  # data errors: no retry
    assert all(qc[r["sample"]]["status"] == "COMPLETED" for r in rows[1:3]), qc
    assert all(t["attempt"] == "1" for t in trace), trace
    job = cluster.completed_jobs()[bad["native_id"]]
    assert job["JobState"] == "FAILED", job
    assert not (outdir / "qc" / "qc_summary.tsv").exists()
    leftovers = [p for p in outdir.rglob("*") if p.name.endswith((".tmp", ".part", "~"))]
    assert leftovers == []
    print(f"\n[slurm] corrupt sample failed as SLURM job {bad['native_id']} "
          f"({job['JobState']}, ExitCode={job['ExitCode']}) in {elapsed:.1f}s")


@pytest.mark.scale  # about 9 minutes on 2 cores: `make test-scale`
def test_twenty_sample_batch_runs_dada2_per_sample_as_separate_jobs(cluster, tmp_path,
                                                                     atacama_rows):
    """A 20-sample batch: filter and denoise of every sample are SLURM jobs of their own."""
    import shutil

    header, rows = atacama_rows
    reads = tmp_path / "reads"
    reads.mkdir()
    batch = []
    for copy in ("a", "b"):
        for row in rows:
            if row["sample"] == "BLANK":
                continue
            new = dict(row, sample=f"{row['sample']}{copy}")
            for col in ("fastq_1", "fastq_2"):
                target = reads / f"{new['sample']}_{col}.fastq.gz"
                shutil.copyfile(row[col], target)
                new[col] = str(target)
            batch.append(new)
    assert len(batch) == 20
    sheet = write_sheet(tmp_path / "sheet.csv", header, batch)
    outdir = tmp_path / "results"
    # the renamed samples are not covered by the test profile's agreement: no stamp here
    proc = run_on_slurm(cluster, tmp_path, "--input", str(sheet), "--outdir", str(outdir),
                        "--dada2_pool", "false", "--dada2_chunk_size", "1", "--skip_phylogeny",
                        extra_config="\nparams.agreement = null\nparams.signing_key = null\n")
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:] + cluster.logs()
    trace = trace_rows(outdir)
    submitted = cluster.submitted_job_ids()
    for step in ("DADA2_FILTER", "DADA2_DENOISE"):
        tasks = [t for t in trace if t["process"].endswith(step)]
        assert len(tasks) == 20, [t["tag"] for t in tasks]
        jobs = {t["native_id"] for t in tasks}
        assert len(jobs) == 20 and jobs <= submitted, jobs
    errors = [t for t in trace if t["process"].endswith("DADA2_ERRORS")]
    assert len(errors) == 1
    print(f"\n[slurm] 20 samples: 20 DADA2_FILTER + 20 DADA2_DENOISE jobs, 1 DADA2_ERRORS job, "
          f"{len(trace)} jobs in all")
