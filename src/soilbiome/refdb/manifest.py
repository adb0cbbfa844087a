"""The manifest digest of a folder-format reference (a Kraken2 database).

A database sheet proves which reference a run used with one ``sha256``. For a Kraken2 database
folder that value is the SHA-256 of a *manifest*: one ``<sha256>  <relative path>`` line per
file a run can read (:func:`manifest_files`), sorted by path (bytewise), exactly as
``sha256sum`` prints them. So, in the database folder::

    sha256sum $(the files) | sha256sum

reproduces it with coreutils alone, and ``sha256sum -c soilbiome.manifest.sha256`` names a
changed file. The files covered are

* ``*.k2d`` (what ``kraken2`` loads),
* ``*.kmer_distrib`` (the Bracken-method k-mer distributions),
* ``taxonomy/*.dmp`` (``names.dmp``, ``nodes.dmp``, ``merged.dmp``: the lineages of the table),
* ``seqid2taxid.map`` and ``library/**/*.fna|.fa|.fasta`` (read to build a k-mer distribution
  when the database ships none for the run's read length).

A folder holding only the three ``.k2d`` files has the same digest as before this manifest
existed (the old digest covered ``hash.k2d opts.k2d taxo.k2d`` only); :func:`legacy_digest`
recognises a sheet still recording that older value for a folder that has more files.

``soilbiome refdb add`` also writes the manifest into the folder (:data:`MANIFEST_NAME`), so
that a mismatch names the first file that differs (changed, added or removed).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path

from soilbiome.errors import InputError
from soilbiome.io.hashing import sha256_file

#: The manifest ``refdb add`` writes into a database folder (not itself covered).
MANIFEST_NAME = "soilbiome.manifest.sha256"
#: The files of the digest used before the manifest (still what a 3-file folder gives).
LEGACY_FILES = ("hash.k2d", "opts.k2d", "taxo.k2d")
_LIBRARY_SUFFIXES = (".fna", ".fa", ".fasta")

Entry = tuple[str, str]  # (relative POSIX path, hex SHA-256)
#: Hex SHA-256 of each of a list of files (in order).
Digests = Callable[[list[Path]], list[str]]


def read_every_byte(paths: list[Path]) -> list[str]:
    """:data:`Digests` by reading each file in full."""
    return [sha256_file(p) for p in paths]


def manifest_files(folder: str | Path) -> list[str]:
    """Relative POSIX paths of the files a run can read in ``folder``, sorted bytewise."""
    folder = Path(folder)
    found = [p for pattern in ("*.k2d", "*.kmer_distrib", "taxonomy/*.dmp", "seqid2taxid.map")
             for p in folder.glob(pattern)]
    library = folder / "library"
    if library.is_dir():
        found += [p for p in library.rglob("*") if p.suffix in _LIBRARY_SUFFIXES]
    names = []
    for path in found:
        if not path.is_file():
            continue
        rel = path.relative_to(folder).as_posix()
        if "\n" in rel or "\\" in rel:
            raise InputError("a database file name holds a newline or backslash; rename it",
                             location=str(path))
        names.append(rel)
    return sorted(set(names), key=lambda n: n.encode("utf-8", "surrogateescape"))


def manifest_entries(folder: str | Path, digests: Digests = read_every_byte) -> list[Entry]:
    """``(path, sha256)`` of every file of :func:`manifest_files`."""
    folder = Path(folder)
    names = manifest_files(folder)
    return list(zip(names, digests([folder / rel for rel in names]), strict=True))


def manifest_text(entries: list[Entry]) -> str:
    """The manifest as ``sha256sum`` prints it (``<hex>  <path>`` lines)."""
    return "".join(f"{digest}  {rel}\n" for rel, digest in entries)


def digest_of(entries: list[Entry]) -> str:
    """The manifest digest: SHA-256 of :func:`manifest_text`."""
    return hashlib.sha256(manifest_text(entries).encode("utf-8", "surrogateescape")).hexdigest()


def folder_digest(folder: str | Path) -> str:
    """The manifest digest of ``folder`` (what a database sheet records)."""
    return digest_of(manifest_entries(folder))


def legacy_digest(entries: list[Entry]) -> str | None:
    """The pre-manifest digest (the three ``.k2d`` files only), or ``None`` without them."""
    known = dict(entries)
    if not all(name in known for name in LEGACY_FILES):
        return None
    return digest_of([(name, known[name]) for name in LEGACY_FILES])


def write_manifest(folder: str | Path, entries: list[Entry]) -> Path | None:
    """Write :data:`MANIFEST_NAME` into ``folder`` (atomically); ``None`` if the folder is
    read-only (the digest in the sheet is all that is needed; only the mismatch message then
    cannot name the differing file)."""
    target = Path(folder) / MANIFEST_NAME
    tmp = target.with_name(f".{MANIFEST_NAME}.{os.getpid()}.tmp")
    try:
        tmp.write_text(manifest_text(entries), encoding="utf-8", errors="surrogateescape")
        os.replace(tmp, target)
    except OSError:
        tmp.unlink(missing_ok=True)
        return None
    return target


def read_manifest(path: Path) -> list[Entry] | None:
    """Entries of a stored manifest, or ``None`` when it is missing or not one."""
    try:
        text = path.read_text(encoding="utf-8", errors="surrogateescape")
    except OSError:
        return None
    entries = []
    for line in text.splitlines():
        digest, sep, rel = line.partition("  ")
        if not sep or len(digest) != 64:
            return None
        entries.append((rel, digest))
    return entries


def first_difference(recorded: list[Entry], current: list[Entry]) -> str:
    """The first file (by path) that differs between two manifests, and how."""
    old, new = dict(recorded), dict(current)
    for rel in sorted(old.keys() | new.keys(), key=lambda n: n.encode("utf-8", "surrogateescape")):
        if rel not in new:
            return f"{rel} was removed"
        if rel not in old:
            return f"{rel} was added"
        if old[rel] != new[rel]:
            return f"{rel} was changed"
    return "the files are the same but listed differently"


def mismatch_reason(folder: str | Path, recorded_digest: str, current: list[Entry]) -> str:
    """Why ``folder`` does not give ``recorded_digest``: the first differing file when the
    folder's stored manifest is the one the sheet's digest was made from, else what is known."""
    folder = Path(folder)
    stored = read_manifest(folder / MANIFEST_NAME)
    if stored is not None and digest_of(stored) == recorded_digest:
        return (f"{first_difference(stored, current)} since the sheet's checksum was recorded "
                f"(compare with {folder / MANIFEST_NAME})")
    if legacy_digest(current) == recorded_digest:
        return ("the sheet records the old checksum of hash.k2d, opts.k2d and taxo.k2d only, "
                "which does not cover taxonomy/ or *.kmer_distrib; check those files and "
                "record the database again with 'soilbiome refdb add --replace' "
                "(docs/references.md)")
    return (f"the folder's manifest digest is {digest_of(current)} "
            "(no stored manifest matching the sheet to name the differing file)")
