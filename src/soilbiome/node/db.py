"""The node's database: SQLite in the data folder by default, PostgreSQL for a network.

One thin layer over ``sqlite3`` and psycopg 3: SQL is written once with ``?`` placeholders
(converted to ``%s`` for PostgreSQL), rows come back as dicts, every unit of work is one
transaction (:meth:`Database.transaction`). :meth:`Database.migrate` applies the plain SQL
migrations of :mod:`soilbiome.node.migrations` in order and records each in
``schema_version``.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from soilbiome.errors import InputError
from soilbiome.node.migrations import MIGRATIONS, statements


class Cursor:
    """A cursor that takes ``?`` placeholders on both back ends and returns dict rows."""

    def __init__(self, raw: Any, dialect: str) -> None:
        self._raw = raw
        self.dialect = dialect

    def execute(self, sql: str, params: tuple | list = ()) -> Cursor:
        if self.dialect == "postgresql":
            sql = sql.replace("?", "%s")
        self._raw.execute(sql, tuple(params))
        return self

    def all(self) -> list[dict[str, Any]]:
        rows = self._raw.fetchall()
        return [dict(r) for r in rows]

    def one(self) -> dict[str, Any] | None:
        row = self._raw.fetchone()
        return dict(row) if row is not None else None


class Database:
    """SQLite file or PostgreSQL server, same schema.

    Parameters
    ----------
    url : str
        ``sqlite:///path/to/node.sqlite3`` or ``postgresql://user@host:port/db``.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        if url.startswith("sqlite:///"):
            self.dialect = "sqlite"
            self.path = Path(url[len("sqlite:///"):])
        elif url.startswith(("postgresql://", "postgres://")):
            self.dialect = "postgresql"
            self.path = None
        else:
            raise InputError(f"--database {url.split('://')[0]}://...: not sqlite:/// or "
                             "postgresql://")
        self._lock = threading.RLock()

    def _connect(self) -> Any:
        if self.dialect == "sqlite":
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute("PRAGMA journal_mode = WAL")
            return conn
        import psycopg
        from psycopg.rows import dict_row

        try:
            return psycopg.connect(self.url, row_factory=dict_row, autocommit=False,
                                   connect_timeout=10)
        except psycopg.OperationalError as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else "refused"
            raise InputError(f"cannot connect to the PostgreSQL database: {first}") from None

    @contextmanager
    def transaction(self, exclusive: bool = False) -> Iterator[Cursor]:
        """One transaction; committed when the block ends, rolled back on error.

        ``exclusive`` serialises writers (the audit chain needs one writer at a time):
        ``BEGIN IMMEDIATE`` on SQLite, a lock on the audit table on PostgreSQL.
        """
        with self._lock:
            conn = self._connect()
            try:
                if self.dialect == "sqlite":
                    conn.execute("BEGIN IMMEDIATE" if exclusive else "BEGIN")
                    cur = Cursor(conn.cursor(), "sqlite")
                else:
                    cur = Cursor(conn.cursor(), "postgresql")
                    if exclusive and self._has_table(cur, "audit"):
                        cur.execute("LOCK TABLE audit IN EXCLUSIVE MODE")
                yield cur
                conn.commit() if self.dialect == "postgresql" else conn.execute("COMMIT")
            except BaseException:
                try:
                    conn.rollback() if self.dialect == "postgresql" else conn.execute("ROLLBACK")
                except Exception:  # noqa: BLE001 - the original error matters
                    pass
                raise
            finally:
                conn.close()

    @staticmethod
    def _has_table(cur: Cursor, name: str) -> bool:
        if cur.dialect == "sqlite":
            row = cur.execute("SELECT name FROM sqlite_master WHERE type='table' AND name=?",
                              (name,)).one()
        else:
            row = cur.execute("SELECT to_regclass(?) AS name", (name,)).one()
            row = row if row and row["name"] else None
        return row is not None

    def version(self) -> int:
        """The highest applied migration (0 for an empty database)."""
        with self.transaction() as cur:
            if not self._has_table(cur, "schema_version"):
                return 0
            row = cur.execute("SELECT MAX(version) AS v FROM schema_version").one()
            return int(row["v"] or 0)

    def migrate(self) -> list[int]:
        """Apply every migration not yet applied, in order; return their versions."""
        applied = []
        with self.transaction(exclusive=True) as cur:
            cur.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY "
                        "KEY, description TEXT NOT NULL, applied_at TEXT NOT NULL)")
            done = {r["version"] for r in cur.execute("SELECT version FROM schema_version")
                    .all()}
            for version, description, sql, extra in MIGRATIONS:
                if version in done:
                    continue
                for stmt in statements(sql) + statements(extra.get(self.dialect, "")):
                    cur.execute(stmt)
                cur.execute("INSERT INTO schema_version (version, description, applied_at) "
                            "VALUES (?, ?, ?)", (version, description,
                                                 dt.datetime.now(dt.UTC).isoformat()))
                applied.append(version)
        return applied


def database_for(data: str | Path | None, url: str | None) -> Database:
    """The database of a node: ``url`` when given, else ``DATA/node.sqlite3``."""
    if url:
        return Database(url)
    if data is None:
        raise InputError("give --data DIR (SQLite in DIR) or --database postgresql://...")
    folder = Path(data)
    folder.mkdir(parents=True, exist_ok=True)
    return Database(f"sqlite:///{folder / 'node.sqlite3'}")
