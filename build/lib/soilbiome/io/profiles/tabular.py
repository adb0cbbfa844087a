"""Shared helpers for the tab-separated profiler formats with a header line."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

from soilbiome.io.profiles.model import ProfileError, numbered_lines


def header_rows(
    path: Path, required: Sequence[str], profiler: str, *, comment: str | None = None,
    header_prefix: str = "", min_fields: int | None = None,
) -> Iterator[tuple[int, dict[str, str]]]:
    """Yield ``(line, {column: value})`` of a TSV whose header names ``required`` columns.

    Lines starting with ``comment`` before the header are skipped; the header may start with
    ``header_prefix`` (``#`` in MetaPhlAn files). Every data line must have the header's width.
    """
    header: list[str] | None = None
    for number, text in numbered_lines(path):
        if header is None:
            if not text.strip():
                continue
            candidate = text[len(header_prefix):] if header_prefix and text.startswith(
                header_prefix) else text
            fields = [f.strip() for f in candidate.split("\t")]
            if comment and text.startswith(comment) and not set(required) <= set(fields):
                continue
            missing = [c for c in required if c not in fields]
            if missing:
                raise ProfileError(path, number,
                                   f"header lacks {profiler} column(s): {', '.join(missing)}")
            header = fields
            continue
        if not text.strip():
            continue
        values = text.split("\t")
        if min_fields is not None and min_fields <= len(values) < len(header):
            values += [""] * (len(header) - len(values))
        if len(values) != len(header):
            raise ProfileError(path, number,
                               f"{len(values)} fields, the header has {len(header)}")
        yield number, dict(zip(header, (v.strip() for v in values), strict=True))
    if header is None:
        raise ProfileError(path, None, f"no header line: not a {profiler} file")
