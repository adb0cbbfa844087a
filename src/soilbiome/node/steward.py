"""The steward's pages: login with a token, the queue of pending requests, decisions.

A token from ``soilbiome node steward-token`` opens a session (cookie ``session``: HttpOnly,
SameSite=Strict, stored hashed, 8 hours). Every form carries a CSRF token: a double-submit
cookie for the login form, the session's own token afterwards; a cross-site ``Origin`` or
``Referer`` is refused.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from soilbiome.node import audit, pages
from soilbiome.node.service import Node, Refused
from soilbiome.node.web import read_body

SESSION_TTL = 8 * 3600


def steward_routes(node: Node, name: str) -> list[Route]:
    """The routes under ``/steward``."""

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

    return [
        Route("/steward", queue),
        Route("/steward/login", login_get),
        Route("/steward/login", login_post, methods=["POST"]),
        Route("/steward/decide", decide, methods=["POST"]),
        Route("/steward/logout", logout, methods=["POST"]),
    ]
