"""sylph on reads as sequenced (``--shotgun_qc none``): the sketching pass checks every record
and the mates' names, and its counts are the samples' QC records. Real pysylph, real fastp (for
the Q30 and GC figures), real Nextflow runs."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest

from conftest import (
    KRAKEN2_DEMO,
    TESTDATA,
    fastq_records,
    nextflow_warnings,
    read_tsv,
    run_nextflow,
    single_and_paired_run,
    trace_rows,
    write_fastq_gz,
)
from soilbiome.amplicon.qc import unfiltered_record
from soilbiome.errors import FastqError
from soilbiome.io.fastq import check_sample
from soilbiome.shotgun.sylph import sketch_reads

DEMO = TESTDATA / "shotgun" / "humann_demo.fastq.gz"
SYLPH_DB = KRAKEN2_DEMO.parent / "sylph_demo" / "db"


def test_the_sketching_pass_counts_what_the_check_and_fastp_count(pair, tmp_path):
    _sketch, counts = sketch_reads("s1", *pair, count_bases=True)
    stats = check_sample("s1", *pair)
    assert (counts.reads, counts.paired, counts.bases) == (
        stats.reads, True, stats.bases_r1 + stats.bases_r2)
    subprocess.run(["fastp", "-i", str(pair[0]), "-I", str(pair[1]), "-j", "fastp.json",
                    "-h", "fastp.html", "--dont_eval_duplication"], cwd=tmp_path, check=True,
                   capture_output=True)
    before = json.loads((tmp_path / "fastp.json").read_text())["summary"]["before_filtering"]
    assert before["total_bases"] == counts.bases
    assert counts.q30_bases / counts.bases == pytest.approx(before["q30_rate"], abs=1e-6)
    assert counts.gc_bases / counts.bases == pytest.approx(before["gc_content"], abs=1e-6)
    # the read accuracy handed to sylph: mean per-base 1 - 10^(-Q/10), counted here base by base
    quals = [q for path in pair for *_, q in fastq_records(path)]
    errors = math.fsum(10 ** (-max(c - 33, 0) / 10) for q in quals for c in q)
    assert 1 - counts.accuracy == pytest.approx(errors / counts.bases, rel=1e-9)
    record = unfiltered_record("s1", paired=True, reads=counts.reads, bases=counts.bases,
                               q30_bases=counts.q30_bases, gc_bases=counts.gc_bases)
    assert (record["reads_in"], record["reads_out"], record["pass_rate"]) == (
        stats.reads, stats.reads, 1.0)


def test_mates_out_of_step_are_refused_naming_the_record(pair, tmp_path):
    records = fastq_records(pair[1])
    records[7][0] = b"@not-the-mate"
    swapped = write_fastq_gz(tmp_path / "swapped_2.fastq.gz", records)
    with pytest.raises(FastqError, match=r"mismatched pairs at record 8: read names .*"
                                         r"'not-the-mate' \(.*swapped_2\.fastq\.gz\)"):
        sketch_reads("s1", pair[0], swapped)
    short = write_fastq_gz(tmp_path / "short_2.fastq.gz", fastq_records(pair[1])[:-3])
    with pytest.raises(FastqError, match=r"short_2\.fastq\.gz ends after \d+ records but "
                                         r".*pair_1\.fastq\.gz has more"):
        sketch_reads("s1", pair[0], short)
    records = fastq_records(pair[1])
    longer = write_fastq_gz(tmp_path / "long_2.fastq.gz", records + records[:2])
    with pytest.raises(FastqError, match=r"pair_1\.fastq\.gz ends after \d+ records but "
                                         r".*long_2\.fastq\.gz has more"):
        sketch_reads("s1", pair[0], longer)


@pytest.mark.usefixtures("shotgun_demo")
def test_batch_writes_qc_records_only_when_every_sample_passed(pair, tmp_path):
    manifest = tmp_path / "batch.tsv"
    manifest.write_text(f"single\t{DEMO}\npaired\t{pair[0]}\t{pair[1]}\n")
    out = tmp_path / "out"
    out.mkdir()
    cmd = [sys.executable, "-m", "soilbiome", "shotgun", "sylph-profile", "--batch",
           str(manifest), "--db", str(SYLPH_DB), "--outdir", str(out), "--qc-records"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    single = json.loads((out / "single.qc.json").read_text())
    paired = json.loads((out / "paired.qc.json").read_text())
    assert single["reads_in"] == single["reads_out"] == check_sample("x", DEMO).reads
    assert (paired["paired"], paired["reads_in"]) == (True, check_sample("x", *pair).reads)
    assert (out / "paired.sylph.tsv").is_file()

    records = fastq_records(pair[1])
    records[3][0] = b"@stranger"
    bad = write_fastq_gz(tmp_path / "bad_2.fastq.gz", records)
    manifest.write_text(f"single\t{DEMO}\npaired\t{pair[0]}\t{bad}\n")
    again = tmp_path / "again"
    again.mkdir()
    cmd[cmd.index(str(out))] = str(again)
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "mismatched pairs at record 4" in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr
    assert list(again.iterdir()) == []


@pytest.mark.nextflow
@pytest.mark.usefixtures("kraken2_demo")
def test_pipeline_profiles_reads_as_sequenced_with_sylph(pair, tmp_path):
    """-profile test_shotgun --shotgun_profiler sylph --shotgun_qc none: no FASTQ_QC task, the
    QC records come from SYLPH_PROFILE's pass; with Kraken2 the run is refused at start-up."""
    common = [*single_and_paired_run(tmp_path, DEMO, pair), "--shotgun_qc", "none"]
    refused = tmp_path / "refused"
    proc = run_nextflow(*common, "--shotgun_profiler", "sylph,kraken2", "--outdir",
                        str(refused), cwd=tmp_path)
    assert proc.returncode != 0
    assert "--shotgun_qc none profiles the reads as sequenced with one profiler" in (
        proc.stdout + proc.stderr)
    assert not refused.exists()

    outdir = tmp_path / "results"
    # --max_memory below what the sylph database's task needs (4 GB): said at start-up, and
    # the task asks for the cap; one sample per sylph task (--sylph_batch_size 1)
    proc = run_nextflow(*common, "--shotgun_profiler", "sylph", "--outdir", str(outdir),
                        "--max_memory", "2.GB", "--sylph_batch_size", "1", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    # the one warning is the memory's (the batches' outputs are collected: no operator warns)
    (warning,) = nextflow_warnings(proc)
    assert ("The sylph database's tasks need 4 GB of memory and --max_memory 2 GB caps them: "
            "give --max_memory 4 GB or more") in warning
    rows = trace_rows(outdir)
    processes = [r["process"].split(":")[-1] for r in rows]
    assert "FASTQ_QC" not in processes and processes.count("SYLPH_PROFILE") == 2, processes
    tags = {r["tag"] for r in rows if r["process"].endswith("SYLPH_PROFILE")}
    assert tags == {"paired: 1 sample(s)", "single: 1 sample(s)"}
    assert {r["memory"] for r in rows if r["process"].endswith("SYLPH_PROFILE")} == {"2 GB"}
    qc = {r["sample"]: r for r in read_tsv(outdir / "qc" / "qc_summary.tsv")}
    assert int(qc["single"]["reads_in"]) == int(qc["single"]["reads_out"]) == 21000
    assert int(qc["paired"]["reads_in"]) == 21000 and qc["paired"]["paired"] == "True"
    assert (outdir / "qc" / "reads" / "paired.qc.json").is_file()
    summary = {r["sample"]: r for r in read_tsv(outdir / "qc" / "sylph_summary.tsv")}
    assert int(summary["paired"]["reads_after_qc"]) == 21000
    assert 0 < float(summary["single"]["profiled_fraction"]) <= 1
    assert not list((tmp_path / "work").rglob("*.fastp.*"))
    from soilbiome.io.biom_reader import read_table

    context = read_table(outdir / "biom" / "sylph_taxon_table.biom").context
    assert (context.method, context.read_qc) == ("sylph", "none")


@pytest.mark.usefixtures("shotgun_demo")
def test_a_sketching_worker_killed_stops_the_batch_in_one_line(pair, tmp_path, monkeypatch):
    """Samples are sketched in forked workers: one killed (out of memory, a signal) is a
    one-line ToolError and no file of the batch is written."""
    import os
    import signal

    from soilbiome.errors import ToolError
    from soilbiome.shotgun import sylph
    from soilbiome.shotgun.sylph_profile import profile_batch_to_tsvs

    def killed(*_args, **_kwargs):  # what a worker meets when the kernel kills it
        os.kill(os.getpid(), signal.SIGKILL)

    monkeypatch.setattr(sylph, "sketch_reads", killed)  # read by the forked workers
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(ToolError, match="stopped abruptly"):
        profile_batch_to_tsvs(SYLPH_DB, [("single", [DEMO]), ("paired", list(pair))], out,
                              workers=2)
    assert list(out.iterdir()) == []
