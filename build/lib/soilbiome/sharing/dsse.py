"""DSSE envelopes (https://github.com/secure-systems-lab/dsse, protocol v1) with Ed25519.

The signature covers the pre-authentication encoding (PAE) of the payload type and payload:
``"DSSEv1" SP LEN(type) SP type SP LEN(body) SP body`` (lengths in ASCII decimal bytes).
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from soilbiome.sharing.keys import keyid_of

IN_TOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json"


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE v1 pre-authentication encoding."""
    t = payload_type.encode("utf-8")
    return b"DSSEv1 %d %s %d %s" % (len(t), t, len(payload), payload)


def sign(payload: bytes, keys: list[Ed25519PrivateKey],
         payload_type: str = IN_TOTO_PAYLOAD_TYPE) -> dict[str, Any]:
    """Return a DSSE envelope over ``payload`` with one signature per key."""
    message = pae(payload_type, payload)
    return {
        "payloadType": payload_type,
        "payload": base64.b64encode(payload).decode("ascii"),
        "signatures": [
            {"keyid": keyid_of(k.public_key()),
             "sig": base64.b64encode(k.sign(message)).decode("ascii")}
            for k in keys
        ],
    }


@dataclass(frozen=True)
class Envelope:
    """A parsed DSSE envelope."""

    payload_type: str
    payload: bytes
    signatures: list[dict[str, str]]

    @classmethod
    def parse(cls, data: Any) -> Envelope:
        """Parse an envelope mapping; raise ``ValueError`` when malformed."""
        if not isinstance(data, dict):
            raise ValueError("envelope is not a JSON object")
        try:
            payload = base64.b64decode(data["payload"], validate=True)
            sigs = data["signatures"]
            ptype = data["payloadType"]
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"malformed DSSE envelope: {exc}") from None
        if not isinstance(sigs, list) or not all(isinstance(s, dict) for s in sigs):
            raise ValueError("malformed DSSE envelope: signatures must be a list of objects")
        return cls(ptype, payload, sigs)

    def statement(self) -> dict[str, Any]:
        """The JSON payload (an in-toto Statement)."""
        return json.loads(self.payload)

    def verify(self, keyid: str, public_key: Ed25519PublicKey) -> bool:
        """True when some signature with ``keyid`` verifies under ``public_key``."""
        message = pae(self.payload_type, self.payload)
        for s in self.signatures:
            if s.get("keyid") != keyid:
                continue
            try:
                public_key.verify(base64.b64decode(s.get("sig", ""), validate=True), message)
                return True
            except (InvalidSignature, ValueError):
                continue
        return False
