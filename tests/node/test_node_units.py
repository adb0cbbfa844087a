"""The node's building blocks without a server: blob store, migrations, audit chain, tokens."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from pathlib import Path

import pytest

from soilbiome.node import audit
from soilbiome.node.db import Database, database_for
from soilbiome.node.drs import make_token, read_token
from soilbiome.node.migrations import MIGRATIONS, statements
from soilbiome.node.storage import BlobError, BlobStore


def test_blob_store_names_by_content_and_refuses_other_names(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    digest = store.put(b"soil")
    assert digest == hashlib.sha256(b"soil").hexdigest()
    assert store.read(digest) == b"soil" and store.put(b"soil") == digest
    for bad in ("../../etc/passwd", digest.upper(), digest[:-1], digest + "0", "", "a" * 64 +
                "/"):
        with pytest.raises(BlobError, match="not a sha256 digest"):
            store.path(bad)
    path = store.path(digest)
    os.chmod(path, 0o644)
    path.write_bytes(b"dirt")  # changed on disk behind the node's back
    with pytest.raises(BlobError, match="corrupt"):
        store.read(digest)
    with pytest.raises(BlobError, match="not stored"):
        store.read("0" * 64)


def test_migrations_apply_once_and_split_function_bodies(tmp_path: Path) -> None:
    db = database_for(tmp_path, None)
    assert db.migrate() == [m[0] for m in MIGRATIONS]
    assert db.migrate() == [] and db.version() == MIGRATIONS[-1][0]
    pg = statements(MIGRATIONS[0][3]["postgresql"])
    assert len(pg) == 2 and pg[0].startswith("CREATE FUNCTION") and "$$;" in pg[0]
    with pytest.raises(Exception, match="not sqlite:/// or postgresql://"):
        Database("mysql://x")


def test_audit_chain_detects_edits_deletions_and_truncation(tmp_path: Path) -> None:
    db = database_for(tmp_path, None)
    db.migrate()
    for i in range(4):
        with db.transaction(exclusive=True) as cur:
            audit.append(cur, "publish", "key", f"t{i}", {"i": i})
    check = audit.verify_chain(db)
    assert check.ok and check.entries == 4
    head = check.head
    conn = sqlite3.connect(tmp_path / "node.sqlite3", isolation_level=None)
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        conn.execute("UPDATE audit SET actor = 'x' WHERE seq = 2")
    conn.execute("DROP TRIGGER audit_no_update")
    conn.execute("DROP TRIGGER audit_no_delete")
    conn.execute("UPDATE audit SET detail = ? WHERE seq = 2", (json.dumps({"i": 9}),))
    assert audit.verify_chain(db).problems == [
        "entry 2 (publish t1): content changed after it was written (hash mismatch)"]
    conn.execute("UPDATE audit SET detail = ? WHERE seq = 2", ('{"i":1}',))
    assert audit.verify_chain(db).ok
    conn.execute("DELETE FROM audit WHERE seq = 4")
    assert audit.verify_chain(db).ok  # a shorter chain is still a chain ...
    assert "removed from its end" in audit.verify_chain(db, head).problems[0]  # ... but not ours
    conn.execute("DELETE FROM audit WHERE seq = 2")
    problems = audit.verify_chain(db).problems
    assert "entry 2 missing (deleted)" in problems
    assert "entry 3: prev_hash does not link to the entry before it" in problems


def test_access_tokens_expire_and_cannot_be_forged() -> None:
    secret = b"k" * 32
    token, expires = make_token(secret, "o" * 64, "key", "req", now=1000.0)
    assert read_token(secret, token, now=1000.0 + 299)["o"] == "o" * 64
    assert read_token(secret, token, now=expires + 1) is None
    assert read_token(b"x" * 32, token, now=1000.0) is None
    body, mac = token.split(".")
    assert read_token(secret, body[:-2] + "AA." + mac, now=1000.0) is None
