"""The schema a steward reads is the schema the package ships; docs cover every rule id."""

from __future__ import annotations

import json
from importlib import resources

import pytest

from soilbiome.sharing import duo

from .conftest import ROOT

RULES = ([f"A{i}" for i in range(1, 18)] + [f"B{i}" for i in range(0, 20)]
         + [f"C{i}" for i in range(1, 16)] + [f"D{i}" for i in range(1, 11)])


@pytest.mark.parametrize("name", ["sharing-agreement.schema.json",
                                  "sharing-request.schema.json"])
def test_schema_copies_identical(name: str) -> None:
    shipped = resources.files("soilbiome").joinpath("data", name).read_text(encoding="utf-8")
    steward = (ROOT / "sharing_agreements" / "schema" / name).read_text(encoding="utf-8")
    assert json.loads(shipped) == json.loads(steward)


def test_every_rule_documented() -> None:
    text = (ROOT / "docs" / "sharing.md").read_text(encoding="utf-8")
    missing = [r for r in RULES if f"| {r} |" not in text]
    assert not missing


@pytest.mark.parametrize("raw,norm", [("DUO_00000044", "DUO:0000044"), ("DUO:0000046",
                                      "DUO:0000046"), ("obo:DUO_0000042", "DUO:0000042"),
                                      ("HP:0000001", None)])
def test_duo_normalisation(raw: str, norm: str | None) -> None:
    assert duo.normalise_id(raw) == norm
