"""A reference database is hashed in full once, not at every start (soilbiome.io.digest_cache).

Real files on disk and the real start-up verification (``load_refdb``, what ``soilbiome
preflight`` calls): a remembered digest is used only while the file's identity (inode, size,
modification and status-change times) is unchanged; a write to the file, even with its
modification time put back, makes it read again; ``soilbiome refdb check`` reads every byte.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from soilbiome.errors import InputError
from soilbiome.io.digest_cache import CACHE_NAME, SETTLED_NS, remembered_sha256
from soilbiome.refdb import load_refdb

COLUMNS = ["name", "version", "marker", "format", "licence", "citation", "path", "sha256"]


def settle() -> None:
    """Wait until files written now count as settled (see SETTLED_NS)."""
    time.sleep(SETTLED_NS / 1e9 + 0.2)


def write_sheet(folder: Path, rows: list[dict]) -> Path:
    sheet = folder / "databases.csv"
    with sheet.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        for row in rows:
            writer.writerow({"version": "1", "marker": "shotgun", "licence": "CC0-1.0",
                             "citation": "test", **row})
    return sheet


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def databases(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict:
    """A host genome (one file) and a Kraken2-format folder, listed in a sheet, settled."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("SOILBIOME_CACHE_DIR", str(cache))
    host = tmp_path / "host.fa"
    host.write_bytes(b">chr1\n" + b"ACGT" * 5000 + b"\n")
    k2 = tmp_path / "k2db"
    k2.mkdir()
    files = {"hash.k2d": os.urandom(50_000), "opts.k2d": b"options", "taxo.k2d": b"taxonomy"}
    for name, data in files.items():
        (k2 / name).write_bytes(data)
    manifest = "".join(f"{sha(files[n])}  {n}\n" for n in sorted(files))
    sheet = write_sheet(tmp_path, [
        {"name": "host", "format": "host_fasta", "path": str(host),
         "sha256": sha(host.read_bytes())},
        {"name": "k2", "format": "kraken2", "path": str(k2), "sha256": sha(manifest.encode())},
    ])
    settle()
    return {"sheet": sheet, "host": host, "k2": k2, "cache": cache / CACHE_NAME}


def remembered(cache: Path) -> dict:
    return json.loads(cache.read_text())["files"]


def test_a_remembered_digest_is_used_while_the_file_is_unchanged(databases: dict) -> None:
    sheet, host, cache = databases["sheet"], databases["host"], databases["cache"]
    load_refdb(sheet, "host")
    load_refdb(sheet, "k2")
    files = remembered(cache)
    assert set(files) == {str(host.resolve())} | {
        str((databases["k2"] / n).resolve()) for n in ("hash.k2d", "opts.k2d", "taxo.k2d")}
    assert files[str(host.resolve())][5] == sha(host.read_bytes())

    # What is remembered is used as long as the file is unchanged: a wrong remembered digest
    # for the unchanged file comes back as it is (so the file was not read again) ...
    poisoned = dict(files)
    poisoned[str(host.resolve())] = [*files[str(host.resolve())][:5], "0" * 64]
    cache.write_text(json.dumps({**json.loads(cache.read_text()), "files": poisoned}))
    assert remembered_sha256(host) == "0" * 64
    # ... but a refusal always rests on the bytes: the start-up check reads the file again
    # before refusing, finds it matches the sheet, and renews what is remembered
    load_refdb(sheet, "host")
    assert remembered(cache)[str(host.resolve())][5] == sha(host.read_bytes())
    assert remembered_sha256(host) == sha(host.read_bytes())


def test_a_write_to_the_file_is_seen_even_with_its_time_put_back(databases: dict) -> None:
    sheet, k2 = databases["sheet"], databases["k2"]
    load_refdb(sheet, "k2")
    target = k2 / "hash.k2d"
    st = target.stat()
    data = bytearray(target.read_bytes())
    data[100] ^= 0xFF  # same size, same inode
    with target.open("r+b") as handle:
        handle.write(bytes(data))
    os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns))  # modification time put back
    assert target.stat().st_size == st.st_size and target.stat().st_ino == st.st_ino
    assert target.stat().st_mtime_ns == st.st_mtime_ns
    with pytest.raises(InputError, match="checksum mismatch for Kraken2 database"):
        load_refdb(sheet, "k2")


def test_a_refusal_reads_again_only_what_was_remembered(databases: dict,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """A sheet digest that does not match: refused after one read of each file when nothing
    was remembered (the bytes were just read); read twice when the first pass used memory."""
    import soilbiome.io.digest_cache as digest_cache

    reads: list[str] = []
    real_sha256_file = digest_cache.sha256_file

    def counted(path):  # noqa: ANN001, ANN202
        reads.append(Path(path).name)
        return real_sha256_file(path)

    monkeypatch.setattr(digest_cache, "sha256_file", counted)
    rows = list(csv.DictReader(databases["sheet"].open()))
    for row in rows:
        row["sha256"] = "1" * 64
    folder = databases["sheet"].parent / "wrong"
    folder.mkdir()
    wrong = write_sheet(folder, rows)
    with pytest.raises(InputError, match="checksum mismatch for Kraken2 database"):
        load_refdb(wrong, "k2")
    assert sorted(reads) == ["hash.k2d", "opts.k2d", "taxo.k2d"]
    reads.clear()
    with pytest.raises(InputError, match="checksum mismatch"):  # now remembered: read again
        load_refdb(wrong, "k2")
    assert sorted(reads) == ["hash.k2d", "opts.k2d", "taxo.k2d"]


def test_a_file_written_just_before_hashing_is_not_remembered(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch
                                                                ) -> None:
    monkeypatch.setenv("SOILBIOME_CACHE_DIR", str(tmp_path / "cache"))
    fresh = tmp_path / "fresh.fa"
    fresh.write_bytes(b">x\nACGT\n")
    assert remembered_sha256(fresh) == sha(b">x\nACGT\n")
    assert not (tmp_path / "cache" / CACHE_NAME).exists()


def test_off_unreadable_or_foreign_caches_only_cost_time(databases: dict,
                                                         monkeypatch: pytest.MonkeyPatch,
                                                         tmp_path: Path) -> None:
    sheet, cache = databases["sheet"], databases["cache"]
    cache.parent.mkdir(parents=True)
    cache.write_text("{not json")
    load_refdb(sheet, "host")  # a broken cache is replaced by a good one
    assert str(databases["host"].resolve()) in remembered(cache)
    cache.write_text(json.dumps({"format": "something else", "files": {
        str(databases["host"].resolve()): [0, 0, 0, 0, 0, "0" * 64]}}))
    load_refdb(sheet, "host")
    monkeypatch.setenv("SOILBIOME_CACHE_DIR", "off")
    cache.unlink()
    load_refdb(sheet, "k2")
    assert not cache.exists()
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the cache folder would be")
    monkeypatch.setenv("SOILBIOME_CACHE_DIR", str(blocked))
    load_refdb(sheet, "k2")


def poison(cache: Path, path: Path, digest: str) -> None:
    """Make the cache remember ``digest`` for the unchanged ``path``."""
    data = json.loads(cache.read_text())
    data["files"][str(path.resolve())][5] = digest
    cache.write_text(json.dumps(data))


def test_a_pass_rests_on_what_is_remembered_and_refdb_check_reads_every_byte(
        databases: dict, tmp_path: Path) -> None:
    host, cache = databases["host"], databases["cache"]
    load_refdb(databases["sheet"], "host")
    other = tmp_path / "other"
    other.mkdir()
    claimed = "1" * 64  # a sheet claiming another digest, and a cache remembering that one
    sheet = write_sheet(other, [{"name": "host", "format": "host_fasta", "path": str(host),
                                 "sha256": claimed}])
    poison(cache, host, claimed)
    load_refdb(sheet, "host")  # unchanged file: the remembered digest is trusted, not re-read
    proc = subprocess.run([sys.executable, "-m", "soilbiome", "refdb", "check", "--sheet",
                           str(sheet), "--name", "host"], capture_output=True, text=True,
                          env=os.environ)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stderr.count("\n") == 1 and "checksum mismatch" in proc.stderr
    assert sha(host.read_bytes()) in proc.stderr  # what the bytes give
    assert remembered(cache)[str(host.resolve())][5] == sha(host.read_bytes())  # renewed
    with pytest.raises(InputError, match="checksum mismatch"):
        load_refdb(sheet, "host")
