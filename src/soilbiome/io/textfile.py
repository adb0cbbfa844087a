"""Sheets (samplesheet, database sheet) read as text the same careful way, lines of other
tools' files read with a bound, and the one rule for cells of tables written for people
(spreadsheet formula injection, OWASP "CSV Injection").
"""

from __future__ import annotations

import contextlib
import io
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any


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


#: The longest line a line-by-line reader accepts (characters). Profiler lines are short (a
#: MetaPhlAn ``additional_species`` list is the longest, a few kB); a longer line is a corrupt or
#: hostile file, refused after reading at most this much of it.
MAX_LINE_CHARS = 4 << 20


class LineTooLong(ValueError):
    """A line of a text file is longer than the bound (``number`` is its 1-based line)."""

    def __init__(self, number: int, limit: int) -> None:
        self.number, self.limit = number, limit
        super().__init__(f"line {number} is longer than {limit} characters (not a text "
                         "table of this kind, or a corrupt file)")


def bounded_lines(handle: io.TextIOBase, max_chars: int = MAX_LINE_CHARS
                  ) -> Iterator[tuple[int, str]]:
    """Yield ``(line number, line without its newline)`` from a text handle, never holding more
    than ``max_chars + 1`` characters of one line: a longer line raises :class:`LineTooLong`
    (memory stays bounded whatever the file holds, e.g. 1 GB without a newline)."""
    number = 0
    while True:
        line = handle.readline(max_chars + 1)
        if not line:
            return
        number += 1
        text = line.rstrip("\r\n")
        if len(text) > max_chars:
            raise LineTooLong(number, max_chars)
        yield number, text


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


#: A text cell a spreadsheet would run as a formula (OWASP "CSV Injection"): ``=`` anything,
#: or ``+ - @`` before a letter or ``(``. Refused in sheets a person writes (a number such
#: as ``-5`` or a range ``-5-10`` passes).
FORMULA_TEXT = re.compile(r"^\s*(=|[+\-@][A-Za-z(])")
_TRIGGERS = ("=", "+", "-", "@")


def formula_problem(value: str) -> str | None:
    """Why ``value`` may not stand in a sheet's text field, or None."""
    if FORMULA_TEXT.match(value):
        return (f"'{value}' starts like a spreadsheet formula ({value.lstrip()[0]}...); "
                "text may not start with =, or with +, - or @ before a letter or '('")
    return None


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _needs_quote(text: str) -> bool:
    if text.startswith(_TRIGGERS):
        return len(text) > 1 and not _is_number(text)
    return text.startswith("'") and _needs_quote(text[1:])


def safe_cell(value: object) -> object:
    """A cell of a TSV/CSV for people, safe to open in a spreadsheet.

    Text starting with ``= + - @`` that is not a number gets a leading ``'`` (OWASP's advice:
    the spreadsheet shows it as text). Text that already starts with ``'`` before such a
    value gets one more, so :func:`plain_cell` gives every value back exactly. Anything that
    is not text (numbers, NaN) is returned unchanged.
    """
    if isinstance(value, str) and _needs_quote(value):
        return "'" + value
    return value


def plain_cell(value: object) -> object:
    """The value :func:`safe_cell` was given (for a program reading such a table back)."""
    if isinstance(value, str) and value.startswith("'") and _needs_quote(value[1:]):
        return value[1:]
    return value


def safe_frame(frame: Any) -> Any:
    """A copy of a pandas DataFrame with :func:`safe_cell` applied to the index, the column
    names and every text cell."""
    out = frame.copy()
    out.index = out.index.map(safe_cell)
    out.columns = out.columns.map(safe_cell)
    for column in out.columns:
        if out[column].dtype == object:
            out[column] = out[column].map(safe_cell)
    return out



def plain_frame(frame: Any) -> Any:
    """A pandas DataFrame read back from a TSV written through :func:`safe_frame` (or
    :func:`safe_row`): :func:`plain_cell` applied to the index, the column names and every
    text cell, so a program sees the values the table was made from."""
    out = frame.copy()
    out.index = out.index.map(plain_cell)
    out.columns = out.columns.map(plain_cell)
    for column in out.columns:
        if out[column].dtype == object:
            out[column] = out[column].map(plain_cell)
    return out


def safe_row(values: Iterable[object]) -> list[object]:
    """:func:`safe_cell` applied to every cell of one row."""
    return [safe_cell(v) for v in values]


class SafeWriter:
    """A :func:`csv.writer` or :class:`csv.DictWriter` whose every cell goes through
    :func:`safe_cell` (rows as sequences or as mappings; header names too)."""

    def __init__(self, writer: Any) -> None:
        self._writer = writer

    def writeheader(self) -> None:
        fields = self._writer.fieldnames
        self._writer.writerow(dict(zip(fields, safe_row(fields), strict=True)))

    def writerow(self, row: Any) -> Any:
        if isinstance(row, Mapping):
            return self._writer.writerow({k: safe_cell(v) for k, v in row.items()})
        return self._writer.writerow(safe_row(row))

    def writerows(self, rows: Iterable[Any]) -> None:
        for row in rows:
            self.writerow(row)
