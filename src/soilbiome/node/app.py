"""The node's web application (Starlette, served by uvicorn): routes and request hygiene.

Every request passes one middleware that bounds its rate (per client address), its body size
and sets security headers (no script may run, no framing). Writes and private reads are signed
(:mod:`soilbiome.node.auth`); steward forms use a session cookie and a CSRF token.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from soilbiome.node import pages
from soilbiome.node.auth import AuthError, Member, verify_headers
from soilbiome.node.catalogue import (
    PAGING,
    FilterError,
    disclosed,
    map_sites,
    matches,
    page_offsets,
    page_query,
    parse_filters,
    parse_page,
)
from soilbiome.node.drs import ACCESS_ID, drs_object, make_token, node_secret, read_token
from soilbiome.node.service import Node, Refused
from soilbiome.node.steward import steward_routes
from soilbiome.node.storage import BlobError, check_digest
from soilbiome.node.web import Limits, TooLarge, error, read_body
from soilbiome.sharing.agreement import load_agreement
from soilbiome.sharing.terms import Terms
from soilbiome.sharing.verdict import plain_statement

CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
       "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")


def create_app(node: Node, *, name: str = "soilbiome exchange node", max_body: int =
               256 * 1024 * 1024, rate_per_minute: int = 600, public_url: str = "") -> Starlette:
    """The Starlette application of ``node``."""
    limits = Limits(max_body, rate_per_minute)
    secret = node_secret(node.db)

    def base_url(request: Request) -> str:
        return public_url.rstrip("/") or str(request.base_url).rstrip("/")

    def target(request: Request) -> str:
        """The request target as the client sent (and signed) it: raw path and query."""
        raw = request.scope.get("raw_path")
        path = raw.decode("latin-1") if raw else request.url.path
        return path + (f"?{request.url.query}" if request.url.query else "")

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

    def query_filters(request: Request) -> tuple[dict[str, str], int, int]:
        """The filters, and the page's limit and offset, of a catalogue request."""
        if len(request.url.query) > 2000:
            raise FilterError("query string too long")
        q: dict[str, str] = {}
        for k, v in request.query_params.multi_items():
            if k in q:
                raise FilterError(f"filter {k[:40]} given twice")
            q[k] = v
        limit, offset = parse_page({k: q.pop(k) for k in PAGING if k in q})
        return parse_filters(q), limit, offset

    async def catalogue(request: Request) -> Response:
        try:
            f, limit, offset = query_filters(request)
        except FilterError as exc:
            return HTMLResponse(pages.message_page("Bad filter", str(exc), name), 400)
        es = entries(f)
        page = es[offset:offset + limit]
        return HTMLResponse(pages.catalogue_page(page, f, map_sites(page), name,
                                                 total=len(es), limit=limit, offset=offset))

    async def catalogue_json(request: Request) -> Response:
        try:
            f, limit, offset = query_filters(request)
        except FilterError as exc:
            return error(400, str(exc))
        base = base_url(request)
        host = urlsplit(base).netloc
        es = entries(f)
        page = es[offset:offset + limit]
        for e in page:
            e["drs_uri"] = f"drs://{host}/{e['id']}"
        prev, nxt = page_offsets(len(es), limit, offset)

        def link(at: int | None) -> str | None:
            return None if at is None else f"{base}/api/catalogue?{page_query(f, limit, at)}"

        return JSONResponse({"filters": f, "count": len(es), "limit": limit, "offset": offset,
                             "next": link(nxt), "previous": link(prev), "tables": page})

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
            return error(404, "no such table")
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
            return error(403, "access URL invalid or expired")
        oid = str(claims["o"])
        try:
            data = node.store.read(oid)
        except BlobError as exc:
            return error(404 if "not stored" in str(exc) else 500, str(exc))
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
        *steward_routes(node, name),
    ]
    async def refused(request: Request, exc: Exception) -> Response:
        if isinstance(exc, TooLarge):
            return error(413, f"body larger than {limits.max_body} bytes")
        if isinstance(exc, AuthError | Refused):
            return error(exc.status, str(exc))
        if isinstance(exc, BlobError):
            return error(500, str(exc))
        return error(500, "internal error")

    async def hygiene(request: Request, call_next):  # noqa: ANN001, ANN202
        client = request.client.host if request.client else "?"
        if not limits.allow(client):
            resp: Response = error(429, "too many requests; slow down")
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
