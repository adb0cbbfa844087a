"""Rules B0..B19 against the controlled example agreement."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from soilbiome.sharing import RequestError, Severity, check_request, load_agreement, load_request
from soilbiome.sharing.findings import Status

from .conftest import CONTROLLED, REQUESTS, load_data, write_yaml

AFTER_EMBARGO = dt.date(2026, 2, 1)
ALL_B = [f"B{i}" for i in range(0, 20)]


@pytest.fixture(scope="module")
def agreement():
    return load_agreement(CONTROLLED)


def _request() -> dict[str, Any]:
    return load_data(REQUESTS / "pilot-academic-ch.yaml")["request"]


def _with_duo(term: str, **extra: Any):
    def apply(ag_data: dict[str, Any]) -> None:
        ag_data["data_use"]["duoDataUse"].append({"id": term, **extra})
    return apply


def test_good_request_passes_every_applicable_b_rule(agreement) -> None:
    report = check_request(REQUESTS / "pilot-academic-ch.yaml", agreement, today=AFTER_EMBARGO)
    assert not report.findings, report.to_text()
    # the controlled agreement has no NPU, NPUNCU, IS, US, PS, IRB or NMDS term, and its
    # embargo (2026-01-01) is over: those rules do not apply, and are not called passed
    not_applicable = {"B3", "B4", "B6", "B7", "B8", "B12", "B13", "B15"}
    assert set(report.with_status(Status.NOT_APPLICABLE)) == not_applicable
    assert report.passed_rules() == set(ALL_B) - not_applicable
    assert "embargo ended on 2026-01-01" in report.not_applicable["B15"]
    assert report.exit_code == 0
    # during the embargo B15 applies, and the requester (a party) passes it
    during = check_request(REQUESTS / "pilot-academic-ch.yaml", agreement,
                           today=dt.date(2025, 12, 1))
    assert "B15" in during.passed_rules()


def test_commercial_request_for_noncommercial_data_fails_b2(agreement) -> None:
    report = check_request(REQUESTS / "commercial-startup.yaml", agreement, today=AFTER_EMBARGO)
    errors = report.rules(Severity.ERROR)
    assert {"B2", "B17", "B5", "B16", "B18"} <= errors
    assert report.exit_code == 1


def test_request_schema_errors_have_paths(tmp_path: Path) -> None:
    data = load_data(REQUESTS / "pilot-academic-ch.yaml")
    data["request"]["requester"]["country"] = "Switzerland"
    data["request"]["purpose"]["commercial"] = "no"
    with pytest.raises(RequestError) as exc:
        load_request(write_yaml(data, tmp_path / "r.yaml"))
    fields = {f for f, _ in exc.value.problems}
    assert {"request.requester.country", "request.purpose.commercial"} <= fields


def _set(path: str, value: Any):
    def apply(req: dict[str, Any]) -> None:
        cur = req
        parts = path.split(".")
        for p in parts[:-1]:
            cur = cur.setdefault(p, {})
        if value is _DEL:
            cur.pop(parts[-1], None)
        else:
            cur[parts[-1]] = value
    return apply


_DEL = object()


def _not_party(req: dict[str, Any]) -> None:
    req["requester"].pop("party")
    req["requester"]["institution_ror"] = "https://ror.org/09zzz1z11"


# (rule, agreement mutation or None, request mutation, today)
TRIGGERS = [
    ("B0", None, _set("agreement_id", "urn:uuid:other"), None),
    ("B0", None, _set("datasets", ["ds-9"]), None),
    ("B1", None, _set("purpose.research", False), None),
    ("B2", None, _set("purpose.commercial", True), None),
    ("B3", _with_duo("DUO:0000045"), _set("requester.org_type", "for_profit"), None),
    ("B4", _with_duo("DUO:0000018"), _set("purpose.commercial", True), None),
    ("B5", None, _set("processing_countries", ["CH", "US"]), None),
    ("B6", _with_duo("DUO:0000028"), _set("requester.institution_ror",
                                          "https://ror.org/09zzz1z11"), None),
    ("B7", _with_duo("DUO:0000026"), lambda r: None, None),
    ("B8", _with_duo("DUO:0000027", modifiers=[{"id": "PS-2025-07"}]),
     _set("project_id", "PS-OTHER"), None),
    ("B9", None, _set("access_granted", "2022-01-01"), None),
    ("B9", None, lambda r: None, dt.date(2030, 5, 2)),
    ("B10", None, _set("planned_publication_date", "2026-03-01"), None),
    ("B11", None, _set("collaborators_orcid", []), None),
    ("B12", _with_duo("DUO:0000021"), lambda r: None, None),
    ("B13", _with_duo("DUO:0000015"), _set("purpose.methods_development", True), None),
    ("B14", None, _set("accepted_duties", ["d-attr", "d-pub"]), None),
    ("B15", None, _not_party, dt.date(2025, 12, 1)),
    ("B16", None, _set("requester.org_type", "for_profit"), None),
    ("B17", None, _set("purpose.commercial", True), None),
    ("B18", None, _not_party, None),
]

PASSES = [
    ("B3", _with_duo("DUO:0000045"), lambda r: None),
    ("B4", _with_duo("DUO:0000018"), lambda r: None),
    ("B6", _with_duo("DUO:0000028"), lambda r: None),
    ("B7", _with_duo("DUO:0000026", modifiers=[{"id": "https://orcid.org/0000-0000-0000-0041"}]),
     lambda r: None),
    ("B8", _with_duo("DUO:0000027", modifiers=[{"id": "PS-2025-07"}]), lambda r: None),
    ("B12", _with_duo("DUO:0000021"), _set("ethics_approval_ref", "IRB-2025-113")),
    ("B13", _with_duo("DUO:0000015"), lambda r: None),
    ("B15", None, lambda r: None),  # a party may receive data during the embargo
]


def _check(tmp_path: Path, ag_mut, req_mut, today=None):
    ag_data = load_data(CONTROLLED)
    if ag_mut:
        ag_mut(ag_data)
    ag = load_agreement(write_yaml(ag_data, tmp_path / "ag.yaml"))
    req = _request()
    req_mut(req)
    return check_request(req, ag, today=today or AFTER_EMBARGO)


@pytest.mark.parametrize("rule,ag_mut,req_mut,today", TRIGGERS,
                         ids=[f"{t[0]}-{i}" for i, t in enumerate(TRIGGERS)])
def test_b_rule_triggers(tmp_path: Path, rule, ag_mut, req_mut, today) -> None:
    report = _check(tmp_path, ag_mut, req_mut, today)
    assert rule in report.rules(Severity.ERROR), report.to_text()
    assert report.exit_code == 1


@pytest.mark.parametrize("rule,ag_mut,req_mut", PASSES,
                         ids=[f"{p[0]}-{i}" for i, p in enumerate(PASSES)])
def test_b_rule_passes(tmp_path: Path, rule, ag_mut, req_mut) -> None:
    today = dt.date(2025, 12, 1) if rule == "B15" else None
    report = _check(tmp_path, ag_mut, req_mut, today)
    assert rule in report.passed_rules(), report.to_text()


def test_b18_requires_consent_with_evidence_is_a_warning(tmp_path: Path) -> None:
    def ag_mut(d: dict[str, Any]) -> None:
        d["abs"]["third_party_transfer"] = "requires_consent"

    def req_mut(r: dict[str, Any]) -> None:
        _not_party(r)
        r["abs_consent_ref"] = "consent letter 2025-07-02"

    report = _check(tmp_path, ag_mut, req_mut)
    assert ("B18", Severity.WARNING) in {(f.rule, f.severity) for f in report.findings}


def test_missing_fields_abstain_and_b19_routes_to_human(agreement) -> None:
    report = check_request(REQUESTS / "incomplete.yaml", agreement, today=AFTER_EMBARGO)
    abstained = report.rules(Severity.ABSTAIN)
    assert {"B2", "B5", "B10", "B11", "B14", "B16", "B17"} <= abstained
    # B19 routes the request to a human: it needs a person itself, it is never "passed"
    assert report.status("B19") == Status.NEEDS_PERSON
    assert "B19" not in report.passed_rules()
    # no ERROR, but rules need a person: "OK, N rules need a person", its own exit code
    assert report.exit_code == 5 and report.verdict == "OK, 8 rules need a person"
    for rule in abstained:
        assert rule not in report.passed_rules()
    text = report.to_text()
    assert any(line.startswith("NEEDS A PERSON") and " B19 " in line
               for line in text.splitlines()), text
    assert not any(line.startswith("passed") and " B19 " in line for line in text.splitlines())
    assert report.to_dict()["rules"][-1] == {**report.to_dict()["rules"][-1],
                                             "rule": "B19", "status": "needs_person"}


def test_b19_does_not_apply_to_unrestricted_data(tmp_path: Path) -> None:
    """NRES without modifiers: no committee routing, yet the undecided rule still needs a
    person (exit 5)."""
    data = load_data(CONTROLLED)
    data["data_use"]["duoDataUse"] = [{"id": "DUO:0000004"}]
    ag = load_agreement(write_yaml(data, tmp_path / "nres.yaml"))
    req = _request()
    req.pop("accepted_duties")
    report = check_request(req, ag, today=AFTER_EMBARGO)
    assert report.status("B14") == Status.NEEDS_PERSON
    assert report.status("B19") == Status.NOT_APPLICABLE and report.exit_code == 5
