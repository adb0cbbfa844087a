"""The FASTQ check's fast path: the C scanner (``_fastq_native.c``) over blocks of text.

:func:`check_sample` gives what :func:`soilbiome.io.fastq.check_sample` gives for a good
sample: the same counts, with the mates of a pair compared record by record by a 64-bit hash of
their read names. It never names a problem: at a malformed record, a corrupt or truncated gzip
stream, mates out of step or a file it cannot open, it returns None, and the Python check
(which calls it first) reads the sample again and says exactly what and where, as before. So
the two checks accept the same files and refuse them with the same messages; the C scan only
makes a good file cheaper: ``soilbiome fastq-check`` on two million 100 nt reads took 1.03 s
with it and ISA-L inflating, against 2.48 s for the Python check with zlib
(``SOILBIOME_NATIVE=0``; docs/shotgun.md "Benchmark").

sylph's sketching pass (:func:`soilbiome.shotgun.sylph.sketch_reads`) reads its records
through the same :class:`FileScan` and :class:`MateHashes`, taking the sequences from each
block's text; there :class:`Declined` is raised, and the Python check names the problem.

Without the compiled scanner (no C compiler at install) or with ``SOILBIOME_NATIVE=0``,
:func:`library` is None, :func:`check_sample` returns None at once and the Python check does
everything.
"""

from __future__ import annotations

import ctypes
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

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
                       ctypes.c_void_p, ctypes.POINTER(_Counts)], _I64),
}


class Declined(Exception):
    """The scan stopped: the Python check will say why."""


@cache
def library() -> ctypes.CDLL | None:
    """The compiled scanner, or None (not built, or ``SOILBIOME_NATIVE=0``)."""
    return load(Path(__file__).parent, "_fastq_native", _SIGNATURES)


class FileScan:
    """One file's whole records, a block at a time, and the running counts: reads, bases,
    and with ``count_bases`` Q30 and G/C bases; with ``qualities``, every quality letter
    counted in ``quality_letters`` (256 counters)."""

    def __init__(self, path: str | Path, lib: ctypes.CDLL, *, count_bases: bool = False,
                 hashes: bool = False, qualities: bool = False, block: int = BLOCK,
                 stream: BinaryIO | None = None) -> None:
        self.path, self.lib, self.block = Path(path), lib, block
        self.stream = stream  # plain FASTQ text read from it (a pipe) instead of the file
        self.count_bases, self.want_hashes = count_bases, hashes
        self.reads = self.bases = self.q30 = self.gc = 0
        self.quality_letters = None
        if qualities:
            import numpy as np

            self.quality_letters = np.zeros(256, dtype=np.int64)

    def blocks(self) -> Iterator[tuple[bytes, np.ndarray | None]]:
        """Yield each block's text of whole records and their read-name hashes (None when
        not asked for); raise Declined at anything the Python check would refuse."""
        from soilbiome.io.fastq import _source

        if self.want_hashes:
            import numpy as np

            room = np.empty(0, dtype=np.uint64)
        letters = self.quality_letters.ctypes.data if self.quality_letters is not None else None
        counts = _Counts()
        rest = b""
        try:
            if self.stream is None and not self.path.is_file():
                raise Declined
            with _source(self.path, self.stream) as handle:
                while True:
                    block = handle.read(self.block)
                    final = not block
                    data = rest + block if rest else block
                    cap = len(data) // 6 + 1  # a record takes at least six bytes
                    if self.want_hashes and room.size < cap:
                        room = np.empty(cap, dtype=np.uint64)
                    n = self.lib.sb_fastq_scan(
                        data, len(data), int(final), int(self.count_bases),
                        room.ctypes.data if self.want_hashes else None, cap, letters, counts)
                    if counts.bad:
                        raise Declined
                    self.reads += n
                    self.bases += counts.bases
                    self.q30 += counts.q30
                    self.gc += counts.gc
                    end = counts.consumed
                    yield (data if end == len(data) else data[:end],
                           room[:n].copy() if self.want_hashes else None)
                    rest = data[end:]
                    if final:
                        return
        except (FastqError, *INFLATE_ERRORS) as exc:  # the Python check names the problem
            raise Declined from exc


class MateHashes:
    """The read-name hashes of a pair's two files, compared record by record as blocks
    arrive from either side (the counterpart of :class:`soilbiome.io.fastq.MatePairs`);
    :meth:`add` and :meth:`end` raise Declined when they differ or one file ends first."""

    def __init__(self) -> None:
        import numpy as np

        self.pending = [np.empty(0, dtype=np.uint64), np.empty(0, dtype=np.uint64)]
        self.ended = [False, False]

    def add(self, side: int, hashes: np.ndarray) -> None:
        """The next block's hashes of side 0 (R1) or 1 (R2)."""
        import numpy as np

        self.pending[side] = np.concatenate([self.pending[side], hashes])
        self._compare()

    def end(self, side: int) -> None:
        """Side 0 or 1 has no more records."""
        self.ended[side] = True
        self._compare()

    def _compare(self) -> None:
        import numpy as np

        first, second = self.pending
        common = min(first.size, second.size)
        if common:
            if not np.array_equal(first[:common], second[:common]):
                raise Declined
            self.pending = [first[common:], second[common:]]
        for side in (0, 1):
            if self.ended[side] and not self.pending[side].size and self.pending[1 - side].size:
                raise Declined


def check_sample(sample: str, fastq_1: str | Path, fastq_2: str | Path | None = None, *,
                 count_bases: bool = False, block: int = BLOCK) -> FastqStats | None:
    """:func:`soilbiome.io.fastq.check_sample`'s counts for a good sample; None when the
    scanner is not built or stops at anything (the Python check then reads the sample)."""
    lib = library()
    if lib is None:
        return None
    from soilbiome.io.fastq import FastqStats, read_in_step

    paired = fastq_2 is not None
    files = [fastq_1, fastq_2] if paired else [fastq_1]
    scans = [FileScan(path, lib, count_bases=count_bases, hashes=paired, block=block)
             for path in files]
    try:
        if not paired:
            for _ in scans[0].blocks():
                pass
        else:
            mates = MateHashes()
            read_in_step((scans[0].blocks(), scans[1].blocks()), mates,
                         lambda side, block: mates.add(side, block[1]))
    except Declined:
        return None
    return FastqStats(
        sample, scans[0].reads, scans[0].bases, scans[1].bases if paired else 0, paired=paired,
        q30_bases=sum(s.q30 for s in scans) if count_bases else None,
        gc_bases=sum(s.gc for s in scans) if count_bases else None)
