"""soilbiome refdb add: a sheet row with its checksum, read back by load_refdb."""

from __future__ import annotations

import csv
import hashlib
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import ROOT, TESTDATA
from soilbiome.cli import main
from soilbiome.errors import InputError
from soilbiome.refdb import KRAKEN2_FILES, load_refdb
from soilbiome.refdb.add import add_reference

SINTAX = TESTDATA / "refdb" / "16s_sintax_ten16s.fa.gz"
CITE = "Edgar RC (2018) PeerJ 6:e4652"


def cli(*args: object) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def rows(sheet: Path) -> list[dict]:
    with sheet.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture
def sintax(tmp_path) -> Path:
    (tmp_path / "refs").mkdir()
    return Path(shutil.copy(SINTAX, tmp_path / "refs" / SINTAX.name))


def test_add_writes_a_new_sheet_that_verifies(sintax, tmp_path):
    sheet = tmp_path / "refdb.csv"
    code, out, err = cli("refdb", "add", "ten16s", sintax, "--sheet", sheet, "--marker", "16s",
                         "--format", "sintax", "--licence", "lgpl-2.0-or-later",
                         "--citation", CITE, "--version", "TAXXI.100", "--taxonomy", "RDP")
    assert code == 0, err
    expected = hashlib.sha256(SINTAX.read_bytes()).hexdigest()
    assert expected in out
    (row,) = rows(sheet)
    assert row == {"name": "ten16s", "version": "TAXXI.100", "marker": "16S",
                   "format": "sintax", "licence": "LGPL-2.0-or-later", "citation": CITE,
                   "path": "refs/16s_sintax_ten16s.fa.gz", "sha256": expected,
                   "taxonomy": "RDP"}
    entry = load_refdb(sheet, "ten16s")  # verifies the checksum
    assert entry.path == sintax.resolve() and entry.taxonomy == "RDP"
    code, out, err = cli("refdb", "check", "--sheet", sheet, "--name", "ten16s")
    assert code == 0 and "sha256 verified" in out


def test_add_extends_a_sheet_keeping_rows_and_columns(tmp_path, sintax):
    sheet = tmp_path / "refdb.csv"
    original = (ROOT / "assets" / "refdb" / "test_refdb.csv").read_text()
    header, *lines = original.splitlines()
    sheet.write_text(header + ",site_note\n" + "\n".join(line + ",kept" for line in lines) + "\n")
    before = rows(sheet)
    add_reference(sheet, "mine", sintax, marker="16S", fmt="sintax", licence="CC0-1.0",
                  citation="in-house", version="1", taxonomy="SILVA")
    after = rows(sheet)
    assert [r["name"] for r in after] == [r["name"] for r in before] + ["mine"]
    for old, new in zip(before, after, strict=False):
        assert {k: new[k] for k in old} == old  # earlier rows unchanged, extra column kept
        assert new["taxonomy"] == ""
    assert after[-1]["site_note"] == "" and after[-1]["taxonomy"] == "SILVA"
    assert load_refdb(sheet, "mine").sha256 == hashlib.sha256(SINTAX.read_bytes()).hexdigest()


def test_duplicate_name_is_refused_unless_replace(tmp_path, sintax):
    sheet = tmp_path / "refdb.csv"
    add_reference(sheet, "a", sintax, marker="16S", fmt="sintax", licence="MIT", citation="x",
                  version="1")
    add_reference(sheet, "b", sintax, marker="16S", fmt="sintax", licence="MIT", citation="x",
                  version="1")
    before = sheet.read_bytes()
    code, _, err = cli("refdb", "add", "a", sintax, "--sheet", sheet, "--marker", "16S",
                       "--format", "sintax", "--licence", "MIT", "--citation", "y")
    assert code == 2
    assert err.strip() == (f"soilbiome: error: {sheet}: line 2: a reference named 'a' is "
                           "already listed (use --replace to replace it)")
    assert sheet.read_bytes() == before
    code, _, err = cli("refdb", "add", "a", sintax, "--sheet", sheet, "--marker", "16S",
                       "--format", "sintax", "--licence", "MIT", "--citation", "y",
                       "--version", "2", "--replace")
    assert code == 0, err
    assert [(r["name"], r["version"], r["citation"]) for r in rows(sheet)] == [
        ("a", "2", "y"), ("b", "1", "x")]


def test_path_outside_the_sheet_folder_is_absolute_and_version_defaults(tmp_path, sintax):
    sheet = tmp_path / "sheets" / "refdb.csv"
    entry = add_reference(sheet, "x", sintax, marker="ITS", fmt="sintax", licence="MIT",
                          citation="c")
    (row,) = rows(sheet)
    assert row["path"] == str(sintax.resolve())
    assert entry.version == row["version"] == "sha256-" + row["sha256"][:12]
    assert load_refdb(sheet, "x").path == sintax.resolve()


def test_kraken2_folder_gets_the_coreutils_digest(tmp_path):
    db = tmp_path / "k2"
    db.mkdir()
    for i, name in enumerate(KRAKEN2_FILES):
        (db / name).write_bytes(bytes([i + 7]) * (50 + i))
    listing = subprocess.run(["sha256sum", *KRAKEN2_FILES], cwd=db, check=True,
                             capture_output=True).stdout
    sheet = tmp_path / "refdb.csv"
    entry = add_reference(sheet, "k2", db, marker="shotgun", fmt="kraken2", licence="MIT",
                          citation="Wood DE et al. (2019)", version="demo")
    assert rows(sheet)[0]["path"] == "k2"
    assert entry.sha256 == hashlib.sha256(listing).hexdigest()
    assert load_refdb(sheet, "k2").taxonomy == "NCBI"


@pytest.mark.parametrize(("args", "message"), [
    (["--marker", "16S", "--format", "sintax", "--licence", "CC-BY-FOO"],
     "licence: licence 'CC-BY-FOO': unknown SPDX licence id"),
    (["--marker", "16Q", "--format", "sintax", "--licence", "MIT"],
     "marker: unknown marker '16Q'"),
    (["--marker", "16S", "--format", "host_fasta", "--licence", "MIT"],
     "marker: marker '16S' does not fit format 'host_fasta' (expected host)"),
    (["--marker", "shotgun", "--format", "kraken2", "--licence", "MIT"],
     "a kraken2 reference is a database folder, not a file"),
])
def test_bad_fields_are_refused_in_one_line_and_write_nothing(tmp_path, sintax, args, message):
    sheet = tmp_path / "refdb.csv"
    code, out, err = cli("refdb", "add", "x", sintax, "--sheet", sheet, "--citation", "c",
                         *args)
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and message in err
    assert not sheet.exists()


def test_bad_name_and_missing_file_are_refused(tmp_path, sintax):
    sheet = tmp_path / "refdb.csv"
    with pytest.raises(InputError, match="not a usable reference name"):
        add_reference(sheet, "my ref,1", sintax, marker="16S", fmt="sintax", licence="MIT",
                      citation="c")
    with pytest.raises(InputError, match="reference file not found"):
        add_reference(sheet, "x", tmp_path / "nope.fa", marker="16S", fmt="sintax",
                      licence="MIT", citation="c")
    k2 = tmp_path / "k2"
    k2.mkdir()
    (k2 / "hash.k2d").write_bytes(b"x")
    with pytest.raises(InputError, match=r"missing opts\.k2d, taxo\.k2d"):
        add_reference(sheet, "x", k2, marker="shotgun", fmt="kraken2", licence="MIT",
                      citation="c")
    assert not sheet.exists()


@pytest.mark.parametrize(("case", "fmt", "message"), [
    ("truncated", "sintax", "corrupt or truncated gzip stream after line"),
    ("empty", "sintax", "no sequence in the reference file"),
    ("not fasta", "sintax", "line 1: not FASTA"),
    ("no sequence", "sintax", "line 3: a header without a sequence"),
    ("sintax as dada2", "dada2", "line 1: a SINTAX header (';tax=') in a DADA2 training set"),
    ("dada2 as sintax", "sintax", "line 1: a SINTAX reference's header names its lineage"),
])
def test_a_reference_that_is_not_whole_fasta_of_its_format_is_not_listed(
        tmp_path, case, fmt, message):
    """Read to its end before it is listed: a truncated download, an empty or non-FASTA file,
    or headers of the other format would otherwise be 'sha256 verified' for ever."""
    import gzip

    whole = gzip.decompress(SINTAX.read_bytes())
    dada2 = TESTDATA / "refdb" / "16s_dada2_example_train_set.fa.gz"
    bodies = {
        "truncated": SINTAX.read_bytes()[: SINTAX.stat().st_size // 2],
        "empty": b"",
        "not fasta": b"ACGT\n>x;tax=d:Bacteria\nACGT\n",
        "no sequence": b">a;tax=d:Bacteria\nACGT\n>b;tax=d:Bacteria\n\n>c;tax=d:Bacteria\n"
                       + whole,
        "sintax as dada2": SINTAX.read_bytes(),
        "dada2 as sintax": dada2.read_bytes(),
    }
    ref = tmp_path / "ref.fa.gz"
    ref.write_bytes(bodies[case])
    sheet = tmp_path / "refdb.csv"
    shutil.copy(ROOT / "assets" / "refdb" / "test_refdb.csv", sheet)
    before = sheet.read_bytes()
    code, _, err = cli("refdb", "add", "mine", ref, "--sheet", sheet, "--marker", "16S",
                       "--format", fmt, "--licence", "MIT", "--citation", "x")
    assert code == 2, err
    assert err.count("\n") == 1 and f"{ref}: " in err and message in err, err
    assert sheet.read_bytes() == before
    # the real references themselves are whole FASTA of their format
    for path, real in ((SINTAX, "sintax"), (dada2, "dada2")):
        code, _, err = cli("refdb", "add", f"ok_{real}", path, "--sheet", tmp_path / "ok.csv",
                           "--marker", "16S", "--format", real, "--licence", "MIT",
                           "--citation", "x")
        assert code == 0, err
