"""The parameter schema documents every pipeline parameter, and only those."""

from __future__ import annotations

import json
import re

from conftest import ROOT


def _config_params() -> set[str]:
    text = (ROOT / "pipeline" / "nextflow.config").read_text()
    block = text.split("params {", 1)[1].split("\n}", 1)[0]
    return set(re.findall(r"^\s{4}(\w+)\s*=", block, flags=re.M))


def test_schema_matches_nextflow_config():
    schema = json.loads((ROOT / "pipeline" / "nextflow_schema.json").read_text())
    documented = {p for group in schema["$defs"].values() for p in group["properties"]}
    assert documented == _config_params()


def test_parameters_doc_lists_every_parameter():
    doc = (ROOT / "docs" / "parameters.md").read_text()
    missing = [p for p in _config_params() if f"`--{p}`" not in doc]
    assert missing == []
