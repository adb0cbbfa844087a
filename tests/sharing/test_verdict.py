"""What the recipient may do: the plain statement every check and verify ends with."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from soilbiome.sharing import (
    Terms,
    check_agreement,
    check_merge,
    load_agreement,
    rewrite_trusted_keys,
    stamp_biom,
)
from soilbiome.sharing.verdict import describe, plain_statement

from .conftest import (
    CONTROLLED,
    EXAMPLES,
    LOCAL_CONTEXTS,
    NAGOYA,
    NOW,
    OPEN,
    OPEN_SAMPLES,
    TODAY,
    load_data,
    make_biom,
    write_yaml,
)

ROOT = Path(__file__).resolve().parents[2]
#: DUO labels read straight from the shipped vocabulary file (not through soilbiome.sharing.duo)
DUO_LABELS = {row["id"]: row["label"] for row in csv.DictReader(
    (ROOT / "src" / "soilbiome" / "data" / "duo-2021-02-23.csv").open(encoding="utf-8"))}


def _statement(path: Path) -> str:
    return plain_statement(Terms.from_agreement(load_agreement(path)), TODAY)


@pytest.mark.parametrize("example", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.stem)
def test_statement_names_duo_labels_credit_duties_and_dates(example: Path) -> None:
    data = load_data(example)
    text = _statement(example)
    for entry in data["data_use"]["duoDataUse"]:
        assert f"{entry['id']} {DUO_LABELS[entry['id']]}" in text, entry["id"]
    assert f'"{data["attribution"]["credit_text"]}"' in text
    assert data["agreement"]["valid_until"] in text
    assert data["license"]["spdx"] in text
    for duty in data.get("duties") or []:
        if duty.get("due_months"):
            assert f"within {duty['due_months']} months" in text
    for benefit in (data.get("abs") or {}).get("benefit_sharing") or []:
        assert benefit["description"] in text
    for region in data.get("access", {}).get("allowed_regions") or []:
        assert region in text.split("Where:")[1].splitlines()[0]


def test_controlled_statement_says_what_may_and_may_not_be_done() -> None:
    text = _statement(CONTROLLED)
    lines = {line.split(":")[0].strip(): line for line in text.splitlines()}
    assert lines["Commercial use"].startswith("  Commercial use: no (")
    assert "DUO:0000046 non-commercial use only" in lines["Commercial use"]
    assert "held and processed only in CH, KE" in lines["Where"]
    # dates: end of agreement, embargo and moratorium, each said as in force or over
    assert "embargo until 2026-01-01 (in force on 2025-06-15)" in lines["Until when"]
    assert "publication moratorium until 2026-06-30" in lines["Until when"]
    assert "use limited to 36 months from access" in lines["Until when"]
    # duties: return of derived data (where to), deletion, co-authorship, collaboration
    assert "return derived data to https://example.org/soil-repository (on publication, " \
        "within 6 months" in text
    assert "delete every copy (when the agreement or the time limit ends" in text
    assert "co-authorship: Provider scientists co-author resulting papers" in text
    assert "involve the collaborator(s) https://orcid.org/0000-0000-0000-0012" in text
    assert "IRCC ABSCH-IRCC-KE-000000-1" in text and "PIC PIC-REF-001" in text
    assert "the data may be passed on only to the agreement's parties" in text


def test_open_statement_allows_commercial_use() -> None:
    may = describe(Terms.from_agreement(load_agreement(OPEN)), TODAY)
    assert may["commercial_use"]["allowed"] is True
    assert may["permitted_use"] == {"id": "DUO:0000042", "label": "general research use"}
    assert may["abs"]["applicable"] is False


def test_local_contexts_labels_are_explained() -> None:
    text = _statement(LOCAL_CONTEXTS)
    assert "BC Non-Commercial (bcnc, Example Community Land Trust): non-commercial use only" \
        in text
    assert "BC Research Use (bcr" in text and "BC Notice:" in text
    assert "Commercial use: no (" in text and "Local Contexts label BC Non-Commercial" in text


def test_nagoya_references_are_named() -> None:
    data = load_data(NAGOYA)
    text = _statement(NAGOYA)
    for ircc in data["abs"]["ircc"]:
        assert ircc in text
    assert data["abs"]["pic"]["reference"] in text and data["abs"]["mat"]["reference"] in text
    assert "ABS third-party transfer: only with the provider's consent" in text


def test_absent_fields_are_said_to_be_absent(tmp_path: Path) -> None:
    data = load_data(OPEN)
    del data["attribution"]
    del data["access"]
    del data["abs"]
    path = write_yaml(data, tmp_path / "sparse.yaml")
    text = _statement(path)
    assert "credit text not stated in the terms" in text
    assert "no geographic restriction is stated" in text
    assert "Passing on: onward transfer not stated in the terms." in text
    assert "Nagoya/ABS: whether it applies is not stated in the terms." in text
    may = describe(Terms.from_agreement(load_agreement(path)))
    assert {"credit text", "onward transfer", "whether Nagoya/ABS applies"} <= \
        set(may["not_stated"])


def test_every_check_ends_with_the_statement_and_json_has_it() -> None:
    report = check_agreement(CONTROLLED, today=TODAY)
    assert report.to_text().split("\n\n")[-1] == report.statement
    out = json.loads(report.to_json())
    assert out["may"]["credit"]["credit_text"] == load_data(CONTROLLED)["attribution"][
        "credit_text"]
    assert [c["label"] for c in out["may"]["conditions"]] == [
        DUO_LABELS[c["id"]] for c in out["may"]["conditions"]]
    actions = {d["action"] for d in out["may"]["duties"]}
    assert {"attribute", "return_derived_data", "delete_copies",
            "benefit_sharing:co_authorship"} <= actions


def test_unreadable_agreement_states_nothing(tmp_path: Path) -> None:
    data = load_data(CONTROLLED)
    data["license"]["spdx"] = "CC-BY-4.2"
    report = check_agreement(write_yaml(data, tmp_path / "bad.yaml"), today=TODAY)
    assert report.exit_code == 1
    assert report.statement.startswith("What the recipient may do: unknown")


def test_merge_statement_combines_or_refuses(tmp_path: Path, signing_key) -> None:
    ag_a = rewrite_trusted_keys(OPEN, tmp_path / "a.yaml", [(signing_key, "provider-cl")],
                                valid_from="2025-01-01", valid_until="2027-12-31")
    b_data = load_data(OPEN)
    b_data["agreement"]["id"] = "urn:uuid:00000000-0000-4000-8000-00000000000b"
    b_data["attribution"]["credit_text"] = "Data: second lab."
    ag_b = rewrite_trusted_keys(write_yaml(b_data, tmp_path / "b0.yaml"), tmp_path / "b.yaml",
                                [(signing_key, "provider-cl")],
                                valid_from="2025-01-01", valid_until="2027-12-31")
    a = make_biom(tmp_path / "a.biom", OPEN_SAMPLES[:2])
    b = make_biom(tmp_path / "b.biom", OPEN_SAMPLES[2:], seed=2)
    for table, ag in ((a, ag_a), (b, ag_b)):
        stamp_biom(table, ag, signing_key.private_key_path, today=TODAY, now=NOW)
    merged = check_merge([a, b], [ag_a, ag_b], today=TODAY)
    assert merged.exit_code == 0, merged.to_text()
    assert "the merged table carries the combined terms" in merged.statement
    assert load_data(OPEN)["attribution"]["credit_text"] in merged.statement
    assert "Data: second lab." in merged.statement
    # C3 (no-derivatives) does not apply to two CC-BY inputs, and is not called passed
    assert merged.to_dict()["not_applicable"][:2] == ["C2", "C3"]
    refused = check_merge([a, b], [ag_a, ag_b], declared_license="CC0-1.0", today=TODAY)
    assert refused.exit_code == 1
    assert "nothing with a merged table; these tables may not be merged (C1 failed)" in \
        refused.statement
