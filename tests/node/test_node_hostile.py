"""Hostile input to every endpoint of a running node (SQLite): unsigned, forged, replayed,
oversized, malformed, cross-site and script-carrying requests are refused or rendered inert."""

from __future__ import annotations

import base64
import json
import socket
import sqlite3
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from soilbiome.cli import main
from soilbiome.node.auth import sign_headers
from soilbiome.node.drs import make_token
from soilbiome.sharing.keys import load_private_key

from .kit import (
    A_SAMPLES,
    EXAMPLES,
    GENERA,
    NodeProcess,
    erc,
    http,
    institution,
    members_file,
    request_yaml,
)

XSS = "<script>alert('x')</script>"
PILOT_ID = "urn:uuid:3f0c2a8e-7b41-4d2e-8a6c-5e9b1d0f2a02"


def signed(node: NodeProcess, key: Path, method: str, path: str, body: bytes = b"",
           **overrides: str) -> tuple[int, dict, bytes]:
    headers = sign_headers(load_private_key(key), method, path, body)
    headers.update(overrides)
    if body:
        headers["Content-Type"] = "application/json"
    return http(method, node.url + path, body or None, headers)


def error(resp: tuple[int, dict, bytes]) -> str:
    return json.loads(resp[2])["error"]


def blobs(node: NodeProcess) -> list[Path]:
    return sorted(p for p in (node.data / "blobs").rglob("*") if p.is_file())


@pytest.fixture(scope="module")
def hostile(world: dict, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A node with the open table of institution A and a table whose agreement title and
    sample metadata carry markup, published by a fourth institution; B's table too."""
    tmp = tmp_path_factory.mktemp("node-hostile")
    text = (EXAMPLES / "open-cc-by.yaml").read_text()
    text = text.replace('title: "Open release of Atacama Desert soil 16S amplicon tables"',
                        f'title: "{XSS}"').replace("6b1d2c4e-5a7f-4c1e-9d3b-2f8a0e6c1a01",
                                                   "6b1d2c4e-5a7f-4c1e-9d3b-2f8a0e6c1a99")
    (tmp / "xss.yaml").write_text(text)
    samples = {s: dict(v) for s, v in A_SAMPLES.items()}
    samples["BAQ2420.2"] = erc("24.10 S 69.87 W", f"{XSS}: Antofagasta", "2010-10-01", XSS)
    x = institution(tmp, "xss", tmp / "xss.yaml", "provider-cl", samples, GENERA, 7)
    members = members_file(tmp / "members.yaml", [
        *yaml.safe_load(world["members"].read_text())["members"],
        {"name": f"Evil {XSS} Lab", "public_key_b64": x["b64"]}])
    node = NodeProcess(tmp / "data", members, extra=["--max-upload-mb", "1"])
    run = CliRunner().invoke
    for inst in (world["a"], world["b"], x):
        res = run(main, ["node", "publish", str(inst["table"]), "--agreement",
                         str(inst["agreement"]), "--node", node.url, "--key", str(inst["key"]),
                         "--json"])
        assert res.exit_code == 0, res.output
        inst_id = json.loads(res.output)["id"]
        inst["id"] = inst_id
    yield {"node": node, "x": x, "tmp": tmp, **world}
    node.stop()


def test_anonymous_writes_and_private_reads_are_refused(hostile: dict) -> None:
    node = hostile["node"]
    body = json.dumps({"table": hostile["a"]["id"], "request_yaml": "x"}).encode()
    for method, path, data in (("POST", "/api/publish", b"{}"), ("POST", "/api/requests", body),
                               ("GET", "/api/requests/" + "0" * 32, None),
                               ("GET", f"/ga4gh/drs/v1/objects/{hostile['a']['id']}", None),
                               ("GET", f"/ga4gh/drs/v1/objects/{hostile['a']['id']}/access/"
                                       "https", None)):
        resp = http(method, node.url + path, data, {"Content-Type": "application/json"})
        assert resp[0] == 401, (path, resp)
        assert "anonymous writes are refused" in error(resp)
    assert http("GET", node.url + "/api/publish")[0] == 405


def test_forged_replayed_stale_and_foreign_signatures(hostile: dict) -> None:
    node, key = hostile["node"], hostile["c_key"]
    body = json.dumps({"table": hostile["a"]["id"], "request_yaml": "request: {}"}).encode()
    headers = sign_headers(load_private_key(key), "POST", "/api/requests", body)
    headers["Content-Type"] = "application/json"
    changed = body.replace(b"request: {}", b"request: []")
    resp = http("POST", node.url + "/api/requests", changed, headers)
    assert resp[0] == 401 and error(resp) == "signature does not verify"
    assert http("POST", node.url + "/api/requests", body, headers)[0] == 422  # first use
    resp = http("POST", node.url + "/api/requests", body, headers)  # the same nonce again
    assert resp[0] == 401 and "replayed" in error(resp)
    old = sign_headers(load_private_key(key), "POST", "/api/requests", body,
                       now=time.time() - 3600)
    resp = http("POST", node.url + "/api/requests", body, {**old,
                                                            "Content-Type": "application/json"})
    assert resp[0] == 401 and "timestamp" in error(resp)
    resp = signed(node, hostile["stranger_key"], "POST", "/api/requests", body)
    assert resp[0] == 403 and "not a member" in error(resp)
    for bad in ({"X-Soilbiome-Key": "sha256:../../etc"}, {"X-Soilbiome-Nonce": "x" * 5000},
                {"X-Soilbiome-Signature": "%%%"}, {"X-Soilbiome-Timestamp": "-1"}):
        resp = signed(node, key, "POST", "/api/requests", body, **bad)
        assert resp[0] == 401 and error(resp) == "malformed signature headers", bad
    # a signature for one path does not open another
    headers = sign_headers(load_private_key(key), "GET", "/api/requests/" + "1" * 32)
    assert http("GET", node.url + "/api/requests/" + "2" * 32, None, headers)[0] == 401


def test_upload_size_is_bounded(hostile: dict) -> None:
    """A body declared (or streamed) beyond --max-upload-mb is refused before it is read."""
    node = hostile["node"]
    before = blobs(node)
    big = 2 * 1024 * 1024
    with socket.create_connection(("127.0.0.1", node.port), timeout=10) as sock:
        sock.sendall(b"POST /api/publish HTTP/1.1\r\nHost: x\r\nContent-Type: "
                     b"application/json\r\nContent-Length: " + str(big).encode()
                     + b"\r\n\r\n" + b"{" + b" " * 65536)
        answer = ""
        while "}" not in answer.partition("\r\n\r\n")[2]:  # headers, then the JSON body
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk.decode("latin-1")
    assert answer.startswith("HTTP/1.1 413"), answer[:200]
    assert "larger than 1048576" in answer
    assert blobs(node) == before


def test_publish_refuses_malformed_bodies_and_paths(hostile: dict) -> None:
    node, a = hostile["node"], hostile["a"]
    b64 = {k: base64.b64encode(a[p].read_bytes() if p != "sidecar" else
                               Path(str(a["table"]) + ".sharing.dsse.json").read_bytes()
                               ).decode()
           for k, p in (("table_b64", "table"), ("sidecar_b64", "sidecar"),
                        ("agreement_b64", "agreement"))}
    before = blobs(node)
    cases = [
        (b"not json", 400, "not JSON"),
        (b"[1, 2]", 400, "not a JSON object"),
        (json.dumps({"name": "x.biom"}).encode(), 400, "table_b64 missing"),
        (json.dumps({**b64, "name": "x.biom", "table_b64": "***"}).encode(), 400,
         "not base64"),
        (json.dumps({**b64, "name": "../../../tmp/evil.biom"}).encode(), 422, "name:"),
        (json.dumps({**b64, "name": "/etc/passwd.biom"}).encode(), 422, "name:"),
        (json.dumps({**b64, "name": "a\u0000.biom"}).encode(), 422, "name:"),
        (json.dumps({**b64, "name": "t.biom", "agreement_b64": base64.b64encode(
            b"agreement: [unclosed").decode()}).encode(), 422, "A1"),
        (json.dumps({**b64, "name": "t.biom", "table_b64": base64.b64encode(
            b"\x89HDF\r\n" + b"\0" * 500).decode()}).encode(), 422, "D1"),
    ]
    for body, status, text in cases:
        resp = signed(node, a["key"], "POST", "/api/publish", body)
        assert resp[0] == status and text in error(resp), (body[:60], resp)
    assert blobs(node) == before
    assert not Path("/tmp/evil.biom").exists()
    resp = signed(node, a["key"], "POST", "/api/publish",
                  json.dumps({**b64, "name": "again.biom"}).encode())
    assert resp[0] == 409 and "already published" in error(resp)


def test_everything_from_tables_and_agreements_is_escaped(hostile: dict) -> None:
    node, x = hostile["node"], hostile["x"]
    for path in ("/", f"/tables/{x['id']}", "/?taxon=" + urllib.parse.quote(XSS)):
        status, headers, body = http("GET", node.url + path)
        page = body.decode()
        assert status in (200,), (path, status)
        assert "<script" not in page.lower(), path
        assert "&lt;script&gt;" in page, path
        assert "script-src" not in headers["content-security-policy"]  # no script allowed
        assert "default-src 'none'" in headers["content-security-policy"]
        assert headers["x-frame-options"] == "DENY"
    status, _, body = http("GET", node.url + "/api/catalogue")
    entry = next(e for e in json.loads(body)["tables"] if e["id"] == x["id"])
    assert entry["title"] == XSS  # JSON carries the data as it is; pages escape it


def steward_session(node: NodeProcess) -> tuple[str, str, str]:
    """Log in through the forms; returns (session cookie, csrf cookie, form csrf)."""
    res = CliRunner().invoke(main, ["node", "steward-token", *node.db_args(), "--name",
                                    "Steward"])
    token = res.output.strip()
    status, headers, body = http("GET", node.url + "/steward/login")
    csrf = headers["set-cookie"].split("csrf=")[1].split(";")[0]
    assert f"value='{csrf}'" in body.decode()
    form = urllib.parse.urlencode({"csrf": csrf, "token": token}).encode()
    req = urllib.request.Request(
        node.url + "/steward/login", data=form, method="POST",
        headers={"Content-Type": "application/x-www-form-urlencoded",
                 "Cookie": f"csrf={csrf}"})

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):  # noqa: ANN002, ANN003, ANN202
            return None

    opener = urllib.request.build_opener(NoRedirect)
    try:
        opener.open(req)
        raise AssertionError("login did not redirect")
    except urllib.error.HTTPError as exc:
        assert exc.code == 303
        session = exc.headers["set-cookie"].split("session=")[1].split(";")[0]
    page = http("GET", node.url + "/steward", None, {"Cookie": f"session={session}"})[2]
    form_csrf = page.decode().split("name='csrf' value='")[1].split("'")[0]
    return session, csrf, form_csrf


def test_steward_forms_need_a_session_and_a_csrf_token(hostile: dict) -> None:
    node = hostile["node"]
    req = request_yaml(hostile["tmp"] / "xss-req.yaml", PILOT_ID, "ds-1",
                       planned_publication_date=None,
                       purpose={"research": True, "commercial": False, "text": XSS})
    res = CliRunner().invoke(main, ["node", "request", str(req), "--table", hostile["b"]["id"],
                                    "--node", node.url, "--key", str(hostile["c_key"]),
                                    "--json"])
    assert res.exit_code == 5, res.output
    rid = json.loads(res.output)["id"]
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    # login: no csrf cookie, wrong token
    resp = http("POST", node.url + "/steward/login", b"token=x&csrf=y", form)
    assert resp[0] == 403 and b"CSRF" in resp[2]
    resp = http("POST", node.url + "/steward/login", b"token=wrong&csrf=" + b"a" * 64,
                {**form, "Cookie": "csrf=" + "a" * 64})
    assert resp[0] == 403 and b"Unknown or expired token" in resp[2]
    # the queue and decisions need a session
    assert http("GET", node.url + "/steward")[0] in (200, 303)  # redirected to login
    decide = urllib.parse.urlencode({"request": rid, "action": "approve", "reason": "ok",
                                     "csrf": "x"}).encode()
    assert http("POST", node.url + "/steward/decide", decide, form)[0] == 401
    session, _, csrf = steward_session(node)
    cookie = {**form, "Cookie": f"session={session}"}
    page = http("GET", node.url + "/steward", None, cookie)[2].decode()
    assert rid in page and "&lt;script&gt;" in page and "<script" not in page
    resp = http("POST", node.url + "/steward/decide", decide, cookie)  # wrong csrf
    assert resp[0] == 403 and b"CSRF" in resp[2]
    good = urllib.parse.urlencode({"request": rid, "action": "deny", "reason": "no plan",
                                   "csrf": csrf}).encode()
    resp = http("POST", node.url + "/steward/decide", good,
                {**cookie, "Origin": "http://evil.example"})
    assert resp[0] == 403  # a cross-site form post carries the victim's cookie: refused
    resp = http("POST", node.url + "/steward/decide", good, {**cookie,
                                                             "Content-Type": "text/plain"})
    assert resp[0] == 415
    no_reason = urllib.parse.urlencode({"request": rid, "action": "deny", "reason": " ",
                                        "csrf": csrf}).encode()
    assert http("POST", node.url + "/steward/decide", no_reason, cookie)[0] == 400
    page = http("GET", node.url + "/steward", None, cookie)[2].decode()
    assert f"data-request='{rid}'" in page  # still pending after every refused attempt
    # logging out needs the session's csrf token too (a cross-site logout is refused)
    assert http("POST", node.url + "/steward/logout", b"csrf=x", cookie)[0] in (200, 303)
    assert f"data-request='{rid}'".encode() in http("GET", node.url + "/steward", None,
                                                    cookie)[2]
    resp = http("POST", node.url + "/steward/decide", good, cookie)
    assert resp[0] in (200, 303)
    page = http("GET", node.url + "/steward", None, cookie)[2].decode()
    assert f"data-request='{rid}'" not in page and "no plan" in page


def test_catalogue_filters_are_validated(hostile: dict) -> None:
    node = hostile["node"]
    for query, text in (("?colour=red", "unknown filter"), ("?taxon=" + "a" * 500, "longer"),
                        ("?from=2025-13-45", "not a date"), ("?marker=a&marker=b", "twice"),
                        ("?taxon=%01", "control")):
        resp = http("GET", node.url + "/api/catalogue" + query)
        assert resp[0] == 400 and text in error(resp), query
        assert http("GET", node.url + "/" + query)[0] == 400
    resp = http("GET", node.url + "/api/catalogue?taxon=" + urllib.parse.quote("' OR 1=1 --"))
    assert resp[0] == 200 and json.loads(resp[2])["count"] == 0
    assert http("GET", node.url + "/tables/" + "g" * 64)[0] == 404
    assert http("GET", node.url + "/api/tables/..%2F..%2Fetc%2Fpasswd")[0] == 404


def test_catalogue_is_paged(hostile: dict) -> None:
    """limit/offset pages in a stable order; `next` links walk every table once, keeping the
    filters; bad or too large page values are refused in one line."""
    node = hostile["node"]

    def get(query: str) -> dict:
        status, _, body = http("GET", node.url + "/api/catalogue" + query)
        assert status == 200, (query, body)
        return json.loads(body)

    whole = get("")
    ids = [e["id"] for e in whole["tables"]]
    assert sorted(ids) == sorted(hostile[k]["id"] for k in ("a", "b", "x"))
    assert ids == [e["id"] for e in sorted(whole["tables"],
                                           key=lambda e: (e["published_at"], e["id"]))]
    assert (whole["count"], whole["limit"], whole["offset"]) == (3, 50, 0)
    assert whole["next"] is None and whole["previous"] is None
    url, seen, pages = node.url + "/api/catalogue?limit=2", [], []
    while url:
        status, _, body = http("GET", url)
        page = json.loads(body)
        assert status == 200 and page["count"] == 3 and len(page["tables"]) <= 2
        assert all(e["drs_uri"] == f"drs://127.0.0.1:{node.port}/{e['id']}"
                   for e in page["tables"])
        seen += [e["id"] for e in page["tables"]]
        pages.append(page)
        url = page["next"]
    assert seen == ids and len(pages) == 2
    assert pages[0]["next"] == f"{node.url}/api/catalogue?limit=2&offset=2"
    assert pages[1]["previous"] == f"{node.url}/api/catalogue?limit=2&offset=0"
    # the filters travel with the links: two CC-BY tables, one a page
    first = get("?licence=cc-by-4.0&limit=1")
    assert first["count"] == 2 and first["filters"] == {"licence": "CC-BY-4.0"}
    assert first["next"] == f"{node.url}/api/catalogue?licence=CC-BY-4.0&limit=1&offset=1"
    second = json.loads(http("GET", first["next"])[2])
    assert {first["tables"][0]["id"], second["tables"][0]["id"]} == \
        {hostile["a"]["id"], hostile["x"]["id"]} and second["next"] is None
    beyond = get("?offset=10&limit=2")
    assert beyond["tables"] == [] and beyond["count"] == 3 and beyond["next"] is None
    assert beyond["previous"] == f"{node.url}/api/catalogue?limit=2&offset=1"
    for query, text in (("?limit=0", "limit: not a whole number from 1 to 200"),
                        ("?limit=201", "from 1 to 200"), ("?limit=ten", "limit"),
                        ("?offset=-1", "offset: not a whole number"), ("?offset=1e3", "offset"),
                        ("?limit=%D9%A3", "limit"), ("?limit=1&limit=2", "twice")):
        resp = http("GET", node.url + "/api/catalogue" + query)
        assert resp[0] == 400 and text in error(resp), (query, resp)
        assert http("GET", node.url + "/" + query)[0] == 400, query
    # the page: the rows of one page and links to its neighbours
    status, _, body = http("GET", node.url + "/?limit=1&offset=1")
    page = body.decode()
    assert status == 200 and "Tables 2–2 of 3." in page
    assert page.count("<tr data-table=") == 1 and f"data-table='{ids[1]}'" in page
    assert "rel='prev' href='/?limit=1&amp;offset=0'" in page
    assert "rel='next' href='/?limit=1&amp;offset=2'" in page
    assert "name='limit' value='1'" in page  # a new filter keeps the page size


def test_drs_ids_tokens_and_access_are_checked(hostile: dict) -> None:
    node, key, a = hostile["node"], hostile["c_key"], hostile["a"]
    for oid in ("..%2F..%2Fetc%2Fpasswd", a["id"].upper(), a["id"][:-1], "0" * 64):
        resp = signed(node, key, "GET", f"/ga4gh/drs/v1/objects/{oid}")
        assert resp[0] == 404, (oid, resp)
    # no approved request yet
    resp = signed(node, key, "GET", f"/ga4gh/drs/v1/objects/{a['id']}")
    assert resp[0] == 403 and "no approved request" in error(resp)
    req = request_yaml(hostile["tmp"] / "a-req.yaml", "urn:uuid:6b1d2c4e-5a7f-4c1e-9d3b-"
                       "2f8a0e6c1a01", "atacama-16s", accepted_duties=["d-attr"])
    res = CliRunner().invoke(main, ["node", "request", str(req), "--table", a["id"], "--node",
                                    node.url, "--key", str(key)])
    assert res.exit_code == 0, res.output
    obj = json.loads(signed(node, key, "GET", f"/ga4gh/drs/v1/objects/{a['id']}")[2])
    assert obj["checksums"] == [{"type": "sha-256", "checksum": a["id"]}]
    assert obj["self_uri"] == f"drs://127.0.0.1:{node.port}/{a['id']}"
    assert signed(node, key, "GET", f"/ga4gh/drs/v1/objects/{a['id']}/access/s3")[0] == 404
    access = json.loads(signed(node, key, "GET",
                               f"/ga4gh/drs/v1/objects/{a['id']}/access/https")[2])
    assert access["expires_at"] - time.time() <= 300
    status, headers, data = http("GET", access["url"])
    assert status == 200 and data == a["table"].read_bytes()
    token = access["url"].rsplit("/", 1)[1]
    body, mac = token.split(".")
    forged = base64.urlsafe_b64encode(json.dumps(
        {"o": hostile["b"]["id"], "k": "x", "r": "x", "e": 2**40}).encode()).decode().rstrip("=")
    for bad in (f"{forged}.{mac}", f"{body}.{mac[:-2]}xx", "x" * 600, "nodot"):
        assert http("GET", f"{node.url}/download/{bad}")[0] in (403, 404), bad
    secret = bytes.fromhex(sqlite3.connect(node.data / "node.sqlite3").execute(
        "SELECT value FROM settings WHERE name = 'url_secret'").fetchone()[0])
    expired, _ = make_token(secret, a["id"], "k", "r", now=time.time() - 301)
    resp = http("GET", f"{node.url}/download/{expired}")
    assert resp[0] == 403 and "expired" in error(resp)


def test_requests_are_validated(hostile: dict) -> None:
    node, key, b = hostile["node"], hostile["c_key"], hostile["b"]

    def post(body: dict) -> tuple[int, dict, bytes]:
        return signed(node, key, "POST", "/api/requests", json.dumps(body).encode())

    good = request_yaml(hostile["tmp"] / "r.yaml", PILOT_ID, "ds-1").read_text()
    assert post({"table": "../etc", "request_yaml": good})[0] == 400
    assert post({"table": "0" * 64, "request_yaml": good})[0] == 404
    resp = post({"table": b["id"], "request_yaml": "a: &a [*a, *a]\n" + "b: " * 10})
    assert resp[0] == 422 and error(resp).startswith("request:")
    assert post({"table": b["id"], "request_yaml": "x" * (65 * 1024)})[0] == 422
    assert post({"table": b["id"], "request_yaml": 42})[0] == 422
    other = good.replace("https://ror.org/05xyz6a78", "https://ror.org/02abc3d45")
    resp = post({"table": b["id"], "request_yaml": other})
    assert resp[0] == 403 and "not the institution of the signing key" in error(resp)
    rid = json.loads(post({"table": b["id"], "request_yaml": good})[2])["id"]
    resp = signed(node, hostile["a"]["key"], "GET", f"/api/requests/{rid}")
    assert resp[0] == 404  # another member's request is not disclosed
    for bad in ("z" * 32, rid.upper(), rid + "0", "..%2F" + rid[5:]):
        assert signed(node, key, "GET", f"/api/requests/{bad}")[0] == 404, bad
    mine = json.loads(signed(node, key, "GET", f"/api/requests/{rid}")[2])
    assert mine["status"] == "approved" and mine["reason"] == "every applicable B rule passed"


def test_request_rate_is_bounded(hostile: dict, tmp_path: Path) -> None:
    node = NodeProcess(tmp_path / "data", hostile["members"], extra=["--rate", "3"])
    try:
        codes = [http("GET", node.url + "/api/catalogue")[0] for _ in range(6)]
        assert 429 in codes and codes[0] == 200, codes
        resp = http("GET", node.url + "/api/catalogue")
        assert resp[0] == 429 and resp[1]["retry-after"] == "60"
    finally:
        node.stop()


def test_bad_configuration_is_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "members.yaml"
    bad.write_text("members:\n  - name: X\n    public_key_b64: 'not-a-key'\n")
    res = CliRunner().invoke(main, ["node", "serve", "--data", str(tmp_path / "d"),
                                    "--members", str(bad)])
    assert res.exit_code == 2
    assert "members[0].public_key_b64" in res.output and "Traceback" not in res.output
    res = CliRunner().invoke(main, ["node", "audit", "--data", str(tmp_path / "d"),
                                    "--database", "mysql://x", "--verify"])
    assert res.exit_code == 2 and "not sqlite:/// or postgresql://" in res.output
