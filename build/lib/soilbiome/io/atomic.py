"""Write files atomically: a temp file in the target folder, renamed into place on success."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from soilbiome.errors import OutputError


@contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """Yield a temp path beside ``target``; rename it to ``target`` only if the block succeeds.

    A folder that cannot be created or written raises :class:`~soilbiome.errors.OutputError`
    naming ``target`` (one line, not a traceback).
    """
    target = Path(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as exc:
        raise OutputError(f"cannot write here: {exc.strerror or exc}",
                          location=str(target)) from None
    os.close(fd)
    tmp_path = Path(tmp)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp_path, 0o666 & ~umask)  # mkstemp makes 0600; outputs get the usual mode
    try:
        yield tmp_path
        try:
            os.replace(tmp_path, target)
        except OSError as exc:
            raise OutputError(f"cannot write here: {exc.strerror or exc}",
                              location=str(target)) from None
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


@contextmanager
def atomic_write(target: str | Path, mode: str = "w") -> Iterator[IO]:
    """Open a temp file for writing; it replaces ``target`` only when the block succeeds."""
    with atomic_path(target) as tmp, open(tmp, mode, newline="" if "b" not in mode else None) as fh:
        yield fh
