"""Sheets (samplesheet, database sheet) read as text the same careful way."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable, Iterator
from pathlib import Path


def read_bounded(path: Path, max_bytes: int, chunk: int = 1 << 16) -> bytes:
    """The file's bytes, or its first ``max_bytes + 1`` when it is larger (memory stays
    proportional to what is there, never to the bound)."""
    parts: list[bytes] = []
    total = 0
    with Path(path).open("rb") as handle:
        while total <= max_bytes:
            part = handle.read(min(chunk, max_bytes + 1 - total))
            if not part:
                break
            parts.append(part)
            total += len(part)
    return b"".join(parts)


@contextlib.contextmanager
def read_csv_text(
    path: Path, error: Callable[[str, list[str]], Exception], max_bytes: int = 256 << 20
) -> Iterator[io.StringIO]:
    """Open a CSV sheet as text: UTF-8 (BOM allowed), no NUL bytes, at most ``max_bytes``.

    ``error(path, [problem])`` is raised naming the line of the first undecodable byte.
    """
    try:
        raw = read_bounded(path, max_bytes)
    except OSError as exc:
        raise error(str(path), [f"cannot read file: {exc.strerror or exc}"]) from None
    if len(raw) > max_bytes:
        raise error(str(path), [f"file is larger than {max_bytes} bytes"])
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise error(str(path), [f"line {line}: not UTF-8 text (byte {exc.start}); save the "
                                "sheet as UTF-8 CSV"]) from None
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        raise error(str(path), [f"line {line}: NUL byte (a binary file, not CSV)"])
    yield io.StringIO(text, newline=None)
