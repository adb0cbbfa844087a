"""What the node does, without HTTP: publish, request, decide, authorise a release.

Every step that changes state appends to the audit log in the same transaction
(:mod:`soilbiome.node.audit`), so the log and the state cannot disagree.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from soilbiome.errors import SoilbiomeError
from soilbiome.node import audit
from soilbiome.node.auth import Member
from soilbiome.node.catalogue import index_table
from soilbiome.node.db import Cursor, Database
from soilbiome.node.storage import BlobStore
from soilbiome.sharing.agreement import load_agreement, load_request
from soilbiome.sharing.findings import Status
from soilbiome.sharing.rules_agreement import check_agreement
from soilbiome.sharing.rules_request import check_request
from soilbiome.sharing.stamp_format import sidecar_path
from soilbiome.sharing.verify import verify_report

#: D rules the node decides at publication (D7/D9 need the run's crate, D8 is advice).
PUBLISH_RULES = ("D1", "D2", "D3", "D4", "D5", "D6", "D10")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}\.biom$")


class Refused(SoilbiomeError):
    """The node refuses the operation; ``status`` is the HTTP status, the message says why."""

    def __init__(self, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.status = status


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


@dataclass
class Node:
    """A node's state: its database, its blob store and its reference date."""

    db: Database
    store: BlobStore
    today_override: dt.date | None = None

    @property
    def today(self) -> dt.date:
        return self.today_override or dt.date.today()

    # -- members -------------------------------------------------------------------------------
    def set_members(self, members: list[dict[str, str]]) -> tuple[int, int]:
        """Make the member keys exactly those of the members file (``serve --members``).

        Keys no longer listed are removed (their signed requests are refused from then on);
        every addition and removal is audited. Returns (added or updated, removed).
        """
        from soilbiome.sharing.keys import keyid_of, public_key_from_b64

        wanted = {keyid_of(public_key_from_b64(m["public_key_b64"])): m for m in members}
        with self.db.transaction(exclusive=True) as cur:
            have = {r["keyid"]: r for r in cur.execute("SELECT * FROM members").all()}
            removed = sorted(set(have) - set(wanted))
            for keyid in removed:
                cur.execute("DELETE FROM members WHERE keyid = ?", (keyid,))
                audit.append(cur, "member-removed", "node", keyid,
                             {"name": have[keyid]["name"]})
            changed = 0
            for keyid, m in wanted.items():
                row = (m["public_key_b64"], m["name"], m.get("institution_ror", ""),
                       m.get("country", ""))
                old = have.get(keyid)
                if old and (old["public_key_b64"], old["name"], old["institution_ror"],
                            old["country"]) == row:
                    continue
                cur.execute("DELETE FROM members WHERE keyid = ?", (keyid,))
                cur.execute("INSERT INTO members (keyid, public_key_b64, name, institution_ror,"
                            " country, added_at) VALUES (?, ?, ?, ?, ?, ?)",
                            (keyid, *row, now_iso()))
                audit.append(cur, "member", "node", keyid,
                             {"name": m["name"], "institution_ror": row[2]})
                changed += 1
        return changed, len(removed)

    # -- publish -------------------------------------------------------------------------------
    def publish(self, member: Member, name: str, table: bytes, sidecar: bytes,
                agreement: bytes) -> dict[str, Any]:
        """Verify a stamped table (D rules) and its agreement (A rules); store and index it."""
        if not isinstance(name, str) or not _NAME.match(name):
            raise Refused("name: 1-100 characters [A-Za-z0-9._-] ending in .biom")
        with tempfile.TemporaryDirectory(prefix="soilbiome-node-") as tmp:
            t = Path(tmp) / name
            t.write_bytes(table)
            sidecar_path(t).write_bytes(sidecar)
            a = Path(tmp) / "agreement.yaml"
            a.write_bytes(agreement)
            try:
                ag = load_agreement(a)
            except SoilbiomeError as exc:
                raise Refused(f"refused: A1 (agreement schema): {_short(exc)}") from None
            arep = check_agreement(ag, today=self.today)
            if arep.has_errors:
                raise Refused("refused: " + _failures(arep))
            trusted = {k.get("keyid") for k in ag.get("signing.trusted_keys") or []}
            revoked = set(ag.get("signing.revoked_keyids") or [])
            if member.keyid not in trusted or member.keyid in revoked:
                raise Refused(f"refused: key {member.keyid[:23]}... is not named in the "
                              "agreement's signing.trusted_keys (or is revoked): only a "
                              "signer of the agreement may publish under it", 403)
            rep = verify_report(t, ag, today=self.today, rules=PUBLISH_RULES,
                                check_dates=False)
            if rep.has_errors:
                raise Refused("refused: " + _failures(rep))
            facts = index_table(t, ag)
        with self.db.transaction(exclusive=True) as cur:
            table_id = self.store.put(table)
            if cur.execute("SELECT id FROM published WHERE id = ?", (table_id,)).one():
                raise Refused(f"table {table_id[:16]}... is already published", 409)
            side_id = self.store.put(sidecar)
            ag_id = self.store.put(agreement)
            terms = facts["terms"]
            cur.execute(
                "INSERT INTO published (id, name, sidecar_sha256, agreement_sha256, "
                "agreement_id, title, provider, provider_country, publisher_keyid, licence, "
                "marker, disclosure, embargo_until, moratorium_until, date_from, date_to, "
                "facts, size, published_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
                "?, ?, ?, ?, ?)",
                (table_id, name, side_id, ag_id, terms["agreement_id"], terms["title"],
                 terms["provider"], terms["provider_country"], member.keyid,
                 terms["licence"], facts["marker"], facts["disclosure"],
                 terms["embargo_until"], terms["moratorium_until"], facts["date_from"],
                 facts["date_to"], json.dumps({k: facts[k] for k in
                                               ("terms", "context", "n_samples",
                                                "n_features")}),
                 len(table), now_iso()))
            for s in facts["samples"]:
                cur.execute("INSERT INTO samples (table_id, sample_id, lat_lon, country, "
                            "collection_date) VALUES (?, ?, ?, ?, ?)",
                            (table_id, s["sample_id"], s["lat_lon"], s["country"],
                             s["collection_date"]))
            for taxon in facts["taxa"]:
                cur.execute("INSERT INTO taxa (table_id, name) VALUES (?, ?)",
                            (table_id, taxon.lower()))
            entry = audit.append(cur, "publish", member.keyid, table_id,
                                 {"name": name, "sidecar": side_id, "agreement": ag_id,
                                  "agreement_id": terms["agreement_id"],
                                  "rules": {r: rep.status(r).value for r in PUBLISH_RULES}})
        return {"id": table_id, "sidecar": side_id, "agreement": ag_id, "name": name,
                "disclosure": facts["disclosure"], "audit": entry["seq"],
                "rules": {r: rep.status(r).value for r in PUBLISH_RULES}}

    # -- request -------------------------------------------------------------------------------
    def _agreement_file(self, row: dict[str, Any], tmp: str) -> Path:
        a = Path(tmp) / "agreement.yaml"
        a.write_bytes(self.store.read(row["agreement_sha256"]))
        return a

    def _check(self, row: dict[str, Any], request_yaml: str):  # noqa: ANN202
        with tempfile.TemporaryDirectory(prefix="soilbiome-node-") as tmp:
            r = Path(tmp) / "request.yaml"
            r.write_text(request_yaml, encoding="utf-8")
            try:
                req = load_request(r)
            except SoilbiomeError as exc:
                raise Refused(f"request: {_short(exc)}") from None
            ag = load_agreement(self._agreement_file(row, tmp))
            return req, check_request(req, ag, today=self.today)

    def table_row(self, cur: Cursor, table_id: str) -> dict[str, Any]:
        row = cur.execute("SELECT * FROM published WHERE id = ?", (table_id,)).one()
        if row is None:
            raise Refused("no such table", 404)
        return row

    def submit_request(self, member: Member, table_id: str, request_yaml: str) -> dict[str, Any]:
        """Decide a data-use request with the B rules (approved, refused, or pending)."""
        if not isinstance(request_yaml, str) or len(request_yaml) > 64 * 1024:
            raise Refused("request_yaml: a YAML text of at most 64 KiB")
        with self.db.transaction() as cur:
            row = self.table_row(cur, table_id)
        req, rep = self._check(row, request_yaml)
        ror = (req.get("requester") or {}).get("institution_ror") or ""
        if member.institution_ror and ror != member.institution_ror:
            raise Refused(f"requester.institution_ror {ror!r} is not the institution of the "
                          f"signing key ({member.institution_ror})", 403)
        failed = rep.with_status(Status.FAILED)
        person = rep.with_status(Status.NEEDS_PERSON)
        status = "refused" if failed else "pending" if person else "approved"
        rid = secrets.token_hex(16)
        why = ("failed: " + ", ".join(failed) if failed else
               "" if person else "every applicable B rule passed")
        with self.db.transaction(exclusive=True) as cur:
            cur.execute("INSERT INTO requests (id, table_id, requester_keyid, request_yaml, "
                        "status, verdict, statement, needs_person, failed, decided_by, reason, "
                        "created_at, decided_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (rid, table_id, member.keyid, request_yaml, status, rep.to_json(),
                         rep.statement or "", ",".join(person), ",".join(failed),
                         "" if status == "pending" else "rules", why,
                         now_iso(), "" if status == "pending" else now_iso()))
            audit.append(cur, "request", member.keyid, rid,
                         {"table": table_id, "failed": failed, "needs_person": person})
            if status != "pending":
                audit.append(cur, "decision", "rules", rid,
                             {"status": status, "failed": failed, "table": table_id})
        return {"id": rid, "table": table_id, "status": status, "failed": failed,
                "needs_person": person, "statement": rep.statement or ""}

    def request_status(self, member: Member, request_id: str) -> dict[str, Any]:
        with self.db.transaction() as cur:
            row = cur.execute("SELECT * FROM requests WHERE id = ? AND requester_keyid = ?",
                              (request_id, member.keyid)).one()
        if row is None:
            raise Refused("no such request of this key", 404)
        return {"id": row["id"], "table": row["table_id"], "status": row["status"],
                "failed": [x for x in row["failed"].split(",") if x],
                "needs_person": [x for x in row["needs_person"].split(",") if x],
                "reason": row["reason"], "statement": row["statement"]}

    # -- decide ----------------------------------------------------------------------------------
    def decide(self, steward: str, request_id: str, approve: bool, reason: str) -> dict[str, Any]:
        """A steward approves or denies a pending request, with a reason."""
        reason = (reason or "").strip()
        if not reason or len(reason) > 2000:
            raise Refused("a reason of 1-2000 characters is required", 400)
        status = "approved" if approve else "denied"
        with self.db.transaction(exclusive=True) as cur:
            row = cur.execute("SELECT * FROM requests WHERE id = ?", (request_id,)).one()
            if row is None:
                raise Refused("no such request", 404)
            if row["status"] != "pending":
                raise Refused(f"request is {row['status']}, not pending", 409)
            cur.execute("UPDATE requests SET status = ?, decided_by = ?, reason = ?, "
                        "decided_at = ? WHERE id = ?",
                        (status, steward, reason, now_iso(), request_id))
            audit.append(cur, "decision", f"steward:{steward}", request_id,
                         {"status": status, "reason": reason, "table": row["table_id"]})
        return {"id": request_id, "status": status}

    # -- release ---------------------------------------------------------------------------------
    def objects_of(self, cur: Cursor, object_id: str) -> tuple[dict[str, Any], str] | None:
        """The published table an object belongs to, and its role (table, sidecar, agreement)."""
        for role, column in (("table", "id"), ("sidecar", "sidecar_sha256"),
                             ("agreement", "agreement_sha256")):
            row = cur.execute(f"SELECT * FROM published WHERE {column} = ?",  # noqa: S608
                              (object_id,)).one()
            if row:
                return row, role
        return None

    def authorise(self, member: Member, table_id: str) -> dict[str, Any]:
        """The approved request of ``member`` for ``table_id``, re-checked on today's date.

        Raises Refused (403) when there is none, or when a date rule now fails (embargo B15,
        agreement expired or time limit B9): dates are enforced at every release.
        """
        with self.db.transaction() as cur:
            rows = cur.execute("SELECT * FROM requests WHERE table_id = ? AND requester_keyid "
                               "= ? AND status = 'approved' ORDER BY created_at DESC",
                               (table_id, member.keyid)).all()
            table = self.table_row(cur, table_id)
        if not rows:
            raise Refused("no approved request of this key for this object", 403)
        _, rep = self._check(table, rows[0]["request_yaml"])
        dated = [r for r in ("B9", "B15") if rep.status(r) == Status.FAILED]
        if dated:
            raise Refused("release refused today: " + _failures(rep, only=dated), 403)
        return rows[0]

    def record_release(self, member: Member, object_id: str, request_id: str) -> None:
        with self.db.transaction(exclusive=True) as cur:
            audit.append(cur, "release", member.keyid, object_id, {"request": request_id})


def _short(exc: Exception) -> str:
    return " ".join(str(exc).split())[:600]


def _failures(rep: Any, only: list[str] | None = None) -> str:
    """``D3 (File hash): <first reason>; ...`` for each failed rule."""
    from soilbiome.sharing.rule_names import RULES

    parts = []
    for rule in only or rep.with_status(Status.FAILED):
        reasons = [f.reason for f in rep.findings if f.rule == rule and f.severity.name ==
                   "ERROR"]
        name = RULES.get(rule, ("",))[0]
        parts.append(f"{rule} ({name}): {reasons[0] if reasons else 'failed'}")
    return "; ".join(parts)
