"""The shotgun QC's one pass over the reads: the FASTQ check streams what it checked into fastp.

``fastq-check --emit`` must pass on exactly the records it checked (pairs interleaved), raise
the same errors as the check alone, and fastp fed from it (with the adapters a detection run
found, since fastp cannot detect them on a stream) must write what fastp reading the files
writes. Real fastp, real and small synthetic reads.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import random
import subprocess
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import ATACAMA
from soilbiome.cli import main
from soilbiome.errors import FastqError
from soilbiome.io.fastq import check_and_stream, check_sample

R1 = ATACAMA / "BAQ2420.2_10_L001_R1_001.fastq.gz"
R2 = ATACAMA / "BAQ2420.2_11_L001_R2_001.fastq.gz"


def _records(path: Path) -> list[list[bytes]]:
    with gzip.open(path, "rb") as handle:
        lines = handle.read().splitlines()
    return [lines[i:i + 4] for i in range(0, len(lines), 4)]


@pytest.mark.parametrize("batch_bytes", [1_000, 1 << 22])
def test_stream_is_the_checked_records_pairs_interleaved(batch_bytes):
    out = io.BytesIO()
    stats = check_and_stream("S", R1, R2, out, batch_bytes=batch_bytes)
    assert stats == check_sample("S", R1, R2)
    expected = []
    for first, second in zip(_records(R1), _records(R2), strict=True):
        expected += [first[0], first[1], b"+", first[3], second[0], second[1], b"+", second[3]]
    assert out.getvalue() == b"\n".join(expected) + b"\n"
    single = io.BytesIO()
    assert check_and_stream("S", R1, None, single, batch_bytes=batch_bytes) == check_sample("S", R1)
    assert single.getvalue().count(b"\n") == 4 * stats.reads


def test_stream_raises_what_the_check_raises(tmp_path):
    data = R1.read_bytes()
    cut = tmp_path / "cut_R1.fastq.gz"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(FastqError, match=r"cut_R1\.fastq\.gz: corrupt or truncated gzip"):
        check_and_stream("S", cut, None, io.BytesIO())
    records = _records(R2)
    swapped = tmp_path / "swapped_R2.fastq"
    swapped.write_bytes(b"\n".join(b"\n".join(r) for r in [records[1], records[0], *records[2:]])
                        + b"\n")
    with pytest.raises(FastqError, match="mismatched pairs at record 1"):
        check_and_stream("S", R1, swapped, io.BytesIO())


def _simulate(tmp_path: Path) -> tuple[Path, Path]:
    """Pairs whose short fragments read into the TruSeq adapters."""
    rng = random.Random(3)
    adapters = ("AGATCGGAAGAGCACACGTCTGAACTCCAGTCA", "AGATCGGAAGAGCGTCGTGTAGGGAAAGAGTGT")
    pair = {"A": "T", "C": "G", "G": "C", "T": "A"}
    r1, r2 = tmp_path / "s_R1.fastq.gz", tmp_path / "s_R2.fastq.gz"
    with gzip.open(r1, "wt") as h1, gzip.open(r2, "wt") as h2:
        for i in range(20000):
            frag = "".join(rng.choices("ACGT", k=rng.randint(40, 170)))
            rc = "".join(pair[c] for c in reversed(frag))
            tail = "".join(rng.choices("ACGT", k=150))
            qual = "".join(rng.choices("5?IA+", k=150))
            h1.write(f"@r{i} 1\n{(frag + adapters[0] + tail)[:150]}\n+\n{qual}\n")
            h2.write(f"@r{i} 2\n{(rc + adapters[1] + tail)[:150]}\n+\n{qual}\n")
    return r1, r2


def _fastp(args: list[str], cwd: Path, stdin=None) -> None:  # noqa: ANN001 - file or None
    subprocess.run(["fastp", *args, "--low_complexity_filter", "--length_required", "50",
                    "--thread", "1", "--compression", "1"], cwd=cwd, check=True,
                   capture_output=True, stdin=stdin if stdin is not None else subprocess.DEVNULL)


@pytest.mark.parametrize("paired", [False, True])
def test_fastp_fed_by_the_check_writes_what_fastp_on_the_files_writes(tmp_path, paired):
    r1, r2 = _simulate(tmp_path)
    files = ["-i", str(r1)] + (["-I", str(r2), "--detect_adapter_for_pe"] if paired else [])
    outs = (["-o", "f1.fq.gz", "-O", "f2.fq.gz"] if paired else ["-o", "f1.fq.gz"])
    _fastp([*files, *outs, "-j", "files.json", "-h", "files.html"], tmp_path)

    subprocess.run(["fastp", *files, "--reads_to_process", "1", "-j", "adapters.json",
                    "-h", "adapters.html"], cwd=tmp_path, check=True, capture_output=True,
                   stdin=subprocess.DEVNULL)
    res = CliRunner().invoke(main, ["shotgun", "fastp-adapters", str(tmp_path / "adapters.json")])
    assert res.exit_code == 0, res.output
    adapter_args = res.stdout.split()
    assert "--adapter_sequence" in adapter_args  # the simulated adapters were found
    fifo = tmp_path / "checked.fastq"
    os.mkfifo(fifo)
    stats = {}

    def check() -> None:
        with fifo.open("wb") as stream:
            stats["s"] = check_and_stream("S", r1, r2 if paired else None, stream)

    writer = threading.Thread(target=check)
    writer.start()
    with fifo.open("rb") as stream:
        _fastp(["--stdin", *(["--interleaved_in"] if paired else []), *adapter_args,
                *[a.replace("f", "s", 1) if a.endswith(".fq.gz") else a for a in outs],
                "-j", "stream.json", "-h", "stream.html"], tmp_path, stdin=stream)
    writer.join()
    assert stats["s"].reads == 20000
    for name in (["1", "2"] if paired else ["1"]):
        with gzip.open(tmp_path / f"f{name}.fq.gz") as a, \
                gzip.open(tmp_path / f"s{name}.fq.gz") as b:
            assert a.read() == b.read()
    files_report = json.loads((tmp_path / "files.json").read_text())
    stream_report = json.loads((tmp_path / "stream.json").read_text())
    assert files_report["summary"] == stream_report["summary"]
    assert files_report["filtering_result"] == stream_report["filtering_result"]
    assert files_report["adapter_cutting"]["adapter_trimmed_reads"] > 5000
