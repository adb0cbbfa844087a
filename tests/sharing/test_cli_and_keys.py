"""The CLI end to end (real subprocesses), exit codes, and secrecy of the private key."""

from __future__ import annotations

import base64
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from soilbiome.sharing import generate_key, rewrite_trusted_keys, verify_report
from soilbiome.sharing.keys import keyid_of, load_private_key
from soilbiome.sharing.stamp import sidecar_path

from .conftest import (
    CONTROLLED,
    NAGOYA,
    OPEN,
    OPEN_SAMPLES,
    REQUESTS,
    load_data,
    make_biom,
    write_yaml,
)


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in os.environ.items() if k != "SOILBIOME_SIGNING_KEY"}
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "soilbiome", *map(str, args)],
                          capture_output=True, text=True, env=full_env, timeout=120)


def test_keys_generate_mode_and_output(tmp_path: Path) -> None:
    key = tmp_path / "steward.key"
    proc = run("keys", "generate", key, "--json")
    assert proc.returncode == 0, proc.stderr
    info = json.loads(proc.stdout)
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert stat.S_IMODE(Path(info["public_key_path"]).stat().st_mode) == 0o644
    pub = load_private_key(key).public_key()
    assert info["keyid"] == keyid_of(pub)
    assert base64.b64decode(info["public_key_b64"]) == pub.public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    # refuses to overwrite without --force
    again = run("keys", "generate", key)
    assert again.returncode == 2 and "refusing to overwrite" in again.stderr
    assert run("keys", "generate", key, "--force").returncode == 0


def test_key_created_0600_even_with_permissive_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        info = generate_key(tmp_path / "k.key")
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(info.private_key_path).st_mode) == 0o600


def _secret_forms(key_path: Path) -> list[bytes]:
    pem = key_path.read_bytes()
    key = load_private_key(key_path)
    raw = key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                            serialization.NoEncryption())
    body = b"".join(pem.splitlines()[1:-1])
    return [raw, raw.hex().encode(), base64.b64encode(raw), body]


def test_stamp_verify_cli_and_private_key_never_leaks(tmp_path: Path) -> None:
    key = tmp_path / "keys" / "provider.key"
    key.parent.mkdir()
    gen = run("keys", "generate", key)
    pub_b64 = [ln.split(": ", 1)[1] for ln in gen.stdout.splitlines()
               if ln.startswith("public_key_b64")][0]
    agreement = rewrite_trusted_keys(OPEN, tmp_path / "ag.yaml", [(pub_b64, "provider-cl")],
                                     valid_from="2025-01-01", valid_until="2099-01-01")
    table = make_biom(tmp_path / "t.biom", OPEN_SAMPLES, metadata=True)
    # key from the environment variable
    stamp = run("stamp", table, "--agreement", agreement, "--run-id", "r1",
                env={"SOILBIOME_SIGNING_KEY": str(key)})
    assert stamp.returncode == 0, stamp.stderr
    verify = run("verify", table, "--agreement", agreement, "--json")
    # no run crate here: D7/D9 need a person -> "OK, N rules need a person", exit 5
    assert verify.returncode == 5, verify.stdout
    report = json.loads(verify.stdout)
    assert report["ok"] is True and {"D1", "D2", "D3"} <= set(report["passed"])
    assert {"D7", "D9"} <= set(report["undecided"]) and report["exit_code"] == 5
    assert report["verdict"] == f"OK, {len(report['undecided'])} rules need a person"
    assert report["needs_person"] == report["undecided"]
    # ... and ends with what the recipient may do, under the agreement's licence
    assert report["may"]["licence"]["spdx"] == "CC-BY-4.0"
    assert report["statement"].startswith("What the recipient may do")
    assert all({"rule", "severity", "where", "reason"} <= set(f) for f in report["findings"])
    outputs = [table.read_bytes(), sidecar_path(table).read_bytes(),
               (gen.stdout + gen.stderr + stamp.stdout + stamp.stderr + verify.stdout
                + verify.stderr).encode()]
    for secret in _secret_forms(key):
        for blob in outputs:
            assert secret not in blob
    # a tampered file: non-zero exit
    with open(table, "r+b") as fh:
        fh.seek(-10, os.SEEK_END)
        fh.write(b"\x00" * 10)
    bad = run("verify", table, "--agreement", agreement)
    assert bad.returncode == 1 and "D3" in bad.stdout


def test_cli_check_agreement_exit_codes(tmp_path: Path) -> None:
    ok = run("check", "agreement", CONTROLLED, "--today", "2025-06-15")
    assert ok.returncode == 0 and "OK:" in ok.stdout
    data = load_data(CONTROLLED)
    data["abs"]["ircc"] = ["ABSCH-IRCC-CH-000000-1"]
    bad = run("check", "agreement", write_yaml(data, tmp_path / "a.yaml"), "--today",
              "2025-06-15", "--json")
    assert bad.returncode == 1
    report = json.loads(bad.stdout)
    assert report["ok"] is False
    assert {"rule": "A8", "severity": "ERROR", "where": "abs.ircc[0]"}.items() <= \
        report["findings"][0].items()


def test_cli_unknown_licence_names_field(tmp_path: Path) -> None:
    data = load_data(OPEN)
    data["license"]["spdx"] = "CC-BY-FOO"
    path = write_yaml(data, tmp_path / "a.yaml")
    proc = run("check", "agreement", path)
    assert proc.returncode == 1 and "license.spdx" in proc.stdout and "CC-BY-FOO" in proc.stdout
    table = make_biom(tmp_path / "t.biom", OPEN_SAMPLES)
    key = generate_key(tmp_path / "k.key")
    proc = run("stamp", table, "--agreement", path, "--key", key.private_key_path)
    assert proc.returncode == 2 and "license.spdx" in proc.stderr
    assert proc.stderr.startswith("soilbiome: error:")


def test_cli_check_request_exit_codes() -> None:
    ok = run("check", "request", REQUESTS / "pilot-academic-ch.yaml", "--agreement", CONTROLLED,
             "--today", "2026-02-01")
    assert ok.returncode == 0, ok.stdout
    bad = run("check", "request", REQUESTS / "commercial-startup.yaml", "--agreement",
              CONTROLLED, "--today", "2026-02-01")
    assert bad.returncode == 1 and "B2" in bad.stdout
    abstain = run("check", "request", REQUESTS / "incomplete.yaml", "--agreement", CONTROLLED,
                  "--today", "2026-02-01", "--json")
    assert abstain.returncode == 5  # OK, N rules need a person: not a plain OK
    assert json.loads(abstain.stdout)["verdict"] == "OK, 8 rules need a person"
    text = run("check", "request", REQUESTS / "incomplete.yaml", "--agreement", CONTROLLED,
               "--today", "2026-02-01").stdout
    assert text.splitlines()[2].startswith("In short: OK, 8 rule(s) need a person: nothing")
    assert "\npassed            B0   Request names this agreement: " in text  # passed are named
    assert "\nNEEDS A PERSON    B19  Needs a person: " in text
    assert "\nnot applicable    B3   Non-profit users: " in text
    # the last block says what a recipient may do if a person grants the request
    last = text.split("\n\n")[-1]
    assert last.startswith("What the recipient may do: a person must decide this request")
    assert "\nNEEDS A PERSON    B2   Non-commercial use: " in text
    severities = {f["severity"] for f in json.loads(abstain.stdout)["findings"]}
    assert "ABSTAIN" in severities


@pytest.fixture()
def two_keys(tmp_path: Path):
    return generate_key(tmp_path / "a.key"), generate_key(tmp_path / "b.key")


def test_cli_check_merge(tmp_path: Path, two_keys) -> None:
    ka, kb = two_keys
    ag_open = rewrite_trusted_keys(OPEN, tmp_path / "open.yaml", [(ka, "provider-cl")])
    nc = load_data(OPEN)
    nc["agreement"]["id"] = "urn:uuid:00000000-0000-4000-8000-0000000000nc"
    nc["license"] = {"spdx": "CC-BY-NC-4.0", "derived_outputs_license": "CC-BY-NC-4.0"}
    nc["data_use"]["duoDataUse"].append({"id": "DUO:0000046"})
    nc["access"]["insdc_deposit"] = "metadata_only"
    nc["abs"]["permitted_use"] = "non_commercial"
    ag_nc = rewrite_trusted_keys(write_yaml(nc, tmp_path / "nc0.yaml"), tmp_path / "nc.yaml",
                                 [(kb, "provider-cl")])
    a = make_biom(tmp_path / "a.biom", OPEN_SAMPLES[:2])
    b = make_biom(tmp_path / "b.biom", OPEN_SAMPLES[2:], seed=3)
    assert run("stamp", a, "--agreement", ag_open, "--key", ka.private_key_path).returncode == 0
    assert run("stamp", b, "--agreement", ag_nc, "--key", kb.private_key_path).returncode == 0
    assert not verify_report(b, ag_nc).has_errors
    ok = run("check", "merge", a, b, "--agreement", ag_open, "--agreement", ag_nc, "--json")
    assert ok.returncode == 0, ok.stdout
    merged = json.loads(ok.stdout)["details"]["merged_terms"]
    assert merged["license"] == "CC-BY-4.0 AND CC-BY-NC-4.0"
    assert merged["commercial_use_allowed"] is False and "DUO:0000046" in merged["duo_modifiers"]
    refused = run("check", "merge", a, b, "--output-license", "CC-BY-4.0")
    assert refused.returncode == 1 and "C2" in refused.stdout
    # disjoint allowed regions (KE/CH vs IN/DE): refused
    c = make_biom(tmp_path / "c.biom", ["GSP-KE-0001"])
    ctl2 = rewrite_trusted_keys(CONTROLLED, tmp_path / "ctl2.yaml", [(kb, "provider-1")])
    assert run("stamp", c, "--agreement", ctl2, "--key", kb.private_key_path,
               "--today", "2025-06-15").returncode == 0
    d = make_biom(tmp_path / "d.biom", ["WG-2024-001"])
    nag = rewrite_trusted_keys(NAGOYA, tmp_path / "nag.yaml", [(ka, "provider-in")])
    assert run("stamp", d, "--agreement", nag, "--key", ka.private_key_path,
               "--today", "2025-06-15").returncode == 0
    disjoint = run("check", "merge", c, d, "--agreement", ctl2, "--agreement", nag)
    assert disjoint.returncode == 1 and "C9" in disjoint.stdout
