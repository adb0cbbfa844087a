"""Reference database sheet: which reference a run classifies against, and proof it is that one.

A database sheet is a CSV with the columns in :data:`COLUMNS` (and optionally
:data:`OPTIONAL_COLUMNS`). Nothing is downloaded at run
time: ``path`` points at a local file (relative paths resolve against the sheet's folder) and
its SHA-256 must equal ``sha256`` before any task uses it.

Formats: ``sintax`` and ``dada2`` (amplicon reference FASTA files), ``kraken2`` (a Kraken2
database *folder*; its ``sha256`` is :func:`kraken2_digest`, the manifest digest over every
file a run reads -- ``*.k2d``, ``taxonomy/*.dmp``, ``*.kmer_distrib``, the library -- see
:mod:`soilbiome.refdb.manifest`), ``sylph`` (a sylph database *folder*: genome sketches
``database.syldb`` and the genome -> lineage file ``lineages.tsv``; its ``sha256`` is
:func:`listing_digest` over those two files, ``cd DB && sha256sum database.syldb lineages.tsv |
sha256sum``) and ``host_fasta`` (a host genome FASTA for read removal; the pipeline builds its
bowtie2 index when none sits beside it).
"""

from __future__ import annotations

import csv
from dataclasses import asdict, dataclass
from pathlib import Path

from soilbiome.errors import InputError
from soilbiome.io.digest_cache import remembered_digests
from soilbiome.io.textfile import read_csv_text
from soilbiome.refdb.manifest import (
    Digests,
    digest_of,
    folder_digest,
    manifest_entries,
    mismatch_reason,
    read_every_byte,
)

COLUMNS = ("name", "version", "marker", "format", "licence", "citation", "path", "sha256")
#: Optional column: whose names the reference's lineages use (SILVA, GTDB, UNITE, NCBI, PR2...);
#: when absent it is taken from the format (Kraken2: NCBI) or the reference's name.
OPTIONAL_COLUMNS = ("taxonomy",)
FORMATS = ("sintax", "dada2", "kraken2", "sylph", "host_fasta")
#: Files a Kraken2 database folder must hold (its ``sha256`` covers more: see
#: :func:`soilbiome.refdb.manifest.manifest_files`).
KRAKEN2_FILES = ("hash.k2d", "opts.k2d", "taxo.k2d")
#: Files whose digests make up a sylph database's ``sha256`` (soilbiome.shotgun.sylph).
SYLPH_FILES = ("database.syldb", "lineages.tsv")
#: Formats whose ``path`` is a folder, and the files that identify it.
FOLDER_FILES = {"kraken2": KRAKEN2_FILES, "sylph": SYLPH_FILES}
FOLDER_LABEL = {"kraken2": "Kraken2", "sylph": "sylph"}
_LABEL = FOLDER_LABEL


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
    taxonomy: str = ""

    def to_dict(self) -> dict:
        """JSON-ready form."""
        data = asdict(self)
        data["path"] = str(self.path)
        return data


def _sheet_error(path: str, problems: list[str]) -> InputError:
    return InputError("; ".join(problems), location=path)


def read_sheet(sheet: str | Path) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """Columns and ``(line, row)`` pairs of a database sheet, every column of :data:`COLUMNS`
    present (extra columns are kept as they are).

    Raises
    ------
    InputError
        Naming the sheet (and line): missing file or column, not UTF-8 text, bad CSV.
    """
    sheet = Path(sheet)
    if not sheet.is_file():
        raise InputError("database sheet not found", location=str(sheet))
    with read_csv_text(sheet, _sheet_error) as handle:
        reader = csv.DictReader(handle)
        try:
            fieldnames = list(reader.fieldnames or [])
            missing = [c for c in COLUMNS if c not in fieldnames]
            if missing:
                raise InputError(f"missing column(s): {', '.join(missing)}",
                                 location=str(sheet))
            rows = list(enumerate(reader, start=2))
        except csv.Error as exc:
            raise InputError(f"line {reader.line_num + 1}: {exc}", location=str(sheet)) from None
    return fieldnames, rows


def load_refdb(sheet: str | Path, name: str, verify: bool = True, reread: bool = False) -> RefDb:
    """Find ``name`` in a database sheet and (by default) verify its SHA-256.

    A file whose identity (size, times, inode) is unchanged since it was last hashed is not
    read again (:mod:`soilbiome.io.digest_cache`); ``reread`` reads every byte, and so does a
    check that would refuse the reference (a refusal always rests on the bytes).

    Raises
    ------
    InputError
        Naming the sheet, line and column: unknown name, missing column or file, bad format,
        or a checksum that does not match.
    """
    sheet = Path(sheet)
    _, rows = read_sheet(sheet)
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
    if row["format"] in FOLDER_FILES:
        missing = [f for f in FOLDER_FILES[row["format"]] if not (path / f).is_file()]
        if missing:
            raise InputError(f"column 'path': {path} is not a {_LABEL[row['format']]} "
                             f"database folder (missing {', '.join(missing)})", location=where)
    elif not path.is_file():
        raise InputError(f"column 'path': file not found: {path}", location=where)
    from soilbiome.model.context import taxonomy_system_of

    system = taxonomy_system_of(row["name"], row["format"], (row.get("taxonomy") or "").strip())
    entry = RefDb(**{**{c: row[c].strip() for c in COLUMNS}, "path": path, "taxonomy": system})
    if verify:
        tally: dict[str, int] = {}
        try:
            _verify(path, row["format"], entry.sha256, where, reread, tally)
        except InputError:
            if reread or not tally:
                raise  # every digest came from the bytes just read
            # a refusal always rests on the bytes: read every file again before refusing
            _verify(path, row["format"], entry.sha256, where, True, {})
    return entry


def _verify(path: Path, fmt: str, recorded: str, where: str, reread: bool,
            tally: dict[str, int]) -> None:
    """Compare the reference at ``path`` with the sheet's ``recorded`` digest (remembered
    digests of unchanged files, unless ``reread``; ``tally`` counts those remembered)."""
    def digests(paths: list[Path]) -> list[str]:
        return remembered_digests(paths, reread=reread, tally=tally)

    if fmt == "kraken2":
        _verify_folder(path, recorded.lower(), where, digests)
        return
    actual = listing_digest(path, FOLDER_FILES[fmt], digests) if fmt in FOLDER_FILES else \
        digests([path])[0]
    if actual != recorded.lower():
        raise InputError(f"column 'sha256': checksum mismatch for {path}: sheet says "
                         f"{recorded}, file has {actual} (wrong or corrupted reference file)",
                         location=where)


def _verify_folder(path: Path, recorded: str, where: str, digests: Digests) -> None:
    current = manifest_entries(path, digests)
    if digest_of(current) != recorded:
        raise InputError(f"column 'sha256': checksum mismatch for Kraken2 database {path}: "
                         f"{mismatch_reason(path, recorded, current)}",
                         location=where)


def kraken2_digest(folder: str | Path) -> str:
    """SHA-256 identifying a Kraken2 database folder: the manifest digest over every file a run
    reads (:func:`soilbiome.refdb.manifest.folder_digest`; reproducible with ``sha256sum``)."""
    return folder_digest(folder)


def listing_digest(folder: str | Path, names: tuple[str, ...],
                   digests: Digests = read_every_byte) -> str:
    """SHA-256 of the ``sha256sum NAMES...`` listing of a database folder (``cd DB &&
    sha256sum NAMES | sha256sum`` reproduces it): a sylph database's ``sha256``."""
    import hashlib

    folder = Path(folder)
    hashed = digests([folder / name for name in names])
    listing = "".join(f"{digest}  {name}\n" for digest, name in zip(hashed, names, strict=True))
    return hashlib.sha256(listing.encode("ascii")).hexdigest()
