"""Streaming file digests: a file is read in fixed-size chunks, never whole."""

from __future__ import annotations

import hashlib
from pathlib import Path

CHUNK = 8 << 20  # 8 MiB: measured fastest in bench/bench_stamp.py


def sha256_file(path: str | Path, chunk: int = CHUNK) -> str:
    """Hex SHA-256 of a file, reading ``chunk`` bytes at a time."""
    digest = hashlib.sha256()
    with open(path, "rb", buffering=0) as handle:
        buf = bytearray(chunk)
        view = memoryview(buf)
        while n := handle.readinto(buf):
            digest.update(view[:n])
    return digest.hexdigest()
