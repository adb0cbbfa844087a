"""Samplesheet validation: good sheets pass, each kind of bad row is named precisely."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import ATACAMA_SHEET, write_sheet
from soilbiome.cli import main
from soilbiome.errors import SamplesheetError
from soilbiome.model.samplesheet import (
    MIXS_REQUIRED,
    check_collection_date,
    check_lat_lon,
    load_samplesheet,
)


def test_bundled_atacama_sheet_is_valid():
    sheet = load_samplesheet(ATACAMA_SHEET)
    assert len(sheet.rows) == 11
    assert [r.sample for r in sheet.rows].count("BLANK") == 1
    assert all(r.fastq_1.is_absolute() and r.fastq_1.is_file() for r in sheet.rows)
    assert all(not r.single_end for r in sheet.rows)
    assert sheet.rows[0].metadata["site"] == "BAQ3473"


def test_normalised_sheet_has_absolute_paths(tmp_path: Path):
    out = tmp_path / "valid.csv"
    load_samplesheet(ATACAMA_SHEET).write_normalised(out)
    with out.open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 11
    assert all(Path(r["fastq_1"]).is_absolute() for r in rows)
    assert {r["single_end"] for r in rows} == {"false"}
    assert not list(tmp_path.glob("*.tmp"))


def _problems(tmp_path: Path, header, rows) -> list[str]:
    sheet = write_sheet(tmp_path / "sheet.csv", header, rows)
    with pytest.raises(SamplesheetError) as info:
        load_samplesheet(sheet)
    return info.value.problems


def test_duplicate_sample_names_both_lines(tmp_path, atacama_rows):
    header, rows = atacama_rows
    rows[3]["sample"] = rows[1]["sample"]
    problems = _problems(tmp_path, header, rows)
    assert any(
        p.startswith(f"line 5, sample '{rows[1]['sample']}', column 'sample'")
        and "duplicate sample ID (first on line 3)" in p
        for p in problems
    ), problems


def test_missing_file_names_row_column_and_path(tmp_path, atacama_rows):
    header, rows = atacama_rows
    rows[2]["fastq_2"] = "/nonexistent/reads_R2.fastq.gz"
    problems = _problems(tmp_path, header, rows)
    assert problems == [
        f"line 4, sample '{rows[2]['sample']}', column 'fastq_2': "
        "file not found: /nonexistent/reads_R2.fastq.gz"
    ]


def test_relative_paths_resolve_against_the_sheet(tmp_path, atacama_copy, atacama_rows):
    header, rows = atacama_rows
    for row in rows:
        for col in ("fastq_1", "fastq_2"):
            row[col] = "reads/" + Path(row[col]).name
    sheet = load_samplesheet(write_sheet(tmp_path / "sheet.csv", header, rows))
    assert sheet.rows[0].fastq_1 == atacama_copy / Path(rows[0]["fastq_1"]).name


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("collection_date", "2010-13-01", "not a real calendar date"),
        ("collection_date", "21/03/2010", "not an ISO 8601 date"),
        ("collection_date", "2999-01-01", "in the future"),
        ("lat_lon", "-23.3, -69.8", "not MIxS lat_lon"),
        ("lat_lon", "95.0 S 69.85 W", "latitude 95.0 is beyond 90"),
        ("env_medium", "soil", "not 'term label [ENVO:00000000]'"),
        ("depth", "deep", "not a number or range"),
        ("elev", "", "empty MIxS field"),
        ("sample", "bad id!", "has characters other than"),
        ("sample", "", "empty sample ID"),
        ("fastq_1", "", "read file is required"),
        ("sample_type", "blank", "is not one of negative_control, positive_control, sample"),
    ],
)
def test_bad_values_are_named(tmp_path, atacama_rows, column, value, message):
    header, rows = atacama_rows
    rows[0][column] = value
    problems = _problems(tmp_path, header, rows)
    assert len(problems) == 1, problems
    assert "line 2" in problems[0] and f"column '{column}'" in problems[0]
    assert message in problems[0]


@pytest.mark.parametrize("column", MIXS_REQUIRED)
def test_missing_mixs_column(tmp_path, atacama_rows, column):
    header, rows = atacama_rows
    header = [h for h in header if h != column]
    for row in rows:
        del row[column]
    problems = _problems(tmp_path, header, rows)
    assert problems == [f"header: required column '{column}' is missing"]


def test_every_problem_is_reported_at_once(tmp_path, atacama_rows):
    header, rows = atacama_rows
    rows[0]["lat_lon"] = "nowhere"
    rows[5]["fastq_1"] = "/missing.fastq.gz"
    rows[6]["sample"] = rows[7]["sample"]
    assert len(_problems(tmp_path, header, rows)) == 3


def test_same_file_twice_is_refused(tmp_path, atacama_rows):
    header, rows = atacama_rows
    rows[1]["fastq_2"] = rows[1]["fastq_1"]
    problems = _problems(tmp_path, header, rows)
    assert "is already used on line 3 (fastq_1)" in problems[0]


def test_single_end_rows_are_accepted(tmp_path, atacama_rows):
    header, rows = atacama_rows
    for row in rows:
        row["fastq_2"] = ""
    sheet = load_samplesheet(write_sheet(tmp_path / "se.csv", header, rows))
    assert all(r.single_end for r in sheet.rows)


def test_insdc_missing_values_accepted():
    assert check_collection_date("2021-06") is None
    assert check_collection_date("2021-06-01T10:00:00Z") is None
    assert check_lat_lon("23.33 S 69.85 W") is None


def test_cli_exit_code_and_message(tmp_path, atacama_rows):
    header, rows = atacama_rows
    rows[4]["fastq_1"] = "/nope.fastq.gz"
    sheet = write_sheet(tmp_path / "bad.csv", header, rows)
    out = tmp_path / "valid.csv"
    result = CliRunner().invoke(main, ["validate", str(sheet), "--out", str(out)])
    assert result.exit_code == 2
    assert "line 6" in result.output and "column 'fastq_1'" in result.output
    assert not out.exists()


def test_cli_missing_samplesheet(tmp_path):
    result = CliRunner().invoke(main, ["validate", str(tmp_path / "absent.csv")])
    assert result.exit_code == 2
    assert "file not found" in result.output


@pytest.mark.parametrize("column, value", [
    ("site", '=HYPERLINK("http://x","y")'),
    ("site", "@SUM(A1:A9)"),
    ("site", "+cmd|' /C calc'!A0"),
    ("geo_loc_name", '=HYPERLINK("http://x","Chile: Atacama")'),
    ("sample", "-Xabc"),
])
def test_formula_text_is_refused_naming_row_and_column(tmp_path, atacama_rows, column, value):
    """Spreadsheet formula injection (OWASP): a text field may not start like a formula."""
    header, rows = atacama_rows
    if column not in header:
        header = [*header, column]
        for row in rows:
            row[column] = "Yungay"
    rows[1][column] = value
    problems = [p for p in _problems(tmp_path, header, rows) if "spreadsheet formula" in p]
    assert len(problems) == 1, problems
    assert problems[0].startswith(f"line 3, column '{column}': ")


@pytest.mark.parametrize("column, value", [("depth", "-5"), ("depth", "-5-10 cm"),
                                           ("elev", "-12.5"), ("site", "-"),
                                           ("site", "plot A=1")])
def test_numbers_and_ranges_are_not_formulas(tmp_path, atacama_rows, column, value):
    header, rows = atacama_rows
    if column not in header:
        header = [*header, column]
        for row in rows:
            row[column] = ""
    rows[0][column] = value
    sheet = load_samplesheet(write_sheet(tmp_path / "sheet.csv", header, rows))
    assert sheet.rows[0].metadata[column] == value


@pytest.mark.parametrize("value", ['=HYPERLINK("http://x","y")', "+SUM(A1)", "-Xdemo", "@cmd",
                                   "'=already quoted", "-5", "-12.5", "plot A=1", "-", ""])
def test_quoted_cells_give_the_value_back(value):
    from soilbiome.io.textfile import plain_cell, safe_cell

    quoted = safe_cell(value)
    assert plain_cell(quoted) == value
    if value[:1] in "=+@" and value not in ("",):
        assert str(quoted).startswith("'")
    if value in ("-5", "-12.5", "plot A=1", "-", ""):
        assert quoted == value  # numbers and ordinary text are left as they are


@pytest.mark.parametrize(("sample", "message"), [
    ("../x", "must start with a letter or digit (not '.'"),
    ("..", "must start with a letter or digit"),
    (".hidden", "must start with a letter or digit"),
    ("-1", "must start with a letter or digit (not '-'"),
    ("a/../../b", "has characters other than"),
    ("a\\b", "has characters other than"),
    ("a\tb", "has characters other than"),
    ("a\nb", "has characters other than"),
    ("s'; rm -rf ~; '", "has characters other than"),
    ("x" * 129, "129 characters long; at most 128"),
])
def test_sample_ids_that_would_leave_their_folder_are_refused(tmp_path, atacama_rows, sample,
                                                              message):
    # a sample ID names files in every folder of a run (qc/fastp/<id>.fastp.json ...)
    header, rows = atacama_rows
    rows[0]["sample"] = sample
    problems = _problems(tmp_path, header, rows)
    assert len(problems) == 1, problems
    assert problems[0].startswith("line 2, sample '") and "column 'sample'" in problems[0]
    assert message in problems[0] and "\n" not in problems[0]


def test_a_nul_byte_in_a_sample_id_is_refused_naming_the_line(tmp_path, atacama_rows):
    header, rows = atacama_rows
    rows[0]["sample"] = "a\x00b"
    sheet = write_sheet(tmp_path / "sheet.csv", header, rows)
    result = CliRunner().invoke(main, ["validate", str(sheet)])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "line 2: NUL byte" in result.output  # the CSV reader refuses it before any field


def test_a_sample_id_of_128_characters_is_accepted(tmp_path, atacama_rows):
    header, rows = atacama_rows
    rows[0]["sample"] = "S" * 128
    sheet = write_sheet(tmp_path / "sheet.csv", header, rows)
    assert load_samplesheet(sheet).rows[0].sample == "S" * 128
