"""fastp streamed into sylph's sketcher (soilbiome.shotgun.sylph_fastp): the sketch, counts and
QC record the two steps give (fastp's files, then the sketch of them), and one clear error,
with nothing written, when the reads or fastp are wrong. Real fastp, real pysylph."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import TESTDATA, fastq_records, write_fastq_gz
from soilbiome.amplicon.qc import qc_record
from soilbiome.errors import FastqError, InputError, ToolError
from soilbiome.io.fastq import check_sample
from soilbiome.shotgun.sylph import sketch_reads
from soilbiome.shotgun.sylph_fastp import sketch_through_fastp
from soilbiome.shotgun.sylph_profile import read_fastp_commands

DEMO = TESTDATA / "shotgun" / "humann_demo.fastq.gz"
OPTIONS = ("--thread 1 --length_required 50 --qualified_quality_phred 15 "
           "--low_complexity_filter --dont_eval_duplication")


def _command(reads: list[Path], report: Path) -> str:
    inputs = f"-i {reads[0]}" + (f" -I {reads[1]} --detect_adapter_for_pe" if len(reads) == 2
                                 else "")
    return f"fastp {inputs} {OPTIONS} --json {report} --html {report.with_suffix('.html')}"


@pytest.mark.parametrize("paired", [False, True])
def test_the_stream_gives_what_fastps_files_give(pair, tmp_path, paired):
    """Same sylph sketch (every k-mer and count), read counts, bases and read accuracy, and
    the same QC record as fastp's written files sketched afterwards (FASTQ_QC's route)."""
    reads = list(pair) if paired else [DEMO]
    sketch, counts, record = sketch_through_fastp(
        "s1", reads, _command(reads, tmp_path / "streamed.json"), tmp_path)
    files = [tmp_path / "f_1.fastq.gz", tmp_path / "f_2.fastq.gz"][:len(reads)]
    outputs = ["-o", str(files[0])] + (["-O", str(files[1])] if paired else [])
    subprocess.run([*_command(reads, tmp_path / "files.json").split(), *outputs],
                   check=True, capture_output=True)
    sketch2, counts2 = sketch_reads("s1", *files)
    assert sketch.kmer_counts == sketch2.kmer_counts and len(sketch.kmer_counts) > 1000
    assert counts == counts2 and counts.paired is paired
    expected = qc_record(check_sample("s1", *reads).to_dict(),
                         json.loads((tmp_path / "files.json").read_text()))
    assert record == expected
    assert 0 < record["reads_out"] < record["reads_in"] == 21000
    assert counts.reads == record["reads_out"]  # the sketcher saw every read fastp kept
    assert (tmp_path / "s1.fastp.log").is_file()


def test_a_truncated_input_is_named_by_the_check(tmp_path):
    cut = tmp_path / "cut.fastq.gz"
    cut.write_bytes(DEMO.read_bytes()[: DEMO.stat().st_size // 2])
    with pytest.raises(FastqError, match=r"cut\.fastq\.gz.*(corrupt|truncated)"):
        sketch_through_fastp("s1", [cut], _command([cut], tmp_path / "r.json"), tmp_path)


def test_a_failing_fastp_is_named_with_its_log(tmp_path):
    command = _command([DEMO], tmp_path / "r.json") + " --no_such_option"
    with pytest.raises(ToolError, match=r"sample 's1': fastp failed \(exit \d+\)"):
        sketch_through_fastp("s1", [DEMO], command, tmp_path)


def test_a_command_without_its_report_is_refused(tmp_path):
    with pytest.raises(InputError, match="gives no --json report"):
        sketch_through_fastp("s1", [DEMO], f"fastp -i {DEMO} {OPTIONS}", tmp_path)


def test_the_commands_file_is_checked_line_by_line(tmp_path):
    good = tmp_path / "fastp.tsv"
    good.write_text("a\tfastp -i a.fq --json a.json\n\nb\tfastp -i b.fq --json b.json\n")
    assert read_fastp_commands(good) == {"a": "fastp -i a.fq --json a.json",
                                         "b": "fastp -i b.fq --json b.json"}
    for text, problem in (("a\n", "expected 'sample<TAB>fastp command', found 1"),
                          ("a\tx\na\ty\n", "sample 'a' given twice")):
        bad = tmp_path / "bad.tsv"
        bad.write_text(text)
        with pytest.raises(InputError, match=problem):
            read_fastp_commands(bad)


def test_the_batch_command_writes_profiles_and_qc_records_or_nothing(pair, tmp_path,
                                                                    shotgun_demo):
    """`sylph-profile --batch --fastp`: a TSV and a QC record per sample; a bad sample stops
    the batch in one line and leaves the output folder empty."""
    manifest = tmp_path / "batch.tsv"
    manifest.write_text(f"single\t{DEMO}\npaired\t{pair[0]}\t{pair[1]}\n")
    commands = tmp_path / "fastp.tsv"
    commands.write_text(
        f"single\t{_command([DEMO], tmp_path / 'single.fastp.json')}\n"
        f"paired\t{_command(list(pair), tmp_path / 'paired.fastp.json')}\n")
    out = tmp_path / "out"
    out.mkdir()
    cmd = [sys.executable, "-m", "soilbiome", "shotgun", "sylph-profile", "--batch",
           str(manifest), "--db", str(shotgun_demo / "db"), "--outdir", str(out), "--threads", "2",
           "--fastp", str(commands)]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in out.iterdir()) == [
        "paired.qc.json", "paired.sylph.tsv", "single.qc.json", "single.sylph.tsv"]
    paired = json.loads((out / "paired.qc.json").read_text())
    assert paired["paired"] is True and paired["reads_in"] == 21000

    records = fastq_records(pair[1])
    del records[100]  # R2 one record short: mates out of step
    bad = write_fastq_gz(tmp_path / "short_2.fastq.gz", records)
    manifest.write_text(f"single\t{DEMO}\npaired\t{pair[0]}\t{bad}\n")
    commands.write_text(
        f"single\t{_command([DEMO], tmp_path / 'single.fastp.json')}\n"
        f"paired\t{_command([pair[0], bad], tmp_path / 'paired.fastp.json')}\n")
    again = tmp_path / "again"
    again.mkdir()
    cmd[cmd.index(str(out))] = str(again)
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "short_2.fastq.gz" in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr
    assert list(again.iterdir()) == []


def test_a_sample_fastp_empties_flows_through_with_zero_reads(tmp_path):
    """All reads removed by fastp (all N): an empty sketch and a record saying so, not an
    error (the sample is reported, never dropped)."""
    all_n = tmp_path / "all_n.fastq.gz"
    all_n.write_bytes(gzip.compress(b"".join(b"@n%d\n%s\n+\n%s\n" % (i, b"N" * 100, b"#" * 100)
                                             for i in range(20))))
    sketch, counts, record = sketch_through_fastp(
        "all_n", [all_n], _command([all_n], tmp_path / "r.json"), tmp_path)
    assert (counts.reads, counts.bases, counts.accuracy) == (0, 0, None)
    assert len(sketch.kmer_counts) == 0
    assert (record["reads_in"], record["reads_out"], record["status"]) == (20, 0, "low_reads")
