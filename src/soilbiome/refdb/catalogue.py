"""The catalogue of references users actually use: where to download each one, what it is,
under which licence, and how to cite it.

The catalogue shipped with the package is ``soilbiome/data/refdb_catalogue.yaml`` (its comments
say where every fact came from); a site with mirrors, or a test, passes its own file in the same
form. Each entry is checked when the catalogue is read, so a bad entry is refused by name before
anything is downloaded.
"""

from __future__ import annotations

import re
from contextlib import ExitStack
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from urllib.parse import urlsplit

from soilbiome.errors import InputError
from soilbiome.io.safe_yaml import load_yaml
from soilbiome.refdb.fields import check_licence, check_marker, check_name
from soilbiome.refdb.sheet import FORMATS

CATALOGUE_FILE = "refdb_catalogue.yaml"
#: How a downloaded file becomes the reference: used as it is, or a tar.gz unpacked.
EXTRACT = ("none", "tar.gz")
_REQUIRED = ("name", "version", "marker", "format", "taxonomy", "licence", "citation", "urls",
             "file", "extract")
_OPTIONAL = ("sha256", "size", "member", "ranks", "source", "note")
_HEX64 = re.compile(r"^[0-9a-fA-F]{64}$")
_FILE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]*$")


@dataclass(frozen=True)
class CatalogueEntry:
    """One downloadable reference.

    Attributes
    ----------
    name, version, marker, format, taxonomy, licence, citation : str
        What the database sheet row will say.
    urls : tuple of str
        Where to download it, tried in order.
    file : str
        Name of the downloaded file in the cache.
    sha256 : str or None
        The publisher's SHA-256 of the download; None when it gives none (recorded at first
        download instead).
    extract : str
        ``none`` (the file is the reference) or ``tar.gz`` (unpacked into a folder).
    member : str or None
        Glob naming the one file to use inside an unpacked archive; None means the folder
        (Kraken2: the folder holding ``hash.k2d``).
    size, ranks, source, note : str or None
        Informational.
    """

    name: str
    version: str
    marker: str
    format: str
    taxonomy: str
    licence: str
    citation: str
    urls: tuple[str, ...]
    file: str
    extract: str
    sha256: str | None = None
    member: str | None = None
    size: str | None = None
    ranks: str | None = None
    source: str | None = None
    note: str | None = None


def load_catalogue(path: str | Path | None = None) -> dict[str, CatalogueEntry]:
    """Read and check a catalogue (default: the one shipped with soilbiome).

    Returns
    -------
    dict
        Entries by name, in the catalogue's order.

    Raises
    ------
    InputError
        Naming the file, the entry and the field of the first problem.
    """
    with ExitStack() as stack:
        if path is None:
            traversable = resources.files("soilbiome").joinpath("data", CATALOGUE_FILE)
            where = stack.enter_context(resources.as_file(traversable))
        else:
            where = Path(path)
        data, _ = load_yaml(where, what="reference catalogue")
    location = str(path) if path is not None else f"soilbiome/data/{CATALOGUE_FILE}"
    if not isinstance(data, dict) or not isinstance(data.get("references"), list):
        raise InputError("a catalogue is a mapping with a 'references' list", location=location)
    entries: dict[str, CatalogueEntry] = {}
    for index, raw in enumerate(data["references"]):
        entry = _entry(raw, f"{location}: references[{index}]")
        if entry.name in entries:
            raise InputError(f"reference '{entry.name}' is listed more than once",
                             location=location)
        entries[entry.name] = entry
    return entries


def find_entry(catalogue: dict[str, CatalogueEntry], name: str, where: str) -> CatalogueEntry:
    """The entry called ``name``, or an error listing the known names."""
    if name not in catalogue:
        raise InputError(f"no reference named '{name}' in the catalogue (known: "
                         f"{', '.join(catalogue) or 'none'})", location=where)
    return catalogue[name]


def _entry(raw: object, where: str) -> CatalogueEntry:
    if not isinstance(raw, dict):
        raise InputError("an entry is a mapping of fields", location=where)
    name = raw.get("name")
    if isinstance(name, str) and name:
        where = f"{where} ('{name}')"
    unknown = sorted(set(map(str, raw)) - set(_REQUIRED) - set(_OPTIONAL))
    if unknown:
        raise InputError(f"unknown field(s): {', '.join(unknown)}", location=where)
    values: dict[str, object] = {}
    for field in _REQUIRED + _OPTIONAL:
        value = raw.get(field)
        if field == "urls":
            values[field] = _urls(value, where)
            continue
        if value is None:
            if field in _REQUIRED:
                raise InputError(f"field '{field}' is missing or empty", location=where)
            values[field] = None
            continue
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = str(value)  # a version written as 138.2 or 20240904 without quotes
        if not isinstance(value, str) or (field in _REQUIRED and not value.strip()):
            raise InputError(f"field '{field}' must be non-empty text", location=where)
        values[field] = value.strip()
    check = _field_checker(where)
    check("name", lambda: check_name(values["name"]))
    check("marker", lambda: check_marker(values["marker"], values["format"]))
    check("licence", lambda: check_licence(values["licence"]))
    if values["format"] not in FORMATS:
        raise InputError(f"field 'format': '{values['format']}' is not one of {FORMATS}",
                         location=where)
    if values["extract"] not in EXTRACT:
        raise InputError(f"field 'extract': '{values['extract']}' is not one of {EXTRACT}",
                         location=where)
    if values["format"] == "kraken2" and values["extract"] != "tar.gz":
        raise InputError("field 'extract': a kraken2 database is a folder, so it must be "
                         "'tar.gz'", location=where)
    if values["member"] and values["extract"] == "none":
        raise InputError("field 'member' needs 'extract: tar.gz'", location=where)
    if not _FILE.match(values["file"]):
        raise InputError(f"field 'file': '{values['file']}' is not a plain file name",
                         location=where)
    if values["sha256"] is not None and not _HEX64.match(values["sha256"]):
        raise InputError("field 'sha256': not 64 hexadecimal digits (or null)", location=where)
    values["marker"] = check_marker(values["marker"], values["format"])
    values["licence"] = check_licence(values["licence"])
    if values["sha256"]:
        values["sha256"] = values["sha256"].lower()
    return CatalogueEntry(**values)


def _field_checker(where: str):  # noqa: ANN202
    def check(field: str, call) -> None:  # noqa: ANN001
        try:
            call()
        except InputError as exc:
            raise InputError(f"field '{field}': {exc}", location=where) from None
    return check


def _urls(value: object, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value:
        raise InputError("field 'urls' must list at least one URL", location=where)
    for url in value:
        parts = urlsplit(url) if isinstance(url, str) else None
        if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
            raise InputError(f"field 'urls': {url!r} is not an http(s) URL", location=where)
    return tuple(value)
