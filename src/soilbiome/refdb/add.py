"""List a reference in a database sheet: ``soilbiome refdb add``.

The sheet row is written with the reference's SHA-256 computed here (for a Kraken2 folder,
the manifest digest of :mod:`soilbiome.refdb.manifest`, whose manifest is also written into
the folder when it is writable), its path relative to the sheet when the
reference sits inside the sheet's folder tree, and every field checked. The sheet is replaced
atomically and only after the new sheet has been read back through
:func:`~soilbiome.refdb.sheet.load_refdb`, so a sheet is never left half written or unreadable.
Rows and columns already in the sheet are kept as they are.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

from soilbiome.errors import InputError
from soilbiome.io.atomic import atomic_path
from soilbiome.io.digest_cache import remembered_digests, remembered_sha256
from soilbiome.io.fasta import check_reference_fasta
from soilbiome.refdb.fields import check_licence, check_marker, check_name
from soilbiome.refdb.manifest import digest_of, manifest_entries, write_manifest
from soilbiome.refdb.sheet import (
    COLUMNS,
    FOLDER_FILES,
    FOLDER_LABEL,
    FORMATS,
    RefDb,
    listing_digest,
    load_refdb,
    read_sheet,
)


def reference_digest(path: str | Path, fmt: str) -> str:
    """The ``sha256`` a sheet records for ``path``: the file's SHA-256 (once the file has been
    read whole and checked as its format's FASTA), or for a Kraken2 database folder its
    manifest digest (the manifest is written into the folder)."""
    path = Path(path)
    if fmt in FOLDER_FILES:
        if not path.is_dir():
            raise InputError(f"a {fmt} reference is a database folder, not a file",
                             location=str(path))
        missing = [f for f in FOLDER_FILES[fmt] if not (path / f).is_file()]
        if missing:
            raise InputError(f"not a {FOLDER_LABEL[fmt]} database folder "
                             f"(missing {', '.join(missing)})", location=str(path))
        if fmt != "kraken2":
            return listing_digest(path, FOLDER_FILES[fmt], remembered_digests)
        entries = manifest_entries(path, remembered_digests)
        write_manifest(path, entries)
        return digest_of(entries)
    if path.is_dir():
        raise InputError(f"a {fmt} reference is a file, not a folder", location=str(path))
    if not path.is_file():
        raise InputError("reference file not found", location=str(path))
    check_reference_fasta(path, fmt)  # whole, FASTA, headers of its format: before it is listed
    return remembered_sha256(path)


def sheet_path_for(reference: Path, sheet: Path) -> str:
    """How the sheet names ``reference``: relative (POSIX separators) when it lies inside the
    sheet's folder tree, else absolute."""
    reference = reference.resolve()
    folder = sheet.resolve().parent
    if reference.is_relative_to(folder):
        return reference.relative_to(folder).as_posix() or "."
    return str(reference)


def add_reference(  # noqa: PLR0913
    sheet: str | Path,
    name: str,
    path: str | Path,
    *,
    marker: str,
    fmt: str,
    licence: str,
    citation: str,
    version: str | None = None,
    taxonomy: str | None = None,
    replace: bool = False,
    digest: str | None = None,
) -> RefDb:
    """Write (or extend) ``sheet`` with a row for the reference at ``path``.

    Parameters
    ----------
    sheet : path
        The database sheet; created (with the standard columns) when it does not exist.
    name, marker, fmt, licence, citation, version, taxonomy : str
        The row's fields. ``fmt`` is one of :data:`~soilbiome.refdb.sheet.FORMATS`; ``licence``
        an SPDX expression (written normalised); ``version`` defaults to
        ``sha256-<first 12 hex digits>`` when not given; ``taxonomy`` (SILVA, GTDB, UNITE,
        NCBI, PR2 ...) adds the optional ``taxonomy`` column when the sheet lacks it.
    replace : bool
        Replace a row of the same name (in place) instead of refusing it.
    digest : str, optional
        The reference's digest when the caller has just computed it (``refdb fetch``).

    Returns
    -------
    RefDb
        The new entry as :func:`~soilbiome.refdb.sheet.load_refdb` reads it back.

    Raises
    ------
    InputError
        Naming the bad field, the missing reference, or the sheet line of a duplicate name.
    """
    sheet = Path(sheet)
    row = checked_row(name, marker, fmt, licence, citation, version, taxonomy)
    fieldnames, rows = _existing(sheet)
    _refuse_duplicate(sheet, rows, name, replace)
    path = Path(path)
    row["sha256"] = digest or reference_digest(path, fmt)
    row["path"] = sheet_path_for(path, sheet)
    if not row["version"]:
        row["version"] = f"sha256-{row['sha256'][:12]}"
    if row.get("taxonomy") and "taxonomy" not in fieldnames:
        fieldnames.append("taxonomy")
    out = [r for _, r in rows]
    positions = [i for i, r in enumerate(out) if r.get("name") == name]
    if positions:
        out[positions[0]] = row
        out = [r for i, r in enumerate(out) if i not in positions[1:]]
    else:
        out.append(row)
    _write(sheet, fieldnames, out, name)
    return load_refdb(sheet, name, verify=False)


def row_csv(row: dict[str, str]) -> str:
    """A database-sheet header and one row (with the ``taxonomy`` column), as CSV text: what
    ``refdb build-sylph`` and ``build-kraken2`` print."""
    import io

    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=[*COLUMNS, "taxonomy"], lineterminator="\n")
    writer.writeheader()
    writer.writerow(row)
    return text.getvalue()


def ensure_not_listed(sheet: str | Path, name: str, replace: bool = False, *,
                      remedy: str = "use --replace to replace it") -> None:
    """Refuse, before any work, a ``name`` the sheet already lists (unless ``replace``);
    ``remedy``: what the message tells the user to do instead."""
    sheet = Path(sheet)
    if sheet.exists():
        _refuse_duplicate(sheet, _existing(sheet)[1], name, replace, remedy)


def _refuse_duplicate(sheet: Path, rows: list[tuple[int, dict[str, str]]], name: str,
                      replace: bool, remedy: str = "use --replace to replace it") -> None:
    for line, existing in rows:
        if existing.get("name") == name and not replace:
            raise InputError(f"line {line}: a reference named '{name}' is already listed "
                             f"({remedy})", location=str(sheet))


def checked_row(name: str, marker: str, fmt: str, licence: str, citation: str,
                version: str | None, taxonomy: str | None) -> dict[str, str]:
    """A sheet row's fields, each checked (``InputError`` naming the column otherwise)."""
    def field(column: str, call):  # noqa: ANN001, ANN202
        try:
            return call()
        except InputError as exc:
            raise InputError(f"{column}: {exc}") from None

    if fmt not in FORMATS:
        raise InputError(f"format: '{fmt}' is not one of {', '.join(FORMATS)}")
    for column, value in (("citation", citation), ("version", version or "x"),
                          ("taxonomy", taxonomy or "x")):
        if not value.strip() or "\n" in value or "\r" in value:
            raise InputError(f"{column}: must be one non-empty line of text")
    return {
        "name": field("name", lambda: check_name(name)),
        "version": (version or "").strip(),
        "marker": field("marker", lambda: check_marker(marker, fmt)),
        "format": fmt,
        "licence": field("licence", lambda: check_licence(licence)),
        "citation": citation.strip(),
        "taxonomy": (taxonomy or "").strip(),
    }


def _existing(sheet: Path) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    if not sheet.exists():
        return list(COLUMNS), []
    fieldnames, rows = read_sheet(sheet)
    if any(None in row for _, row in rows):  # more fields than the header names
        line = next(line for line, row in rows if None in row)
        raise InputError(f"line {line}: more fields than the header has columns; fix the "
                         "sheet before adding to it", location=str(sheet))
    return fieldnames, rows


def _write(sheet: Path, fieldnames: list[str], rows: list[dict[str, str]], name: str) -> None:
    columns = list(fieldnames)
    with atomic_path(sheet) as tmp:
        with open(tmp, "w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=columns, extrasaction="ignore",
                                    lineterminator="\n")
            writer.writeheader()
            for row in rows:
                writer.writerow({c: row.get(c) or "" for c in columns})
            handle.flush()
            os.fsync(handle.fileno())
        # Read the new sheet back before it replaces the old one (paths resolve the same
        # way: the temp file sits beside the sheet).
        load_refdb(tmp, name, verify=False)
