"""The signed HTTP client behind ``soilbiome node publish|request|status|fetch``.

Standard library only (``urllib``). Every call signs method, path, time, nonce and body hash
with the member's Ed25519 key (:func:`soilbiome.node.auth.sign_headers`).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import tempfile
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from soilbiome.errors import InputError, SoilbiomeError
from soilbiome.node.auth import sign_headers
from soilbiome.sharing.stamp_format import sidecar_path


class NodeError(SoilbiomeError):
    """The node refused or could not be reached; the message is the node's reason."""

    exit_code = 1


class Client:
    """A member's connection to one node."""

    def __init__(self, url: str, key: Ed25519PrivateKey | None, timeout: float = 120) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise InputError(f"--node {url}: not an http(s) URL")
        self.url = url.rstrip("/")
        self.key = key
        self.timeout = timeout

    def call(self, method: str, path: str, body: dict[str, Any] | None = None,
             signed: bool = True) -> dict[str, Any]:
        data = json.dumps(body).encode() if body is not None else b""
        headers = {"Content-Type": "application/json"} if body is not None else {}
        if signed:
            if self.key is None:
                raise InputError("this call needs --key")
            headers.update(sign_headers(self.key, method, path, data))
        req = urllib.request.Request(self.url + path, data=data if body is not None else None,
                                     method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:  # noqa: S310
                answer = resp.read()
        except urllib.error.HTTPError as exc:
            try:
                reason = json.loads(exc.read()).get("error", "")
            except ValueError:
                reason = ""
            raise NodeError(f"node {self.url}: HTTP {exc.code}: {reason or exc.reason}") \
                from None
        except (urllib.error.URLError, OSError) as exc:
            raise NodeError(f"node {self.url}: unreachable: "
                            f"{getattr(exc, 'reason', exc)}") from None
        try:
            parsed = json.loads(answer)
        except ValueError:
            parsed = None
        if not isinstance(parsed, dict):
            raise NodeError(f"node {self.url}{path.split('?')[0]}: answer is not a JSON object")
        return parsed

    def publish(self, table: Path, agreement: Path) -> dict[str, Any]:
        side = sidecar_path(table)
        if not side.is_file():
            raise InputError(f"{side}: the stamp's sidecar is missing (run soilbiome stamp)")
        body = {"name": table.name,
                "table_b64": base64.b64encode(table.read_bytes()).decode(),
                "sidecar_b64": base64.b64encode(side.read_bytes()).decode(),
                "agreement_b64": base64.b64encode(agreement.read_bytes()).decode()}
        return self.call("POST", "/api/publish", body)

    def request(self, table_id: str, request_file: Path) -> dict[str, Any]:
        return self.call("POST", "/api/requests", {"table": table_id,
                                                   "request_yaml": request_file.read_text(
                                                       encoding="utf-8")})

    def status(self, request_id: str) -> dict[str, Any]:
        return self.call("GET", f"/api/requests/{request_id}")

    def catalogue(self, **filters: str) -> dict[str, Any]:
        from urllib.parse import urlencode

        q = urlencode({k: v for k, v in filters.items() if v})
        return self.call("GET", "/api/catalogue" + (f"?{q}" if q else ""), signed=False)

    def _download(self, object_id: str) -> tuple[dict[str, Any], bytes]:
        obj = self.call("GET", f"/ga4gh/drs/v1/objects/{object_id}")
        access = self.call("GET", f"/ga4gh/drs/v1/objects/{object_id}/access/"
                                  f"{obj['access_methods'][0]['access_id']}")
        url = access["url"]
        if urlsplit(url).netloc != urlsplit(self.url).netloc:
            raise NodeError(f"node {self.url}: access URL points to another host")
        try:
            with urllib.request.urlopen(url, timeout=self.timeout) as resp:  # noqa: S310
                data = resp.read()
        except urllib.error.HTTPError as exc:
            raise NodeError(f"node {self.url}: download HTTP {exc.code}") from None
        want = next(c["checksum"] for c in obj["checksums"] if c["type"] == "sha-256")
        if hashlib.sha256(data).hexdigest() != want:
            raise NodeError(f"object {object_id[:16]}...: downloaded bytes do not match the "
                            "sha-256 checksum")
        return obj, data

    def fetch(self, table_id: str, outdir: Path) -> dict[str, Path]:
        """Download table, sidecar and agreement into ``outdir`` (all checked, then renamed)."""
        obj = self.call("GET", f"/ga4gh/drs/v1/objects/{table_id}")
        meta = self.call("GET", f"/api/tables/{table_id}", signed=False)["objects"]
        outdir.mkdir(parents=True, exist_ok=True)
        name = Path(obj["name"]).name
        targets = {"table": outdir / name, "sidecar": sidecar_path(outdir / name),
                   "agreement": outdir / (Path(name).stem + ".agreement.yaml")}
        for t in targets.values():
            if t.exists():
                raise InputError(f"{t} exists; refusing to overwrite")
        blobs = {role: self._download(meta[role])[1] for role in targets}
        written = []
        try:
            for role, t in targets.items():
                fd, tmp = tempfile.mkstemp(dir=outdir, prefix=".fetch-")
                with os.fdopen(fd, "wb") as handle:
                    handle.write(blobs[role])
                written.append((tmp, t))
            for tmp, t in written:
                os.replace(tmp, t)
        finally:
            for tmp, _ in written:
                if os.path.exists(tmp):
                    os.unlink(tmp)
        return targets


def parse_drs(uri: str) -> tuple[str, str]:
    """``drs://host:port/<id>`` -> (``http://host:port``, id)."""
    parts = urlsplit(uri)
    if parts.scheme != "drs" or not parts.netloc or not parts.path.strip("/"):
        raise InputError(f"{uri}: not a drs://host/id URI")
    return f"http://{parts.netloc}", parts.path.strip("/")
