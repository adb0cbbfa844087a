"""The node's schema as plain SQL migrations, applied in order; ``schema_version`` records them.

The same statements run on SQLite and PostgreSQL (portable types: TEXT, INTEGER, BIGINT).
Only the triggers that make the audit log append-only differ between the two dialects.
A migration is never edited once released: a change is a new entry at the end.
"""

from __future__ import annotations

#: (version, description, common SQL, {dialect: extra SQL})
MIGRATIONS: list[tuple[int, str, str, dict[str, str]]] = [
    (1, "initial schema", """
CREATE TABLE members (
    keyid TEXT PRIMARY KEY,
    public_key_b64 TEXT NOT NULL,
    name TEXT NOT NULL,
    institution_ror TEXT NOT NULL DEFAULT '',
    country TEXT NOT NULL DEFAULT '',
    added_at TEXT NOT NULL
);
CREATE TABLE published (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    sidecar_sha256 TEXT NOT NULL,
    agreement_sha256 TEXT NOT NULL,
    agreement_id TEXT NOT NULL,
    title TEXT NOT NULL,
    provider TEXT NOT NULL,
    provider_country TEXT NOT NULL,
    publisher_keyid TEXT NOT NULL,
    licence TEXT NOT NULL,
    marker TEXT NOT NULL,
    disclosure TEXT NOT NULL,
    embargo_until TEXT NOT NULL DEFAULT '',
    moratorium_until TEXT NOT NULL DEFAULT '',
    date_from TEXT NOT NULL DEFAULT '',
    date_to TEXT NOT NULL DEFAULT '',
    facts TEXT NOT NULL,
    size BIGINT NOT NULL,
    published_at TEXT NOT NULL
);
CREATE TABLE samples (
    table_id TEXT NOT NULL REFERENCES published(id),
    sample_id TEXT NOT NULL,
    lat_lon TEXT NOT NULL DEFAULT '',
    country TEXT NOT NULL DEFAULT '',
    collection_date TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (table_id, sample_id)
);
CREATE TABLE taxa (
    table_id TEXT NOT NULL REFERENCES published(id),
    name TEXT NOT NULL,
    PRIMARY KEY (table_id, name)
);
CREATE TABLE requests (
    id TEXT PRIMARY KEY,
    table_id TEXT NOT NULL REFERENCES published(id),
    requester_keyid TEXT NOT NULL,
    request_yaml TEXT NOT NULL,
    status TEXT NOT NULL,
    verdict TEXT NOT NULL,
    statement TEXT NOT NULL,
    needs_person TEXT NOT NULL DEFAULT '',
    failed TEXT NOT NULL DEFAULT '',
    decided_by TEXT NOT NULL DEFAULT '',
    reason TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    decided_at TEXT NOT NULL DEFAULT ''
);
CREATE TABLE nonces (
    nonce TEXT PRIMARY KEY,
    seen_at BIGINT NOT NULL
);
CREATE TABLE stewards (
    token_sha256 TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE TABLE sessions (
    session_sha256 TEXT PRIMARY KEY,
    steward TEXT NOT NULL,
    csrf TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE TABLE audit (
    seq BIGINT PRIMARY KEY,
    at TEXT NOT NULL,
    kind TEXT NOT NULL,
    actor TEXT NOT NULL,
    subject TEXT NOT NULL,
    detail TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE TABLE settings (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
""", {
        "sqlite": """
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
""",
        "postgresql": """
CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'the audit log is append-only'; END; $$;
CREATE TRIGGER audit_no_change BEFORE UPDATE OR DELETE ON audit
FOR EACH ROW EXECUTE FUNCTION audit_append_only();
""",
    }),
]


def statements(sql: str) -> list[str]:
    """Split a migration into statements (on ``;`` at line end outside ``$$`` bodies)."""
    out, buf, in_body = [], [], False
    for line in sql.splitlines():
        if line.count("$$") % 2:
            in_body = not in_body
        buf.append(line)
        if not in_body and line.rstrip().endswith(";"):
            stmt = "\n".join(buf).strip()
            if stmt.rstrip(";").strip():
                out.append(stmt)
            buf = []
    rest = "\n".join(buf).strip()
    if rest:
        out.append(rest)
    return out
