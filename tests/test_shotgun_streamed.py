"""fastp streamed into Kraken2 (``soilbiome shotgun stream-kraken2``, the pipeline's QC_KRAKEN2):
the same report as the two steps through files, real fastp and Kraken2; failures stop every
program of the stream (nothing waits for ever on a pipe) and leave no record."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import (
    KRAKEN2_DEMO,
    TESTDATA,
    read_tsv,
    run_nextflow,
    single_and_paired_run,
    trace_rows,
)

DEMO = TESTDATA / "shotgun" / "humann_demo.fastq.gz"
FASTP_OPTIONS = "--thread 2 --length_required 50 --low_complexity_filter --dont_eval_duplication"
COMPLEMENT = bytes.maketrans(b"ACGTN", b"TGCAN")

pytestmark = pytest.mark.usefixtures("kraken2_demo")


@pytest.fixture(scope="module")
def reads(tmp_path_factory) -> dict[str, list[Path]]:
    """The demo reads single-end, and as pairs: R1 = the first 75 bases, R2 = the reverse
    complement of the last 75 (mates overlap by 50 bases, as in a real short insert)."""
    folder = tmp_path_factory.mktemp("streamed_reads")
    r1, r2 = folder / "pair_1.fastq.gz", folder / "pair_2.fastq.gz"
    with gzip.open(DEMO, "rb") as demo, gzip.open(r1, "wb") as out1, gzip.open(r2, "wb") as out2:
        while header := demo.readline():
            seq, _plus, qual = demo.readline().rstrip(), demo.readline(), demo.readline().rstrip()
            out1.write(b"%s%s\n+\n%s\n" % (header, seq[:75], qual[:75]))
            out2.write(b"%s%s\n+\n%s\n" % (header, seq[25:][::-1].translate(COMPLEMENT),
                                           qual[25:][::-1]))
    return {"single": [DEMO], "paired": [r1, r2]}


def _fastp_inputs(files: list[Path]) -> str:
    return f"-i {files[0]}" + (f" -I {files[1]}" if len(files) == 2 else "")


def _stream(files: list[Path], workdir: Path, *, fastp_extra: str = "",
            db: Path = KRAKEN2_DEMO) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "soilbiome", "shotgun", "stream-kraken2", *map(str, files),
         "--sample", "s1", "--check-out", "s1.check.json", "--db", str(db), "--threads", "2",
         "--report", "streamed.report", "--output", "streamed.out",
         "--fastp", f"fastp {_fastp_inputs(files)} {FASTP_OPTIONS} -j s1.fastp.json "
                    f"-h s1.fastp.html {fastp_extra}"],
        cwd=workdir, capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("layout", ["single", "paired"])
def test_streamed_report_equals_the_two_steps_through_files(reads, layout, tmp_path):
    files = reads[layout]
    proc = _stream(files, tmp_path)
    assert proc.returncode == 0, proc.stderr
    # the two steps: fastp writes files, the kraken2 wrapper reads them
    outputs = ["-o", "f_1.fastq"] + (["-O", "f_2.fastq"] if layout == "paired" else [])
    subprocess.run(["fastp", *_fastp_inputs(files).split(), *FASTP_OPTIONS.split(), *outputs,
                    "-j", "f.json", "-h", "f.html"], cwd=tmp_path, check=True,
                   capture_output=True)
    subprocess.run(["kraken2", "--db", str(KRAKEN2_DEMO), "--threads", "2",
                    *(["--paired"] if layout == "paired" else []), "--report", "files.report",
                    "--output", "files.out", *outputs[1::2]],
                   cwd=tmp_path, check=True, capture_output=True)
    assert (tmp_path / "streamed.report").read_bytes() == (tmp_path / "files.report").read_bytes()
    with (tmp_path / "streamed.out").open() as a, (tmp_path / "files.out").open() as b:
        assert sorted(a) == sorted(b)
    check = (tmp_path / "s1.check.json").read_text()
    assert '"reads": 21000' in check and f'"paired": {str(layout == "paired").lower()}' in check
    assert not list(tmp_path.glob("*.stream.fastq"))  # the FIFO is gone


def test_truncated_reads_stop_the_stream_and_name_the_file(reads, tmp_path):
    data = reads["paired"][1].read_bytes()
    broken = tmp_path / "broken_2.fastq.gz"
    broken.write_bytes(data[: len(data) // 2])
    earlier = _earlier_outputs(tmp_path, "streamed.report", "streamed.out")
    proc = _stream([reads["paired"][0], broken], tmp_path)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "broken_2.fastq.gz" in lines[0] and "Traceback" not in proc.stderr
    assert not (tmp_path / "s1.check.json").exists()
    assert not list(tmp_path.glob("*.stream.fastq"))
    _assert_left_as_they_were(tmp_path, earlier)


def _earlier_outputs(folder: Path, *names: str) -> dict[str, bytes]:
    """Outputs of an earlier run under the names a new run writes."""
    earlier = {name: f"an earlier run's {name}\n".encode() for name in names}
    for name, text in earlier.items():
        (folder / name).write_bytes(text)
    return earlier


def _assert_left_as_they_were(folder: Path, earlier: dict[str, bytes]) -> None:
    """A failed run overwrote none of them and left no temp file beside them."""
    assert {name: (folder / name).read_bytes() for name in earlier} == earlier
    assert not [p.name for p in folder.iterdir() if p.name.startswith(".")]


@pytest.mark.parametrize("broken", ["fastp", "kraken2"])
def test_a_failing_program_stops_the_other_end_of_the_pipe(reads, broken, tmp_path):
    if broken == "fastp":  # fails before it opens the pipe: Kraken2 would wait for ever
        proc = _stream(reads["paired"], tmp_path, fastp_extra="--no_such_option")
    else:  # no database: Kraken2 fails before it opens the pipe, fastp would wait for ever
        empty = tmp_path / "no_db"
        empty.mkdir()
        proc = _stream(reads["single"], tmp_path, db=empty)
    assert proc.returncode == 3, proc.stderr
    lines = proc.stderr.strip().splitlines()
    name = "fastp" if broken == "fastp" else "Kraken2"
    assert len(lines) == 1 and f"{name} failed" in lines[0], proc.stderr
    assert not (tmp_path / "s1.check.json").exists()


@pytest.mark.nextflow
def test_pipeline_streams_fastp_into_kraken2_when_nothing_else_needs_the_reads(reads, tmp_path):
    """-profile test_shotgun with Kraken2 alone: one QC_KRAKEN2 task per sample, no FASTQ_QC or
    KRAKEN2 task, and every read of the QC summary's kept reads in the Kraken2 report."""
    outdir = tmp_path / "results"
    proc = run_nextflow(*single_and_paired_run(tmp_path, DEMO, reads["paired"]),
                        "--outdir", str(outdir), cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    processes = [r["process"].split(":")[-1] for r in trace_rows(outdir)]
    assert processes.count("QC_KRAKEN2") == 2
    assert "FASTQ_QC" not in processes and "KRAKEN2" not in processes
    qc = {r["sample"]: r for r in read_tsv(outdir / "qc" / "qc_summary.tsv")}
    assert int(qc["single"]["reads_in"]) == int(qc["paired"]["reads_in"]) == 21000
    for sample in ("single", "paired"):
        report = (outdir / "kraken2" / f"{sample}.kraken2.report.txt").read_text().splitlines()
        unclassified = int(report[0].split("\t")[1])
        root = int(report[1].split("\t")[1])
        assert unclassified + root == int(qc[sample]["reads_out"]) > 20000
        assert (outdir / "qc" / "fastp" / f"{sample}.fastp.json").is_file()
    assert not list((tmp_path / "work").rglob("*.fastp.fastq*"))  # nothing written in between


def _raw(files: list[Path], workdir: Path, db: Path = KRAKEN2_DEMO) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "soilbiome", "shotgun", "stream-kraken2", *map(str, files),
         "--sample", "s1", "--check-out", "s1.check.json", "--db", str(db), "--threads", "2",
         "--report", "raw.report", "--qc-record", "s1.qc.json"],
        cwd=workdir, capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("layout", ["single", "paired"])
def test_without_fastp_kraken2_reads_the_reads_as_sequenced(reads, layout, tmp_path):
    """--shotgun_qc none: the report is Kraken2's on the raw files, and the QC record counts
    what the check counted beside it (Q30 and GC as fastp counts them before filtering)."""
    files = reads[layout]
    proc = _raw(files, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "classified as sequenced" in proc.stdout
    subprocess.run(["kraken2", "--db", str(KRAKEN2_DEMO), "--threads", "2",
                    *(["--paired"] if layout == "paired" else []), "--report", "alone.report",
                    "--output", "/dev/null", *map(str, files)],
                   cwd=tmp_path, check=True, capture_output=True)
    assert (tmp_path / "raw.report").read_bytes() == (tmp_path / "alone.report").read_bytes()
    subprocess.run(["fastp", *_fastp_inputs(files).split(), "-j", "f.json", "-h", "f.html",
                    "--dont_eval_duplication"], cwd=tmp_path, check=True, capture_output=True)
    before = json.loads((tmp_path / "f.json").read_text())["summary"]["before_filtering"]
    record = json.loads((tmp_path / "s1.qc.json").read_text())
    assert record["reads_in"] == record["reads_out"] == 21000
    assert record["bases_in"] == before["total_bases"]
    assert record["q30_rate_in"] == pytest.approx(before["q30_rate"], abs=1e-6)
    assert record["gc_content_in"] == pytest.approx(before["gc_content"], abs=1e-6)


def test_without_fastp_compressed_reads_are_inflated_for_kraken2_by_soilbiome(reads, tmp_path):
    """--shotgun_qc none on gzip files: one soilbiome.io.gunzip process per file feeds the
    classifier (their logs are there, empty), and the report is Kraken2's own (above)."""
    proc = _raw(reads["paired"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    logs = sorted(p.name for p in tmp_path.glob("gunzip_*.log"))
    assert logs == ["gunzip_R1.log", "gunzip_R2.log"]
    assert all((tmp_path / name).read_bytes() == b"" for name in logs)


def test_without_fastp_a_truncated_file_is_named_by_the_check(reads, tmp_path):
    data = reads["paired"][1].read_bytes()
    broken = tmp_path / "broken_2.fastq.gz"
    broken.write_bytes(data[: len(data) // 2])
    earlier = _earlier_outputs(tmp_path, "raw.report")  # Kraken2 opens its report at start
    proc = _raw([reads["paired"][0], broken], tmp_path)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "broken_2.fastq.gz" in lines[0] and "record" in lines[0], lines
    assert not (tmp_path / "s1.check.json").exists() and not (tmp_path / "s1.qc.json").exists()
    _assert_left_as_they_were(tmp_path, earlier)


def test_without_fastp_a_failing_kraken2_is_named_and_nothing_is_left_running(reads, tmp_path):
    empty = tmp_path / "no_db"
    empty.mkdir()
    proc = _raw(reads["paired"], tmp_path, db=empty)
    assert proc.returncode == 3, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Kraken2 failed" in lines[0], proc.stderr
    assert not (tmp_path / "s1.check.json").exists()
    left = subprocess.run(["pgrep", "-f", f"soilbiome.io.gunzip {reads['paired'][0]}"],
                          capture_output=True, text=True)
    assert left.stdout == ""


def test_gunzip_writes_every_member_and_refuses_a_corrupt_file(tmp_path):
    two = tmp_path / "two.gz"
    two.write_bytes(gzip.compress(b"@r1\nACGT\n+\nIIII\n") + gzip.compress(b"@r2\nA\n+\nI\n"))
    out = subprocess.run([sys.executable, "-m", "soilbiome.io.gunzip", str(two)],
                         capture_output=True, check=True)
    assert out.stdout == b"@r1\nACGT\n+\nIIII\n@r2\nA\n+\nI\n"
    bad = tmp_path / "bad.gz"
    bad.write_bytes(two.read_bytes()[:-12])
    proc = subprocess.run([sys.executable, "-m", "soilbiome.io.gunzip", str(bad)],
                          capture_output=True, text=True)
    assert proc.returncode == 1
    assert proc.stderr.count("\n") == 1 and "bad.gz: cannot decompress" in proc.stderr


@pytest.mark.nextflow
def test_pipeline_without_fastp_runs_kraken2_on_the_reads_as_sequenced(reads, tmp_path):
    outdir = tmp_path / "results"
    proc = run_nextflow(*single_and_paired_run(tmp_path, DEMO, reads["paired"]),
                        "--shotgun_qc", "none", "--outdir", str(outdir), cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    processes = [r["process"].split(":")[-1] for r in trace_rows(outdir)]
    assert processes.count("QC_KRAKEN2") == 2 and "FASTQ_QC" not in processes
    qc = {r["sample"]: r for r in read_tsv(outdir / "qc" / "qc_summary.tsv")}
    for sample in ("single", "paired"):
        assert int(qc[sample]["reads_in"]) == int(qc[sample]["reads_out"]) == 21000
        report = (outdir / "kraken2" / f"{sample}.kraken2.report.txt").read_text().splitlines()
        assert int(report[0].split("\t")[1]) + int(report[1].split("\t")[1]) == 21000
        assert (outdir / "qc" / "reads" / f"{sample}.qc.json").is_file()
    assert not (outdir / "qc" / "fastp").exists()
    versions = (outdir / "pipeline_info" / "software_versions.yml").read_text()
    assert "fastp" not in versions
