"""A Kraken2 database's sheet checksum covers every file a run reads (the manifest digest).

The demo database is copied into a temporary folder, listed with ``soilbiome refdb add`` and
then edited the way a tampered or half-updated database would be: the start-up gate
(``soilbiome preflight``, what ``pipeline/main.nf`` calls before any task) must refuse it with
one line naming the sheet line, the database and the first file that differs.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT
from soilbiome.refdb import load_refdb
from soilbiome.refdb.manifest import LEGACY_FILES, MANIFEST_NAME, manifest_files

SHEET = ROOT / "assets" / "samplesheets" / "shotgun_demo.csv"
NAME = "humann_demo_kraken2"


def soilbiome(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "soilbiome", *args], capture_output=True,
                          text=True)


@pytest.fixture
def listed_db(kraken2_demo: Path, tmp_path: Path) -> tuple[Path, Path]:
    """A copy of the demo database, listed in a fresh database sheet by ``refdb add``."""
    db = tmp_path / "k2db"
    shutil.copytree(kraken2_demo, db, ignore=shutil.ignore_patterns(
        "refdb.csv", MANIFEST_NAME, ".complete"))
    for path in db.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)
    sheet = tmp_path / "databases.csv"
    proc = soilbiome("refdb", "add", NAME, str(db), "--sheet", str(sheet), "--marker", "shotgun",
                     "--format", "kraken2", "--licence", "MIT", "--citation", "demo")
    assert proc.returncode == 0, proc.stderr
    return db, sheet


def gate(sheet: Path, staging: Path) -> subprocess.CompletedProcess:
    return soilbiome("preflight", "--input", str(SHEET), "--staging", str(staging),
                     "--refdb-sheet", str(sheet), "--refdb", NAME)


def refusal(proc: subprocess.CompletedProcess) -> str:
    """The gate's one problem line (it lists one problem per line under a header)."""
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    problems = [ln.strip() for ln in proc.stderr.splitlines() if ln.startswith("  ")]
    assert len(problems) == 1, proc.stderr
    return problems[0]


def test_manifest_digest_is_what_coreutils_prints(listed_db):
    db, sheet = listed_db
    files = manifest_files(db)
    assert {"hash.k2d", "opts.k2d", "taxo.k2d", "taxonomy/names.dmp", "taxonomy/nodes.dmp",
            "database100mers.kmer_distrib"} <= set(files)
    assert MANIFEST_NAME not in files and "refdb.csv" not in files
    listing = subprocess.run(["sha256sum", *files], cwd=db, check=True,
                             capture_output=True).stdout
    entry = load_refdb(sheet, NAME)
    assert entry.sha256 == hashlib.sha256(listing).hexdigest()
    # the manifest written beside the files is that listing, and sha256sum -c accepts it
    assert (db / MANIFEST_NAME).read_bytes() == listing
    subprocess.run(["sha256sum", "--quiet", "-c", MANIFEST_NAME], cwd=db, check=True)


def test_gate_passes_the_listed_database(listed_db, tmp_path):
    _, sheet = listed_db
    proc = gate(sheet, tmp_path / "staging")
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "staging" / "reference_database.json").is_file()


def _swap_dorei_and_vulgatus(db: Path) -> None:
    names = db / "taxonomy" / "names.dmp"
    text = names.read_text()
    assert "Bacteroides dorei" in text and "Bacteroides vulgatus" in text
    names.write_text(text.replace("Bacteroides dorei", "@@").replace(
        "Bacteroides vulgatus", "Bacteroides dorei").replace("@@", "Bacteroides vulgatus"))


def _edit_kmer_distrib(db: Path) -> str:
    path = db / "database100mers.kmer_distrib"
    path.write_text(path.read_text() + "\n")
    return "database100mers.kmer_distrib was changed"


def _add_kmer_distrib(db: Path) -> str:
    shutil.copy(db / "database100mers.kmer_distrib", db / "database150mers.kmer_distrib")
    return "database150mers.kmer_distrib was added"


def _remove_kmer_distrib(db: Path) -> str:
    (db / "database100mers.kmer_distrib").unlink()
    return "database100mers.kmer_distrib was removed"


def _swap(db: Path) -> str:
    _swap_dorei_and_vulgatus(db)
    return "taxonomy/names.dmp was changed"


@pytest.mark.parametrize("edit", [_swap, _edit_kmer_distrib, _add_kmer_distrib,
                                  _remove_kmer_distrib])
def test_gate_refuses_an_edited_database_naming_the_file(listed_db, tmp_path, edit):
    db, sheet = listed_db
    said = edit(db)
    staging = tmp_path / "staging"
    line = refusal(gate(sheet, staging))
    assert f"{sheet}: line 2, database '{NAME}'" in line, line
    assert said in line, line
    assert not (staging / "reference_database.json").exists()


def test_without_a_stored_manifest_the_mismatch_is_still_refused(listed_db, tmp_path):
    db, sheet = listed_db
    (db / MANIFEST_NAME).unlink()
    _swap_dorei_and_vulgatus(db)
    line = refusal(gate(sheet, tmp_path / "staging"))
    assert f"database '{NAME}'" in line and "checksum mismatch for Kraken2 database" in line


def test_a_sheet_with_the_old_k2d_only_checksum_is_explained(listed_db, tmp_path):
    db, sheet = listed_db
    listing = subprocess.run(["sha256sum", *LEGACY_FILES], cwd=db, check=True,
                             capture_output=True).stdout
    old = hashlib.sha256(listing).hexdigest()
    new = load_refdb(sheet, NAME).sha256
    sheet.write_text(sheet.read_text().replace(new, old))
    line = refusal(gate(sheet, tmp_path / "staging"))
    assert "old checksum of hash.k2d, opts.k2d and taxo.k2d only" in line, line
    assert "refdb add --replace" in line
    # recording it again (what the message says) makes it pass
    proc = soilbiome("refdb", "add", NAME, str(db), "--sheet", str(sheet), "--marker",
                     "shotgun", "--format", "kraken2", "--licence", "MIT", "--citation", "demo",
                     "--replace")
    assert proc.returncode == 0, proc.stderr
    assert gate(sheet, tmp_path / "staging").returncode == 0
