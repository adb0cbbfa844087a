"""FASTA files (plain or gzip): the one reader of them.

:func:`fasta_sequences` reads a lab's own genomes (one genome or MAG per file): sketched into
a sylph database (:mod:`soilbiome.shotgun.sylph`) and added to a Kraken2 database's library
(:mod:`soilbiome.refdb.build_kraken2`). :func:`check_reference_fasta` reads a reference of
sequences and their taxonomy (SINTAX, DADA2 training set, a host genome) once, to its end,
before a database sheet lists it (``refdb add``, ``refdb fetch``).
"""

from __future__ import annotations

import gzip
import io
from pathlib import Path

from soilbiome.errors import InputError
from soilbiome.io.gunzip import INFLATE_ERRORS, is_gzip, open_gzip

#: What a reference's headers carry, by sheet format: SINTAX's ``;tax=d:...,p:...`` is
#: required in a SINTAX file and refused in a DADA2 training set (its headers are the lineage).
_SINTAX = b";tax="


def _open_text(path: Path) -> io.TextIOBase:
    if is_gzip(path):
        return gzip.open(path, "rt", encoding="ascii")
    return path.open(encoding="ascii")


def fasta_sequences(path: str | Path, headers: list[str] | None = None) -> list[bytes]:
    """Contigs of a (gzipped) FASTA file, checked: a header first, no empty file; their header
    lines (without ``>``) are appended to ``headers`` when it is given.

    Raises
    ------
    InputError
        Naming the file (and line): not FASTA, no sequence, unreadable.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError("genome file not found", location=str(path))
    contigs: list[bytes] = []
    current: list[str] | None = None
    try:
        with _open_text(path) as handle:
            for number, line in enumerate(handle, start=1):
                line = line.strip()
                if not line:
                    continue
                if line.startswith(">"):
                    if current:
                        contigs.append("".join(current).encode())
                    current = []
                    if headers is not None:
                        headers.append(line[1:].strip())
                elif current is None:
                    raise InputError(f"line {number}: not FASTA (no '>' header before the "
                                     "sequence)", location=str(path))
                else:
                    current.append(line)
    except (UnicodeDecodeError, OSError, EOFError) as exc:
        raise InputError(f"not a readable FASTA file ({exc})", location=str(path)) from None
    if current:
        contigs.append("".join(current).encode())
    if not contigs:
        raise InputError("no sequence in the genome file", location=str(path))
    return contigs


def check_reference_fasta(path: str | Path, fmt: str) -> int:
    """Read a reference FASTA (``sintax``, ``dada2`` or ``host_fasta``) to its end, checked:
    a whole gzip stream, a header first, a sequence in every record, and SINTAX headers
    (``;tax=``) exactly where ``fmt`` wants them. Returns the number of sequences.

    Raises
    ------
    InputError
        Naming the file and line: truncated or corrupt, not FASTA, empty, a record without a
        sequence, headers of the other format.
    """
    path = Path(path)
    records = 0
    number = 0
    open_record: int | None = None  # the line of a header whose sequence has not come yet
    try:
        with (open_gzip(path) if is_gzip(path) else path.open("rb")) as raw:
            for number, line in enumerate(raw, start=1):
                if line.startswith(b">"):
                    if open_record is not None:
                        raise InputError(f"line {open_record}: a header without a sequence",
                                         location=str(path))
                    _check_header(path, number, line, fmt)
                    open_record = number
                    records += 1
                elif line.strip():
                    if not records:
                        raise InputError(f"line {number}: not FASTA (no '>' header before "
                                         "the sequence)", location=str(path))
                    open_record = None
    except INFLATE_ERRORS as exc:
        raise InputError(f"corrupt or truncated gzip stream after line {number} ({exc})",
                         location=str(path)) from None
    if open_record is not None:
        raise InputError(f"line {open_record}: a header without a sequence (the file ends)",
                         location=str(path))
    if not records:
        raise InputError("no sequence in the reference file", location=str(path))
    return records


def _check_header(path: Path, number: int, line: bytes, fmt: str) -> None:
    sintax = _SINTAX in line
    shown = line[:80].decode("ascii", errors="replace").rstrip()
    if fmt == "sintax" and not sintax:
        raise InputError(f"line {number}: a SINTAX reference's header names its lineage after "
                         f"';tax=' (d:...,p:...,g:...): {shown}", location=str(path))
    if fmt == "dada2" and sintax:
        raise InputError(f"line {number}: a SINTAX header (';tax=') in a DADA2 training set; "
                         f"is it --format sintax? {shown}", location=str(path))
