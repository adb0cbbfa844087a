"""Start-up gate of --shotgun_profiler: the databases each profiler needs, checked first."""

from __future__ import annotations

import pytest
from test_profiles import soilbiome

from conftest import ROOT, TESTDATA
from soilbiome.run.preflight import PreflightError, run_preflight

SHEET = ROOT / "assets" / "samplesheets" / "shotgun_demo.csv"
AMPLICON_SHEET = ROOT / "assets" / "samplesheets" / "atacama_16s.csv"
GENOMES = sorted((TESTDATA / "shotgun" / "kraken2_library").glob("*.ffn.gz"))


@pytest.fixture(scope="module")
def sylph_sheet(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("sylph_sheet")
    sheet = tmp / "refdb.csv"
    soilbiome("refdb", "build-sylph", *GENOMES, "--lineages",
              TESTDATA / "shotgun" / "sylph_demo_lineages.tsv", "--out", tmp / "db", "--name",
              "demo_sylph", "--sheet", sheet, "--licence", "MIT", "--citation", "demo",
              check=True)
    return sheet


def test_sylph_alone_with_a_sylph_refdb_passes(sylph_sheet, tmp_path):
    result = run_preflight(SHEET, tmp_path, refdb_sheet=sylph_sheet, refdb="demo_sylph",
                           shotgun_profiler="sylph")
    assert result.sylph is not None and result.sylph.is_file()


def test_kraken2_with_a_sylph_refdb_is_refused(sylph_sheet, tmp_path):
    with pytest.raises(PreflightError, match="the kraken2 profiler needs a kraken2 database"):
        run_preflight(SHEET, tmp_path, refdb_sheet=sylph_sheet, refdb="demo_sylph",
                      shotgun_profiler="sylph,kraken2")


def test_unknown_profiler_and_missing_sylph_database_are_refused(sylph_sheet, tmp_path):
    with pytest.raises(PreflightError, match="use kraken2, sylph or sylph,kraken2"):
        run_preflight(SHEET, tmp_path, refdb_sheet=sylph_sheet, refdb="demo_sylph",
                      shotgun_profiler="metaphlan")
    with pytest.raises(PreflightError, match="no database named 'nope'"):
        run_preflight(SHEET, tmp_path, refdb_sheet=sylph_sheet, refdb="demo_sylph",
                      shotgun_profiler="sylph", sylph_db="nope")


def test_the_record_gives_the_memory_the_sylph_tasks_ask_for(sylph_sheet, tmp_path):
    """preflight.json holds what SYLPH_PROFILE asks for (conf/base.config reads it through
    the workflow); an amplicon reference gives none."""
    import json

    from soilbiome.refdb.memory import database_memory

    result = run_preflight(SHEET, tmp_path, refdb_sheet=sylph_sheet, refdb="demo_sylph",
                           shotgun_profiler="sylph")
    record = json.loads((tmp_path / "preflight.json").read_text())
    folder = json.loads(result.sylph.read_text())["path"]
    assert record["task_memory"] == {"sylph": database_memory("sylph", folder)}
    amplicon = run_preflight(AMPLICON_SHEET, tmp_path / "a",
                             refdb_sheet=ROOT / "assets" / "refdb" / "test_refdb.csv",
                             refdb="ten16s_sintax")
    assert amplicon.task_memory == {}
