"""collect-versions: versions kept as the tools printed them, and what is not a version."""

from __future__ import annotations

import subprocess
import sys

import yaml


def _collect(tmp_path, *records: str) -> tuple[subprocess.CompletedProcess, object]:
    files = []
    for k, text in enumerate(records):
        files.append(tmp_path / f"versions_{k}.yml")
        files[-1].write_text(text)
    out = tmp_path / "software_versions.yml"
    proc = subprocess.run([sys.executable, "-m", "soilbiome", "collect-versions",
                           *map(str, files), "--nextflow", "24.10.0", "--pipeline", "0.2.0",
                           "--out", str(out)], capture_output=True, text=True, check=False)
    return proc, out


def test_a_version_is_the_text_the_tool_printed(tmp_path):
    """Unquoted in versions.yml, as nf-core modules write it: 1.10 is not the float 1.1."""
    proc, out = _collect(tmp_path, '"AMPLICON:X":\n    samtools: 1.10\n    mafft: 7.505\n',
                         '"AMPLICON:Y":\n    fasttree: 2.1.11\n    tool: 2.0\n')
    assert proc.returncode == 0, proc.stderr
    tools = yaml.safe_load(out.read_text())["tools"]
    assert (tools["samtools"], tools["mafft"], tools["fasttree"], tools["tool"]) == (
        "1.10", "7.505", "2.1.11", "2.0")


def test_a_list_or_mapping_is_not_a_version(tmp_path):
    out_before = tmp_path / "software_versions.yml"
    out_before.write_text("earlier\n")
    proc, out = _collect(tmp_path, '"AMPLICON:X":\n    fastp: [1, 2]\n')
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "versions_0.yml: AMPLICON:X: fastp: the version is" in lines[0]
    assert out.read_text() == "earlier\n"
