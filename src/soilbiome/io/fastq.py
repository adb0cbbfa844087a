"""Streaming FASTQ integrity checks: structure, truncation, and mate consistency.

A check reads each file once, four lines at a time, and never loads a file into memory. Every
error names the file and the 1-based record number where the problem was found.
"""

from __future__ import annotations

import gzip
import io
import zlib
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from soilbiome.errors import FastqError

_BUFFER = 1 << 20


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


def _read_name(header: bytes) -> bytes:
    name = header[1:].split(maxsplit=1)[0] if len(header) > 1 else b""
    if name.endswith((b"/1", b"/2")):
        name = name[:-2]
    return name


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
                where = f"{path}: record {number}"
                if not header.startswith(b"@"):
                    raise FastqError(f"header does not start with '@': {header[:40]!r}",
                                     location=where)
                if not qual:
                    raise FastqError("file ends inside a record (truncated?)", location=where)
                if not plus.startswith(b"+"):
                    raise FastqError("third line does not start with '+'", location=where)
                seq, qual = seq.rstrip(b"\r\n"), qual.rstrip(b"\r\n")
                if len(seq) != len(qual):
                    raise FastqError(
                        f"sequence length {len(seq)} != quality length {len(qual)}",
                        location=where,
                    )
                yield number, _read_name(header.rstrip(b"\r\n")), len(seq)
    except (EOFError, gzip.BadGzipFile, zlib.error, OSError) as exc:
        raise FastqError(
            f"corrupt or truncated gzip stream after record {number} ({exc})",
            location=str(path),
        ) from exc


def check_sample(sample: str, fastq_1: str | Path, fastq_2: str | Path | None = None) -> FastqStats:
    """Check one sample's reads and count them; for pairs, mates must agree record by record.

    Parameters
    ----------
    sample : str
        Sample ID, used in messages.
    fastq_1, fastq_2 : path
        Forward and (optional) reverse reads.

    Returns
    -------
    FastqStats
    """
    if fastq_2 is None:
        reads = bases = 0
        for number, _name, length in iter_records(fastq_1):
            reads = number
            bases += length
        return FastqStats(sample, reads, bases, 0, paired=False)

    forward, reverse = iter_records(fastq_1), iter_records(fastq_2)
    reads = bases_1 = bases_2 = 0
    while True:
        rec_1 = next(forward, None)
        rec_2 = next(reverse, None)
        if rec_1 is None and rec_2 is None:
            return FastqStats(sample, reads, bases_1, bases_2, paired=True)
        if rec_1 is None or rec_2 is None:
            short, long_ = (fastq_1, fastq_2) if rec_1 is None else (fastq_2, fastq_1)
            raise FastqError(
                f"mismatched pairs: {short} ends after {reads} records but {long_} has more",
                location=f"sample '{sample}'",
            )
        reads += 1
        if rec_1[1] != rec_2[1]:
            raise FastqError(
                f"mismatched pairs at record {reads}: read names "
                f"'{rec_1[1].decode(errors='replace')}' ({fastq_1}) and "
                f"'{rec_2[1].decode(errors='replace')}' ({fastq_2}) differ",
                location=f"sample '{sample}'",
            )
        bases_1 += rec_1[2]
        bases_2 += rec_2[2]
