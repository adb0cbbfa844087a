"""GA4GH Data Repository Service (DRS 1.2) objects and short-lived signed access URLs.

A published table is three DRS objects, each named by the SHA-256 of its bytes: the stamped
table, its signed sidecar and the agreement. ``GET /ga4gh/drs/v1/objects/{id}`` (signed by an
approved requester) returns the object with ``checksums: [{type: sha256}]`` and one
``access_methods`` entry; ``GET .../access/{access_id}`` returns a URL that works for
:data:`URL_TTL` seconds, for that object and that member only (an HMAC over object, key id and
expiry with the node's secret). The bytes served are the stored blob, checked against its
SHA-256 as it is read.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from typing import Any

from soilbiome.node.db import Database

URL_TTL = 300
ACCESS_ID = "https"


def node_secret(db: Database) -> bytes:
    """The node's URL-signing secret (created once, kept in ``settings``)."""
    with db.transaction(exclusive=True) as cur:
        row = cur.execute("SELECT value FROM settings WHERE name = 'url_secret'").one()
        if row is None:
            value = secrets.token_hex(32)
            cur.execute("INSERT INTO settings (name, value) VALUES ('url_secret', ?)", (value,))
            return bytes.fromhex(value)
        return bytes.fromhex(row["value"])


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def make_token(secret: bytes, object_id: str, keyid: str, request_id: str,
               now: float | None = None) -> tuple[str, int]:
    """A URL token for one object and one member; returns (token, expiry unix time)."""
    expires = int((now or time.time()) + URL_TTL)
    body = _b64(json.dumps({"o": object_id, "k": keyid, "r": request_id, "e": expires},
                           separators=(",", ":")).encode())
    mac = _b64(hmac.new(secret, body.encode(), hashlib.sha256).digest())
    return f"{body}.{mac}", expires


def read_token(secret: bytes, token: str, now: float | None = None) -> dict[str, Any] | None:
    """The token's claims when its MAC verifies and it has not expired, else None."""
    if not isinstance(token, str) or len(token) > 512 or token.count(".") != 1:
        return None
    body, mac = token.split(".")
    good = _b64(hmac.new(secret, body.encode(), hashlib.sha256).digest())
    if not hmac.compare_digest(good, mac):
        return None
    try:
        claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    except ValueError:
        return None
    if not isinstance(claims, dict) or int(claims.get("e", 0)) < (now or time.time()):
        return None
    return claims


def drs_object(host: str, row: dict[str, Any], role: str,
               object_id: str, size: int) -> dict[str, Any]:
    """The DRS ``DrsObject`` of one stored blob."""
    names = {"table": row["name"], "sidecar": row["name"] + ".sharing.dsse.json",
             "agreement": "agreement.yaml"}
    mime = {"table": "application/x-hdf5", "sidecar": "application/json",
            "agreement": "application/yaml"}
    return {
        "id": object_id,
        "name": names[role],
        "self_uri": f"drs://{host}/{object_id}",
        "size": size,
        "created_time": row["published_at"],
        "mime_type": mime[role],
        "checksums": [{"type": "sha-256", "checksum": object_id}],
        "access_methods": [{"type": "https", "access_id": ACCESS_ID}],
        "description": f"{role} of published table {row['id']}",
        "aliases": [f"soilbiome:{role}:{row['id']}"],
    }
