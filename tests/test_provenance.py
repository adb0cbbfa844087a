"""Provenance of a real run (-profile test): params.json, the report's provenance section."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.nextflow


@pytest.fixture(scope="module")
def run16s(test_profile_run) -> Path:
    outdir, proc = test_profile_run
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    return outdir


@pytest.fixture(scope="module")
def report_html(run16s: Path) -> str:
    return (run16s / "soilbiome_report.html").read_text()


def _section(html: str, key: str) -> str:
    start = html.index(f'<section id="{key}">')
    return html[start: html.index("</section>", start)]


def test_report_is_titled_by_the_batch_not_the_run_name(report_html: str) -> None:
    # -profile test gives no --batch_name: the samplesheet's name is used
    assert re.search(r"<h1>atacama_16s</h1>", report_html)
    assert "<title>atacama_16s · soilbiome report</title>" in report_html


def test_report_provenance_names_reference_parameters_stamp_and_samples(
    report_html: str, run16s: Path
) -> None:
    prov = _section(report_html, "provenance")
    db = json.loads((run16s / "pipeline_info" / "reference_database.json").read_text())
    for value in (db["name"], db["version"], db["licence"], db["sha256"]):
        assert value in prov, value
    assert "Edgar RC (2018)" in prov  # the citation
    used = json.loads((run16s / "pipeline_info" / "params.json").read_text())
    for name in ("dada2_trunc_len_f", "dada2_max_ee_f", "dada2_pool", "fastp_min_length"):
        assert f"<dt>{name}</dt><dd>{used[name]}</dd>" in prov, name
    # the licence stamp was verified in the run, and the report says so
    assert "OK: stamp and signature verified" in prov or "rule(s) undecided" in prov
    assert "rules passed" in prov and "D2" in prov
    # the sample metadata, every sample
    for sample in ("BAQ2420.2", "YUN3153.3", "BLANK"):
        assert f"<td>{sample}</td>" in prov
    assert "env_broad_scale" in prov
