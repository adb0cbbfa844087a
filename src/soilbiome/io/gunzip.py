"""A gzip file decompressed to standard output, for a program reading it through a pipe.

Kraken2's ``kraken2`` wrapper reads compressed reads through ``gzip -dc`` pipes. GNU gzip
inflates at about half the speed of zlib driven with large buffers (one sample of a million
100 bp reads, 49 MB compressed: ``gzip -dc`` 1.18 s, this 0.5 s; docs/shotgun.md "Runs of
2026-12-04"), and in the shotgun pipeline that CPU time is taken from Kraken2's own threads.
:func:`soilbiome.shotgun.streamed.run_streamed` starts one of these per compressed file and
hands Kraken2's classifier the pipes, as the wrapper does with gzip's.

:func:`is_gzip` is how soilbiome's readers tell a gzip file from a plain one: by its magic
number, as gzip and Kraken2's wrapper do, not by its name.

:func:`open_gzip` is every soilbiome reader's way into a compressed FASTQ file: it inflates
with ISA-L (PyPI ``isal``, the library fastp links) where it is installed, 2.3 times faster than
the standard library's zlib (one sample of two million 100 nt reads: 0.66 against 1.54
CPU-seconds); the bytes, and the errors on a corrupt or truncated file, are the same.
``SOILBIOME_NATIVE=0`` uses the standard library's reader.

Run as ``python -m soilbiome.io.gunzip FILE``. It imports nothing else of soilbiome, so that it
starts in milliseconds. A corrupt or truncated file ends it with exit status 1 and one line on
standard error; the FASTQ check reading the same file beside it names the record.
"""

from __future__ import annotations

import gzip
import os
import sys
import zlib

try:  # ISA-L's inflate: installed with soilbiome; without it readers use zlib
    from isal import igzip as _igzip
    from isal import isal_zlib as _isal_zlib
except ImportError:  # pragma: no cover - isal is installed with soilbiome
    _igzip = _isal_zlib = None

#: What inflating a corrupt or truncated gzip file raises, with either reader.
INFLATE_ERRORS: tuple[type[BaseException], ...] = (
    (EOFError, OSError, zlib.error) + ((_isal_zlib.error,) if _isal_zlib else ()))

#: Bytes read and written at a time: large reads are what make zlib fast here.
CHUNK = 1 << 20
#: The first two bytes of every gzip member (RFC 1952).
MAGIC = b"\x1f\x8b"


def is_gzip(path: str | os.PathLike) -> bool:
    """Whether the file starts with gzip's magic number (OSError when it cannot be read)."""
    with open(path, "rb") as probe:
        return probe.read(2) == MAGIC


def open_gzip(path: str | os.PathLike) -> gzip.GzipFile:
    """A gzip file opened for reading (all members): ISA-L's reader when it is installed and
    ``SOILBIOME_NATIVE`` is not ``0``, else the standard library's."""
    if _igzip is not None and os.environ.get("SOILBIOME_NATIVE", "1") != "0":
        return _igzip.open(path, "rb")
    return gzip.open(path, "rb")


def lines_before_error(path: str | os.PathLike) -> int:
    """The whole lines of text a corrupt or truncated gzip file gives (all members) before
    inflating it fails: what a reader's message counts records with, since a large read that
    fails hands back none of the text it had inflated. Inflated again from the start, in
    pieces, with zlib (the error path only)."""
    lines = 0
    inflater = zlib.decompressobj(31)  # gzip framing
    try:
        with open(path, "rb") as raw:
            while chunk := raw.read(1 << 16):  # small pieces: a failing one loses little
                while chunk:
                    lines += inflater.decompress(chunk).count(b"\n")
                    chunk = b""
                    if inflater.eof:  # the member ended; what follows is the next one
                        chunk = inflater.unused_data
                        inflater = zlib.decompressobj(31)
    except (OSError, zlib.error):
        pass  # where inflating (or reading) stops
    return lines


def decompress(path: str, fd: int) -> None:
    """Write the decompressed content of ``path`` (all gzip members) to file descriptor ``fd``."""
    with open_gzip(path) as handle:
        while chunk := handle.read(CHUNK):
            view = memoryview(chunk)
            while view:
                view = view[os.write(fd, view):]


def main(argv: list[str] | None = None) -> int:
    """Decompress the one file named in ``argv`` to standard output; exit status 0 or 1."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m soilbiome.io.gunzip FILE", file=sys.stderr)
        return 2
    try:
        decompress(args[0], sys.stdout.fileno())
    except BrokenPipeError:
        # the reader went away: its own exit status says why
        return 1
    except INFLATE_ERRORS as exc:
        print(f"{args[0]}: cannot decompress ({exc})", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
