"""Download a catalogued reference into a cache and list it in a database sheet:
``soilbiome refdb fetch``.

* **Resumable.** Bytes arrive in ``<cache>/<name>/<file>.part``. When that file exists, the next
  attempt asks only for the rest (HTTP ``Range: bytes=N-``) and appends; a server that answers
  the whole file instead (status 200) is written from the start, so a resumed file is never a
  mix of two answers. A transfer that breaks off keeps what arrived and says to run the same
  command again.
* **Verified.** The finished download's SHA-256 is compared with the catalogue's; a mismatch
  deletes the partial file and fails naming the URL, the expected and the actual digest. When
  the publisher gives no SHA-256 (catalogue ``sha256: null``), the digest is recorded at first
  download (``fetch.json`` beside the file, and the sheet row) to be checked against the
  publisher.
* **Unpacked** when the catalogue says ``extract: tar.gz`` (Kraken2 database folders, UNITE's
  archive): into a folder, refusing members that would land outside it; the archive is then
  removed (its digest stays in ``fetch.json``). ``.gz`` FASTA files stay compressed: DADA2
  and VSEARCH read them as they are.
* **Listed** through :func:`soilbiome.refdb.add.add_reference`, so the row is checked and read
  back like any other.

Only the Python standard library talks to the network (``urllib``, in
:mod:`soilbiome.refdb.download`); nothing is downloaded at pipeline run time.
"""

from __future__ import annotations

import fnmatch
import json
import os
import shutil
import tarfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from soilbiome import __version__
from soilbiome.errors import DownloadError, InputError
from soilbiome.io.fasta import check_reference_fasta
from soilbiome.io.hashing import sha256_file
from soilbiome.io.jsonfile import write_json
from soilbiome.refdb.add import add_reference, ensure_not_listed, reference_digest
from soilbiome.refdb.catalogue import CatalogueEntry, find_entry, load_catalogue
from soilbiome.refdb.download import Report, download, mirror_url, reason
from soilbiome.refdb.sheet import FOLDER_FILES, RefDb

RECORD = "fetch.json"


@dataclass(frozen=True)
class FetchResult:
    """What ``fetch`` did.

    Attributes
    ----------
    entry : RefDb
        The sheet row as read back.
    download_sha256 : str
        SHA-256 of the downloaded file (the archive, for unpacked references).
    verified : bool
        True when the catalogue gave a SHA-256 and it matched; False when the digest was only
        recorded (publisher gives none).
    url : str
        Where it came from ("" when it was already in the cache).
    reused : bool
        True when the cache already held it and nothing was downloaded.
    """

    entry: RefDb
    download_sha256: str
    verified: bool
    url: str
    reused: bool


def fetch_reference(  # noqa: PLR0913
    name: str,
    *,
    cache: str | Path,
    sheet: str | Path,
    catalogue: str | Path | None = None,
    base_url: str | None = None,
    replace: bool = False,
    timeout: float = 60.0,
    report: Report | None = None,
) -> FetchResult:
    """Download catalogue entry ``name`` into ``cache``, verify it, unpack it if needed and add
    it to ``sheet``.

    Parameters
    ----------
    name : str
        Catalogue entry (``soilbiome refdb catalogue`` lists them).
    cache : path
        Folder for downloads; each reference gets ``<cache>/<name>/``.
    sheet : path
        Database sheet to write or extend.
    catalogue : path, optional
        Another catalogue (a site's mirror list, a test's); default: the shipped one.
    base_url : str, optional
        Mirror: replaces the scheme and host of every URL, its path prefixed to theirs.
    replace : bool
        Replace a row of the same name in the sheet.
    timeout : float
        Seconds to wait for the server before giving up (per connection and per read).
    report : callable, optional
        Receives one-line progress messages.

    Raises
    ------
    InputError
        Unknown name, a name already in the sheet, a bad catalogue or ``base_url``.
    DownloadError
        Unreachable server, HTTP error, broken transfer (kept for resuming), checksum
        mismatch (partial file deleted), unreadable archive.
    """
    say = report or (lambda _message: None)
    cat_where = str(catalogue) if catalogue else "the reference catalogue"
    entry = find_entry(load_catalogue(catalogue), name, cat_where)
    sheet = Path(sheet)
    ensure_not_listed(sheet, name, replace)
    urls = [mirror_url(u, base_url) for u in entry.urls]
    folder = Path(cache) / entry.name
    reused = _reusable(folder, entry)
    if reused is not None:
        target, digest, reference_sha256 = reused
        url = ""
        say(f"{entry.name}: already in the cache ({target})")
    else:
        url, digest = _download_verified(entry, urls, folder, timeout, say)
        target = _finish(entry, folder, say)
        if entry.extract == "none" and entry.format not in FOLDER_FILES:  # a FASTA, read
            # whole before it is listed (from an archive: by reference_digest below)
            try:
                check_reference_fasta(target, entry.format)
            except InputError as exc:
                target.unlink()
                _remove_if_empty(folder)
                raise DownloadError(f"{url}: {exc}; the download is deleted") from None
        reference_sha256 = digest if entry.extract == "none" else reference_digest(
            target, entry.format)
        _write_record(folder / RECORD, entry, url, digest, target, reference_sha256)
    if entry.sha256 is None:
        say(f"{entry.name}: the publisher gives no SHA-256; checksum recorded at first "
            f"download ({digest}), verify against publisher")
    row = add_reference(
        sheet, entry.name, target, marker=entry.marker, fmt=entry.format,
        licence=entry.licence, citation=entry.citation, version=entry.version,
        taxonomy=entry.taxonomy, replace=replace, digest=reference_sha256,
    )
    return FetchResult(row, digest, entry.sha256 is not None, url, reused is not None)


def _download_verified(entry: CatalogueEntry, urls: list[str], folder: Path, timeout: float,
                       say: Report) -> tuple[str, str]:
    """Download into ``<file>.part`` from the first URL that works, verify, rename."""
    folder.mkdir(parents=True, exist_ok=True)
    part = folder / f"{entry.file}.part"
    failures: list[str] = []
    for url in urls:
        try:
            download(url, part, timeout=timeout, report=say)
        except DownloadError as exc:
            failures.append(str(exc))
            continue
        digest = sha256_file(part)
        if entry.sha256 is not None and digest != entry.sha256:
            part.unlink()
            _remove_if_empty(folder)
            raise DownloadError(f"{url}: checksum mismatch: catalogue expects {entry.sha256}, "
                                f"download has {digest}; partial file deleted")
        os.replace(part, folder / entry.file)
        return url, digest
    if not part.exists():
        _remove_if_empty(folder)
    raise DownloadError("; ".join(failures))


def _finish(entry: CatalogueEntry, folder: Path, say: Report) -> Path:
    """The path the sheet will name: the download itself, or what its archive unpacks to."""
    download_path = folder / entry.file
    if entry.extract == "none":
        return download_path
    unpacked = _unpacked_folder(folder, entry)
    staging = folder / ".unpacking"
    if staging.exists():
        shutil.rmtree(staging)
    say(f"{entry.name}: unpacking {download_path.name}")
    try:
        with tarfile.open(download_path, "r:gz") as archive:
            archive.extractall(staging, filter="data")
    except (tarfile.TarError, EOFError, OSError, ValueError) as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise DownloadError(f"{download_path}: not a readable tar.gz archive ({reason(exc)})"
                            ) from None
    if unpacked.exists():
        shutil.rmtree(unpacked)
    os.replace(staging, unpacked)
    download_path.unlink()
    target = _target_of(folder, entry)
    if target is None:
        raise DownloadError(f"{download_path.name}: the archive holds no "
                            + ("Kraken2 database (hash.k2d)" if entry.format == "kraken2"
                               else f"file matching '{entry.member}'")
                            + f", or more than one (unpacked in {unpacked})")
    return target


def _unpacked_folder(folder: Path, entry: CatalogueEntry) -> Path:
    stem = entry.file
    for suffix in (".tar.gz", ".tgz"):
        if stem.endswith(suffix):
            stem = stem[: -len(suffix)]
    return folder / stem


def _target_of(folder: Path, entry: CatalogueEntry) -> Path | None:
    """Where the reference is (or will be) in ``folder``; None when an unpacked archive does
    not hold exactly one match."""
    if entry.extract == "none":
        return folder / entry.file
    unpacked = _unpacked_folder(folder, entry)
    if not unpacked.is_dir():
        return None
    if entry.member:
        hits = [p for p in sorted(unpacked.rglob("*")) if p.is_file()
                and fnmatch.fnmatch(p.relative_to(unpacked).as_posix(), entry.member)]
    elif entry.format == "kraken2":
        hits = [p.parent for p in sorted(unpacked.rglob("hash.k2d"))]
    else:
        hits = [unpacked]
    return hits[0] if len(hits) == 1 else None


def _reusable(folder: Path, entry: CatalogueEntry) -> tuple[Path, str, str] | None:
    """``(target, download sha256, reference sha256)`` when an earlier fetch left this entry
    complete and unchanged in the cache (checked by digest), else None."""
    try:
        record = json.loads((folder / RECORD).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    target = _target_of(folder, entry)
    if (not isinstance(record, dict) or target is None or not target.exists()
            or not isinstance(record.get("sha256"), str)
            or (entry.sha256 is not None and record["sha256"] != entry.sha256)):
        return None
    try:
        actual = reference_digest(target, entry.format)
    except InputError:
        return None
    if actual != record.get("reference_sha256"):
        return None
    return target, record["sha256"], actual


def _write_record(path: Path, entry: CatalogueEntry, url: str, digest: str,
                  target: Path, reference_sha256: str) -> None:
    record = {
        "name": entry.name, "version": entry.version, "url": url, "file": entry.file,
        "sha256": digest, "catalogue_sha256": entry.sha256,
        "verified": entry.sha256 is not None,
        "note": None if entry.sha256 else ("checksum recorded at first download, verify "
                                           "against publisher"),
        "reference": target.relative_to(path.parent).as_posix(),
        "reference_sha256": reference_sha256,
        "downloaded": datetime.now(UTC).isoformat(timespec="seconds"),
        "soilbiome": __version__,
    }
    write_json(path, record)


def _remove_if_empty(folder: Path) -> None:
    try:
        folder.rmdir()
    except OSError:
        pass
