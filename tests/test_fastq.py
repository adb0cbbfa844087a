"""FASTQ integrity checks on real reads and on damaged copies of them."""

from __future__ import annotations

import gzip
import subprocess
from pathlib import Path

import pytest

from conftest import ATACAMA
from soilbiome.errors import FastqError
from soilbiome.io.fastq import check_sample, iter_records

R1 = ATACAMA / "BAQ2420.2_10_L001_R1_001.fastq.gz"
R2 = ATACAMA / "BAQ2420.2_11_L001_R2_001.fastq.gz"


def _lines(path: Path) -> list[bytes]:
    with gzip.open(path, "rb") as handle:
        return handle.read().splitlines(keepends=True)


def test_real_pair_counts():
    stats = check_sample("BAQ2420.2", R1, R2)
    assert stats.reads == len(_lines(R1)) // 4 == 100
    assert stats.bases_r1 == stats.bases_r2 == 100 * 151
    assert stats.paired


def test_empty_blank_sample_has_zero_reads():
    stats = check_sample(
        "BLANK",
        ATACAMA / "BLANK_20_L001_R1_001.fastq.gz",
        ATACAMA / "BLANK_21_L001_R2_001.fastq.gz",
    )
    assert stats.reads == 0


def test_truncated_gzip_names_file(tmp_path):
    data = R1.read_bytes()
    bad = tmp_path / "cut_R1.fastq.gz"
    bad.write_bytes(data[: len(data) // 2])
    with pytest.raises(FastqError, match=r"cut_R1\.fastq\.gz: corrupt or truncated gzip"):
        check_sample("S", bad)


def test_truncated_gzip_names_the_last_whole_record_gzip_itself_gives(tmp_path):
    # two gzip members of 5,000 records each, cut in the second: the message counts the
    # records before the cut, as many as GNU gzip writes out before it stops, not the ones
    # in the 4 MB blocks read before the failing one (0 here)
    body = b"".join(_lines(R1)) * 50
    raw = gzip.compress(body, compresslevel=1) + gzip.compress(body, compresslevel=1)
    bad = tmp_path / "cut_R1.fastq.gz"
    bad.write_bytes(raw[: int(len(raw) * 0.7)])
    done = subprocess.run(["gzip", "-dc", str(bad)], capture_output=True, check=False)
    assert done.returncode != 0
    whole = done.stdout.count(b"\n") // 4
    assert 5000 < whole < 10000
    for check in (lambda: check_sample("S", bad), lambda: list(iter_records(bad))):
        with pytest.raises(FastqError, match=rf"cut_R1\.fastq\.gz: corrupt or truncated gzip "
                                             rf"stream after record {whole} \("):
            check()


def test_corrupt_gzip_bytes(tmp_path):
    data = bytearray(R1.read_bytes())
    data[200:260] = b"\x00" * 60
    bad = tmp_path / "corrupt_R1.fastq.gz"
    bad.write_bytes(bytes(data))
    with pytest.raises(FastqError, match="corrupt_R1.fastq.gz"):
        check_sample("S", bad)


def test_record_cut_mid_way(tmp_path):
    lines = _lines(R1)[:-2]
    bad = tmp_path / "short.fastq"
    bad.write_bytes(b"".join(lines))
    with pytest.raises(FastqError, match=r"short.fastq: record 100: file ends inside a record"):
        check_sample("S", bad)


def test_quality_length_mismatch(tmp_path):
    lines = _lines(R1)
    lines[4 * 6 + 3] = lines[4 * 6 + 3][:-5] + b"\n"
    bad = tmp_path / "qual.fastq"
    bad.write_bytes(b"".join(lines))
    with pytest.raises(FastqError, match=r"record 7: sequence length 151 != quality length 147"):
        check_sample("S", bad)


def test_mates_with_different_counts(tmp_path):
    short = tmp_path / "r2.fastq.gz"
    with gzip.open(short, "wb") as handle:
        handle.write(b"".join(_lines(R2)[:-4]))
    with pytest.raises(FastqError,
                       match=r"sample 'S': mismatched pairs: .*r2.fastq.gz ends after 99"):
        check_sample("S", R1, short)


def test_mates_out_of_order(tmp_path):
    lines = _lines(R2)
    records = [lines[i : i + 4] for i in range(0, len(lines), 4)]
    records[10], records[11] = records[11], records[10]
    swapped = tmp_path / "r2.fastq.gz"
    with gzip.open(swapped, "wb") as handle:
        handle.write(b"".join(b"".join(r) for r in records))
    with pytest.raises(FastqError, match="mismatched pairs at record 11"):
        check_sample("S", R1, swapped)


def test_gz_name_without_gzip(tmp_path):
    fake = tmp_path / "plain.fastq.gz"
    fake.write_bytes(b"".join(_lines(R1)))
    with pytest.raises(FastqError, match="not gzip-compressed"):
        check_sample("S", fake)


@pytest.mark.parametrize("batch_bytes", [7, 1000, 1 << 22])
def test_block_checks_agree_at_any_block_size(tmp_path, batch_bytes):
    """Blocks that end anywhere inside a record give the same counts and the same errors."""
    stats = check_sample("S", R1, R2, batch_bytes=batch_bytes)
    assert (stats.reads, stats.bases_r1, stats.bases_r2) == (100, 100 * 151, 100 * 151)
    lines = _lines(R1)
    lines[4 * 60 + 3] = lines[4 * 60 + 3][:-5] + b"\n"
    (tmp_path / "qual.fastq").write_bytes(b"".join(lines))
    with pytest.raises(FastqError, match=r"record 61: sequence length 151 != quality length"):
        check_sample("S", tmp_path / "qual.fastq", batch_bytes=batch_bytes)
    (tmp_path / "cut.fastq").write_bytes(b"".join(_lines(R1)[:-1]))
    with pytest.raises(FastqError, match=r"record 100: file ends inside a record"):
        check_sample("S", tmp_path / "cut.fastq", batch_bytes=batch_bytes)
    crlf = b"".join(line.rstrip(b"\n") + b"\r\n" for line in _lines(R1))
    (tmp_path / "crlf.fastq").write_bytes(crlf.rstrip(b"\r\n"))  # no final newline either
    assert check_sample("S", tmp_path / "crlf.fastq", batch_bytes=batch_bytes).reads == 100
    records = [_lines(R2)[i:i + 4] for i in range(0, 400, 4)]
    records[70], records[71] = records[71], records[70]
    (tmp_path / "swap_R2.fastq").write_bytes(b"".join(b"".join(r) for r in records))
    with pytest.raises(FastqError, match="mismatched pairs at record 71"):
        check_sample("S", R1, tmp_path / "swap_R2.fastq", batch_bytes=batch_bytes)
