"""Class 6 (one line, never a traceback) for output folders and text sheets, and class 7
(dates and scope enforced by verify and check merge)."""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import EXAMPLES, assert_clean_error, assert_report_error, make_biom, run, snapshot

SAMPLES = ["BAQ2420.2", "BAQ3473.2"]
#: verify's exit codes without an ERROR: 0 every rule decided, 5 some undecided (no crate)
OK = (0, 5)
HEADER = ("sample,fastq_1,fastq_2,collection_date,geo_loc_name,lat_lon,env_broad_scale,"
          "env_local_scale,env_medium,depth,elev,name,version,marker,format,licence,citation,"
          "path,sha256\n")


@pytest.fixture()
def keyed(tmp_path: Path) -> tuple[Path, Path]:
    key = tmp_path / "keys" / "k.key"
    key.parent.mkdir()
    assert run("keys", "generate", key).returncode == 0
    agreement = tmp_path / "open.yaml"
    assert run("keys", "trust", EXAMPLES / "open-cc-by.yaml", "--key", key,
               "--out", agreement).returncode == 0
    return key, agreement


def _blocked(tmp_path: Path) -> Path:
    """A path whose parent is a regular file: no user (root included) can create it."""
    blocker = tmp_path / "a-file"
    blocker.write_text("in the way\n")
    return blocker / "sub"


def test_unwritable_output_folders(tmp_path: Path, keyed) -> None:
    key, agreement = keyed
    table = make_biom(tmp_path / "t.biom", SAMPLES)
    blocked = _blocked(tmp_path)
    before = snapshot(tmp_path)
    assert_clean_error(run("stamp", table, "--agreement", agreement, "--key", key,
                           "-o", blocked / "t.biom"), str(blocked), code=2)
    assert_clean_error(run("keys", "generate", blocked / "k.key"), str(blocked), code=2)
    # a folder inside the blocked one cannot be created: named, nothing written
    assert_clean_error(run("keys", "generate", blocked / "sub" / "k.key"), str(blocked / "sub"),
                       code=2)
    assert_clean_error(run("diversity", table, "--outdir", blocked / "div"), str(blocked),
                       code=2)
    assert_clean_error(run("keys", "trust", agreement, "--key", key, "--out",
                           blocked / "a.yaml"), str(blocked), code=2)
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize(("content", "needle"), [
    (b"sample,fastq_1\nS\xe91,a.fastq.gz\n", "line 2: not UTF-8 text"),
    (b"sample,fastq_1\x00\n", "NUL byte"),
    (b"\xff\xfe" + "sample,fastq_1\n".encode("utf-16-le"), "not UTF-8 text"),
    (HEADER.encode() + b'S1,"' + b"x" * 200_000 + b'"\n', "line 2: field larger than"),
])
def test_sheets_that_are_not_utf8_csv(tmp_path: Path, content: bytes, needle: str) -> None:
    sheet = tmp_path / "sheet.csv"
    sheet.write_bytes(content)
    out = tmp_path / "valid.csv"
    assert_clean_error(run("validate", sheet, "--out", out), str(sheet), needle, code=2)
    assert not out.exists()
    assert_clean_error(run("refdb", "check", "--sheet", sheet, "--name", "x"), str(sheet),
                       needle, code=2)


def test_read_file_names_with_spaces_are_named(tmp_path: Path) -> None:
    header = ",".join(HEADER.split(",")[:11]) + "\n"
    (tmp_path / "my reads_R1.fastq.gz").write_bytes(b"")
    sheet = tmp_path / "sheet.csv"
    sheet.write_text(header + "S1,my reads_R1.fastq.gz,,2020-01-01,Chile,23.3 S 69.8 W,"
                     "desert biome,desert,soil,0-10 cm,3000\n")
    assert_clean_error(run("validate", sheet), "line 2", "column 'fastq_1'",
                       "'my reads_R1.fastq.gz' contains whitespace", code=2)


@pytest.mark.parametrize(("today", "rule", "needle"), [
    ("2036-01-01", "A16", "expired on 2035-03-02 (today 2036-01-01)"),
    ("2025-03-01", "A16", "not in force before 2025-03-03"),
])
def test_verify_and_check_merge_enforce_agreement_dates(
        tmp_path: Path, keyed, today: str, rule: str, needle: str) -> None:
    key, agreement = keyed
    table = make_biom(tmp_path / "t.biom", SAMPLES)
    proc = run("stamp", table, "--agreement", agreement, "--key", key)
    assert proc.returncode == 0, proc.stderr
    assert run("verify", table, "--agreement", agreement).returncode in OK  # no crate: 5
    assert_report_error(run("verify", table, "--agreement", agreement, "--today", today),
                        rule, needle)
    assert_report_error(run("check", "merge", table, "--agreement", agreement,
                            "--today", today), rule)
    if rule == "A16" and "expired" in needle:  # the signed stamp carries valid_until too
        assert_report_error(run("check", "merge", table, "--today", today), rule, "expired")


def test_embargo_is_enforced(tmp_path: Path, keyed) -> None:
    import yaml

    key, agreement = keyed
    data = yaml.safe_load(agreement.read_text(encoding="utf-8"))
    data["access"]["embargo_until"] = "2030-01-01"
    embargoed = tmp_path / "embargoed.yaml"
    embargoed.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    table = make_biom(tmp_path / "t.biom", SAMPLES)
    assert run("stamp", table, "--agreement", embargoed, "--key", key).returncode == 0
    assert_report_error(run("verify", table, "--agreement", embargoed, "--today", "2029-06-01"),
                        "B15", "under embargo until 2030-01-01 (today 2029-06-01)")
    assert_report_error(run("check", "merge", table, "--today", "2029-06-01"), "B15")
    assert run("verify", table, "--agreement", embargoed, "--today", "2030-02-01"
               ).returncode in OK
