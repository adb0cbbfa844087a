"""``soilbiome node``: run an exchange node, publish to it, request, decide, fetch, audit."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import sys
import time
from pathlib import Path

import click

from soilbiome.io.jsonfile import dumps

_existing = click.Path(path_type=Path, exists=True, dir_okay=False)
_data = click.option("--data", "data", type=click.Path(path_type=Path, file_okay=False),
                     required=True, help="The node's folder (blobs; SQLite database unless "
                                         "--database is given).")
_database = click.option("--database", "database", default=None, envvar="SOILBIOME_NODE_DB",
                         help="postgresql://user@host:port/db (default: SQLite in --data).")
_node = click.option("--node", "node_url", required=True, envvar="SOILBIOME_NODE",
                     help="The node's URL, e.g. http://localhost:8080.")
_key = click.option("--key", "key", type=_existing, required=True,
                    envvar="SOILBIOME_SIGNING_KEY",
                    help="Your Ed25519 private key (the node must know its public half).")
_json = click.option("--json", "as_json", is_flag=True, help="Print the node's JSON answer.")


def _open(data: Path, database: str | None, today: dt.date | None = None):  # noqa: ANN202
    from soilbiome.node.db import database_for
    from soilbiome.node.service import Node
    from soilbiome.node.storage import BlobStore

    db = database_for(data, database)
    db.migrate()
    return Node(db, BlobStore(data), today)


def _client(node_url: str, key: Path | None):  # noqa: ANN202
    from soilbiome.node.client import Client
    from soilbiome.sharing.keys import load_private_key

    return Client(node_url, load_private_key(key) if key else None)


@click.group("node")
def node() -> None:
    """The exchange node: publish stamped tables, find, request, decide, release, audit."""


@node.command("serve")
@_data
@_database
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535))
@click.option("--members", "members", type=_existing, default=None,
              help="YAML list of the member keys the node knows (docs/node.md); keys not "
                   "listed are removed. Without it the stored members are kept.")
@click.option("--name", default="soilbiome exchange node", show_default=True,
              help="Name shown on the pages.")
@click.option("--public-url", default="", help="URL the node is reached at (behind a proxy).")
@click.option("--max-upload-mb", default=256, show_default=True, type=click.IntRange(1, 65536))
@click.option("--rate", default=600, show_default=True, type=click.IntRange(1, 10**6),
              help="Requests per minute per client address.")
@click.option("--today", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Reference date of the rules (tests and demos; default: the real date).")
def serve(data: Path, database: str | None, host: str, port: int, members: Path | None,
          name: str, public_url: str, max_upload_mb: int, rate: int,
          today: dt.datetime | None) -> None:
    """Run the node (catalogue, signed API, GA4GH DRS, steward pages)."""
    import uvicorn

    from soilbiome.node.app import create_app
    from soilbiome.node.members import load_members

    wanted = load_members(members) if members else None
    n = _open(data, database, today.date() if today else None)
    if wanted is not None:
        n.set_members(wanted)
    app = create_app(n, name=name, max_body=max_upload_mb * 1024 * 1024,
                     rate_per_minute=rate, public_url=public_url)
    where = database.split("@")[-1] if database else f"{data}/node.sqlite3"
    count = len(wanted) if wanted is not None else "the stored"
    click.echo(f"soilbiome node: {count} member key(s), database {where}, "
               f"http://{host}:{port}/", err=True)
    uvicorn.run(app, host=host, port=port, log_level="warning", server_header=False)


@node.command("publish")
@click.argument("table", type=_existing)
@click.option("--agreement", "agreement", type=_existing, required=True)
@_node
@_key
@_json
def publish(table: Path, agreement: Path, node_url: str, key: Path, as_json: bool) -> None:
    """Publish a stamped TABLE (with its sidecar) under AGREEMENT to a node."""
    result = _client(node_url, key).publish(table, agreement)
    if as_json:
        click.echo(dumps(result, indent=2))
        return
    click.echo(f"published {result['name']} as {result['id']} ({result['disclosure']} "
               f"disclosure; audit entry {result['audit']})")


@node.command("request")
@click.argument("request", type=_existing)
@click.option("--table", "table_id", required=True, help="Table id (sha256) from the catalogue.")
@_node
@_key
@_json
def request(request: Path, table_id: str, node_url: str, key: Path, as_json: bool) -> None:
    """Submit a data-use REQUEST (YAML) for a table; the B rules decide at once or queue it."""
    result = _client(node_url, key).request(table_id, request)
    if as_json:
        click.echo(dumps(result, indent=2))
    else:
        click.echo(f"request {result['id']}: {result['status']}"
                   + (f" (failed: {', '.join(result['failed'])})" if result["failed"] else "")
                   + (f" (needs a person: {', '.join(result['needs_person'])})"
                      if result["status"] == "pending" else ""))
        click.echo(result["statement"])
    sys.exit(0 if result["status"] == "approved" else 5 if result["status"] == "pending" else 1)


@node.command("status")
@click.argument("request_id")
@_node
@_key
@_json
def status(request_id: str, node_url: str, key: Path, as_json: bool) -> None:
    """Show the status of one of your requests."""
    result = _client(node_url, key).status(request_id)
    click.echo(dumps(result, indent=2) if as_json else
               f"request {result['id']}: {result['status']}"
               + (f" ({result['reason']})" if result["reason"] else ""))


@node.command("fetch")
@click.argument("table")
@_node
@_key
@click.option("--out", "out", type=click.Path(path_type=Path, file_okay=False), required=True)
@click.option("--today", type=click.DateTime(formats=["%Y-%m-%d"]), default=None)
def fetch(table: str, node_url: str, key: Path, out: Path, today: dt.datetime | None) -> None:
    """Download an approved TABLE (id or drs://host/id) into OUT and verify it (D rules)."""
    from soilbiome.node.client import parse_drs
    from soilbiome.sharing.verify import verify_report

    table_id = parse_drs(table)[1] if table.startswith("drs://") else table
    paths = _client(node_url, key).fetch(table_id, out)
    rep = verify_report(paths["table"], paths["agreement"],
                        today=today.date() if today else None)
    click.echo(f"fetched {paths['table']} (+ sidecar, {paths['agreement'].name})")
    click.echo(rep.to_text())
    sys.exit(rep.exit_code)


@node.command("steward-token")
@_data
@_database
@click.option("--name", "steward", required=True, help="Who the token is for.")
@click.option("--hours", default=12, show_default=True, type=click.IntRange(1, 24 * 30))
def steward_token(data: Path, database: str | None, steward: str, hours: int) -> None:
    """Issue a one-off login token for the steward pages (printed once, stored hashed)."""
    n = _open(data, database)
    token = secrets.token_urlsafe(24)
    with n.db.transaction(exclusive=True) as cur:
        cur.execute("INSERT INTO stewards (token_sha256, name, expires_at) VALUES (?, ?, ?)",
                    (hashlib.sha256(token.encode()).hexdigest(), steward,
                     int(time.time()) + hours * 3600))
        from soilbiome.node import audit

        audit.append(cur, "steward-token", "node", steward, {"hours": hours})
    click.echo(token)


@node.command("decide")
@click.argument("request_id", required=False)
@_data
@_database
@click.option("--approve/--deny", default=None, help="The decision.")
@click.option("--reason", default="", help="Why (required for a decision).")
@click.option("--steward", default="cli", show_default=True, help="Who decides.")
def decide(request_id: str | None, data: Path, database: str | None, approve: bool | None,
           reason: str, steward: str) -> None:
    """List pending requests, or approve/deny REQUEST_ID with a reason (on the node's host)."""
    n = _open(data, database)
    if request_id is None:
        with n.db.transaction() as cur:
            rows = cur.execute("SELECT id, table_id, needs_person, created_at FROM requests "
                               "WHERE status = 'pending' ORDER BY created_at").all()
        for r in rows:
            click.echo(f"{r['id']}\t{r['table_id'][:16]}\t{r['needs_person']}\t"
                       f"{r['created_at']}")
        return
    if approve is None:
        raise click.UsageError("give --approve or --deny")
    result = n.decide(steward, request_id, approve, reason)
    click.echo(f"request {result['id']}: {result['status']}")


@node.command("audit")
@_data
@_database
@click.option("--verify", "check", is_flag=True, help="Recompute every hash and link.")
@click.option("--expect-head", default=None,
              help="A head hash recorded earlier: it must still be in the log.")
def audit_cmd(data: Path, database: str | None, check: bool, expect_head: str | None) -> None:
    """Print the audit log, or verify its hash chain (exit 1 when it was changed)."""
    from soilbiome.node.audit import verify_chain

    n = _open(data, database)
    if not check:
        with n.db.transaction() as cur:
            for r in cur.execute("SELECT * FROM audit ORDER BY seq").all():
                click.echo(f"{r['seq']}\t{r['at']}\t{r['kind']}\t{r['actor'][:30]}\t"
                           f"{r['subject'][:40]}\t{r['detail']}")
        return
    result = verify_chain(n.db, expect_head)
    for p in result.problems:
        click.echo(f"audit: {p}", err=True)
    click.echo(f"{'OK' if result.ok else 'BROKEN'}: {result.entries} entries, head "
               f"{result.head}")
    sys.exit(0 if result.ok else 1)


def register(main: click.Group) -> None:
    """Add ``soilbiome node`` to the command group."""
    main.add_command(node)
