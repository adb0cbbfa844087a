"""Ed25519-signed HTTP requests: every write to the node (and every private read) is signed.

The client signs ``"soilbiome-node-v1" LF METHOD LF PATH?QUERY LF TIMESTAMP LF NONCE LF
SHA-256(body)`` with its private key and sends

    X-Soilbiome-Key: sha256:<hex of the raw public key>     (the key id of docs/sharing.md)
    X-Soilbiome-Timestamp: <unix seconds>
    X-Soilbiome-Nonce: <32 hex>
    X-Soilbiome-Signature: <base64 Ed25519 signature>

The node accepts the request when the key is a member's (``members``), the signature verifies,
the timestamp is within :data:`MAX_SKEW` seconds of its clock and the nonce was not seen
before (replays are refused). The body's hash is part of what is signed, so nothing in it can
be changed in transit.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import time
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from soilbiome.node.db import Cursor
from soilbiome.sharing.keys import keyid_of, public_key_from_b64

PREFIX = "soilbiome-node-v1"
MAX_SKEW = 300
_KEYID = re.compile(r"^sha256:[0-9a-f]{64}$")
_NONCE = re.compile(r"^[0-9a-f]{32}$")
_B64 = re.compile(r"^[A-Za-z0-9+/]{86}==$")


class AuthError(Exception):
    """The request is not signed by a member's key (HTTP 401/403)."""

    def __init__(self, message: str, status: int = 401) -> None:
        super().__init__(message)
        self.status = status


def message(method: str, target: str, timestamp: str, nonce: str, body: bytes) -> bytes:
    """The bytes that are signed."""
    digest = hashlib.sha256(body).hexdigest()
    return "\n".join((PREFIX, method.upper(), target, timestamp, nonce, digest)).encode()


def sign_headers(key: Ed25519PrivateKey, method: str, target: str, body: bytes = b"",
                 now: float | None = None) -> dict[str, str]:
    """The headers that authenticate one request (client side)."""
    ts = str(int(now if now is not None else time.time()))
    nonce = secrets.token_hex(16)
    sig = key.sign(message(method, target, ts, nonce, body))
    return {"X-Soilbiome-Key": keyid_of(key.public_key()), "X-Soilbiome-Timestamp": ts,
            "X-Soilbiome-Nonce": nonce,
            "X-Soilbiome-Signature": base64.b64encode(sig).decode("ascii")}


@dataclass(frozen=True)
class Member:
    """A key the node knows."""

    keyid: str
    name: str
    institution_ror: str
    country: str
    public_key_b64: str


def verify_headers(cur: Cursor, headers: dict[str, str], method: str, target: str,
                   body: bytes, now: float | None = None) -> Member:
    """Check a signed request; return the member whose key signed it.

    Raises
    ------
    AuthError
        401 when unsigned or badly signed, 403 when the key is not a member's.
    """
    get = {k.lower(): v for k, v in headers.items()}.get
    keyid = get("x-soilbiome-key", "")
    ts = get("x-soilbiome-timestamp", "")
    nonce = get("x-soilbiome-nonce", "")
    sig = get("x-soilbiome-signature", "")
    if not (keyid or sig):
        raise AuthError("this request must be signed with a member's Ed25519 key "
                        "(X-Soilbiome-* headers); anonymous writes are refused")
    if not _KEYID.match(keyid) or not _NONCE.match(nonce) or not _B64.match(sig) \
            or not ts.isdigit() or len(ts) > 12:
        raise AuthError("malformed signature headers")
    clock = now if now is not None else time.time()
    if abs(int(ts) - clock) > MAX_SKEW:
        raise AuthError(f"request timestamp is more than {MAX_SKEW} s from the node's clock")
    row = cur.execute("SELECT * FROM members WHERE keyid = ?", (keyid,)).one()
    if row is None:
        raise AuthError(f"key {keyid[:23]}... is not a member of this node", 403)
    pub = public_key_from_b64(row["public_key_b64"])
    if keyid_of(pub) != keyid:
        raise AuthError("member key record is inconsistent", 403)
    try:
        pub.verify(base64.b64decode(sig), message(method, target, ts, nonce, body))
    except (InvalidSignature, ValueError):
        raise AuthError("signature does not verify") from None
    cur.execute("DELETE FROM nonces WHERE seen_at < ?", (int(clock) - 2 * MAX_SKEW,))
    if cur.execute("SELECT nonce FROM nonces WHERE nonce = ?", (nonce,)).one():
        raise AuthError("replayed request (nonce already used)")
    cur.execute("INSERT INTO nonces (nonce, seen_at) VALUES (?, ?)", (nonce, int(clock)))
    return Member(keyid, row["name"], row["institution_ror"], row["country"],
                  row["public_key_b64"])
