"""Sharing agreements: YAML loading, schema validation (rule A1) and a read-only model.

Dates stay strings while loading (YAML timestamps are not resolved) so that the schema sees
exactly what the steward wrote; :func:`parse_date` converts them when rules need dates.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from soilbiome.io.safe_yaml import YamlError, load_yaml
from soilbiome.sharing import duo, spdx
from soilbiome.sharing.errors import AgreementError, RequestError, StampError
from soilbiome.sharing.schema import AGREEMENT_SCHEMA, REQUEST_SCHEMA, schema_problems


def read_yaml(path: str | Path, kind: str = "agreement") -> tuple[Any, bytes]:
    """Read an agreement or request through the one bounded YAML loader.

    Returns ``(data, raw bytes)``; dates stay strings. See :mod:`soilbiome.io.safe_yaml` for
    the bounds (size, alias expansion, nesting, no tags, no duplicate keys).

    Raises
    ------
    AgreementError or RequestError
        When the file is missing, too large, or not plain YAML (one problem at ``$``).
    """
    error = RequestError if kind == "request" else AgreementError
    try:
        return load_yaml(path, what=kind)
    except YamlError as exc:
        reason = str(exc).removeprefix(f"{exc.location}: ") if exc.location else str(exc)
        raise error(str(path), [("$", reason)]) from None


def parse_date(value: Any) -> dt.date | None:
    """``"2025-05-01"`` → ``date(2025, 5, 1)``; ``None`` or garbage → ``None``."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if not isinstance(value, str):
        return None
    try:
        return dt.date.fromisoformat(value[:10])
    except ValueError:
        return None


def dig(data: Any, dotted: str, default: Any = None) -> Any:
    """Return ``data["a"]["b"]`` for ``"a.b"``, or ``default`` when any step is missing."""
    cur = data
    for part in dotted.split("."):
        if not isinstance(cur, dict) or part not in cur:
            return default
        cur = cur[part]
    return cur


def _reference_problems(data: dict[str, Any]) -> list[tuple[str, str]]:
    """Cross-field consistency the schema cannot express (unique ids, known party ids)."""
    problems: list[tuple[str, str]] = []
    party_ids: set[str] = set()
    for i, p in enumerate(data.get("parties") or []):
        pid = p.get("id")
        if pid in party_ids:
            problems.append((f"parties[{i}].id", f"duplicate party id {pid!r}"))
        party_ids.add(pid)
    for key in ("datasets", "duties"):
        seen: set[str] = set()
        for i, item in enumerate(data.get(key) or []):
            if item.get("id") in seen:
                problems.append((f"{key}[{i}].id", f"duplicate id {item.get('id')!r}"))
            seen.add(item.get("id"))

    def need(path: str, pid: Any) -> None:
        if pid not in party_ids:
            problems.append((path, f"{pid!r} is not the id of a party in parties[]"))

    for i, pid in enumerate(dig(data, "access.allowed_recipients.parties") or []):
        need(f"access.allowed_recipients.parties[{i}]", pid)
    for i, key in enumerate(dig(data, "signing.trusted_keys") or []):
        need(f"signing.trusted_keys[{i}].party", key.get("party"))
    for i, pid in enumerate(dig(data, "signing.required_signers") or []):
        need(f"signing.required_signers[{i}]", pid)
    if dig(data, "abs.pic.granted_by") is not None:
        need("abs.pic.granted_by", dig(data, "abs.pic.granted_by"))
    start, end = parse_date(dig(data, "agreement.valid_from")), parse_date(
        dig(data, "agreement.valid_until")
    )
    if start and end and end < start:
        problems.append(("agreement.valid_until", "is before agreement.valid_from"))
    for i, key in enumerate(dig(data, "signing.trusted_keys") or []):
        ks, ke = parse_date(key.get("valid_from")), parse_date(key.get("valid_until"))
        if ks and ke and ke < ks:
            problems.append((f"signing.trusted_keys[{i}].valid_until", "is before valid_from"))
    return problems


def _licence_problems(data: dict[str, Any]) -> list[tuple[str, str]]:
    problems = []
    for key in ("spdx", "derived_outputs_license", "metadata_license"):
        value = dig(data, f"license.{key}")
        if isinstance(value, str):
            try:
                spdx.parse(value)
            except spdx.LicenceError as exc:
                problems.append((f"license.{key}", str(exc)))
    return problems


def agreement_problems(data: Any) -> list[tuple[str, str]]:
    """Every rule-A1 problem of parsed agreement data: schema, licence syntax, references."""
    problems = schema_problems(data, AGREEMENT_SCHEMA)
    if isinstance(data, dict):
        problems += _licence_problems(data)
        problems += _reference_problems(data)
    return list(dict.fromkeys(problems))


@dataclass(frozen=True)
class DuoUse:
    """One ``data_use.duoDataUse`` entry with its id normalised."""

    id: str
    index: int
    entry: dict[str, Any]

    @property
    def modifier_ids(self) -> list[str]:
        """The ``modifiers[].id`` values of this entry."""
        return [m.get("id") for m in self.entry.get("modifiers") or [] if m.get("id")]


@dataclass(frozen=True)
class Agreement:
    """A schema-valid sharing agreement.

    Attributes
    ----------
    data : dict
        The parsed YAML (dates as strings). Treat as read-only.
    path : str
        Where it was read from (``"<memory>"`` otherwise).
    sha256 : str
        SHA-256 of the file bytes (rule D5 compares stamps with it).
    """

    data: dict[str, Any]
    path: str = "<memory>"
    sha256: str = ""
    licence: spdx.Licence = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "licence", spdx.parse(self.data["license"]["spdx"]))

    # -- convenience accessors ----------------------------------------------------------------
    def get(self, dotted: str, default: Any = None) -> Any:
        """Field by dotted path (``"abs.permitted_use"``)."""
        return dig(self.data, dotted, default)

    @property
    def id(self) -> str:
        """``agreement.id``."""
        return self.data["agreement"]["id"]

    @property
    def spdx(self) -> str:
        """Normalised ``license.spdx``."""
        return self.licence.expression

    @property
    def derived_licence(self) -> spdx.Licence:
        """``license.derived_outputs_license`` (defaults to ``license.spdx``)."""
        value = self.get("license.derived_outputs_license")
        return spdx.parse(value) if value else self.licence

    @property
    def parties(self) -> dict[str, dict[str, Any]]:
        """Parties keyed by id."""
        return {p["id"]: p for p in self.data.get("parties") or []}

    def duo_uses(self) -> Iterator[DuoUse]:
        """Each DUO entry with a normalised id (entries with unusable ids are skipped)."""
        for i, entry in enumerate(self.get("data_use.duoDataUse") or []):
            norm = duo.normalise_id(entry.get("id", ""))
            if norm:
                yield DuoUse(norm, i, entry)

    @property
    def duo_ids(self) -> set[str]:
        """Normalised ids of all DUO entries."""
        return {u.id for u in self.duo_uses()}

    def duo(self, term_id: str) -> DuoUse | None:
        """The first entry for ``term_id``, or None."""
        return next((u for u in self.duo_uses() if u.id == term_id), None)

    @property
    def permission(self) -> str | None:
        """The (first) DUO permission term, or None."""
        return next((u.id for u in self.duo_uses() if u.id in duo.PERMISSIONS), None)

    @property
    def modifiers(self) -> set[str]:
        """All DUO ids that are not permissions."""
        return self.duo_ids - set(duo.PERMISSIONS)

    @property
    def allowed_regions(self) -> set[str] | None:
        """Countries where data may be held and processed; None means unrestricted.

        ``access.allowed_regions`` when given, else the ``ISO3166:XX`` modifiers of DUO GS.
        """
        regions = self.get("access.allowed_regions")
        if regions:
            return set(regions)
        gs = self.duo(duo.GS)
        if gs:
            return {m.split(":", 1)[1] for m in gs.modifier_ids if m.upper().startswith("ISO3166:")}
        return None

    @property
    def sample_ids(self) -> set[str] | None:
        """Union of ``datasets[].samples.sample_ids``; None when no dataset lists sample ids."""
        found = False
        out: set[str] = set()
        for ds in self.data.get("datasets") or []:
            ids = dig(ds, "samples.sample_ids")
            if ids is not None:
                found = True
                out.update(ids)
        return out if found else None

    @property
    def provider(self) -> dict[str, Any] | None:
        """The first party with role ``provider``."""
        return next((p for p in self.data["parties"] if p.get("role") == "provider"), None)

    @property
    def provider_country(self) -> str | None:
        """``abs.provider_country`` or the provider party's country."""
        value = self.get("abs.provider_country")
        if value:
            return value
        prov = self.provider
        return prov.get("country") if prov else None


def agreement_from_data(data: Any, path: str = "<memory>", raw: bytes | None = None) -> Agreement:
    """Validate parsed data and build an :class:`Agreement`.

    Raises
    ------
    AgreementError
        With every problem and its field path.
    """
    problems = agreement_problems(data)
    if problems:
        raise AgreementError(path, problems)
    digest = hashlib.sha256(raw).hexdigest() if raw is not None else ""
    return Agreement(data, path=path, sha256=digest)


def load_agreement(path: str | Path) -> Agreement:
    """Load and validate an agreement YAML file.

    Parameters
    ----------
    path : str or Path
        The agreement file.

    Returns
    -------
    Agreement

    Raises
    ------
    AgreementError
        Listing every schema error with its field path (e.g. ``license.spdx``,
        ``parties[1].country``).
    """
    data, raw = read_yaml(path)
    return agreement_from_data(data, str(path), raw)


def load_request(path: str | Path) -> dict[str, Any]:
    """Load and validate a data-use request YAML file; return its ``request`` mapping.

    Raises
    ------
    RequestError
        Listing every schema error with its field path.
    """
    data, _ = read_yaml(path, kind="request")
    problems = schema_problems(data, REQUEST_SCHEMA)
    if problems:
        raise RequestError(str(path), problems)
    return data["request"]


def check_coverage(sample_ids: Sequence[str], agreement: Agreement, *, where: str) -> None:
    """Refuse a table with samples the agreement does not cover (rule D6, before signing).

    An agreement that lists no ``datasets[].samples.sample_ids`` covers whatever it is used
    for; one that lists them must list every sample of the table.

    Raises
    ------
    StampError
        Naming the table, the agreement and the uncovered samples.
    """
    allowed = agreement.sample_ids
    if allowed is None:
        return
    extra = [s for s in sample_ids if s not in allowed]
    if extra:
        shown = ", ".join(extra[:5]) + (f" (and {len(extra) - 5} more)" if len(extra) > 5 else "")
        if len(extra) == len(sample_ids):
            head = f"agreement {agreement.path} covers none of its {len(sample_ids)} sample(s)"
        else:
            head = (f"{len(extra)} of its {len(sample_ids)} sample(s) not covered by agreement "
                    f"{agreement.path}")
        raise StampError(f"{where}: {head} (datasets[].samples.sample_ids lacks {shown}); "
                         "not stamping")
