"""Sheets (samplesheet, database sheet) read as text the same careful way."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable, Iterator
from pathlib import Path


@contextlib.contextmanager
def read_csv_text(
    path: Path, error: Callable[[str, list[str]], Exception], max_bytes: int = 256 << 20
) -> Iterator[io.StringIO]:
    """Open a CSV sheet as text: UTF-8 (BOM allowed), no NUL bytes, at most ``max_bytes``.

    ``error(path, [problem])`` is raised naming the line of the first undecodable byte.
    """
    try:
        with path.open("rb") as handle:
            raw = handle.read(max_bytes + 1)
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
