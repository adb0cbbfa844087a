"""The FASTQ check's fast path: the C scanner (``_fastq_native.c``) over blocks of text.

:func:`check_sample` gives what :func:`soilbiome.io.fastq.check_sample` gives for a good
sample: the same counts, with the mates of a pair compared record by record by a 64-bit hash of
their read names. It never names a problem: at a malformed record, a corrupt or truncated gzip
stream, mates out of step or a file it cannot open, it returns None, and the Python check
(which calls it first) reads the sample again and says exactly what and where, as before. So
the two checks accept the same files and refuse them with the same messages; the C scan only
makes a good file cheaper: on two million 100 nt reads, 0.9 CPU-seconds against 2.5 for the
Python scan (ISA-L inflating in both; docs/shotgun.md "Benchmark").

Without the compiled scanner (no C compiler at install) or with ``SOILBIOME_NATIVE=0``, it
returns None at once and the Python check does everything.
"""

from __future__ import annotations

import ctypes
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from soilbiome.clib import load
from soilbiome.errors import FastqError
from soilbiome.io.gunzip import INFLATE_ERRORS

if TYPE_CHECKING:
    import numpy as np

    from soilbiome.io.fastq import FastqStats

_I64 = ctypes.c_int64
#: Bytes of text scanned at a time.
BLOCK = 1 << 22


class _Counts(ctypes.Structure):
    _fields_ = [("records", _I64), ("consumed", _I64), ("bases", _I64), ("q30", _I64),
                ("gc", _I64), ("bad", ctypes.c_int32)]


_SIGNATURES: dict[str, tuple[list, object]] = {
    "sb_fastq_scan": ([ctypes.c_char_p, _I64, ctypes.c_int, ctypes.c_int, ctypes.c_void_p, _I64,
                       ctypes.POINTER(_Counts)], _I64),
}


class _Declined(Exception):
    """The scan stopped: the Python check will say why."""


@cache
def library() -> ctypes.CDLL | None:
    """The compiled scanner, or None (not built, or ``SOILBIOME_NATIVE=0``)."""
    return load(Path(__file__).parent, "_fastq_native", _SIGNATURES)


class _FileScan:
    """One file's whole records, a block at a time: their name hashes (``hashes``) and the
    running counts."""

    def __init__(self, path: str | Path, lib: ctypes.CDLL, *, count_bases: bool,
                 hashes: bool, block: int) -> None:
        self.path, self.lib, self.block = Path(path), lib, block
        self.count_bases, self.want_hashes = count_bases, hashes
        self.reads = self.bases = self.q30 = self.gc = 0

    def blocks(self) -> Iterator[np.ndarray | None]:
        """Yield each block's read-name hashes (None when not asked for); raise _Declined."""
        from soilbiome.io.fastq import _open

        if self.want_hashes:
            import numpy as np

            room = np.empty(0, dtype=np.uint64)
        counts = _Counts()
        rest = b""
        try:
            if not self.path.is_file():
                raise _Declined
            with _open(self.path, lines=False) as handle:
                while True:
                    block = handle.read(self.block)
                    final = not block
                    data = rest + block if rest else block
                    cap = len(data) // 6 + 1  # a record takes at least six bytes
                    if self.want_hashes and room.size < cap:
                        room = np.empty(cap, dtype=np.uint64)
                    n = self.lib.sb_fastq_scan(
                        data, len(data), int(final), int(self.count_bases),
                        room.ctypes.data if self.want_hashes else None, cap, counts)
                    if counts.bad:
                        raise _Declined
                    self.reads += n
                    self.bases += counts.bases
                    self.q30 += counts.q30
                    self.gc += counts.gc
                    yield room[:n].copy() if self.want_hashes else None
                    rest = data[counts.consumed:]
                    if final:
                        return
        except (FastqError, *INFLATE_ERRORS) as exc:  # the Python check names the problem
            raise _Declined from exc


def check_sample(sample: str, fastq_1: str | Path, fastq_2: str | Path | None = None, *,
                 count_bases: bool = False, block: int = BLOCK) -> FastqStats | None:
    """:func:`soilbiome.io.fastq.check_sample`'s counts for a good sample; None when the
    scanner is not built or stops at anything (the Python check then reads the sample)."""
    lib = library()
    if lib is None:
        return None
    from soilbiome.io.fastq import FastqStats

    try:
        if fastq_2 is None:
            scan = _FileScan(fastq_1, lib, count_bases=count_bases, hashes=False, block=block)
            for _ in scan.blocks():
                pass
            scans = [scan]
        else:
            scans = [_FileScan(path, lib, count_bases=count_bases, hashes=True, block=block)
                     for path in (fastq_1, fastq_2)]
            _compare_mates(scans)
    except _Declined:
        return None
    return FastqStats(
        sample, scans[0].reads, scans[0].bases, scans[1].bases if fastq_2 is not None else 0,
        paired=fastq_2 is not None,
        q30_bases=sum(s.q30 for s in scans) if count_bases else None,
        gc_bases=sum(s.gc for s in scans) if count_bases else None)


def _compare_mates(scans: list[_FileScan]) -> None:
    """Read both files, the side that is behind first, comparing the name hashes record by
    record; raise _Declined when they differ or one file ends first."""
    import numpy as np

    readers = [scan.blocks() for scan in scans]
    pending = [np.empty(0, dtype=np.uint64), np.empty(0, dtype=np.uint64)]
    ended = [False, False]
    while not all(ended):
        for side in (0, 1):
            if ended[side] or (pending[side].size and not ended[1 - side]):
                continue
            hashes = next(readers[side], None)
            if hashes is None:
                ended[side] = True
            else:
                pending[side] = np.concatenate([pending[side], hashes])
            common = min(pending[0].size, pending[1].size)
            if common:
                if not np.array_equal(pending[0][:common], pending[1][:common]):
                    raise _Declined
                pending = [pending[0][common:], pending[1][common:]]
            if any(ended[s] and not pending[s].size and pending[1 - s].size for s in (0, 1)):
                raise _Declined
