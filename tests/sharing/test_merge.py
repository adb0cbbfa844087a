"""Rules C1..C14 via combine_terms, and C15 via check_merge on real stamped tables."""

from __future__ import annotations

from pathlib import Path

import h5py
import pytest

from soilbiome.sharing import (
    Severity,
    Terms,
    check_merge,
    combine_terms,
    load_agreement,
    stamp_biom,
)
from soilbiome.sharing import duo as D
from soilbiome.sharing.stamp import COL_COUNTRY

from .conftest import CONTROLLED, NAGOYA, NOW, OPEN_SAMPLES, TODAY, make_biom


def T(name: str, lic: str = "CC-BY-4.0", **kw) -> Terms:
    kw.setdefault("duo_permission", D.GRU)
    kw.setdefault("attribution", {"credit_text": f"Data: {name}"})
    return Terms(source=name, agreement_id=f"urn:{name}", license=lic, **kw)


def _rules(result, severity=Severity.ERROR) -> set[str]:
    return result.report.rules(severity)


def test_nc_with_by_yields_noncommercial_terms() -> None:
    result = combine_terms([T("a", "CC-BY-NC-4.0"), T("b", "CC-BY-4.0")])
    assert not result.refused
    assert result.license == "CC-BY-NC-4.0 AND CC-BY-4.0"
    assert result.commercial_use_allowed is False
    assert D.NCU in result.duo_modifiers
    assert "C2" in result.report.passed_rules()


def test_c2_declared_commercial_output_is_refused() -> None:
    result = combine_terms([T("a", "CC-BY-NC-4.0"), T("b")], declared_license="CC-BY-4.0")
    assert result.refused and "C2" in _rules(result)


def test_c1_declared_licence_must_carry_inputs() -> None:
    bad = combine_terms([T("a", "LicenseRef-DSA-1"), T("b")], declared_license="CC-BY-4.0")
    assert "C1" in _rules(bad)
    good = combine_terms([T("a", "CC-BY-NC-4.0"), T("b")], declared_license="CC-BY-NC-4.0")
    assert {"C1", "C2"} <= good.report.passed_rules() and not good.refused


def test_c3_nd_input_blocks_distribution() -> None:
    result = combine_terms([T("a", "CC-BY-ND-4.0"), T("b")])
    assert "C3" in _rules(result) and not result.distribution_allowed


@pytest.mark.parametrize("other", ["ODbL-1.0", "CC-BY-NC-4.0"])
def test_c4_share_alike_conflicts(other: str) -> None:
    result = combine_terms([T("a", "CC-BY-SA-4.0"), T("b", other)])
    assert "C4" in _rules(result) and result.refused


def test_c5_share_alike_forces_output_licence() -> None:
    bad = combine_terms([T("a", "CC-BY-SA-4.0"), T("b")], declared_license="CC-BY-4.0")
    assert "C5" in _rules(bad)
    good = combine_terms([T("a", "CC-BY-SA-4.0"), T("b")], declared_license="CC-BY-SA-4.0")
    assert good.required_output_license == "CC-BY-SA-4.0"
    assert {"C4", "C5", "C1"} <= good.report.passed_rules()


def test_c6_cdla_results_exemption_note() -> None:
    result = combine_terms([T("a", "CDLA-Permissive-2.0"), T("b", "CDLA-Permissive-1.0")])
    assert "C6" in _rules(result, Severity.INFO) and "C6" in result.report.passed_rules()


def test_c7_permission_most_specific_or_incomparable() -> None:
    ok = combine_terms([T("a", duo_permission=D.NRES), T("b", duo_permission=D.GRU)])
    assert ok.duo_permission == D.GRU and "C7" in ok.report.passed_rules()
    bad = combine_terms([T("a", duo_permission=D.HMB), T("b", duo_permission=D.POA)])
    assert "C7" in _rules(bad) and bad.duo_permission is None


def test_c8_modifiers_union() -> None:
    result = combine_terms([T("a", duo_modifiers=[D.PUB]), T("b", duo_modifiers=[D.RTN])])
    assert {D.PUB, D.RTN} <= set(result.duo_modifiers) and "C8" in result.report.passed_rules()


def test_c9_disjoint_regions_refused() -> None:
    result = combine_terms([T("a", regions=["KE", "CH"]), T("b", regions=["IN", "DE"])])
    assert result.refused and "C9" in _rules(result)
    assert any("do not intersect" in r for r in result.reasons)
    ok = combine_terms([T("a", regions=["KE", "CH"]), T("b", regions=["CH", "DE"]), T("c")])
    assert ok.regions == ["CH"] and "C9" in ok.report.passed_rules()


def test_c10_disjoint_projects_refused() -> None:
    bad = combine_terms([T("a", projects=["P1"]), T("b", projects=["P2"])])
    assert "C10" in _rules(bad)
    ok = combine_terms([T("a", projects=["P1", "P2"]), T("b", projects=["P2"])])
    assert ok.projects == ["P2"] and "C10" in ok.report.passed_rules()


def test_c11_dates() -> None:
    result = combine_terms([
        T("a", embargo_until="2026-01-01", moratorium_until="2026-06-30", use_months=36),
        T("b", embargo_until="2026-03-01", moratorium_until="2025-12-31", use_months=24),
    ])
    assert (result.embargo_until, result.moratorium_until, result.use_months) == (
        "2026-03-01", "2026-06-30", 24)
    assert "C11" in result.report.passed_rules()


def test_c12_abs() -> None:
    a = T("a", abs={"applicable": True, "ircc": ["ABSCH-IRCC-KE-000000-1"],
                    "permitted_use": "non_commercial", "third_party_transfer": "parties_only"})
    b = T("b", abs={"applicable": True, "national_permits": ["P-1"],
                    "permitted_use": "commercial", "third_party_transfer": "allowed"})
    ok = combine_terms([a, b])
    assert ok.abs["ircc"] == ["ABSCH-IRCC-KE-000000-1"] and ok.abs["national_permits"] == ["P-1"]
    assert ok.abs["commercial_use_allowed"] is False
    assert ok.abs["third_party_transfer"] == "parties_only"
    assert "C12" in ok.report.passed_rules()
    missing = combine_terms([T("c", abs={"applicable": True}), b])
    assert "C12" in _rules(missing)
    declared = combine_terms([a, b], declared_license="CC-BY-4.0")
    assert "C12" in _rules(declared)


def test_c13_closed_labels_block_external_distribution() -> None:
    result = combine_terms([T("a", local_contexts={"labels": [{"kind": "TK", "code": "tkss"}]}),
                            T("b", local_contexts={"labels": [{"kind": "BC", "code": "bcp"}]})])
    assert "C13" in _rules(result) and not result.external_distribution_allowed
    assert len(result.local_contexts["labels"]) == 2


def test_c14_attribution_concatenated_or_warned() -> None:
    ok = combine_terms([T("a"), T("b")])
    assert ok.attribution["credit_text"] == "Data: a Data: b"
    assert "C14" in ok.report.passed_rules()
    warn = combine_terms([T("a"), T("b", attribution={})])
    assert "C14" in _rules(warn, Severity.WARNING)


def test_combine_agreements_directly() -> None:
    result = combine_terms([load_agreement(CONTROLLED), load_agreement(NAGOYA)])
    assert result.refused  # KE/CH vs IN/DE regions do not intersect
    assert "C9" in _rules(result)
    assert set(result.abs["ircc"]) >= {"ABSCH-IRCC-KE-000000-1", "ABSCH-IRCC-IN-123456-1"}


def test_c15_and_check_merge_on_stamped_tables(tmp_path: Path, open_agreement: Path,
                                                signing_key) -> None:
    a = make_biom(tmp_path / "a.biom", OPEN_SAMPLES[:2])
    b = make_biom(tmp_path / "b.biom", OPEN_SAMPLES[2:], seed=2)
    for p in (a, b):
        stamp_biom(p, open_agreement, signing_key.private_key_path, today=TODAY, now=NOW)
    report = check_merge([a, b], [open_agreement], today=TODAY)
    assert not report.has_errors, report.to_text()
    assert "C15" in report.passed_rules()
    assert report.details["merged_terms"]["license"] == "CC-BY-4.0"
    # unverified mode (no agreements) still works from the embedded stamps
    assert not check_merge([a, b]).has_errors
    # a sample that lost its provider_country fails C15
    with h5py.File(b, "r+") as f:
        ds = f[f"sample/metadata/{COL_COUNTRY}"]
        ds[0] = b""
    report = check_merge([a, b])
    assert "C15" in report.rules(Severity.ERROR)


def test_check_merge_refuses_unstamped_input(tmp_path: Path) -> None:
    a = make_biom(tmp_path / "a.biom", ["s1"])
    report = check_merge([a])
    assert report.has_errors and "D1" in report.rules(Severity.ERROR)
