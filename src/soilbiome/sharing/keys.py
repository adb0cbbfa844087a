"""Ed25519 signing keys: generation, loading, key ids.

A key id is ``sha256:<hex of the 32 raw public key bytes>``. The private key is written as an
unencrypted PKCS#8 PEM file created with mode 0600 (``os.open(..., 0o600)``, then renamed into
place) and is never printed, logged or embedded anywhere.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import os
import stat
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from soilbiome.io.atomic import atomic_write
from soilbiome.sharing.errors import SigningKeyError

if TYPE_CHECKING:
    from soilbiome.sharing.agreement import Agreement

ENV_SIGNING_KEY = "SOILBIOME_SIGNING_KEY"


def raw_public_bytes(public_key: Ed25519PublicKey) -> bytes:
    """The 32 raw bytes of an Ed25519 public key."""
    return public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def keyid_of(public_key: Ed25519PublicKey | bytes) -> str:
    """``sha256:<hex>`` of the raw public key bytes."""
    raw = public_key if isinstance(public_key, bytes) else raw_public_bytes(public_key)
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def public_key_b64(public_key: Ed25519PublicKey) -> str:
    """Base64 of the raw public key, as pasted into ``signing.trusted_keys[].public_key_b64``."""
    return base64.b64encode(raw_public_bytes(public_key)).decode("ascii")


def public_key_from_b64(text: str) -> Ed25519PublicKey:
    """Decode ``public_key_b64``; raise :class:`SigningKeyError` when it is not 32 bytes."""
    try:
        raw = base64.b64decode(text, validate=True)
        return Ed25519PublicKey.from_public_bytes(raw)
    except (ValueError, TypeError) as exc:
        raise SigningKeyError(f"not a base64 Ed25519 public key: {exc}") from None


@dataclass(frozen=True)
class KeyInfo:
    """Public facts about a generated key (nothing secret)."""

    keyid: str
    public_key_b64: str
    private_key_path: str
    public_key_path: str

    def to_dict(self) -> dict[str, str]:
        """JSON-ready mapping."""
        return {
            "keyid": self.keyid,
            "alg": "ed25519",
            "public_key_b64": self.public_key_b64,
            "private_key_path": self.private_key_path,
            "public_key_path": self.public_key_path,
        }


def _write_private(path: Path, data: bytes, overwrite: bool) -> None:
    """Write ``data`` to ``path`` with mode 0600 from creation on, atomically."""
    if path.exists() and not overwrite:
        raise SigningKeyError(f"{path} exists; refusing to overwrite a key (use --force)")
    directory = path.parent if str(path.parent) else Path(".")
    fd, tmp = None, None
    for _ in range(100):
        tmp = directory / f".{path.name}.{os.urandom(6).hex()}.tmp"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            break
        except FileExistsError:
            continue
    if fd is None or tmp is None:
        raise SigningKeyError(f"cannot create a temporary file in {directory}")
    try:
        os.fchmod(fd, 0o600)  # umask can only remove bits; make the mode exact
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def generate_key(path: str | Path, *, overwrite: bool = False) -> KeyInfo:
    """Generate an Ed25519 key pair.

    Parameters
    ----------
    path : str or Path
        Private key file to create (mode 0600). The public key goes to ``<path>.pub`` (PEM).
    overwrite : bool
        Replace an existing key file.

    Returns
    -------
    KeyInfo
        Key id and base64 public key ready to paste into an agreement.
    """
    path = Path(path)
    directory = path.parent if str(path.parent) else Path(".")
    if not directory.exists():  # a keys folder of its own, readable by its owner only
        try:
            directory.mkdir(parents=True, mode=0o700)
            directory.chmod(0o700)
        except OSError as exc:
            raise SigningKeyError(f"cannot write key {path}: cannot create folder {directory}: "
                                  f"{exc.strerror or exc}") from None
    if not directory.is_dir():
        raise SigningKeyError(f"cannot write key {path}: {directory} is not a folder")
    if not os.access(directory, os.W_OK | os.X_OK):
        raise SigningKeyError(f"cannot write key {path}: folder {directory} is not writable")
    if path.is_dir():
        raise SigningKeyError(f"cannot write key {path}: it is a folder")
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    pub = key.public_key()
    pub_path = path.with_name(path.name + ".pub")
    pub_pem = pub.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    try:
        _write_private(path, pem, overwrite)
        with tempfile.NamedTemporaryFile(dir=pub_path.parent, delete=False,
                                         prefix=".pub.") as tmp:
            tmp.write(pub_pem)
        os.chmod(tmp.name, 0o644)
        os.replace(tmp.name, pub_path)
    except OSError as exc:
        raise SigningKeyError(f"cannot write key {path}: {exc.strerror or exc}") from None
    return KeyInfo(keyid_of(pub), public_key_b64(pub), str(path), str(pub_path))


def key_mode_problem(path: str | Path, mode: int | None = None) -> str | None:
    """One line when a private key file is readable, writable or executable by group or
    others (as ssh refuses such a key: anyone who can read it can sign as its owner, anyone who
    can write it can swap it), naming the file, its mode and the fix; ``None`` when private.

    ``mode`` is the file's ``st_mode`` when the caller has it; otherwise the file is stat'ed
    (a missing file is the caller's concern: ``None``).
    """
    if mode is None:
        try:
            mode = Path(path).stat().st_mode
        except OSError:
            return None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        return (f"signing key {path} is accessible by group or others (mode "
                f"{stat.S_IMODE(mode):04o}); run: chmod 600 {path}")
    return None


def load_private_key(path: str | Path) -> Ed25519PrivateKey:
    """Load an Ed25519 private key (PEM PKCS#8, or OpenSSH format).

    Raises
    ------
    SigningKeyError
        When the file is missing, readable by group/others (like ssh, we refuse it), or not an
        unencrypted Ed25519 private key. The message never contains key material.
    """
    p = Path(path)
    try:
        mode = p.stat().st_mode
        data = p.read_bytes()
    except OSError as exc:
        raise SigningKeyError(f"cannot read signing key {p}: {exc.strerror}") from None
    problem = key_mode_problem(p, mode)
    if problem:
        raise SigningKeyError(problem)
    key = None
    for loader in (serialization.load_pem_private_key, serialization.load_ssh_private_key):
        try:
            key = loader(data, password=None)
            break
        except (ValueError, TypeError, UnsupportedAlgorithm):
            continue
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningKeyError(f"{p} is not an unencrypted Ed25519 private key")
    return key


def check_signing_keys(agreement: Agreement,
                       keys: Sequence[tuple[str | Path, Ed25519PrivateKey]], today: dt.date,
                       agreement_path: str | Path) -> list[str]:
    """The key ids of ``keys`` (each a key file and the key loaded from it), each a key
    ``agreement`` trusts, has not revoked and holds valid on ``today`` -- what STAMP needs of
    the keys it signs with (the start-up gate asks the same, hours before).

    Raises
    ------
    SigningKeyError
        The first key that is not trusted, revoked or out of its validity.
    """
    from soilbiome.sharing.agreement import parse_date

    revoked = set(agreement.get("signing.revoked_keyids") or [])
    trusted: dict[str, dict] = {}
    for entry in agreement.get("signing.trusted_keys") or []:
        trusted.setdefault(entry.get("keyid"), entry)  # the first entry of a key id counts
    keyids = []
    for path, key in keys:
        kid = keyid_of(key.public_key())
        entry = trusted.get(kid)
        if entry is None:
            raise SigningKeyError(f"key {path} ({kid}) is not in signing.trusted_keys of "
                                  f"{agreement_path}")
        if kid in revoked:
            raise SigningKeyError(f"key {path} ({kid}) is revoked")
        start, end = parse_date(entry.get("valid_from")), parse_date(entry.get("valid_until"))
        if (start and today < start) or (end and today > end):
            raise SigningKeyError(f"key {path} ({kid}) is not valid on {today}")
        keyids.append(kid)
    return keyids


def rewrite_trusted_keys(
    agreement_path: str | Path,
    out_path: str | Path,
    keys: list[tuple[KeyInfo | str, str]],
    *,
    valid_from: str = "2000-01-01",
    valid_until: str = "2099-12-31",
    required_signers: list[str] | None = None,
) -> Path:
    """Copy an agreement, replacing ``signing.trusted_keys`` with the given public keys.

    For tests and demo runs: the example agreements carry public keys whose private halves
    are not published, so a test generates its own key pair and trusts it in a temp copy.
    Comments of the YAML are not kept.

    Parameters
    ----------
    agreement_path, out_path : path
        Source agreement and the copy to write.
    keys : list of (KeyInfo or public_key_b64, party id)
        Keys to trust and the party each belongs to.
    valid_from, valid_until : str
        Validity window written for every key.
    required_signers : list of str, optional
        Replace ``signing.required_signers`` too (default: keep).
    """
    import yaml

    from soilbiome.sharing.agreement import read_yaml

    data, _ = read_yaml(agreement_path)
    entries = []
    for key, party in keys:
        b64 = key.public_key_b64 if isinstance(key, KeyInfo) else key
        entries.append({
            "keyid": keyid_of(base64.b64decode(b64)),
            "party": party,
            "alg": "ed25519",
            "public_key_b64": b64,
            "valid_from": valid_from,
            "valid_until": valid_until,
        })
    data.setdefault("signing", {})["trusted_keys"] = entries
    if required_signers is not None:
        data["signing"]["required_signers"] = list(required_signers)
    out = Path(out_path)
    with atomic_write(out) as handle:
        handle.write(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    return out
