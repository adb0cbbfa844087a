"""Streaming FASTQ integrity checks: structure, truncation, and mate consistency.

A check reads each file once and never loads a file into memory: :func:`iter_records` four
lines at a time (the start-up gate's look at the first reads), :func:`iter_batches` a block of
records at a time (the full check of a sample's reads). Every error names the file and the
1-based record number where the problem was found.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from itertools import repeat
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from soilbiome.errors import FastqError
from soilbiome.io.gunzip import INFLATE_ERRORS, MAGIC, lines_before_error, open_gzip

if TYPE_CHECKING:
    import numpy as np

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
    #: bases of Phred >= 30 and G/C bases, both mates (``check_sample(count_bases=True)``)
    q30_bases: int | None = None
    gc_bases: int | None = None

    def to_dict(self) -> dict:
        """Plain-dict form for JSON (the base counts only when counted)."""
        return {k: v for k, v in asdict(self).items()
                if v is not None or k not in ("q30_bases", "gc_bases")}


class BaseCounts:
    """Q30 and G/C bases of checked blocks (``iter_checked_blocks``), counted with numpy."""

    def __init__(self) -> None:
        self.q30 = self.gc = 0

    def add(self, seqs: list[bytes], qual_codes: np.ndarray) -> None:
        """One block: its sequences and its quality strings joined as bytes (``uint8``), the
        array a reader that also needs the qualities has made already."""
        import numpy as np

        self.q30 += int(np.count_nonzero(qual_codes >= 33 + 30))
        per_letter = np.bincount(np.frombuffer(b"".join(seqs), dtype=np.uint8), minlength=256)
        self.gc += int(per_letter[list(b"GCgc")].sum())


def _open(path: Path, *, lines: bool = True) -> io.BufferedIOBase:
    """The file for reading, inflated when it is gzip. ``lines``: buffered for ``readline``;
    without, for reading large blocks (a buffer around the inflater would double its cost)."""
    with path.open("rb") as probe:
        magic = probe.read(2)
    if magic == MAGIC:
        handle = open_gzip(path)
        return io.BufferedReader(handle, buffer_size=_BUFFER) if lines else handle  # type: ignore[arg-type]
    if path.suffix == ".gz" and magic:
        raise FastqError("named .gz but is not gzip-compressed", location=str(path))
    return path.open("rb", buffering=_BUFFER)


def _source(path: Path, stream: BinaryIO | None) -> contextlib.AbstractContextManager:
    """What a block reader reads: ``stream`` (plain FASTQ text, a pipe) when given, else the
    file at ``path`` (inflated when gzip), opened for large blocks."""
    return _open(path, lines=False) if stream is None else contextlib.nullcontext(stream)


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
    except INFLATE_ERRORS as exc:
        raise _inflate_error(path, exc) from exc


def _inflate_error(path: Path, exc: BaseException, records: int | None = None) -> FastqError:
    """The error for a gzip file that cannot be inflated to its end, naming the last whole
    record it holds: ``records`` when known, else counted again from the start of the file
    (a large read that fails returns none of the text it had inflated)."""
    if records is None:
        records = lines_before_error(path) // 4
    return FastqError(f"corrupt or truncated gzip stream after record {records} ({exc})",
                      location=str(path))


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


def iter_checked_blocks(path: str | Path, batch_bytes: int = _BATCH, *,
                        stream: BinaryIO | None = None,
                        ) -> Iterator[tuple[list[bytes], list[bytes], list[bytes], list[int]]]:
    """Yield ``(header lines, sequences, quality strings, sequence lengths)`` of checked
    records, a block at a time (the checks of :func:`iter_batches`): for a reader that needs
    the read names too (mates checked with :class:`MatePairs`). With ``stream``, plain FASTQ
    text read from it (a pipe; ``path`` names it in messages) instead of the file."""
    return _checked_blocks(path, batch_bytes, stream)


def _checked_blocks(path: str | Path, batch_bytes: int, stream: BinaryIO | None = None,
                    ) -> Iterator[tuple[list[bytes], list[bytes], list[bytes], list[int]]]:
    path = Path(path)
    if stream is None and not path.is_file():
        raise FastqError("file not found", location=str(path))
    handle = _source(path, stream)
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
    except INFLATE_ERRORS as exc:
        raise _inflate_error(path, exc, None if stream is None else done) from exc


class MatePairs:
    """The read names of a pair's two files, compared record by record as blocks arrive.

    Each side's reader hands over the header lines of every block it read (:meth:`add`) and
    says when its file has ended (:meth:`end`); the names are compared as soon as both sides
    hold them, so the two files may be read at different paces (the FASTQ check, or a sketcher
    pulling reads from both mates) and only the names one side is ahead by are kept.

    Raises
    ------
    FastqError
        From :meth:`add` or :meth:`end`: read names that differ (naming the record and both
        files), or one file ending before the other.
    """

    def __init__(self, sample: str, fastq_1: str | Path, fastq_2: str | Path) -> None:
        self.sample, self.files = sample, (fastq_1, fastq_2)
        self.pending: tuple[list[bytes], list[bytes]] = ([], [])
        self.ended = [False, False]
        self.reads = 0

    def add(self, side: int, headers: list[bytes]) -> None:
        """Names of the next block of records of side 0 (R1) or 1 (R2)."""
        self.pending[side].extend(_read_names(headers))
        self._compare()

    def end(self, side: int) -> None:
        """Side 0 (R1) or 1 (R2) has no more records."""
        self.ended[side] = True
        self._compare()

    def _compare(self) -> None:
        names_1, names_2 = self.pending
        common = min(len(names_1), len(names_2))
        if common:
            if names_1[:common] != names_2[:common]:
                i = next(k for k in range(common) if names_1[k] != names_2[k])
                raise FastqError(
                    f"mismatched pairs at record {self.reads + i + 1}: read names "
                    f"'{names_1[i].decode(errors='replace')}' ({self.files[0]}) and "
                    f"'{names_2[i].decode(errors='replace')}' ({self.files[1]}) differ",
                    location=f"sample '{self.sample}'",
                )
            self.reads += common
            del names_1[:common], names_2[:common]
        for side in (0, 1):
            if self.ended[side] and not self.pending[side] and self.pending[1 - side]:
                raise FastqError(
                    f"mismatched pairs: {self.files[side]} ends after {self.reads} records but "
                    f"{self.files[1 - side]} has more",
                    location=f"sample '{self.sample}'",
                )


def check_sample(sample: str, fastq_1: str | Path, fastq_2: str | Path | None = None, *,
                 batch_bytes: int = _BATCH, count_bases: bool = False) -> FastqStats:
    """Check one sample's reads and count them; for pairs, mates must agree record by record.

    Parameters
    ----------
    sample : str
        Sample ID, used in messages.
    fastq_1, fastq_2 : path
        Forward and (optional) reverse reads.
    batch_bytes : int
        Bytes of text checked at a time (:func:`iter_batches`).
    count_bases : bool
        Also count bases of Phred >= 30 and G/C bases (the QC record of reads used as
        sequenced, without fastp).

    Returns
    -------
    FastqStats
    """
    from soilbiome.io import fastq_native

    # a good sample is counted by the C scanner; anything else is read again here, which
    # names the problem (fastq_native)
    fast = fastq_native.check_sample(sample, fastq_1, fastq_2, count_bases=count_bases,
                                     block=batch_bytes)
    if fast is not None:
        return fast
    counts = BaseCounts() if count_bases else None

    def blocks(path: str | Path) -> Iterator[tuple[list[bytes], list[int]]]:
        if counts is None:
            yield from iter_batches(path, batch_bytes)
            return
        import numpy as np

        for headers, seqs, quals, lengths in iter_checked_blocks(path, batch_bytes):
            counts.add(seqs, np.frombuffer(b"".join(quals), dtype=np.uint8))
            yield headers, lengths

    def stats(reads: int, bases_1: int, bases_2: int, paired: bool) -> FastqStats:
        return FastqStats(sample, reads, bases_1, bases_2, paired,
                          q30_bases=counts.q30 if counts else None,
                          gc_bases=counts.gc if counts else None)

    if fastq_2 is None:
        reads = bases = 0
        for names, lengths in blocks(fastq_1):
            reads += len(names)
            bases += sum(lengths)
        return stats(reads, bases, 0, paired=False)

    pairs = MatePairs(sample, fastq_1, fastq_2)
    bases = [0, 0]

    def take(side: int, batch: tuple[list[bytes], list[int]]) -> None:
        pairs.add(side, batch[0])
        bases[side] += sum(batch[1])

    read_in_step((blocks(fastq_1), blocks(fastq_2)), pairs, take)
    return stats(pairs.reads, bases[0], bases[1], paired=True)


def read_in_step(readers: tuple[Iterator, Iterator], mates: MatePairs, take: Callable) -> None:
    """Read a pair's two files block by block, the side that is behind first, until both have
    ended: each block goes to ``take(side, block)``, which hands its names to ``mates`` (a
    :class:`MatePairs`, or anything with its ``pending``, ``ended`` and :meth:`~MatePairs.end`:
    :class:`soilbiome.io.fastq_native.MateHashes`)."""
    while not all(mates.ended):
        for side in (0, 1):
            if mates.ended[side] or (len(mates.pending[side]) and not mates.ended[1 - side]):
                continue
            block = next(readers[side], None)
            if block is None:
                mates.end(side)
            else:
                take(side, block)
