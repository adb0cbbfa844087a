"""Rules A1..A17: every rule has a trigger and a pass; schema errors carry field paths."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from soilbiome.sharing import AgreementError, Severity, check_agreement, load_agreement
from soilbiome.sharing.findings import Status

from .conftest import (
    CONTROLLED,
    EXAMPLES,
    LOCAL_CONTEXTS,
    NAGOYA,
    OPEN,
    TODAY,
    load_data,
    write_yaml,
)

ALL_A = [f"A{i}" for i in range(1, 18)]


#: Rules whose precondition each example does not meet (read from the example files).
NOT_APPLICABLE = {
    # LicenseRef (not open, not -NC), metadata-only deposit, ABS known, no labels
    "controlled-pilot-dsa": {"A5", "A6", "A7", "A10", "A12", "A13", "A14", "A15"},
    "nagoya-abs": {"A5", "A6", "A7", "A10", "A12", "A13", "A14", "A15"},
    # LicenseRef, ABS does not apply, no tkss/tkco label (but bcnc: A14 applies)
    "local-contexts": {"A5", "A6", "A7", "A8", "A9", "A10", "A11", "A13"},
    # CC-BY-4.0 (open, not -NC), ABS does not apply, no labels
    "open-cc-by": {"A6", "A8", "A9", "A10", "A11", "A12", "A13", "A14", "A15"},
    "open-cc-by-shotgun": {"A6", "A8", "A9", "A10", "A11", "A12", "A13", "A14", "A15"},
}


@pytest.mark.parametrize("example", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.stem)
def test_examples_pass_every_applicable_a_rule(example: Path) -> None:
    load_agreement(example)
    report = check_agreement(example, today=TODAY)
    assert not report.findings, report.to_text()
    not_applicable = set(report.with_status(Status.NOT_APPLICABLE))
    assert not_applicable == NOT_APPLICABLE[example.stem]
    assert report.passed_rules() == set(ALL_A) - not_applicable  # never both
    assert report.exit_code == 0


def test_not_applicable_is_shown_distinctly(tmp_path: Path) -> None:
    """No abs section: A8/A10 do not apply, A9 needs a person; none is 'passed'."""
    data = load_data(OPEN)
    del data["abs"]
    report = check_agreement(write_yaml(data, tmp_path / "a.yaml"), today=TODAY)
    assert report.status("A8") == Status.NOT_APPLICABLE
    assert report.status("A9") == Status.NEEDS_PERSON and report.exit_code == 5
    assert not {"A8", "A9", "A10"} & report.passed_rules()
    lines = report.to_text().splitlines()
    assert any(line.startswith("not applicable") and " A8 " in line for line in lines)
    assert any(line.startswith("NEEDS A PERSON") and " A9 " in line for line in lines)
    out = report.to_dict()
    by_rule = {r["rule"]: r for r in out["rules"]}
    assert by_rule["A8"]["status"] == "not_applicable" and "abs" in by_rule["A8"]["why"]
    assert by_rule["A9"]["status"] == "needs_person"
    assert "A8" in out["not_applicable"] and "A8" not in out["passed"]
    assert out["needs_person"] == ["A9"]


def test_schema_errors_name_every_field_path(tmp_path: Path) -> None:
    data = load_data(CONTROLLED)
    data["parties"][1]["country"] = "Switzerland"
    del data["license"]["spdx"]
    data["agreement"]["status"] = "approved"
    data["access"]["licence_typo"] = True
    with pytest.raises(AgreementError) as exc:
        load_agreement(write_yaml(data, tmp_path / "bad.yaml"))
    fields = {f for f, _ in exc.value.problems}
    assert {"parties[1].country", "license.spdx", "agreement.status",
            "access.licence_typo"} <= fields
    assert "parties[1].country" in str(exc.value)


def test_unknown_licence_id_is_a_clear_error(tmp_path: Path) -> None:
    data = load_data(OPEN)
    data["license"]["spdx"] = "CC-BY-4.2"
    path = write_yaml(data, tmp_path / "bad.yaml")
    with pytest.raises(AgreementError) as exc:
        load_agreement(path)
    assert exc.value.problems[0][0] == "license.spdx"
    assert "unknown SPDX licence id(s) 'CC-BY-4.2'" in str(exc.value)
    report = check_agreement(path, today=TODAY)
    assert [(f.rule, f.where) for f in report.findings if f.severity == Severity.ERROR] == [
        ("A1", "license.spdx")
    ]


def test_licenseref_and_expressions_accepted(tmp_path: Path) -> None:
    data = load_data(CONTROLLED)
    data["license"]["spdx"] = "LicenseRef-PilotDSA-1.0 AND cc0-1.0"
    ag = load_agreement(write_yaml(data, tmp_path / "a.yaml"))
    assert ag.spdx == "LicenseRef-PilotDSA-1.0 AND CC0-1.0"


def _duo(data: dict[str, Any], term: str, **extra: Any) -> None:
    data["data_use"]["duoDataUse"].append({"id": term, **extra})


def _drop_duo(data: dict[str, Any], term: str) -> None:
    data["data_use"]["duoDataUse"] = [d for d in data["data_use"]["duoDataUse"]
                                      if d["id"] != term]


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def apply(data: dict[str, Any]) -> None:
        cur = data
        parts = path.split(".")
        for p in parts[:-1]:
            cur = cur.setdefault(p, {})
        cur[parts[-1]] = value
    return apply


def _open_nc(data: dict[str, Any]) -> None:
    data["license"]["spdx"] = "CC-BY-NC-4.0"
    data["license"]["derived_outputs_license"] = "CC-BY-NC-4.0"
    data["access"]["insdc_deposit"] = "metadata_only"


def _no_abs_evidence(data: dict[str, Any]) -> None:
    data["abs"]["ircc"] = []
    data["abs"]["national_permits"] = []


def _label(code: str, kind: str = "BC") -> Callable[[dict[str, Any]], None]:
    def apply(data: dict[str, Any]) -> None:
        data["local_contexts"]["labels"].append({"kind": kind, "code": code})
    return apply


# (rule, base example, mutation, expected severity, today)
TRIGGERS = [
    ("A1", CONTROLLED, _set("parties", [{"id": "x", "role": "provider", "name": "X",
                                          "country": "Kenya"}]), Severity.ERROR, None),
    ("A2", CONTROLLED, lambda d: _duo(d, "DUO:0000005"), Severity.ERROR, None),
    ("A2", CONTROLLED, lambda d: _duo(d, "DUO:0000099"), Severity.ERROR, None),
    ("A3", CONTROLLED, lambda d: _duo(d, "DUO:0000006"), Severity.ERROR, None),
    ("A3", CONTROLLED, lambda d: _drop_duo(d, "DUO:0000042"), Severity.ERROR, None),
    ("A4", CONTROLLED, lambda d: _duo(d, "DUO:0000016"), Severity.WARNING, None),
    ("A5", OPEN, lambda d: _duo(d, "DUO:0000046"), Severity.ERROR, None),
    ("A5", OPEN, _set("access.onward_transfer", "parties_only"), Severity.ERROR, None),
    ("A6", OPEN, _open_nc, Severity.WARNING, None),
    ("A7", CONTROLLED, _set("access.insdc_deposit", "full"), Severity.ERROR, None),
    ("A8", CONTROLLED, _set("abs.ircc", ["ABSCH-IRCC-CH-000000-1"]), Severity.ERROR, None),
    ("A8", NAGOYA, _set("abs.ircc", ["IRCC-IN-12-1"]), Severity.ERROR, None),
    ("A9", CONTROLLED, _no_abs_evidence, Severity.ERROR, None),
    ("A10", CONTROLLED, _set("abs.applicable", "unknown"), Severity.WARNING, None),
    ("A11", CONTROLLED, lambda d: _drop_duo(d, "DUO:0000046"), Severity.ERROR, None),
    ("A11", OPEN, _set("abs.permitted_use", "non_commercial"), Severity.ERROR, None),
    ("A12", LOCAL_CONTEXTS, _label("bcxyz"), Severity.ERROR, None),
    ("A12", LOCAL_CONTEXTS, lambda d: d["local_contexts"].pop("project_id"), Severity.WARNING,
     None),
    ("A13", LOCAL_CONTEXTS, _label("tkss", "TK"), Severity.ERROR, None),
    ("A13", LOCAL_CONTEXTS, _label("tkco", "TK"), Severity.ERROR, None),
    ("A14", LOCAL_CONTEXTS, lambda d: _drop_duo(d, "DUO:0000046"), Severity.ERROR, None),
    ("A15", LOCAL_CONTEXTS, _label("bccnv"), Severity.WARNING, None),
    ("A16", CONTROLLED, _set("agreement.status", "suspended"), Severity.ERROR, None),
    ("A16", CONTROLLED, lambda d: None, Severity.ERROR, "2030-05-01"),
    ("A17", CONTROLLED, _set("signing.trusted_keys", []), Severity.ERROR, None),
    ("A17", CONTROLLED, lambda d: None, Severity.ERROR, "2027-06-01"),
]

PASSES = [
    ("A2", CONTROLLED, lambda d: d["data_use"]["duoDataUse"][1].update(id="DUO_00000046")),
    ("A8", NAGOYA, _set("abs.ircc", ["ABSCH-IRCC-IN-1234567-9"])),
    ("A9", CONTROLLED, lambda d: d["abs"].update(ircc=[])),  # national permit is enough
    ("A10", CONTROLLED, lambda d: d["abs"].update(applicable="unknown",
                                                  access_date="2012-01-01")),
    ("A13", LOCAL_CONTEXTS, lambda d: (_label("tkco", "TK")(d),
                                       _set("access.onward_transfer", "prohibited")(d))),
    ("A14", LOCAL_CONTEXTS, lambda d: None),
    ("A5", OPEN, lambda d: _duo(d, "DUO:0000019")),  # PUB is not a restriction of use
]


def _run(tmp_path: Path, base: Path, mutate, today: str | None = None):
    data = load_data(base)
    mutate(data)
    path = write_yaml(data, tmp_path / "agreement.yaml")
    import datetime as dt

    return check_agreement(path, today=dt.date.fromisoformat(today) if today else TODAY)


@pytest.mark.parametrize("rule,base,mutate,severity,today", TRIGGERS,
                         ids=[f"{t[0]}-{i}" for i, t in enumerate(TRIGGERS)])
def test_a_rule_triggers(tmp_path: Path, rule, base, mutate, severity, today) -> None:
    report = _run(tmp_path, base, mutate, today)
    hits = [f for f in report.findings if f.rule == rule]
    assert any(f.severity == severity for f in hits), report.to_text()
    assert rule not in report.passed_rules()
    assert report.exit_code == (1 if report.has_errors else 0)


@pytest.mark.parametrize("rule,base,mutate", PASSES, ids=[f"{p[0]}-{i}" for i, p in
                                                          enumerate(PASSES)])
def test_a_rule_passes(tmp_path: Path, rule, base, mutate) -> None:
    report = _run(tmp_path, base, mutate)
    assert rule in report.passed_rules(), report.to_text()


def test_a8_ircc_wrong_country_message(tmp_path: Path) -> None:
    report = _run(tmp_path, CONTROLLED, _set("abs.ircc", ["ABSCH-IRCC-CH-000000-1"]))
    [f] = [f for f in report.findings if f.rule == "A8"]
    assert f.where == "abs.ircc[0]" and "CH != abs.provider_country KE" in f.reason


def test_a17_keyid_must_match_public_key(tmp_path: Path) -> None:
    def corrupt(d: dict[str, Any]) -> None:
        d["signing"]["trusted_keys"][0]["keyid"] = "sha256:" + "0" * 64

    report = _run(tmp_path, CONTROLLED, corrupt)
    assert any(f.rule == "A17" and f.where.endswith(".keyid") for f in report.findings)
