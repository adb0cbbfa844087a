"""Content-addressed storage: every blob is named by the SHA-256 of its bytes.

No name or path supplied by a user ever reaches the file system: a blob's location is
``blobs/<2 hex>/<62 hex>`` derived from its digest, and a digest is accepted only when it is
exactly 64 lower-case hex characters. Writes go to a temporary file in the store and are
renamed into place, so a blob is either complete or absent.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path

_HEX64 = re.compile(r"^[0-9a-f]{64}$")


class BlobError(ValueError):
    """A digest that is not a SHA-256 hex string, or a blob that is missing or corrupt."""


def check_digest(digest: str) -> str:
    """Return ``digest`` when it is 64 lower-case hex characters, else raise BlobError."""
    if not isinstance(digest, str) or not _HEX64.match(digest):
        raise BlobError("not a sha256 digest")
    return digest


class BlobStore:
    """Blobs under ``root/blobs`` named by their SHA-256."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root) / "blobs"
        self.root.mkdir(parents=True, exist_ok=True)

    def path(self, digest: str) -> Path:
        """Where the blob with this digest lives (the digest is validated first)."""
        d = check_digest(digest)
        return self.root / d[:2] / d[2:]

    def put(self, data: bytes) -> str:
        """Store ``data``; return its SHA-256 (storing the same bytes twice is a no-op)."""
        digest = hashlib.sha256(data).hexdigest()
        target = self.path(digest)
        if target.is_file():
            return digest
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(tmp, 0o444)
            os.replace(tmp, target)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise
        return digest

    def has(self, digest: str) -> bool:
        """Whether the blob is stored."""
        return self.path(digest).is_file()

    def read(self, digest: str) -> bytes:
        """The blob's bytes, checked against the digest (a corrupt blob raises BlobError)."""
        p = self.path(digest)
        try:
            data = p.read_bytes()
        except OSError:
            raise BlobError("blob not stored") from None
        if hashlib.sha256(data).hexdigest() != digest:
            raise BlobError(f"blob {digest[:16]}... is corrupt (its bytes changed on disk)")
        return data
