"""The exchange node end to end, once on SQLite and once on a real PostgreSQL server.

Two institutions publish stamped tables; a third member finds both on the catalogue map,
requests them, gets the open one at once and the controlled one after a steward approves it in
a real browser (headless Chromium over the DevTools protocol); the downloaded tables are byte
for byte the stamped ones and ``soilbiome verify`` passes on them; the audit log verifies and
catches an edited and a deleted entry; a tampered table is refused at publication.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
from pathlib import Path

import h5py
import pytest
from click.testing import CliRunner

from soilbiome.cli import main

from .kit import CHROMIUM, TODAY, Browser, NodeProcess, PgCluster, http, pg_bin, request_yaml

OPEN_ID = "urn:uuid:6b1d2c4e-5a7f-4c1e-9d3b-2f8a0e6c1a01"
PILOT_ID = "urn:uuid:3f0c2a8e-7b41-4d2e-8a6c-5e9b1d0f2a02"


def run(*args: str) -> tuple[int, str]:
    res = CliRunner().invoke(main, [str(a) for a in args])
    return res.exit_code, res.output


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def catalogue(url: str, query: str = "") -> dict:
    status, _, body = http("GET", f"{url}/api/catalogue{query}")
    assert status == 200, body
    return json.loads(body)


def steward_approves_in_browser(node: NodeProcess, token: str, shots: Path,
                                b_id: str) -> None:
    """Log in with a steward token, read the verdict, approve with a reason: in Chromium."""
    br = Browser(shots)
    try:
        br.goto(node.url + "/")
        assert br.eval("document.querySelectorAll('#catalogue-map circle').length") >= 3
        providers = br.eval("Array.from(document.querySelectorAll('p.legend span'))"
                            ".map(e => e.textContent.trim())")
        assert any("Desert Soil" in p for p in providers), providers
        assert any("Highland Soil" in p for p in providers), providers
        br.screenshot(shots / "node-catalogue.png")
        br.goto(f"{node.url}/tables/{b_id}")
        assert "soilbiome node request" in br.eval(
            "document.getElementById('request-command').textContent")
        assert "moratorium until 2026-06-30" in br.eval(
            "document.getElementById('statement').textContent")
        br.screenshot(shots / "node-request-page.png")
        br.goto(node.url + "/steward")
        assert br.eval("location.pathname") == "/steward/login"
        br.submit(f"document.querySelector('input[name=token]').value = {json.dumps(token)};"
                  "document.getElementById('login').submit()")
        assert br.eval("location.pathname") == "/steward"
        assert br.eval("document.querySelectorAll('section.pending').length") == 1
        verdict = br.eval("document.querySelector('section.pending').textContent")
        assert "a person must decide this request" in verdict
        assert "B10" in verdict and "planned_publication_date" in verdict
        br.screenshot(shots / "node-steward-queue.png")
        br.submit("document.querySelector('section.pending textarea').value = "
                  "'Publication planned after the moratorium (e-mail of 2026-01-25)';"
                  "document.querySelector('section.pending button[value=approve]').click()")
        assert br.eval("document.getElementById('notice').textContent") == "Request approved."
        assert br.eval("document.querySelectorAll('section.pending').length") == 0
        br.screenshot(shots / "node-steward-decided.png")
    finally:
        br.close()


def edit_audit(node: NodeProcess, sql: str) -> None:
    """What an attacker with database access does: lift the append-only trigger, then edit."""
    if node.database:
        import psycopg

        with psycopg.connect(node.database, autocommit=True) as conn:
            conn.execute("ALTER TABLE audit DISABLE TRIGGER audit_no_change")
            conn.execute(sql)
            conn.execute("ALTER TABLE audit ENABLE TRIGGER audit_no_change")
    else:
        conn = sqlite3.connect(node.data / "node.sqlite3", isolation_level=None)
        conn.execute("DROP TRIGGER IF EXISTS audit_no_update")
        conn.execute("DROP TRIGGER IF EXISTS audit_no_delete")
        conn.execute(sql)
        conn.close()


def plain_update_refused(node: NodeProcess) -> None:
    """The database itself refuses to change the log."""
    if node.database:
        import psycopg

        with psycopg.connect(node.database, autocommit=True) as conn, \
                pytest.raises(psycopg.Error, match="append-only"):
            conn.execute("UPDATE audit SET actor = 'x' WHERE seq = 1")
    else:
        conn = sqlite3.connect(node.data / "node.sqlite3", isolation_level=None)
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            conn.execute("DELETE FROM audit WHERE seq = 1")
        conn.close()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_two_institutions_publish_a_member_requests_a_steward_decides(
        backend: str, world: dict, tmp_path: Path) -> None:
    cluster = None
    if backend == "postgresql":
        if pg_bin() is None:
            pytest.skip("PostgreSQL binaries (Debian package postgresql) not installed")
        cluster = PgCluster(tmp_path)
    node = NodeProcess(tmp_path / "data", world["members"],
                       cluster.url if cluster else None)
    try:
        _scenario(node, world, tmp_path)
    finally:
        node.stop()
        if cluster:
            cluster.stop()


def _scenario(node: NodeProcess, world: dict, tmp: Path) -> None:
    a, b, url = world["a"], world["b"], node.url
    # -- two institutions publish ------------------------------------------------------------
    code, out = run("node", "publish", a["table"], "--agreement", a["agreement"], "--node", url,
                    "--key", a["key"], "--json")
    assert code == 0, out
    a_id = json.loads(out)["id"]
    assert a_id == sha(a["table"])
    code, out = run("node", "publish", b["table"], "--agreement", b["agreement"], "--node", url,
                    "--key", b["key"], "--json")
    assert code == 0, out
    b_id = json.loads(out)["id"]
    assert json.loads(out)["disclosure"] == "summary"  # the pilot DSA is TLP amber
    # -- tampered tables are refused, naming the rule ----------------------------------------
    bad = tmp / "tampered"
    bad.mkdir()
    t = shutil.copy(a["table"], bad / a["table"].name)
    shutil.copy(str(a["table"]) + ".sharing.dsse.json", bad)
    with h5py.File(t, "r+") as f:
        f["observation/matrix/data"][0] += 1  # one count changed after stamping
    code, out = run("node", "publish", t, "--agreement", a["agreement"], "--node", url,
                    "--key", a["key"])
    assert code == 1 and "HTTP 422" in out and "D3 (Table unchanged)" in out, out
    terms = bad / "agreement-cc0.yaml"
    terms.write_text(a["agreement"].read_text().replace('spdx: CC-BY-4.0', 'spdx: CC0-1.0'))
    assert terms.read_text() != a["agreement"].read_text()
    code, out = run("node", "publish", a["table"], "--agreement", terms, "--node", url,
                    "--key", a["key"])
    assert code == 1 and "D5 (Same agreement)" in out, out
    code, out = run("node", "publish", b["table"], "--agreement", b["agreement"], "--node",
                    url, "--key", a["key"])  # a member, but not a signer of B's agreement
    assert code == 1 and "HTTP 403" in out and "trusted_keys" in out, out
    assert catalogue(url)["count"] == 2
    # -- a third member finds both -----------------------------------------------------------
    found = {e["id"]: e for e in catalogue(url)["tables"]}
    assert set(found) == {a_id, b_id}
    assert found[a_id]["licence"] == "CC-BY-4.0" and found[a_id]["disclosure"] == "full"
    assert [s["sample_id"] for s in found[a_id]["samples"]][:1] == ["BAQ2420.2"]
    assert "samples" not in found[b_id]  # restricted: no sample ids
    assert found[b_id]["sites"] == ["0 N 37 E", "1 S 37 E"]  # rounded to whole degrees
    assert found[b_id]["moratorium_until"] == "2026-06-30"
    assert found[b_id]["abs"]["ircc"] == ["ABSCH-IRCC-KE-000000-1"]
    assert [e["id"] for e in catalogue(url, "?country=KE")["tables"]] == [b_id]
    assert [e["id"] for e in catalogue(url, "?marker=16S&licence=cc-by-4.0")["tables"]] == [a_id]
    assert [e["id"] for e in catalogue(url, "?from=2025-01-01")["tables"]] == [b_id]
    assert [e["id"] for e in catalogue(url, "?taxon=bacillus")["tables"]] == [a_id]
    # Nitrospira is in both, but B's agreement does not let the node disclose its taxa
    assert [e["id"] for e in catalogue(url, "?taxon=Nitrospira")["tables"]] == [a_id]
    assert catalogue(url, "?taxon=Absentia")["count"] == 0  # in the table, never counted
    # -- requests: one approved at once, one for the steward, one refused ---------------------
    req_a = request_yaml(tmp / "req-a.yaml", OPEN_ID, "atacama-16s", accepted_duties=["d-attr"])
    req_b = request_yaml(tmp / "req-b.yaml", PILOT_ID, "ds-1", planned_publication_date=None)
    req_bad = request_yaml(tmp / "req-bad.yaml", PILOT_ID, "ds-1",
                           purpose={"research": True, "commercial": True})
    code, out = run("node", "request", req_a, "--table", a_id, "--node", url, "--key",
                    world["c_key"])
    assert code == 0 and "approved" in out.splitlines()[0], out
    code, out = run("node", "request", req_bad, "--table", b_id, "--node", url, "--key",
                    world["c_key"])
    assert code == 1 and "refused (failed: B2" in out, out
    code, out = run("node", "request", req_b, "--table", b_id, "--node", url, "--key",
                    world["c_key"], "--json")
    assert code == 5, out
    pending = json.loads(out)
    assert pending["status"] == "pending" and "B10" in pending["needs_person"]
    code, out = run("node", "fetch", b_id, "--node", url, "--key", world["c_key"], "--out",
                    tmp / "early")
    assert code == 1 and "HTTP 403" in out and "no approved request" in out, out
    assert not (tmp / "early" / b["table"].name).exists()
    # -- the steward decides in the browser ----------------------------------------------------
    code, token = run("node", "steward-token", *node.db_args(), "--name", "Dr. Steward")
    assert code == 0, token
    if CHROMIUM:
        steward_approves_in_browser(node, token.strip(), tmp, b_id)
    else:  # pragma: no cover - the CI image has chromium
        code, out = run("node", "decide", pending["id"], *node.db_args(), "--approve",
                        "--reason", "agreed")
        assert code == 0, out
    code, out = run("node", "status", pending["id"], "--node", url, "--key", world["c_key"],
                    "--json")
    assert json.loads(out)["status"] == "approved"
    assert json.loads(out)["reason"].startswith("Publication planned after")
    # -- releases: byte-identical, verified ------------------------------------------------------
    for tid, inst in ((a_id, a), (b_id, b)):
        out_dir = tmp / f"got-{tid[:8]}"
        code, out = run("node", "fetch", f"drs://127.0.0.1:{node.port}/{tid}", "--node", url,
                        "--key", world["c_key"], "--out", out_dir, "--today", TODAY)
        assert code == 5, out  # D7/D9 need the run's crate; nothing failed
        got = out_dir / inst["table"].name
        assert sha(got) == sha(inst["table"])
        assert sha(Path(str(got) + ".sharing.dsse.json")) == \
            sha(Path(str(inst["table"]) + ".sharing.dsse.json"))
        code, out = run("verify", got, "--agreement", inst["agreement"], "--today", TODAY,
                        "--json")
        rep = json.loads(out)
        assert rep["rules"] and not [r for r in rep["rules"] if r["status"] == "failed"], out
        assert {"D1", "D2", "D3", "D4", "D5", "D6", "D10"} <= set(rep["passed"])
    # -- compare takes approved node objects as inputs ---------------------------------------
    if node.database is None:  # the same client code on both back ends: once is enough
        drs = [f"drs://127.0.0.1:{node.port}/{tid}" for tid in (a_id, b_id)]
        code, out = run("compare", *drs, "--node", url, "--key", world["c_key"], "--out",
                        tmp / "cmp-early", "--group", "site", "--rank", "genus",
                        "--permutations", "9", "--today", TODAY)
        assert code == 1 and "C11" in out and "moratorium" in out, out  # B's, until 06-30
        assert not (tmp / "cmp-early").exists()
        code, out = run("compare", *drs, "--node", url, "--key", world["c_key"], "--out",
                        tmp / "cmp", "--group", "site", "--rank", "genus",
                        "--permutations", "9", "--today", "2026-07-01")
        assert code == 0 and "compare: 2 inputs, 7 samples" in out, out
        assert "UNVERIFIED" not in out
    # the stranger's key is no member: no object, no listing of requests
    code, out = run("node", "fetch", a_id, "--node", url, "--key", world["stranger_key"],
                    "--out", tmp / "stranger")
    assert code == 1 and "HTTP 403" in out and "not a member" in out, out
    # -- the audit log ---------------------------------------------------------------------------
    code, out = run("node", "audit", *node.db_args())
    kinds = [line.split("\t")[2] for line in out.splitlines()]
    assert kinds.count("publish") == 2 and kinds.count("request") == 3
    released = 6 + (12 if node.database is None else 0)  # 3 objects per fetch, 2 compares
    assert kinds.count("decision") == 3 and kinds.count("release") == released, kinds
    steward_line = next(x for x in out.splitlines() if "\tdecision\tsteward:Dr. Steward" in x)
    assert "approved" in steward_line
    code, out = run("node", "audit", *node.db_args(), "--verify")
    assert code == 0 and out.startswith("OK:"), out
    head = out.split("head ")[1].strip()
    plain_update_refused(node)
    publish_seq = next(int(x.split("\t")[0]) for x in run("node", "audit", *node.db_args())[1]
                       .splitlines() if "\tpublish\t" in x)
    edit_audit(node, f"UPDATE audit SET detail = replace(detail, 'desert_lab', 'other_lab') "
                     f"WHERE seq = {publish_seq}")
    code, out = run("node", "audit", *node.db_args(), "--verify")
    assert code == 1 and f"entry {publish_seq} (publish" in out and "content changed" in out, out
    edit_audit(node, f"UPDATE audit SET detail = replace(detail, 'other_lab', 'desert_lab') "
                     f"WHERE seq = {publish_seq}")
    assert run("node", "audit", *node.db_args(), "--verify")[0] == 0
    edit_audit(node, "DELETE FROM audit WHERE seq = 3")
    code, out = run("node", "audit", *node.db_args(), "--verify")
    assert code == 1 and "entry 3 missing (deleted)" in out, out
    last = int(run("node", "audit", *node.db_args())[1].splitlines()[-1].split("\t")[0])
    edit_audit(node, f"DELETE FROM audit WHERE seq = {last}")
    code, out = run("node", "audit", *node.db_args(), "--verify", "--expect-head", head)
    assert code == 1 and "removed from its end" in out, out
