"""Streaming FASTQ integrity checks: structure, truncation, and mate consistency.

A check reads each file once and never loads a file into memory: :func:`iter_records` four
lines at a time (the start-up gate's look at the first reads), :func:`iter_batches` a block of
records at a time (the full check of a sample's reads). Every error names the file and the
1-based record number where the problem was found.
"""

from __future__ import annotations

import gzip
import io
import zlib
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from itertools import repeat
from pathlib import Path

from soilbiome.errors import FastqError

_BUFFER = 1 << 20
_BATCH = 1 << 22  # bytes of text checked at a time by iter_batches


@dataclass(frozen=True)
class FastqStats:
    """Counts for one sample's reads (pairs are counted once)."""

    sample: str
    reads: int
    bases_r1: int
    bases_r2: int
    paired: bool

    def to_dict(self) -> dict:
        """Plain-dict form for JSON."""
        return asdict(self)


def _open(path: Path) -> io.BufferedReader:
    with path.open("rb") as probe:
        magic = probe.read(2)
    if magic == b"\x1f\x8b":
        return io.BufferedReader(gzip.GzipFile(path, "rb"), buffer_size=_BUFFER)  # type: ignore[arg-type]
    if path.suffix == ".gz" and magic:
        raise FastqError("named .gz but is not gzip-compressed", location=str(path))
    return path.open("rb", buffering=_BUFFER)


def _read_names(headers: list[bytes]) -> list[bytes]:
    """Read names of header lines: the first word after ``@``, without a ``/1`` or ``/2``."""
    names = [(h[1:].split(None, 1) or [b""])[0] for h in headers]
    if any(n.endswith((b"/1", b"/2")) for n in names):
        names = [n[:-2] if n.endswith((b"/1", b"/2")) else n for n in names]
    return names


def _check_record(path: Path, number: int, header: bytes, seq: bytes, plus: bytes,
                  qual: bytes | None) -> None:
    """Raise for the first problem of one record (``qual`` None: the file ended before it);
    ``seq`` and ``qual`` without their line ends."""
    where = f"{path}: record {number}"
    if not header.startswith(b"@"):
        raise FastqError(f"header does not start with '@': {header[:40]!r}", location=where)
    if qual is None:
        raise FastqError("file ends inside a record (truncated?)", location=where)
    if not plus.startswith(b"+"):
        raise FastqError("third line does not start with '+'", location=where)
    if len(seq) != len(qual):
        raise FastqError(f"sequence length {len(seq)} != quality length {len(qual)}",
                         location=where)


def iter_records(path: str | Path) -> Iterator[tuple[int, bytes, int]]:
    """Yield ``(record_number, read_name, sequence_length)`` for each record, checking structure.

    Raises
    ------
    FastqError
        On a truncated or corrupt gzip stream, a malformed record, or a sequence/quality length
        mismatch; the message names the file and the record.
    """
    path = Path(path)
    if not path.is_file():
        raise FastqError("file not found", location=str(path))
    handle = _open(path)
    number = 0
    try:
        with handle:
            while True:
                header = handle.readline()
                if not header:
                    return
                number += 1
                seq = handle.readline()
                plus = handle.readline()
                qual = handle.readline()
                seq = seq.rstrip(b"\r\n")
                _check_record(path, number, header, seq, plus,
                              qual.rstrip(b"\r\n") if qual else None)
                yield number, _read_names([header.rstrip(b"\r\n")])[0], len(seq)
    except (EOFError, gzip.BadGzipFile, zlib.error, OSError) as exc:
        raise FastqError(
            f"corrupt or truncated gzip stream after record {number} ({exc})",
            location=str(path),
        ) from exc


def _record_problem(path: Path, lines: list[bytes], first: int) -> None:
    """Find and raise the first bad record among ``lines`` (slow, exact); the last record may
    be incomplete."""
    for k in range(0, len(lines), 4):
        header, seq, plus, qual = (lines[k:k + 4] + [None, None, None])[:4]
        _check_record(path, first + k // 4 + 1, header, seq, plus, qual)


def iter_batches(path: str | Path, batch_bytes: int = _BATCH
                 ) -> Iterator[tuple[list[bytes], list[int]]]:
    """Yield ``(header lines, sequence lengths)`` of checked records, a block at a time.

    The same checks as :func:`iter_records` (and the same messages, with the record number),
    made on whole blocks of records with list operations instead of one record at a time: the
    fast path for checking every read of a sample.
    """
    for headers, _seqs, _quals, lengths in _checked_blocks(path, batch_bytes):
        yield headers, lengths


def iter_sequence_blocks(path: str | Path, batch_bytes: int = _BATCH
                         ) -> Iterator[tuple[list[bytes], list[bytes]]]:
    """Yield ``(sequences, quality strings)`` of checked records, a block at a time, in one
    pass (the same checks as :func:`iter_batches`)."""
    for _headers, seqs, quals, _lengths in _checked_blocks(path, batch_bytes):
        yield seqs, quals


def _checked_blocks(path: str | Path, batch_bytes: int
                    ) -> Iterator[tuple[list[bytes], list[bytes], list[bytes], list[int]]]:
    path = Path(path)
    if not path.is_file():
        raise FastqError("file not found", location=str(path))
    handle = _open(path)
    done = 0
    rest = b""
    try:
        with handle:
            while True:
                block = handle.read(batch_bytes)
                data = rest + block
                lines = data.split(b"\n")
                rest = lines.pop()  # an unfinished last line (b"" after a final newline)
                if not block and rest:  # end of file without a final newline
                    lines.append(rest)
                    rest = b""
                if b"\r" in data:  # CRLF line ends
                    lines = [line.rstrip(b"\r") for line in lines]
                whole = len(lines) - len(lines) % 4
                if not block and whole < len(lines):  # end of file inside a record
                    _record_problem(path, lines, done)
                if whole < len(lines):
                    rest = b"\n".join([*lines[whole:], rest])
                    del lines[whole:]
                if lines:
                    headers, seqs, pluses, quals = (lines[0::4], lines[1::4], lines[2::4],
                                                    lines[3::4])
                    lengths = list(map(len, seqs))
                    if not (all(map(bytes.startswith, headers, repeat(b"@")))
                            and all(map(bytes.startswith, pluses, repeat(b"+")))
                            and lengths == list(map(len, quals))):
                        _record_problem(path, lines, done)
                    yield headers, seqs, quals, lengths
                    done += len(headers)
                if not block:
                    return
    except (EOFError, gzip.BadGzipFile, zlib.error, OSError) as exc:
        raise FastqError(
            f"corrupt or truncated gzip stream after record {done} ({exc})",
            location=str(path),
        ) from exc


def check_sample(sample: str, fastq_1: str | Path, fastq_2: str | Path | None = None, *,
                 batch_bytes: int = _BATCH) -> FastqStats:
    """Check one sample's reads and count them; for pairs, mates must agree record by record.

    Parameters
    ----------
    sample : str
        Sample ID, used in messages.
    fastq_1, fastq_2 : path
        Forward and (optional) reverse reads.
    batch_bytes : int
        Bytes of text checked at a time (:func:`iter_batches`).

    Returns
    -------
    FastqStats
    """
    if fastq_2 is None:
        reads = bases = 0
        for names, lengths in iter_batches(fastq_1, batch_bytes):
            reads += len(names)
            bases += sum(lengths)
        return FastqStats(sample, reads, bases, 0, paired=False)

    forward, reverse = iter_batches(fastq_1, batch_bytes), iter_batches(fastq_2, batch_bytes)
    names_1: list[bytes] = []
    names_2: list[bytes] = []
    ended_1 = ended_2 = False
    reads = bases_1 = bases_2 = 0
    while True:
        if not names_1 and not ended_1:
            batch = next(forward, None)
            ended_1 = batch is None
            if batch:
                names_1, bases_1 = _read_names(batch[0]), bases_1 + sum(batch[1])
        if not names_2 and not ended_2:
            batch = next(reverse, None)
            ended_2 = batch is None
            if batch:
                names_2, bases_2 = _read_names(batch[0]), bases_2 + sum(batch[1])
        common = min(len(names_1), len(names_2))
        if common:
            if names_1[:common] != names_2[:common]:
                i = next(k for k in range(common) if names_1[k] != names_2[k])
                raise FastqError(
                    f"mismatched pairs at record {reads + i + 1}: read names "
                    f"'{names_1[i].decode(errors='replace')}' ({fastq_1}) and "
                    f"'{names_2[i].decode(errors='replace')}' ({fastq_2}) differ",
                    location=f"sample '{sample}'",
                )
            reads += common
            del names_1[:common], names_2[:common]
            continue
        if ended_1 and ended_2 and not names_1 and not names_2:
            return FastqStats(sample, reads, bases_1, bases_2, paired=True)
        if (ended_1 and not names_1) or (ended_2 and not names_2):
            short, long_ = (fastq_1, fastq_2) if ended_1 and not names_1 else (fastq_2, fastq_1)
            raise FastqError(
                f"mismatched pairs: {short} ends after {reads} records but {long_} has more",
                location=f"sample '{sample}'",
            )
