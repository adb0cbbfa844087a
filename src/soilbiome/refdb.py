"""Reference database sheet: which reference a run classifies against, and proof it is that one.

A database sheet is a CSV with the columns in :data:`COLUMNS`. Nothing is downloaded at run
time: ``path`` points at a local file (relative paths resolve against the sheet's folder) and
its SHA-256 must equal ``sha256`` before any task uses it.
"""

from __future__ import annotations

import csv
from dataclasses import asdict, dataclass
from pathlib import Path

from soilbiome.errors import InputError
from soilbiome.io.hashing import sha256_file
from soilbiome.io.textfile import read_csv_text

COLUMNS = ("name", "version", "marker", "format", "licence", "citation", "path", "sha256")
FORMATS = ("sintax", "dada2")


@dataclass(frozen=True)
class RefDb:
    """One reference database entry, with its path resolved."""

    name: str
    version: str
    marker: str
    format: str
    licence: str
    citation: str
    path: Path
    sha256: str

    def to_dict(self) -> dict:
        """JSON-ready form."""
        data = asdict(self)
        data["path"] = str(self.path)
        return data


def _sheet_error(path: str, problems: list[str]) -> InputError:
    return InputError("; ".join(problems), location=path)


def load_refdb(sheet: str | Path, name: str, verify: bool = True) -> RefDb:
    """Find ``name`` in a database sheet and (by default) verify its SHA-256.

    Raises
    ------
    InputError
        Naming the sheet, line and column: unknown name, missing column or file, bad format,
        or a checksum that does not match.
    """
    sheet = Path(sheet)
    if not sheet.is_file():
        raise InputError("database sheet not found", location=str(sheet))
    with read_csv_text(sheet, _sheet_error) as handle:
        reader = csv.DictReader(handle)
        try:
            missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                raise InputError(f"missing column(s): {', '.join(missing)}",
                                 location=str(sheet))
            rows = list(enumerate(reader, start=2))
        except csv.Error as exc:
            raise InputError(f"line {reader.line_num + 1}: {exc}", location=str(sheet)) from None
    matches = [(line, row) for line, row in rows if row["name"] == name]
    if not matches:
        known = ", ".join(row["name"] for _, row in rows)
        raise InputError(f"no database named '{name}' (known: {known})", location=str(sheet))
    if len(matches) > 1:
        raise InputError(f"database '{name}' is listed more than once", location=str(sheet))
    line, row = matches[0]
    where = f"{sheet}: line {line}, database '{name}'"
    for column in COLUMNS:
        if not (row.get(column) or "").strip():
            raise InputError(f"column '{column}' is empty", location=where)
    if row["format"] not in FORMATS:
        raise InputError(f"column 'format': '{row['format']}' is not one of {FORMATS}",
                         location=where)
    path = Path(row["path"])
    path = path if path.is_absolute() else (sheet.resolve().parent / path).resolve()
    if not path.is_file():
        raise InputError(f"column 'path': file not found: {path}", location=where)
    entry = RefDb(**{**{c: row[c].strip() for c in COLUMNS}, "path": path})
    if verify:
        actual = sha256_file(path)
        if actual != entry.sha256.lower():
            raise InputError(
                f"column 'sha256': checksum mismatch for {path}: sheet says {entry.sha256}, "
                f"file has {actual} (wrong or corrupted reference file)",
                location=where,
            )
    return entry
