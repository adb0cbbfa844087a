"""``soilbiome crate build`` reads every input before it writes into the results folder."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT


def _crate(results: Path, *args: object) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "soilbiome", "crate", "build", str(results),
                           "--workflow", str(ROOT / "pipeline" / "main.nf"), "--run-name",
                           "happy_turing", *map(str, args)],
                          capture_output=True, text=True, check=False)


@pytest.mark.parametrize(("option", "content", "message"), [
    ("--params", b"{\n", "not valid JSON"),
    ("--params", b"[1, 2]\n", "not a JSON object but list"),
    ("--refdb-record", b"[]\n", "not a JSON object but list"),
    ("--versions", b"tools: [\n", "software versions file is not valid YAML"),
    ("--versions", b"- fastp\n", "not a mapping of tools and processes but list"),
    ("--trace", b"\xff\xfe\x00binary", "not a Nextflow trace file: not UTF-8 text"),
    ("--trace", b'{"a": 1}\n', "not a Nextflow trace file: no task_id, hash, name, status"),
])
def test_a_bad_input_is_one_line_and_the_results_folder_is_untouched(
        tmp_path: Path, option: str, content: bytes, message: str) -> None:
    results = tmp_path / "results"
    (results / "workflow").mkdir(parents=True)
    (results / "workflow" / "main.nf").write_text("the earlier run's workflow\n")
    params = tmp_path / "params.json"
    params.write_text(json.dumps({"input": "samplesheet.csv", "outdir": "results"}))
    bad = tmp_path / f"bad{option}"
    bad.write_bytes(content)
    args = ["--params", bad] if option == "--params" else ["--params", params, option, bad]
    proc = _crate(results, *args)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and f"{bad}: " in lines[0] and message in lines[0], proc.stderr
    assert (results / "workflow" / "main.nf").read_text() == "the earlier run's workflow\n"
    assert sorted(p.name for p in results.rglob("*")) == ["main.nf", "workflow"]
    proc = _crate(results, "--params", params)  # the same folder with good inputs
    assert proc.returncode == 0, proc.stderr
    assert (results / "workflow" / "main.nf").read_bytes() == (
        ROOT / "pipeline" / "main.nf").read_bytes()
    assert (results / "ro-crate-metadata.json").is_file()
