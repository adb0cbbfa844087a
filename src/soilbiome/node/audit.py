"""Append-only, hash-chained audit log of publications, requests, decisions and releases.

Entry ``n`` stores ``hash = SHA-256(prev_hash "\\n" canonical JSON of (seq, at, kind, actor,
subject, detail))`` and the previous entry's hash as ``prev_hash`` (64 zeros for the first).
:func:`verify_chain` recomputes every hash and link: an edited entry breaks its own hash, a
deleted entry leaves a gap in ``seq`` and breaks the next link. Deleting the *last* entries
leaves a shorter valid chain; it is detected by comparing with a head recorded elsewhere
(``soilbiome node audit --verify --expect-head HASH``: the log must still contain
that entry; entries appended after it are fine). The database refuses UPDATE and DELETE
on the table (triggers), so a change needs someone who can alter the schema.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from soilbiome.node.db import Cursor, Database

GENESIS = "0" * 64


def _canonical(entry: dict[str, Any]) -> str:
    body = {k: entry[k] for k in ("seq", "at", "kind", "actor", "subject", "detail")}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def entry_hash(prev_hash: str, entry: dict[str, Any]) -> str:
    """The chained hash of one entry."""
    return hashlib.sha256(f"{prev_hash}\n{_canonical(entry)}".encode()).hexdigest()


def append(cur: Cursor, kind: str, actor: str, subject: str,
           detail: dict[str, Any] | None = None) -> dict[str, Any]:
    """Append one entry inside the caller's (exclusive) transaction; return it."""
    last = cur.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").one()
    seq = (int(last["seq"]) + 1) if last else 1
    prev = last["hash"] if last else GENESIS
    entry = {"seq": seq, "at": dt.datetime.now(dt.UTC).isoformat(timespec="microseconds"),
             "kind": kind, "actor": actor, "subject": subject,
             "detail": json.dumps(detail or {}, sort_keys=True, separators=(",", ":"))}
    entry["prev_hash"] = prev
    entry["hash"] = entry_hash(prev, entry)
    cur.execute("INSERT INTO audit (seq, at, kind, actor, subject, detail, prev_hash, hash) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                tuple(entry[k] for k in ("seq", "at", "kind", "actor", "subject", "detail",
                                         "prev_hash", "hash")))
    return entry


@dataclass
class ChainCheck:
    """Result of :func:`verify_chain`."""

    entries: int
    head: str
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_chain(db: Database, expect_head: str | None = None) -> ChainCheck:
    """Recompute every hash and link of the audit log."""
    with db.transaction() as cur:
        rows = cur.execute("SELECT * FROM audit ORDER BY seq").all()
    problems: list[str] = []
    prev = GENESIS
    expected_seq = 1
    for row in rows:
        seq = int(row["seq"])
        if seq != expected_seq:
            problems.append(f"entry {expected_seq}"
                            + (f"..{seq - 1}" if seq - 1 > expected_seq else "")
                            + " missing (deleted)")
        if row["prev_hash"] != prev:
            problems.append(f"entry {seq}: prev_hash does not link to the entry before it")
        row = dict(row, seq=seq)
        if entry_hash(row["prev_hash"], row) != row["hash"]:
            problems.append(f"entry {seq} ({row['kind']} {row['subject'][:24]}): content "
                            "changed after it was written (hash mismatch)")
        prev = row["hash"]
        expected_seq = seq + 1
    head = prev if rows else GENESIS
    if expect_head and not any(r["hash"] == expect_head for r in rows):
        problems.append(f"the recorded head {expect_head[:16]}... is not in the log: entries "
                        "were removed from its end (or this is another log)")
    return ChainCheck(len(rows), head, problems)
