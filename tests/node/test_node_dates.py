"""Embargo and agreement dates are enforced by the node on its date: at request time (B15)
and again at every release (B9), on the same data after the date has moved on."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from click.testing import CliRunner

from soilbiome.cli import main
from soilbiome.sharing import generate_key

from .kit import NodeProcess, members_file, request_yaml

PILOT_ID = "urn:uuid:3f0c2a8e-7b41-4d2e-8a6c-5e9b1d0f2a02"


def run(*args: object) -> tuple[int, str]:
    res = CliRunner().invoke(main, [str(a) for a in args])
    return res.exit_code, res.output


def test_embargo_at_request_and_expiry_at_release(world: dict, tmp_path: Path) -> None:
    b = world["b"]
    outsider = generate_key(tmp_path / "outsider.key")
    members = yaml.safe_load(world["members"].read_text())["members"]
    members.append({"name": "Lowland College", "public_key_b64": outsider.public_key_b64,
                    "institution_ror": "https://ror.org/03xyz1234", "country": "CH"})
    mfile = members_file(tmp_path / "members.yaml", members)
    data = tmp_path / "data"
    # 2025-12-01: the pilot's data are under embargo until 2026-01-01
    node = NodeProcess(data, mfile, extra=["--today", "2025-12-01"])
    try:
        code, out = run("node", "publish", b["table"], "--agreement", b["agreement"], "--node",
                        node.url, "--key", b["key"], "--json")
        assert code == 0, out  # the embargo does not stop publication
        b_id = json.loads(out)["id"]
        party = request_yaml(tmp_path / "party.yaml", PILOT_ID, "ds-1")
        code, out = run("node", "request", party, "--table", b_id, "--node", node.url,
                        "--key", world["c_key"])
        assert code == 0 and "approved" in out.splitlines()[0], out  # a party: B15 passes
        other = request_yaml(tmp_path / "other.yaml", PILOT_ID, "ds-1", requester={
            "name": "B. Outsider", "orcid": "https://orcid.org/0000-0000-0000-0077",
            "institution_ror": "https://ror.org/03xyz1234", "org_type": "academic",
            "country": "CH"})
        code, out = run("node", "request", other, "--table", b_id, "--node", node.url,
                        "--key", outsider.private_key_path)
        assert code == 1 and "B15" in out.splitlines()[0], out
        code, out = run("node", "fetch", b_id, "--node", node.url, "--key", world["c_key"],
                        "--out", tmp_path / "in-time", "--today", "2025-12-01")
        # released to the party; verify at the recipient reports the embargo date itself (it
        # does not know the recipient is a party), and every D rule holds
        assert code == 1 and "1 of 12 applicable rules failed: B15" in out, out
        assert "passed            D3" in out and "passed            D2" in out
        assert (tmp_path / "in-time" / b["table"].name).read_bytes() == b["table"].read_bytes()
    finally:
        node.stop()
    # the same node, after the agreement's end (2030-04-30): nothing is released any more;
    # and the outsider's key is no longer in the members file: it is removed
    node = NodeProcess(data, world["members"], extra=["--today", "2030-05-02"])
    try:
        code, out = run("node", "request", other, "--table", b_id, "--node", node.url,
                        "--key", outsider.private_key_path)
        assert code == 1 and "HTTP 403" in out and "not a member" in out, out
        code, out = run("node", "audit", "--data", data)
        assert "\tmember-removed\tnode\t" in out, out
        code, out = run("node", "fetch", b_id, "--node", node.url, "--key", world["c_key"],
                        "--out", tmp_path / "too-late")
        assert code == 1 and "HTTP 403: release refused today: B9" in out, out
        assert not (tmp_path / "too-late").exists() or not any((tmp_path / "too-late")
                                                               .iterdir())
        code, out = run("node", "audit", "--data", data, "--verify")
        assert code == 0, out
    finally:
        node.stop()
