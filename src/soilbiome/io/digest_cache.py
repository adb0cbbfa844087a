"""SHA-256 digests remembered per file identity, so that a reference database is read in full
once, not at every run's start.

A run verifies its reference databases against the sheet's ``sha256`` before any task starts.
A Kraken2 database is 8-80 GB: hashing it at every start costs minutes on a cluster's shared
file system, more than many profiling runs. :func:`remembered_sha256` re-reads a file only when
its identity changed since it was last hashed: device, inode, size, modification time and
status-change time (``st_ctime_ns``, which no user can set back: writing the file, replacing it,
``touch`` or ``cp -p`` all move it). This is the stat test ``git`` uses to skip re-hashing its
index and Nextflow's ``cache 'standard'`` uses for task inputs, made stricter by ``ctime``. It
does not detect bytes that change on disk without a write through the file system (media
faults): ``soilbiome refdb check`` always re-reads every byte (and renews what is remembered).
A file changed in the two seconds before it was hashed is not remembered, so that file systems
with one-second timestamps cannot hide a write made just after the hashing.

The digests live in one JSON file, ``file-digests.json``, in ``$SOILBIOME_CACHE_DIR``, else
``$XDG_CACHE_HOME/soilbiome``, else ``~/.cache/soilbiome``; ``SOILBIOME_CACHE_DIR=off`` turns
remembering off. A cache that is missing, unreadable or not ours is ignored (the file is
hashed), and one that cannot be written is left alone: remembering only saves time.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from pathlib import Path

from soilbiome.io.hashing import sha256_file

CACHE_NAME = "file-digests.json"
#: Most files remembered; the least recently hashed are dropped first.
MAX_ENTRIES = 20_000
_FORMAT = "soilbiome file digests 1"
#: A file changed less than this long before it was hashed is not remembered: on a file system
#: with coarse timestamps a later write in the same tick would leave its identity unchanged
#: (git's "racily clean" entries).
SETTLED_NS = 2_000_000_000


def cache_path() -> Path | None:
    """Where digests are remembered, or ``None`` when ``SOILBIOME_CACHE_DIR=off``."""
    chosen = os.environ.get("SOILBIOME_CACHE_DIR", "")
    if chosen.lower() == "off":
        return None
    if chosen:
        return Path(chosen) / CACHE_NAME
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "soilbiome" / CACHE_NAME


def _identity(st: os.stat_result) -> list[int]:
    return [st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns]


def _load(path: Path) -> dict[str, list]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("format") != _FORMAT:
        return {}
    files = data.get("files")
    return files if isinstance(files, dict) else {}


def _store(path: Path, files: dict[str, list]) -> None:
    if len(files) > MAX_ENTRIES:  # dicts keep insertion order: the oldest come first
        files = dict(list(files.items())[-MAX_ENTRIES:])
    tmp = path.with_name(f".{CACHE_NAME}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(json.dumps({"format": _FORMAT, "files": files}), encoding="utf-8")
        os.replace(tmp, path)
    except OSError:
        with contextlib.suppress(OSError):  # the folder may not be one
            tmp.unlink(missing_ok=True)


def remembered_digests(paths: list[str | Path], *, reread: bool = False,
                       tally: dict[str, int] | None = None) -> list[str]:
    """Hex SHA-256 of each of ``paths``: remembered when a file's identity is unchanged since
    it was last hashed, else (or with ``reread``) read in full and remembered. ``tally``, when
    given, counts the digests taken from memory under ``"remembered"``."""
    cache = cache_path()
    files = _load(cache) if cache is not None else {}
    digests, fresh = [], {}
    for path in paths:
        real = os.path.realpath(path)
        before = os.stat(real)
        known = files.get(real)
        if (not reread and isinstance(known, list) and len(known) == 6
                and known[:5] == _identity(before) and isinstance(known[5], str)):
            digests.append(known[5])
            if tally is not None:
                tally["remembered"] = tally.get("remembered", 0) + 1
            continue
        digest = sha256_file(real)
        after = os.stat(real)
        settled = max(after.st_mtime_ns, after.st_ctime_ns) < time.time_ns() - SETTLED_NS
        if settled and _identity(after) == _identity(before):  # and unchanged while read
            fresh[real] = [*_identity(after), digest]
        digests.append(digest)
    if cache is not None and fresh:
        files = _load(cache)  # another run may have added entries meanwhile
        for real in fresh:
            files.pop(real, None)
        files.update(fresh)
        _store(cache, files)
    return digests


def remembered_sha256(path: str | Path, *, reread: bool = False) -> str:
    """:func:`remembered_digests` of one file."""
    return remembered_digests([path], reread=reread)[0]
