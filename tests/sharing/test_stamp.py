"""Stamping and rules D1..D9 on real BIOM files, including tamper tests."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import biom
import h5py
import pytest

from soilbiome.sharing import (
    AgreementError,
    Severity,
    SigningKeyError,
    StampError,
    dsse,
    load_agreement,
    read_biom_info,
    stamp_biom,
    verify_biom,
    verify_report,
)
from soilbiome.sharing.keys import load_private_key
from soilbiome.sharing.stamp import (
    PREDICATE_TYPE,
    SAMPLE_COLUMNS,
    STAMP_ATTR,
    sha256_file,
    sidecar_path,
)

from .conftest import NOW, OPEN, OPEN_SAMPLES, TODAY, load_data, make_biom, write_yaml


def _errors(report) -> set[str]:
    return report.rules(Severity.ERROR)


def test_clean_stamp_passes_d1_to_d6(stamped: Path, open_agreement: Path) -> None:
    report = verify_report(stamped, open_agreement, today=TODAY)
    assert not report.has_errors, report.to_text()
    assert {"D1", "D2", "D3", "D4", "D5", "D6"} <= report.passed_rules()
    # no crate: abstain, never a silent pass
    assert {"D7", "D9"} <= report.rules(Severity.ABSTAIN)
    # ERC000022 fields present: D8 passes; the LinkML validation it does not run is a note
    assert "D8" in report.passed_rules() and "D8" in report.rules(Severity.INFO)
    assert report.exit_code == 5 and report.undecided == {"D7", "D9"}
    assert verify_biom(stamped, open_agreement) == report.sorted_findings()


def test_stamp_layout(stamped: Path, open_agreement: Path) -> None:
    envelope = json.loads(sidecar_path(stamped).read_text())
    assert envelope["payloadType"] == "application/vnd.in-toto+json"
    statement = json.loads(base64.b64decode(envelope["payload"]))
    assert statement["_type"] == "https://in-toto.io/Statement/v1"
    assert statement["predicateType"] == PREDICATE_TYPE
    assert statement["subject"] == [{"name": "table.biom",
                                     "digest": {"sha256": sha256_file(stamped)}}]
    pred = statement["predicate"]
    assert pred["agreement_sha256"] == load_agreement(open_agreement).sha256
    assert pred["license"] == "CC-BY-4.0" and pred["run_id"] == "run-42"
    # the stamp cannot contain the hash of the file it is embedded in
    assert sha256_file(stamped) not in json.dumps(pred)
    with h5py.File(stamped) as f:
        embedded = f.attrs[STAMP_ATTR]
    assert json.loads(embedded) == pred
    compact = json.dumps(pred, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
    assert embedded == compact


def test_sample_columns_survive_biom_round_trip(stamped: Path, tmp_path: Path) -> None:
    table = biom.load_table(str(stamped))
    md = table.metadata(axis="sample")
    assert md[0]["sharing_license"] == "CC-BY-4.0" and md[0]["provider_country"] == "CL"
    assert md[0]["collection_date"].startswith("2010")  # existing metadata kept
    out = tmp_path / "roundtrip.biom"
    with h5py.File(out, "w") as f:
        table.to_hdf5(f, generated_by="roundtrip")
    info = read_biom_info(out)
    assert set(SAMPLE_COLUMNS) <= set(info.sample_metadata)


def test_d1_biom_round_trip_loses_stamp(stamped: Path, open_agreement: Path) -> None:
    table = biom.load_table(str(stamped))
    with h5py.File(stamped, "w") as f:
        table.to_hdf5(f, generated_by="someone else")
    report = verify_report(stamped, open_agreement)
    assert "D1" in _errors(report)
    assert any("stamp lost" in f.reason for f in report.findings if f.rule == "D1")
    assert report.exit_code == 1


def test_d1_unparsable_stamp(stamped: Path, open_agreement: Path) -> None:
    with h5py.File(stamped, "r+") as f:
        f.attrs[STAMP_ATTR] = "{not json"
    assert "D1" in _errors(verify_report(stamped, open_agreement))


def test_d2_signature_by_untrusted_key(stamped: Path, open_agreement: Path, other_key) -> None:
    side = sidecar_path(stamped)
    envelope = json.loads(side.read_text())
    payload = base64.b64decode(envelope["payload"])
    forged = dsse.sign(payload, [load_private_key(other_key.private_key_path)])
    side.write_text(json.dumps(forged))
    report = verify_report(stamped, open_agreement)
    assert "D2" in _errors(report)
    assert {"D3", "D4"} <= report.passed_rules()  # only the signature is wrong


def test_d2_missing_sidecar_and_bad_signature(stamped: Path, open_agreement: Path) -> None:
    side = sidecar_path(stamped)
    envelope = json.loads(side.read_text())
    sig = bytearray(base64.b64decode(envelope["signatures"][0]["sig"]))
    sig[0] ^= 1
    envelope["signatures"][0]["sig"] = base64.b64encode(bytes(sig)).decode()
    side.write_text(json.dumps(envelope))
    assert "D2" in _errors(verify_report(stamped, open_agreement))
    side.unlink()
    report = verify_report(stamped, open_agreement)
    assert "D2" in _errors(report) and "D3" in report.rules(Severity.ABSTAIN)


def test_d2_revoked_key_and_missing_required_signer(stamped: Path, open_agreement: Path,
                                                   tmp_path: Path, signing_key) -> None:
    data = load_data(open_agreement)
    data["signing"]["revoked_keyids"] = [signing_key.keyid]
    revoked = write_yaml(data, tmp_path / "revoked.yaml")
    assert "D2" in _errors(verify_report(stamped, revoked, rules=("D2",)))
    data = load_data(open_agreement)
    data["parties"].append({"id": "cosigner", "role": "steward", "name": "S", "country": "CL"})
    data["signing"]["required_signers"] = ["provider-cl", "cosigner"]
    two = write_yaml(data, tmp_path / "two.yaml")
    report = verify_report(stamped, two, rules=("D2",))
    assert any("cosigner" in f.reason for f in report.findings if f.rule == "D2")


def test_d2_key_not_valid_at_signing_time(tmp_path: Path, signing_key) -> None:
    from soilbiome.sharing import rewrite_trusted_keys

    ag = rewrite_trusted_keys(OPEN, tmp_path / "ag.yaml", [(signing_key, "provider-cl")],
                              valid_from="2025-01-01", valid_until="2027-12-31")
    path = make_biom(tmp_path / "t.biom", OPEN_SAMPLES)
    stamp_biom(path, ag, signing_key.private_key_path, today=TODAY, now=NOW)
    later = rewrite_trusted_keys(OPEN, tmp_path / "later.yaml", [(signing_key, "provider-cl")],
                                 valid_from="2025-07-01", valid_until="2027-12-31")
    report = verify_report(path, later, rules=("D2",))
    assert any("not valid on 2025-06-15" in f.reason for f in report.findings)


def _flip_matrix_byte(path: Path) -> None:
    with h5py.File(path, "r") as f:
        ds = f["sample/matrix/data"]
        offset = ds.id.get_offset()
        assert offset is not None  # contiguous (uncompressed test table)
        offset += ds.id.get_storage_size() // 2
    with open(path, "r+b") as fh:
        fh.seek(offset)
        byte = fh.read(1)
        fh.seek(offset)
        fh.write(bytes([byte[0] ^ 0x01]))


def test_d3_one_flipped_byte_in_matrix(stamped: Path, open_agreement: Path) -> None:
    before = biom.load_table(str(stamped)).matrix_data.toarray()
    _flip_matrix_byte(stamped)
    after = biom.load_table(str(stamped)).matrix_data.toarray()
    assert (before != after).sum() >= 1  # the data really changed
    report = verify_report(stamped, open_agreement)
    # the byte is in sample/matrix only: the hash breaks (D3) and the two stored orientations
    # no longer agree, which the one reader refuses (D1)
    assert _errors(report) == {"D1", "D3"}
    d1 = [f.reason for f in report.findings if f.rule == "D1"]
    assert any("stored matrices disagree in 1 cell" in r for r in d1), d1
    assert {"D2", "D5"} <= report.passed_rules()  # D4 needs the table read (D1)


def test_d4_edited_embedded_stamp(stamped: Path, open_agreement: Path) -> None:
    with h5py.File(stamped, "r+") as f:
        stamp = json.loads(f.attrs[STAMP_ATTR])
        stamp["license"] = "CC0-1.0"
        f.attrs[STAMP_ATTR] = json.dumps(stamp, separators=(",", ":"))
    report = verify_report(stamped, open_agreement)
    assert "D4" in _errors(report)
    assert any("license" in f.reason for f in report.findings if f.rule == "D4")


def test_d5_other_agreement(stamped: Path, open_agreement: Path, tmp_path: Path) -> None:
    data = load_data(open_agreement)
    data["agreement"]["title"] += " (amended)"
    amended = write_yaml(data, tmp_path / "amended.yaml")
    report = verify_report(stamped, amended)
    assert _errors(report) == {"D5"}


def test_d6_sample_not_covered(tmp_path: Path, open_agreement: Path, signing_key) -> None:
    # stamp refuses a table with samples the agreement does not cover (nothing written) ...
    path = make_biom(tmp_path / "t.biom", ["BAQ2420.2", "NOT-IN-AGREEMENT"])
    before = path.read_bytes()
    with pytest.raises(StampError, match=r"1 of its 2 sample\(s\) not covered.*NOT-IN-AGREEMENT"):
        stamp_biom(path, open_agreement, signing_key.private_key_path, today=TODAY, now=NOW)
    assert path.read_bytes() == before and not sidecar_path(path).exists()
    none = make_biom(tmp_path / "none.biom", ["X1", "X2"])
    with pytest.raises(StampError, match=r"covers none of its 2 sample\(s\)"):
        stamp_biom(none, open_agreement, signing_key.private_key_path, today=TODAY, now=NOW)
    # ... and verify's D6 names samples an agreement does not cover
    ok = make_biom(tmp_path / "ok.biom", ["BAQ2420.2", "BAQ3473.2"])
    stamp_biom(ok, open_agreement, signing_key.private_key_path, today=TODAY, now=NOW)
    data = load_data(open_agreement)
    for ds in data["datasets"]:
        ds["samples"]["sample_ids"] = ["BAQ2420.2"]
    narrower = write_yaml(data, tmp_path / "narrower.yaml")
    report = verify_report(ok, narrower, rules=("D6",))
    assert _errors(report) == {"D6"}
    assert any("BAQ3473.2" in f.reason for f in report.findings)


def test_d8_ena_fields_missing_warns(tmp_path: Path, open_agreement: Path, signing_key) -> None:
    path = make_biom(tmp_path / "t.biom", OPEN_SAMPLES, metadata=False)
    stamp_biom(path, open_agreement, signing_key.private_key_path, today=TODAY, now=NOW)
    report = verify_report(path, open_agreement)
    assert "D8" in report.rules(Severity.WARNING) and not report.has_errors


def _crate(directory: Path, licence: str, table: Path, run_id: str, *, sha: str | None = None,
           bag: bool = False) -> Path:
    data_dir = directory / "data" if bag else directory
    data_dir.mkdir(parents=True)
    target = data_dir / table.name
    target.write_bytes(table.read_bytes())
    graph = [
        {"@id": "ro-crate-metadata.json", "@type": "CreativeWork", "about": {"@id": "./"},
         "conformsTo": {"@id": "https://w3id.org/ro/crate/1.1"}},
        {"@id": "./", "@type": "Dataset", "license": {"@id": f"https://spdx.org/licenses/{licence}"},
         "hasPart": [{"@id": table.name}]},
        {"@id": table.name, "@type": "File", "sha256": sha or sha256_file(target),
         "contentSize": str(target.stat().st_size)},
        {"@id": f"#{run_id}", "@type": "CreateAction", "identifier": run_id,
         "result": [{"@id": table.name}]},
    ]
    (data_dir / "ro-crate-metadata.json").write_text(json.dumps({"@context":
        "https://w3id.org/ro/crate/1.1/context", "@graph": graph}))
    if bag:
        lines = [f"{sha256_file(p)}  data/{p.name}" for p in sorted(data_dir.iterdir())]
        (directory / "manifest-sha256.txt").write_text("\n".join(lines) + "\n")
        (directory / "bagit.txt").write_text(
            "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n")
    return directory


@pytest.mark.parametrize("bag", [False, True])
def test_d7_d9_crate_pass(stamped: Path, open_agreement: Path, tmp_path: Path, bag: bool) -> None:
    crate = _crate(tmp_path / "crate", "CC-BY-4.0", stamped, "run-42", bag=bag)
    report = verify_report(stamped, open_agreement, crate=crate)
    assert {"D7", "D9"} <= report.passed_rules(), report.to_text()


def test_crate_of_another_table_fails_d7(stamped: Path, open_agreement: Path,
                                         tmp_path: Path) -> None:
    other = tmp_path / "other.biom"
    other.write_bytes(stamped.read_bytes() + b"\0")  # a different file, same name
    crate = _crate(tmp_path / "crate", "CC-BY-4.0", other, "run-42")
    report = verify_report(stamped, open_agreement, crate=crate)
    d7 = [f.reason for f in report.findings if f.rule == "D7" and f.severity == Severity.ERROR]
    assert d7 == [d for d in d7 if "does not describe this table" in d]  and len(d7) == 1
    assert "D9" in report.passed_rules()


def test_verify_follows_the_stamps_link_to_the_crate(open_agreement: Path, signing_key,
                                                     tmp_path: Path) -> None:
    results = tmp_path / "results"
    (results / "biom").mkdir(parents=True)
    table = make_biom(results / "biom" / "t.biom", OPEN_SAMPLES)
    stamp_biom(table, open_agreement, signing_key.private_key_path, "run-42",
               run_crate="../ro-crate-metadata.json", today=TODAY, now=NOW)
    without = verify_report(table, open_agreement)  # crate not written yet: undecided
    assert {"D7", "D9"} <= without.rules(Severity.ABSTAIN)
    assert "links to ../ro-crate-metadata.json, which is not there" in without.to_text()
    graph = [
        {"@id": "ro-crate-metadata.json", "@type": "CreativeWork", "about": {"@id": "./"}},
        {"@id": "./", "@type": "Dataset",
         "license": {"@id": "https://spdx.org/licenses/CC-BY-4.0"}},
        {"@id": "biom/t.biom", "@type": "File", "sha256": sha256_file(table),
         "contentSize": str(table.stat().st_size)},
        {"@id": "#run", "@type": "CreateAction", "identifier": "run-42"},
    ]
    (results / "ro-crate-metadata.json").write_text(json.dumps({"@graph": graph}))
    decided = verify_report(table, open_agreement)  # no --crate: the link is followed
    assert {"D7", "D9"} <= decided.passed_rules(), decided.to_text()
    assert not decided.rules(Severity.ABSTAIN) & {"D7", "D9"}


def test_d7_d9_crate_triggers(stamped: Path, open_agreement: Path, tmp_path: Path) -> None:
    crate = _crate(tmp_path / "crate", "CC0-1.0", stamped, "run-7", sha="0" * 64)
    report = verify_report(stamped, open_agreement, crate=crate)
    d7 = [f.reason for f in report.findings if f.rule == "D7" and f.severity == Severity.ERROR]
    assert len(d7) == 3 and "licence" in d7[0] and "sha256" in d7[1]
    assert "the crate does not describe this table" in d7[2]
    assert "D9" in report.rules(Severity.WARNING)
    bag = _crate(tmp_path / "bag", "CC-BY-4.0", stamped, "run-42", bag=True)
    (bag / "data" / stamped.name).write_bytes(b"tampered")
    assert "D7" in _errors(verify_report(stamped, open_agreement, crate=bag))


# -- stamping behaviour --------------------------------------------------------------------------
def test_stamp_refuses_untrusted_key_and_writes_nothing(tmp_path: Path, open_agreement: Path,
                                                        other_key) -> None:
    path = make_biom(tmp_path / "t.biom", OPEN_SAMPLES)
    before = path.read_bytes()
    with pytest.raises(SigningKeyError, match="not in signing.trusted_keys"):
        stamp_biom(path, open_agreement, other_key.private_key_path, today=TODAY)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["open.yaml", "t.biom"]


def test_stamp_non_biom_leaves_no_partial_output(tmp_path: Path, open_agreement: Path,
                                                 signing_key) -> None:
    path = tmp_path / "t.biom"
    path.write_text("not hdf5")
    with pytest.raises(StampError):
        stamp_biom(path, open_agreement, signing_key.private_key_path, today=TODAY)
    assert path.read_text() == "not hdf5"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["open.yaml", "t.biom"]


def test_stamp_refuses_agreement_with_errors(tmp_path: Path, open_agreement: Path,
                                             signing_key) -> None:
    path = make_biom(tmp_path / "t.biom", OPEN_SAMPLES)
    with pytest.raises(StampError, match="A16"):
        stamp_biom(path, open_agreement, signing_key.private_key_path,
                   today=__import__("datetime").date(2036, 1, 1))
    data = load_data(open_agreement)
    data["license"]["spdx"] = "NOT-A-LICENCE"
    bad = write_yaml(data, tmp_path / "bad.yaml")
    with pytest.raises(AgreementError, match="license.spdx"):
        stamp_biom(path, bad, signing_key.private_key_path, today=TODAY)


def test_stamp_to_output_and_env_key(tmp_path: Path, open_agreement: Path, signing_key,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    path = make_biom(tmp_path / "t.biom", OPEN_SAMPLES)
    before = path.read_bytes()
    monkeypatch.setenv("SOILBIOME_SIGNING_KEY", signing_key.private_key_path)
    out = tmp_path / "out" / "stamped.biom"
    out.parent.mkdir()
    result = stamp_biom(path, open_agreement, output=out, today=TODAY, now=NOW)
    assert path.read_bytes() == before
    assert result.path == str(out) and Path(result.sidecar).is_file()
    assert not verify_report(out, open_agreement).has_errors


def test_restamp_keeps_per_sample_provenance(stamped: Path, controlled_agreement: Path,
                                             signing_key) -> None:
    """A table stamped again (e.g. a merged output) keeps each sample's origin columns."""
    data = load_data(controlled_agreement)  # the merged output's agreement covers its samples
    data["datasets"][0]["samples"]["sample_ids"] += OPEN_SAMPLES
    merged = write_yaml(data, controlled_agreement.with_name("merged.yaml"))
    stamp_biom(stamped, merged, signing_key.private_key_path, today=TODAY, now=NOW)
    info = read_biom_info(stamped)
    assert set(info.sample_metadata["provider_country"]) == {"CL"}
    assert json.loads(info.stamp_text)["provider_country"] == "KE"


def test_private_key_is_refused_when_group_readable(signing_key, tmp_path: Path) -> None:
    copy = tmp_path / "loose.key"
    copy.write_bytes(Path(signing_key.private_key_path).read_bytes())
    os.chmod(copy, 0o640)
    with pytest.raises(SigningKeyError, match="chmod 600"):
        load_private_key(copy)


def test_d7_checks_only_the_crates_own_files(stamped: Path, open_agreement: Path,
                                             tmp_path: Path) -> None:
    """Files outside the crate are refused by name (never hashed); a listed file that is
    not there is an error, not skipped. Each outside file has the right sha256, so only the
    containment check can fail it."""
    crate = _crate(tmp_path / "crate", "CC-BY-4.0", stamped, "run-42")
    outside = tmp_path / "outside.txt"
    outside.write_text("not part of the crate\n")
    (crate / "link.txt").symlink_to(outside)
    (crate / "sub").mkdir()
    meta = json.loads((crate / "ro-crate-metadata.json").read_text())
    digest, size = sha256_file(outside), str(outside.stat().st_size)
    for eid in ("../outside.txt", str(outside), "link.txt", "sub/../../outside.txt",
                "gone.tsv"):
        meta["@graph"].append({"@id": eid, "@type": "File", "sha256": digest,
                               "contentSize": size})
    (crate / "ro-crate-metadata.json").write_text(json.dumps(meta))
    report = verify_report(stamped, open_agreement, crate=crate)
    d7 = {f.where.split("#", 1)[1]: f.reason for f in report.findings
          if f.rule == "D7" and f.severity == Severity.ERROR}
    assert set(d7) == {"../outside.txt", str(outside), "link.txt", "sub/../../outside.txt",
                       "gone.tsv"}, report.to_text()
    assert "'..'" in d7["../outside.txt"] and "not hashed" in d7["../outside.txt"]
    assert "absolute path" in d7[str(outside)]
    assert "symbolic link" in d7["link.txt"]
    assert "missing" in d7["gone.tsv"]
    assert "D7" not in report.passed_rules() and "D9" in report.passed_rules()


def test_d7_refuses_a_bagit_entry_outside_the_bag(stamped: Path, open_agreement: Path,
                                                  tmp_path: Path) -> None:
    bag = _crate(tmp_path / "bag", "CC-BY-4.0", stamped, "run-42", bag=True)
    outside = tmp_path / "secret.txt"
    outside.write_text("x\n")
    with (bag / "manifest-sha256.txt").open("a") as handle:
        handle.write(f"{sha256_file(outside)}  ../secret.txt\n")
    report = verify_report(stamped, open_agreement, crate=bag)
    errors = [f for f in report.findings if f.rule == "D7" and f.severity == Severity.ERROR]
    assert [f.where for f in errors] == ["manifest-sha256.txt:../secret.txt"]
    assert "not hashed" in errors[0].reason
