"""check merge cannot be fooled by rewritten embedded terms, with or without --agreement."""

from __future__ import annotations

import json
from pathlib import Path

import h5py
from click.testing import CliRunner

from soilbiome.cli import main
from soilbiome.sharing import stamp_biom
from soilbiome.sharing.findings import Severity
from soilbiome.sharing.merge_check import check_merge
from soilbiome.sharing.stamp_format import STAMP_ATTR, canonical_json

from .conftest import NOW, TODAY, make_biom

KE_SAMPLES = ["GSP-KE-0001", "GSP-KE-0002", "GSP-KE-0003", "GSP-KE-0004"]


def rewrite_to_cc0(path: Path) -> None:
    """What a careless or dishonest intermediary does: edit only the embedded terms."""
    with h5py.File(path, "r+") as f:
        stamp = json.loads(f.attrs[STAMP_ATTR])
        stamp["license"] = "CC0-1.0"
        stamp["derived_outputs_license"] = "CC0-1.0"
        stamp["terms"]["license"] = "CC0-1.0"
        stamp["terms"]["regions"] = None
        stamp["terms"]["duo_permission"] = "DUO:0000004"
        stamp["terms"]["duo_modifiers"] = []
        f.attrs[STAMP_ATTR] = canonical_json(stamp)


def test_rewritten_terms_are_refused_with_and_without_agreement(
    tmp_path: Path, controlled_agreement: Path, open_agreement: Path, signing_key
) -> None:
    ke = make_biom(tmp_path / "ke.biom", KE_SAMPLES, metadata=True)
    stamp_biom(ke, controlled_agreement, signing_key.private_key_path, today=TODAY, now=NOW)
    clean = check_merge([ke])
    assert not clean.has_errors, clean.to_text()
    rewrite_to_cc0(ke)
    for agreements in ([], [controlled_agreement]):
        report = check_merge([ke], agreements, today=TODAY)
        errors = report.rules(Severity.ERROR)
        assert {"D3", "D4"} <= errors, report.to_text()
        d4 = [f for f in report.findings if f.rule == "D4"][0]
        assert "license" in d4.reason and "terms" in d4.reason
    res = CliRunner().invoke(main, ["check", "merge", str(ke)])
    assert res.exit_code == 1, res.output
    assert "D4" in res.output and "edited" in res.output


def test_missing_sidecar_is_refused_without_agreement(tmp_path: Path, open_agreement: Path,
                                                      signing_key) -> None:
    t = make_biom(tmp_path / "t.biom", ["BAQ2420.2"], metadata=True)
    stamp_biom(t, open_agreement, signing_key.private_key_path, today=TODAY, now=NOW)
    Path(str(t) + ".sharing.dsse.json").unlink()
    report = check_merge([t])
    assert "D3" in report.rules(Severity.ERROR)
