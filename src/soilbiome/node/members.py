"""The members file of a node: which Ed25519 keys it knows (``serve --members FILE``).

```yaml
members:
  - name: "Alpine University Soil Ecology Group"
    public_key_b64: "xTglpiYcvFe/P7WiY/WQf1sNxVNrtDw9S3OrV0QcRyA="   # soilbiome keys generate
    institution_ror: "https://ror.org/05xyz6a78"                      # optional
    country: CH                                                       # optional
```

A publishing institution's key must also be named in the ``signing.trusted_keys`` of the
agreement it publishes under; a requester's ``institution_ror`` (when given here) must be the
one its requests name.
"""

from __future__ import annotations

from pathlib import Path

from soilbiome.errors import InputError
from soilbiome.io.safe_yaml import YamlError, load_yaml
from soilbiome.sharing.errors import SigningKeyError
from soilbiome.sharing.keys import public_key_from_b64

_FIELDS = {"name", "public_key_b64", "institution_ror", "country"}


def load_members(path: str | Path) -> list[dict[str, str]]:
    """Read and check a members file; one-line errors naming the file and entry."""
    try:
        data, _ = load_yaml(path, what="members file")
    except YamlError as exc:
        raise InputError(str(exc)) from None
    entries = data.get("members") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise InputError(f"{path}: members: a list of members is required")
    out = []
    for i, m in enumerate(entries):
        where = f"{path}: members[{i}]"
        if not isinstance(m, dict):
            raise InputError(f"{where}: not a mapping")
        extra = set(m) - _FIELDS
        if extra:
            raise InputError(f"{where}: unknown field(s) {', '.join(sorted(map(str, extra)))}")
        for key in ("name", "public_key_b64"):
            if not isinstance(m.get(key), str) or not m[key].strip():
                raise InputError(f"{where}.{key}: required text")
        try:
            public_key_from_b64(m["public_key_b64"])
        except SigningKeyError as exc:
            raise InputError(f"{where}.public_key_b64: {exc}") from None
        out.append({k: str(m.get(k) or "") for k in _FIELDS})
    return out
