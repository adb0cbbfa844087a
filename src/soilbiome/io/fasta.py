"""Genome FASTA files (one genome or MAG per file, plain or gzip): the one reader of them.

Used where a lab's own genomes are read: sketched into a sylph database
(:mod:`soilbiome.shotgun.sylph`) and added to a Kraken2 database's library
(:mod:`soilbiome.refdb.build_kraken2`).
"""

from __future__ import annotations

import gzip
import io
from pathlib import Path

from soilbiome.errors import InputError
from soilbiome.io.gunzip import is_gzip


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
