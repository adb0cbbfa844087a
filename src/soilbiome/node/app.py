"""The node's web application (Starlette, served by uvicorn): routes and request hygiene.

Every request passes one middleware that bounds its rate (per client address), its body size
and sets security headers (no script may run, no framing). Writes and private reads are signed
(:mod:`soilbiome.node.auth`); steward forms use a session cookie and a CSRF token.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import threading
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from soilbiome.node import pages
from soilbiome.node.auth import AuthError, Member, verify_headers
from soilbiome.node.catalogue import (
    FilterError,
    disclosed,
    map_sites,
    matches,
    parse_filters,
)
from soilbiome.node.drs import ACCESS_ID, drs_object, make_token, node_secret, read_token
from soilbiome.node.service import Node, Refused
from soilbiome.node.storage import BlobError, check_digest
from soilbiome.sharing.agreement import load_agreement
from soilbiome.sharing.terms import Terms
from soilbiome.sharing.verdict import plain_statement

CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
       "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
SESSION_TTL = 8 * 3600


class Limits:
    """Body size and request-rate bounds (token bucket per client address)."""

    def __init__(self, max_body: int, rate_per_minute: int) -> None:
        self.max_body = max_body
        self.rate = rate_per_minute
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def allow(self, client: str) -> bool:
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(client, (float(self.rate), now))
            tokens = min(float(self.rate), tokens + (now - last) * self.rate / 60.0)
            if tokens < 1:
                self._buckets[client] = (tokens, now)
                return False
            self._buckets[client] = (tokens - 1, now)
            if len(self._buckets) > 10000:  # forget idle clients
                self._buckets = {k: v for k, v in self._buckets.items() if now - v[1] < 120}
            return True


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


class TooLarge(Exception):
    pass


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refusing more than ``limit`` bytes (declared or streamed)."""
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        raise TooLarge()
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise TooLarge()
        chunks.append(chunk)
    return b"".join(chunks)


def create_app(node: Node, *, name: str = "soilbiome exchange node", max_body: int =
               256 * 1024 * 1024, rate_per_minute: int = 600, public_url: str = "") -> Starlette:
    """The Starlette application of ``node``."""
    limits = Limits(max_body, rate_per_minute)
    secret = node_secret(node.db)

    def base_url(request: Request) -> str:
        return public_url.rstrip("/") or str(request.base_url).rstrip("/")

    def target(request: Request) -> str:
        return request.url.path + (f"?{request.url.query}" if request.url.query else "")

    async def signed(request: Request, body: bytes = b"") -> Member:
        with node.db.transaction() as cur:
            return verify_headers(cur, dict(request.headers), request.method, target(request),
                                  body)

    async def json_body(request: Request) -> tuple[dict[str, Any], Member]:
        body = await read_body(request, limits.max_body)
        member = await signed(request, body)
        try:
            data = json.loads(body)
        except ValueError:
            raise Refused("body: not JSON", 400) from None
        if not isinstance(data, dict):
            raise Refused("body: not a JSON object", 400)
        return data, member

    # -- catalogue -----------------------------------------------------------------------------
    def entries(filters: dict[str, str]) -> list[dict[str, Any]]:
        with node.db.transaction() as cur:
            rows = cur.execute("SELECT * FROM published ORDER BY published_at, id").all()
            samples = cur.execute("SELECT * FROM samples ORDER BY table_id, sample_id").all()
            hits = set()
            if "taxon" in filters:
                hits = {r["table_id"] for r in cur.execute(
                    "SELECT DISTINCT table_id FROM taxa WHERE name = ?",
                    (filters["taxon"].lower(),)).all()}
        by_table: dict[str, list] = {}
        for s in samples:
            by_table.setdefault(s["table_id"], []).append(s)
        out = []
        for row in rows:
            e = disclosed(row, by_table.get(row["id"], []))
            e["drs_uri"] = None
            hit = row["id"] in hits and e["disclosure"] == "full"
            if matches(e, hit, filters):
                out.append(e)
        return out

    def query_filters(request: Request) -> dict[str, str]:
        if len(request.url.query) > 2000:
            raise FilterError("query string too long")
        q: dict[str, str] = {}
        for k, v in request.query_params.multi_items():
            if k in q:
                raise FilterError(f"filter {k[:40]} given twice")
            q[k] = v
        return parse_filters(q)

    async def catalogue(request: Request) -> Response:
        try:
            f = query_filters(request)
        except FilterError as exc:
            return HTMLResponse(pages.message_page("Bad filter", str(exc), name), 400)
        es = entries(f)
        return HTMLResponse(pages.catalogue_page(es, f, map_sites(es), name))

    async def catalogue_json(request: Request) -> Response:
        try:
            f = query_filters(request)
        except FilterError as exc:
            return _error(400, str(exc))
        host = urlsplit(base_url(request)).netloc
        es = entries(f)
        for e in es:
            e["drs_uri"] = f"drs://{host}/{e['id']}"
        return JSONResponse({"filters": f, "count": len(es), "tables": es})

    def one_entry(table_id: str) -> dict[str, Any] | None:
        try:
            check_digest(table_id)
        except BlobError:
            return None
        with node.db.transaction() as cur:
            row = cur.execute("SELECT * FROM published WHERE id = ?", (table_id,)).one()
            if row is None:
                return None
            samples = cur.execute("SELECT * FROM samples WHERE table_id = ? ORDER BY "
                                  "sample_id", (table_id,)).all()
        return disclosed(row, samples) | {"_row": row}

    def statement_of(row: dict[str, Any]) -> str:
        import tempfile
        from pathlib import Path

        with tempfile.TemporaryDirectory(prefix="soilbiome-node-") as tmp:
            p = Path(tmp) / "agreement.yaml"
            p.write_bytes(node.store.read(row["agreement_sha256"]))
            ag = load_agreement(p)
        return plain_statement(Terms.from_agreement(ag), node.today)

    async def table_page(request: Request) -> Response:
        e = one_entry(request.path_params["table_id"])
        if e is None:
            return HTMLResponse(pages.message_page("Not found", "No such table.", name), 404)
        row = e.pop("_row")
        return HTMLResponse(pages.table_page(e, statement_of(row), base_url(request), name))

    async def table_json(request: Request) -> Response:
        e = one_entry(request.path_params["table_id"])
        if e is None:
            return _error(404, "no such table")
        row = e.pop("_row")
        e["statement"] = statement_of(row)
        return JSONResponse(e)

    # -- signed writes ---------------------------------------------------------------------------
    async def publish(request: Request) -> Response:
        data, member = await json_body(request)
        blobs = {}
        for key in ("table_b64", "sidecar_b64", "agreement_b64"):
            value = data.get(key)
            if not isinstance(value, str):
                raise Refused(f"body: {key} missing", 400)
            try:
                blobs[key] = base64.b64decode(value, validate=True)
            except (binascii.Error, ValueError):
                raise Refused(f"body: {key} is not base64", 400) from None
        result = await run_in_threadpool(node.publish, member, data.get("name"),
                                         blobs["table_b64"], blobs["sidecar_b64"],
                                         blobs["agreement_b64"])
        return JSONResponse(result, status_code=201)

    async def submit_request(request: Request) -> Response:
        data, member = await json_body(request)
        table_id = data.get("table")
        if not isinstance(table_id, str):
            raise Refused("body: table missing", 400)
        try:
            check_digest(table_id)
        except BlobError:
            raise Refused("table: not a table id", 400) from None
        result = await run_in_threadpool(node.submit_request, member, table_id,
                                         data.get("request_yaml"))
        return JSONResponse(result, status_code=201)

    async def request_status(request: Request) -> Response:
        member = await signed(request)
        rid = request.path_params["request_id"]
        if len(rid) != 32 or any(c not in "0123456789abcdef" for c in rid):
            raise Refused("no such request of this key", 404)
        return JSONResponse(node.request_status(member, rid))

    # -- DRS -------------------------------------------------------------------------------------
    def find_object(object_id: str) -> tuple[dict[str, Any], str]:
        try:
            check_digest(object_id)
        except BlobError:
            raise Refused("no such object", 404) from None
        with node.db.transaction() as cur:
            found = node.objects_of(cur, object_id)
        if found is None:
            raise Refused("no such object", 404)
        return found

    async def drs_get(request: Request) -> Response:
        member = await signed(request)
        row, role = find_object(request.path_params["object_id"])
        await run_in_threadpool(node.authorise, member, row["id"])
        oid = request.path_params["object_id"]
        size = node.store.path(oid).stat().st_size
        host = urlsplit(base_url(request)).netloc
        return JSONResponse(drs_object(host, row, role, oid, size))

    async def drs_access(request: Request) -> Response:
        member = await signed(request)
        if request.path_params["access_id"] != ACCESS_ID:
            raise Refused("no such access method", 404)
        oid = request.path_params["object_id"]
        row, _ = find_object(oid)
        req = await run_in_threadpool(node.authorise, member, row["id"])
        token, expires = make_token(secret, oid, member.keyid, req["id"])
        return JSONResponse({"url": f"{base_url(request)}/download/{token}",
                             "headers": [], "expires_at": expires})

    async def download(request: Request) -> Response:
        claims = read_token(secret, request.path_params["token"])
        if claims is None:
            return _error(403, "access URL invalid or expired")
        oid = str(claims["o"])
        try:
            data = node.store.read(oid)
        except BlobError as exc:
            return _error(404 if "not stored" in str(exc) else 500, str(exc))
        node.record_release(Member(str(claims["k"]), "", "", "", ""), oid, str(claims["r"]))
        return Response(data, media_type="application/octet-stream",
                        headers={"Digest": "sha-256=" + base64.b64encode(
                            bytes.fromhex(oid)).decode(),
                            "Content-Disposition": "attachment"})

    async def service_info(request: Request) -> Response:
        return JSONResponse({"id": "org.soilbiome.node", "name": name,
                             "type": {"group": "org.ga4gh", "artifact": "drs",
                                      "version": "1.2.0"},
                             "organization": {"name": name, "url": base_url(request)},
                             "version": "1"})

    async def audit_head(request: Request) -> Response:
        with node.db.transaction() as cur:
            row = cur.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").one()
        return JSONResponse({"entries": int(row["seq"]) if row else 0,
                             "head": row["hash"] if row else "0" * 64})

    # -- steward -----------------------------------------------------------------------------
    def same_origin(request: Request) -> bool:
        origin = request.headers.get("origin") or request.headers.get("referer")
        if not origin:
            return True  # not sent by every client; the CSRF token still has to match
        parts = urlsplit(origin)
        return parts.netloc == request.headers.get("host", "")

    def cookie_csrf(request: Request) -> str:
        value = request.cookies.get("csrf", "")
        return value if len(value) == 64 and all(c in "0123456789abcdef" for c in value) \
            else secrets.token_hex(32)

    def set_cookie(resp: Response, request: Request, key: str, value: str,
                   max_age: int) -> None:
        resp.set_cookie(key, value, max_age=max_age, httponly=True, samesite="strict",
                        secure=request.url.scheme == "https", path="/")

    def session_of(request: Request) -> dict[str, Any] | None:
        raw = request.cookies.get("session", "")
        if not raw or len(raw) > 100:
            return None
        digest = hashlib.sha256(raw.encode()).hexdigest()
        with node.db.transaction() as cur:
            row = cur.execute("SELECT * FROM sessions WHERE session_sha256 = ? AND expires_at "
                              "> ?", (digest, int(time.time()))).one()
        return row

    async def form(request: Request) -> dict[str, str]:
        body = await read_body(request, 16 * 1024)
        ctype = request.headers.get("content-type", "").split(";")[0].strip()
        if ctype != "application/x-www-form-urlencoded":
            raise Refused("forms are application/x-www-form-urlencoded", 415)
        try:
            q = parse_qs(body.decode("utf-8"), keep_blank_values=True, max_num_fields=10,
                         strict_parsing=False)
        except (UnicodeDecodeError, ValueError):
            raise Refused("form: unreadable", 400) from None
        return {k: v[0] for k, v in q.items()}

    async def login_get(request: Request) -> Response:
        csrf = cookie_csrf(request)
        resp = HTMLResponse(pages.login_page(csrf, name))
        set_cookie(resp, request, "csrf", csrf, 3600)
        return resp

    async def login_post(request: Request) -> Response:
        f = await form(request)
        cookie = request.cookies.get("csrf", "")
        if not same_origin(request) or not cookie or not hmac.compare_digest(
                cookie, f.get("csrf", "")):
            return HTMLResponse(pages.message_page("Refused", "Cross-site form refused "
                                                   "(CSRF token missing or wrong).", name), 403)
        token = f.get("token", "")
        digest = hashlib.sha256(token.encode()).hexdigest()
        with node.db.transaction(exclusive=True) as cur:
            row = cur.execute("SELECT * FROM stewards WHERE token_sha256 = ? AND expires_at > "
                              "?", (digest, int(time.time()))).one()
            if row is None or not token:
                csrf = cookie_csrf(request)
                resp = HTMLResponse(pages.login_page(csrf, name, "Unknown or expired token."),
                                    403)
                return resp
            session = secrets.token_urlsafe(32)
            cur.execute("INSERT INTO sessions (session_sha256, steward, csrf, expires_at) "
                        "VALUES (?, ?, ?, ?)", (hashlib.sha256(session.encode()).hexdigest(),
                                                row["name"], secrets.token_hex(32),
                                                int(time.time()) + SESSION_TTL))
            from soilbiome.node import audit
            audit.append(cur, "login", f"steward:{row['name']}", "steward", {})
        resp = RedirectResponse("/steward", status_code=303)
        set_cookie(resp, request, "session", session, SESSION_TTL)
        return resp

    async def queue(request: Request) -> Response:
        s = session_of(request)
        if s is None:
            return RedirectResponse("/steward/login", status_code=303)
        with node.db.transaction() as cur:
            pending = cur.execute("SELECT r.*, m.name AS member FROM requests r LEFT JOIN "
                                  "members m ON m.keyid = r.requester_keyid WHERE r.status = "
                                  "'pending' ORDER BY r.created_at").all()
            decided = cur.execute("SELECT * FROM requests WHERE status <> 'pending' ORDER BY "
                                  "decided_at DESC LIMIT 100").all()
            tables = {r["id"]: r for r in cur.execute("SELECT id, name FROM published").all()}
        notice = request.query_params.get("done", "")[:80]
        notice = {"approved": "Request approved.", "denied": "Request denied."}.get(notice, "")
        return HTMLResponse(pages.queue_page(s["steward"], s["csrf"], pending, decided, tables,
                                             name, notice))

    async def decide(request: Request) -> Response:
        s = session_of(request)
        if s is None:
            return HTMLResponse(pages.message_page("Refused", "Log in first.", name), 401)
        f = await form(request)
        if not same_origin(request) or not hmac.compare_digest(s["csrf"], f.get("csrf", "")):
            return HTMLResponse(pages.message_page("Refused", "Cross-site form refused "
                                                   "(CSRF token missing or wrong).", name), 403)
        action = f.get("action")
        if action not in ("approve", "deny"):
            return HTMLResponse(pages.message_page("Refused", "Unknown action.", name), 400)
        try:
            result = node.decide(s["steward"], f.get("request", "")[:64], action == "approve",
                                 f.get("reason", ""))
        except Refused as exc:
            return HTMLResponse(pages.message_page("Refused", str(exc), name), exc.status)
        return RedirectResponse(f"/steward?done={result['status']}", status_code=303)

    async def logout(request: Request) -> Response:
        s = session_of(request)
        f = await form(request)
        if s is not None and hmac.compare_digest(s["csrf"], f.get("csrf", "")):
            with node.db.transaction() as cur:
                cur.execute("DELETE FROM sessions WHERE session_sha256 = ?",
                            (s["session_sha256"],))
        resp = RedirectResponse("/steward/login", status_code=303)
        resp.delete_cookie("session", path="/")
        return resp

    routes = [
        Route("/", catalogue),
        Route("/api/catalogue", catalogue_json),
        Route("/tables/{table_id}", table_page),
        Route("/api/tables/{table_id}", table_json),
        Route("/api/publish", publish, methods=["POST"]),
        Route("/api/requests", submit_request, methods=["POST"]),
        Route("/api/requests/{request_id}", request_status),
        Route("/api/audit/head", audit_head),
        Route("/ga4gh/drs/v1/service-info", service_info),
        Route("/ga4gh/drs/v1/objects/{object_id}", drs_get),
        Route("/ga4gh/drs/v1/objects/{object_id}/access/{access_id}", drs_access),
        Route("/download/{token}", download),
        Route("/steward", queue),
        Route("/steward/login", login_get),
        Route("/steward/login", login_post, methods=["POST"]),
        Route("/steward/decide", decide, methods=["POST"]),
        Route("/steward/logout", logout, methods=["POST"]),
    ]
    async def refused(request: Request, exc: Exception) -> Response:
        if isinstance(exc, TooLarge):
            return _error(413, f"body larger than {limits.max_body} bytes")
        if isinstance(exc, AuthError | Refused):
            return _error(exc.status, str(exc))
        if isinstance(exc, BlobError):
            return _error(500, str(exc))
        return _error(500, "internal error")

    async def hygiene(request: Request, call_next):  # noqa: ANN001, ANN202
        client = request.client.host if request.client else "?"
        if not limits.allow(client):
            resp: Response = _error(429, "too many requests; slow down")
            resp.headers["Retry-After"] = "60"
        else:
            resp = await call_next(request)
        resp.headers["Content-Security-Policy"] = CSP
        resp.headers["X-Content-Type-Options"] = "nosniff"
        resp.headers["X-Frame-Options"] = "DENY"
        resp.headers["Referrer-Policy"] = "same-origin"
        resp.headers["Cache-Control"] = "no-store"
        return resp

    return Starlette(routes=routes,
                     middleware=[Middleware(BaseHTTPMiddleware, dispatch=hygiene)],
                     exception_handlers={TooLarge: refused, AuthError: refused,
                                         Refused: refused, BlobError: refused,
                                         Exception: refused})
