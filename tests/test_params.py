"""Pipeline parameters checked against pipeline/nextflow_schema.json before any task runs."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import MAIN, ROOT, run_nextflow
from soilbiome.cli import main
from soilbiome.run.params import ParameterError, check_params, help_text, load_schema, properties

SCHEMA_PATH = ROOT / "pipeline" / "nextflow_schema.json"


@pytest.fixture(scope="module")
def schema() -> dict:
    return load_schema(SCHEMA_PATH)


def _config_params(text: str) -> set[str]:
    names: set[str] = set()
    for block in re.finditer(r"params\s*\{(.*?)\n\}", text, re.S):
        names |= set(re.findall(r"^\s*([a-z_][a-z0-9_]*)\s*=", block.group(1), re.M))
    return names | set(re.findall(r"params\.([a-z_][a-z0-9_]*)\s*=", text))


def test_every_config_parameter_is_in_the_schema_and_back(schema: dict) -> None:
    declared = set(properties(schema))
    main_config = _config_params((ROOT / "pipeline" / "nextflow.config").read_text())
    assert main_config <= declared, main_config - declared
    for profile in (ROOT / "conf").glob("*.config"):
        assert _config_params(profile.read_text()) <= declared, profile.name
    hidden = {k for k, v in properties(schema).items() if v.get("hidden")}
    assert declared - hidden <= main_config, (declared - hidden) - main_config


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"outdirr": "x"}, "--outdirr: unknown parameter; did you mean --outdir?"),
        ({"dada2_trunc_len_ff": 140},
         "--dada2_trunc_len_ff: unknown parameter; did you mean --dada2_trunc_len_f?"),
        ({"batch-name": "x", "batchName": "x"}, "--batch-name: write it as --batch_name"),
        ({"zzzz_qqq": 1}, "--zzzz_qqq: unknown parameter"),
        ({"seed": "abc"}, '--seed "abc": must be a whole number'),
        ({"dada2_trunc_len_f": 2.5}, "--dada2_trunc_len_f 2.5: must be a whole number"),
        ({"dada2_trunc_len_f": -1}, "--dada2_trunc_len_f -1: must be at least 0"),
        ({"primer_min_fraction": 1.5}, "--primer_min_fraction 1.5: must be at most 1"),
        ({"report_rank": "kingdm"}, '--report_rank "kingdm": must be one of domain, kingdom'),
        ({"primer_fwd": "GTGYCAGCMGCCGCGGTAAX"}, "does not match the pattern"),
        ({"skip_fastp": "yes"}, '--skip_fastp "yes": must be true or false'),
        ({"agreement": True}, "--agreement: needs a path, but was given without a value"),
        ({"its_region": "ITS3"}, '--its_region "ITS3": must be one of auto, none, ITS1'),
        ({"qc_compression": 10}, "--qc_compression 10: must be at most 9"),
        ({"qc_duplication": "maybe"}, '--qc_duplication "maybe": must be true or false'),
        ({"branch_lengths": "half"}, '--branch_lengths "half": must be one of double, single'),
    ],
)
def test_bad_parameters_are_refused_with_a_reason(schema: dict, given: dict,
                                                  message: str) -> None:
    with pytest.raises(ParameterError) as info:
        check_params({"input": "a.csv", **given}, schema)
    assert len(info.value.problems) == 1
    assert message in info.value.problems[0]


def test_valid_parameters_pass_in_schema_order(schema: dict) -> None:
    given = {"outdir": "r", "input": "a.csv", "dada2_pool": True, "group_by": 2024,
             "rarefaction_depth": None, "help": False, "max_memory": "6.GB"}
    checked = check_params(given, schema)
    assert list(checked)[:2] == ["input", "outdir"]  # schema order
    # Nextflow guessed types the schema does not want: the strings are meant
    assert checked["dada2_pool"] == "true" and checked["group_by"] == "2024"
    assert checked["rarefaction_depth"] is None


def test_every_problem_is_listed_at_once(schema: dict) -> None:
    with pytest.raises(ParameterError) as info:
        check_params({"outdirr": 1, "seed": "x", "mode": "shotgunn"}, schema)
    assert len(info.value.problems) == 3


def test_help_lists_groups_and_parameters(schema: dict) -> None:
    text = help_text(schema)
    for title in ("Input/output:", "QC:", "DADA2:", "Taxonomy:", "Data sharing:"):
        assert title in text
    assert re.search(r"--dada2_trunc_len_f\s+integer\s+truncLen", text)
    assert "choices: domain, kingdom, phylum" in text
    assert "config_profile_name" not in text  # hidden


def test_cli_check_writes_params_json(tmp_path: Path) -> None:
    given = tmp_path / "given.json"
    given.write_text(json.dumps({"input": "a.csv", "outdirr": "x"}))
    out = tmp_path / "params.json"
    res = CliRunner().invoke(main, ["params", "check", "--schema", str(SCHEMA_PATH),
                                    "--params", str(given), "--out", str(out)])
    assert res.exit_code == 2 and "did you mean --outdir?" in res.output
    assert not out.exists()
    given.write_text(json.dumps({"input": "a.csv", "outdir": "x", "seed": 7}))
    res = CliRunner().invoke(main, ["params", "check", "--schema", str(SCHEMA_PATH),
                                    "--params", str(given), "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert json.loads(out.read_text()) == {"input": "a.csv", "outdir": "x", "seed": 7}


# ------------------------------------------------------------------------------ Nextflow


@pytest.mark.nextflow
def test_pipeline_refuses_bad_parameters_before_any_task(tmp_path: Path) -> None:
    """Today's silent failures: every problem named in one start-up error, nothing run."""
    outdir = tmp_path / "results"
    proc = run_nextflow("run", str(MAIN), "-profile", "test", "--outdir", str(outdir),
                        "--outdirr", "elsewhere", "--dada2_trunc_len_ff", "140",
                        "--fastp_min_length", "abc", "--dada2_pool", "maybe",
                        cwd=tmp_path, timeout=300)
    text = proc.stdout + proc.stderr
    assert proc.returncode != 0
    for expected in (
        "4 problem(s) with the pipeline parameters",
        "--outdirr: unknown parameter; did you mean --outdir?",
        "--dada2_trunc_len_ff: unknown parameter; did you mean --dada2_trunc_len_f?",
        '--fastp_min_length "abc": must be a whole number',
        '--dada2_pool "maybe": must be one of false, pseudo, true',
    ):
        assert expected in text, text[-3000:]
    assert "Submitted process" not in text
    assert not list((tmp_path / "work").glob("??/*/.command.sh"))
    assert not (outdir / "pipeline_info" / "params.json").exists()
    assert not (outdir / "pipeline_info" / "samplesheet.valid.csv").exists()
    assert not (tmp_path / "elsewhere").exists()


@pytest.mark.nextflow
@pytest.mark.parametrize("mode", ["amplicon", "shotgun"])
def test_config_selectors_checked_against_every_module(tmp_path: Path, mode: str) -> None:
    """A run compiles only its mode's workflow, yet a lab's config may name any process: a
    selector of another mode's process, a qualified or an aliased one passes without a word;
    a misspelled one is named, as Nextflow's own check would (the run is then refused for its
    missing samplesheet, before any task)."""
    config = tmp_path / "site.config"
    config.write_text("process {\n"
                      "    withName: 'KRAKEN2' { cpus = 1 }\n"
                      "    withName: 'DADA2_BATCH' { cpus = 2 }\n"
                      "    withName: 'AMPLICON:PHYLOGENY' { cpus = 1 }\n"
                      "    withName: 'SOFTWARE_VERSIONS|STAMP_SECOND' { cpus = 1 }\n"
                      "    withName: 'SHOTGUN:KRAKEN2|AMPLICON:VSEARCH_SINTAX' { cpus = 1 }\n"
                      "    withName: 'DADA2_BACTH' { cpus = 2 }\n"
                      "}\n")
    proc = run_nextflow("run", str(MAIN), "-c", str(config), "--mode", mode,
                        cwd=tmp_path, timeout=300)
    text = proc.stdout + proc.stderr
    assert proc.returncode != 0 and "No samplesheet" in text, text[-3000:]
    warned = re.findall(r"There's no process matching config selector: (\S+)", text)
    assert warned == ["DADA2_BACTH"], text[-3000:]
    assert "Submitted process" not in text


@pytest.mark.nextflow
def test_pipeline_help_prints_groups_and_runs_nothing(tmp_path: Path) -> None:
    """--help in an empty folder (default --outdir results/): it prints the parameters and
    leaves no results/ (Nextflow's launch trace removed) and no work/ behind."""
    proc = run_nextflow("run", str(MAIN), "--help", cwd=tmp_path, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    for text in ("Input/output:", "DADA2:", "--dada2_trunc_len_f", "--batch_name"):
        assert text in proc.stdout
    assert not (tmp_path / "results").exists(), sorted(tmp_path.rglob("results/**/*"))
    assert not (tmp_path / "work").exists(), sorted((tmp_path / "work").rglob("*"))


@pytest.mark.nextflow
def test_params_json_of_a_real_run(test_profile_run) -> None:
    outdir, proc = test_profile_run
    assert proc.returncode == 0, proc.stderr[-2000:]
    used = json.loads((outdir / "pipeline_info" / "params.json").read_text())
    assert used["outdir"] == str(outdir) and used["refdb"]
    assert set(used) <= set(properties(load_schema(SCHEMA_PATH)))
