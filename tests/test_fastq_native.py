"""The FASTQ check's C scanner against the Python check: the same counts for every good file,
and for every bad one it declines (returns None) so that the Python check names the problem."""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import ATACAMA
from soilbiome.errors import FastqError
from soilbiome.io import fastq_native
from soilbiome.io.fastq import check_sample

R1 = ATACAMA / "BAQ2420.2_10_L001_R1_001.fastq.gz"
R2 = ATACAMA / "BAQ2420.2_11_L001_R2_001.fastq.gz"


def _python_check(*args, **kwargs):
    """The Python check alone (the scanner switched off), or the FastqError it raises."""
    original = fastq_native.library
    fastq_native.library = lambda: None
    try:
        return check_sample(*args, **kwargs)
    except FastqError as exc:
        return exc
    finally:
        fastq_native.library = original


def _lines(path: Path) -> list[bytes]:
    with gzip.open(path, "rb") as handle:
        return handle.read().splitlines(keepends=True)


def test_scanner_is_built_and_used():
    assert fastq_native.library() is not None
    fast = fastq_native.check_sample("S", R1, R2)
    assert fast is not None and fast == _python_check("S", R1, R2)
    assert fast.reads == 100 and fast.paired


@pytest.mark.parametrize("block", [5, 7, 64, 1000, 1 << 22])
@pytest.mark.parametrize("count_bases", [False, True])
def test_good_files_give_the_python_counts_at_any_block_size(tmp_path, block, count_bases):
    crlf = b"".join(line.rstrip(b"\n") + b"\r\n" for line in _lines(R1))
    (tmp_path / "crlf.fastq").write_bytes(crlf.rstrip(b"\r\n"))  # no final newline either
    lower = b"".join(line.lower() if i % 4 == 1 else line for i, line in enumerate(_lines(R2)))
    (tmp_path / "lower.fastq.gz").write_bytes(gzip.compress(lower))
    empty = tmp_path / "empty.fastq.gz"
    empty.write_bytes(gzip.compress(b""))
    for files in [(R1,), (R1, R2), (tmp_path / "crlf.fastq",), (tmp_path / "lower.fastq.gz",),
                  (R1, tmp_path / "lower.fastq.gz"), (empty,), (empty, empty)]:
        fast = fastq_native.check_sample("S", *files, count_bases=count_bases, block=block)
        assert fast is not None, files
        assert fast == _python_check("S", *files, count_bases=count_bases), files
    stats = fastq_native.check_sample("S", R1, count_bases=True, block=block)
    seqs = b"".join(_lines(R1)[1::4]).replace(b"\n", b"")
    quals = b"".join(_lines(R1)[3::4]).replace(b"\n", b"")
    assert stats.gc_bases == sum(seqs.count(c) for c in b"GCgc")
    assert stats.q30_bases == sum(q >= 63 for q in quals)


def _bad_variants(tmp_path: Path) -> dict[str, tuple[Path, ...]]:
    lines = _lines(R1)
    variants: dict[str, list[bytes]] = {}
    header = list(lines)
    header[40] = b"X" + header[40][1:]
    variants["header"] = header
    plus = list(lines)
    plus[42] = b"-\n"
    variants["plus"] = plus
    qual = list(lines)
    qual[43] = qual[43][:-3] + b"\n"
    variants["quality length"] = qual
    variants["cut record"] = lines[:-1]
    variants["blank line at the end"] = [*lines, b"\n"]
    crlf = list(lines)
    crlf[41] = crlf[41].rstrip(b"\n") + b"\r\r\n"  # two CRs: stripped as line ends by both
    crlf[43] = crlf[43].rstrip(b"\n") + b"\r\n"
    variants["carriage returns"] = crlf
    out = {}
    for name, body in variants.items():
        path = tmp_path / f"{name.replace(' ', '_')}.fastq"
        path.write_bytes(b"".join(body))
        out[name] = (path,)
    raw = gzip.compress(b"".join(lines), compresslevel=1)
    (tmp_path / "trunc.fastq.gz").write_bytes(raw[: len(raw) // 2])
    out["truncated gzip"] = (tmp_path / "trunc.fastq.gz",)
    bad_crc = bytearray(raw)
    bad_crc[-6] ^= 0xFF
    (tmp_path / "crc.fastq.gz").write_bytes(bytes(bad_crc))
    out["gzip CRC"] = (tmp_path / "crc.fastq.gz",)
    (tmp_path / "plain.fastq.gz").write_bytes(b"".join(lines))
    out["not gzip"] = (tmp_path / "plain.fastq.gz",)
    out["missing file"] = (tmp_path / "absent.fastq.gz",)
    records = [_lines(R2)[i:i + 4] for i in range(0, 400, 4)]
    records[70], records[71] = records[71], records[70]
    (tmp_path / "swap_R2.fastq").write_bytes(b"".join(b"".join(r) for r in records))
    out["mates swapped"] = (R1, tmp_path / "swap_R2.fastq")
    (tmp_path / "short_R2.fastq").write_bytes(b"".join(_lines(R2)[:-8]))
    out["mate file shorter"] = (R1, tmp_path / "short_R2.fastq")
    out["mate file longer"] = (tmp_path / "short_R2.fastq", R2)
    return out


@pytest.mark.parametrize("block", [7, 1 << 22])
def test_bad_files_are_declined_and_named_by_the_python_check(tmp_path, block):
    for name, files in _bad_variants(tmp_path).items():
        expected = _python_check("S", *files, batch_bytes=block)
        fast = fastq_native.check_sample("S", *files, block=block)
        if name == "carriage returns":  # not bad at all: both strip every CR ending a line
            assert isinstance(expected, type(fast)) and fast == expected, name
            continue
        assert isinstance(expected, FastqError), name
        assert fast is None, name
        with pytest.raises(FastqError) as raised:  # the scanner first, then the Python check
            check_sample("S", *files, batch_bytes=block)
        assert str(raised.value) == str(expected), name


_LINE = st.sampled_from([b"@r1", b"@r2/1", b"@r2/2 x", b"+", b"+r", b"ACGT", b"acgN", b"IIII",
                         b"II", b"", b"@", b"\r", b"AC\r\r", b"x"])


@settings(max_examples=400, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=st.lists(_LINE, max_size=24), final_newline=st.booleans(),
       block=st.integers(min_value=1, max_value=40))
def test_scanner_accepts_exactly_what_the_python_check_accepts(tmp_path, lines, final_newline,
                                                               block):
    path = tmp_path / "h.fastq"
    path.write_bytes(b"\n".join(lines) + (b"\n" if final_newline and lines else b""))
    expected = _python_check("S", path, count_bases=True)
    fast = fastq_native.check_sample("S", path, count_bases=True, block=block)
    if isinstance(expected, FastqError):
        assert fast is None
    else:
        assert fast == expected


def test_native_off_gives_the_same_check_record(tmp_path):
    """The CLI with SOILBIOME_NATIVE=0 (Python check, standard-library inflate) writes the
    same record as with the scanner and ISA-L."""
    outs = []
    for native in ("1", "0"):
        out = tmp_path / f"check{native}.json"
        subprocess.run([sys.executable, "-m", "soilbiome", "fastq-check", "--sample", "S",
                        "--out", str(out), str(R1), str(R2)], check=True,
                       env={**os.environ, "SOILBIOME_NATIVE": native})
        outs.append(out.read_bytes())
    assert outs[0] == outs[1]


def test_gunzip_pipe_gives_the_same_bytes_and_errors_with_either_inflater(tmp_path):
    """soilbiome.io.gunzip (Kraken2's pipes) inflates with ISA-L or, with SOILBIOME_NATIVE=0,
    the standard library: the same bytes, and the same one-line refusal of a truncated file."""
    raw = R1.read_bytes()
    (tmp_path / "trunc.fastq.gz").write_bytes(raw[: len(raw) // 2])
    runs = {}
    for native in ("1", "0"):
        env = {**os.environ, "SOILBIOME_NATIVE": native}
        good = subprocess.run([sys.executable, "-m", "soilbiome.io.gunzip", str(R1)],
                              capture_output=True, env=env)
        bad = subprocess.run([sys.executable, "-m", "soilbiome.io.gunzip",
                              str(tmp_path / "trunc.fastq.gz")], capture_output=True, env=env)
        runs[native] = (good.returncode, good.stdout, bad.returncode, bad.stderr)
    assert runs["1"] == runs["0"]
    assert runs["1"][1] == gzip.decompress(raw) and runs["1"][0] == 0
    assert runs["1"][2] == 1 and runs["1"][3].decode().count("\n") == 1
    assert b"cannot decompress" in runs["1"][3]


def _sketch(files, native: bool, count_bases: bool = False):
    """sylph's one checked pass over a sample (scanned in C, or by the Python check)."""
    from soilbiome.shotgun import sylph

    original = fastq_native.library
    if not native:
        fastq_native.library = lambda: None
    try:
        sketch, counts = sylph.sketch_reads("S", *files, count_bases=count_bases)
        return sketch.kmer_counts, counts
    except FastqError as exc:
        return str(exc)
    finally:
        fastq_native.library = original


def test_sylph_pass_scanned_in_c_gives_the_python_pass_sketch_and_counts(tmp_path):
    demo = ATACAMA.parents[1] / "shotgun" / "humann_demo.fastq.gz"
    for files in [(demo,), (R1, R2)]:
        fast = _sketch(files, native=True, count_bases=True)
        assert fast == _sketch(files, native=False, count_bases=True)
        assert fast[1].reads == (21000 if len(files) == 1 else 100) and fast[0]
    for name, files in _bad_variants(tmp_path).items():
        if name == "carriage returns":
            continue
        fast = _sketch(files, native=True)
        assert isinstance(fast, str), name  # the FastqError's message
        assert fast == _sketch(files, native=False), name
