"""The node's HTML pages: catalogue, table (how to request it), steward login and queue.

Every value that comes from a table, an agreement, a request or a query is escaped
(:func:`soilbiome.report.html.esc`); pages carry no script at all (the Content-Security-Policy
of :mod:`soilbiome.node.app` forbids scripts), so filters are plain GET forms and decisions
plain POST forms with a CSRF token.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

from soilbiome.node.catalogue import FILTERS, PAGE_SIZE, page_offsets, page_query
from soilbiome.report.html import esc
from soilbiome.report.sitemap import site_map

CSS = """
body{font-family:system-ui,sans-serif;margin:0;color:#1d2733;background:#fafbfc}
header{background:#21405e;color:#fff;padding:.8em 1.5em}header a{color:#fff}
main{padding:1em 1.5em;max-width:1100px}
table{border-collapse:collapse;width:100%;margin:.6em 0}
th,td{border-bottom:1px solid #d9dee3;padding:.35em .5em;text-align:left;vertical-align:top}
th{background:#eef2f6}
form.filters{display:flex;flex-wrap:wrap;gap:.6em;align-items:end;margin:.6em 0}
form.filters label{display:flex;flex-direction:column;font-size:.85em}
input,select,textarea{font:inherit;padding:.25em}
pre{white-space:pre-wrap;background:#f1f4f7;padding:.6em;border:1px solid #d9dee3}
.tag{display:inline-block;background:#e6edf5;border-radius:3px;padding:0 .4em;margin:0 .2em .2em 0;
font-size:.85em}
.pending{border:1px solid #c9a227;padding:.6em 1em;margin:1em 0;background:#fffbea}
.ok{color:#1b6e2e}.no{color:#a12d24}.missing{color:#5f6b77;font-size:.85em}
button{font:inherit;padding:.3em .9em;margin-right:.5em}
"""


def layout(title: str, body: str, node_name: str = "soilbiome exchange node") -> str:
    """A whole page."""
    return ("<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            f"<title>{esc(title)} · {esc(node_name)}</title>"
            "<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<style>{CSS}</style></head><body>"
            f"<header><strong>{esc(node_name)}</strong> · <a href='/'>catalogue</a> · "
            "<a href='/steward'>steward</a></header>"
            f"<main><h1>{esc(title)}</h1>{body}</main></body></html>")


def _tags(items: list[str]) -> str:
    return "".join(f"<span class='tag'>{esc(i)}</span>" for i in items) or "–"


def _terms_cells(e: dict[str, Any]) -> str:
    duo_ = [f"{d['id']} {d['label']}".strip() for d in e["duo"]]
    dates = []
    if e.get("embargo_until"):
        dates.append(f"embargo until {e['embargo_until']}")
    if e.get("moratorium_until"):
        dates.append(f"moratorium until {e['moratorium_until']}")
    abs_ = e.get("abs") or {}
    abs_text = ("ABS applies" + (": " + ", ".join(abs_.get("ircc") or []) if abs_.get("ircc")
                                 else "")) if abs_.get("applicable") is True else \
        "ABS does not apply" if abs_.get("applicable") is False else "ABS not stated"
    return (f"<td>{esc(e['licence'])}</td><td>{_tags(duo_)}</td>"
            f"<td>{esc(abs_text)}<br>{_tags(e.get('labels') or [])}</td>"
            f"<td>{esc('; '.join(dates) or '–')}</td>")


def _pager(filters: dict[str, str], total: int, limit: int, offset: int) -> str:
    """The line "Tables 51–100 of 230." with links to the previous and the next page."""
    shown = max(0, min(total, offset + limit) - offset)
    where = (f"Tables {offset + 1}–{offset + shown} of {total}." if shown else
             f"No table on this page ({total} in all).")
    prev, nxt = page_offsets(total, limit, offset)
    links = "".join(f" <a id='{i}-page' rel='{i}' href='/?{esc(page_query(filters, limit, at))}'>"
                    f"{label}</a>" for i, label, at in (("prev", "previous page", prev),
                                                        ("next", "next page", nxt))
                    if at is not None)
    return f"<p class='pager'>{esc(where)}{links}</p>"


def catalogue_page(entries: list[dict[str, Any]], filters: dict[str, str],
                   sites: list, node_name: str, *, total: int | None = None,
                   limit: int = PAGE_SIZE, offset: int = 0) -> str:
    """The catalogue: filter form, map of the page's disclosed sites, one row per table of
    the page (``entries``, ``total`` tables matching the filters), links to the other pages."""
    total = len(entries) if total is None else total
    labels = {"marker": "marker", "country": "country", "licence": "licence",
              "from": "collected from", "to": "collected to", "taxon": "taxon present"}
    fields = "".join(
        f"<label>{esc(labels[k])}<input name='{k}' value='{esc(filters.get(k, ''))}' "
        f"maxlength='{n}'" + (" type='date'" if k in ("from", "to") else "") + "></label>"
        for k, n in FILTERS.items())
    if limit != PAGE_SIZE:  # a new filter starts at the first page, of the same size
        fields += f"<input type='hidden' name='limit' value='{limit}'>"
    form = (f"<form class='filters' method='get' action='/'>{fields}"
            "<button type='submit'>Filter</button><a href='/'>clear</a></form>")
    rows = "".join(
        f"<tr data-table='{esc(e['id'])}'><td><a href='/tables/{quote(e['id'])}'>"
        f"{esc(e['name'])}</a><br><span class='missing'>{esc(e['title'])}</span></td>"
        f"<td>{esc(e['provider'])} ({esc(e['provider_country'])})</td>"
        f"<td>{esc(e['marker'] or '–')}</td><td>{esc(e.get('n_samples'))}</td>"
        + _terms_cells(e) + f"<td>{esc(e['disclosure'])}</td></tr>" for e in entries)
    table = ("<table id='catalogue'><tr><th>table</th><th>provider</th><th>marker</th>"
             "<th>samples</th><th>licence</th><th>use (DUO)</th><th>ABS, labels</th>"
             "<th>dates</th><th>shown</th></tr>" + rows + "</table>") if entries else \
        "<p id='catalogue'>No table matches.</p>"
    paging = {"limit": limit} if limit != PAGE_SIZE else {}
    paging |= {"offset": offset} if offset else {}
    json_link = "/api/catalogue" + ("?" + urlencode(filters | paging)
                                    if filters or paging else "")
    pager = _pager(filters, total, limit, offset)
    body = (form + (site_map(sites, category_label="provider", map_id="catalogue-map")
                    if sites else "<p class='missing'>No disclosed site to map.</p>")
            + f"<p>{total} table(s). The same as JSON: "
            f"<a href='{esc(json_link)}'>{esc(json_link)}</a></p>" + pager + table
            + "<p class='missing'>Restricted tables show only what their agreement lets the "
              "node disclose (see docs/node.md).</p>")
    return layout("Catalogue", body, node_name)


def table_page(e: dict[str, Any], statement: str, node_url: str, node_name: str) -> str:
    """One table: its disclosed facts, what a recipient may do, and how to request it."""
    ctx = e.get("context") or {}
    ctx_rows = "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>"
                       for k, v in ctx.items() if v)
    samples = e.get("samples")
    sample_rows = "".join(
        f"<tr><td>{esc(s['sample_id'])}</td><td>{esc(s['lat_lon'])}</td>"
        f"<td>{esc(s['country'])}</td><td>{esc(s['collection_date'])}</td></tr>"
        for s in samples or [])
    sample_html = ("<table><tr><th>sample</th><th>lat_lon</th><th>country</th>"
                   f"<th>collected</th></tr>{sample_rows}</table>" if samples else
                   f"<p class='missing'>Sample details are not disclosed "
                   f"({esc(e['disclosure'])}).</p>")
    cmd = (f"soilbiome node request --node {node_url} --key MEMBER.key --table {e['id']} "
           "REQUEST.yaml")
    body = (
        f"<p id='table-id'>Table <code>{esc(e['id'])}</code> · {esc(e['name'])} · "
        f"{esc(e['provider'])} ({esc(e['provider_country'])}) · agreement "
        f"<code>{esc(e['agreement_id'])}</code> · datasets {_tags(e['datasets'])}</p>"
        "<table><tr><th>licence</th><th>use (DUO)</th><th>ABS, labels</th><th>dates</th></tr>"
        f"<tr>{_terms_cells(e)}</tr></table>"
        f"<h2>What a recipient may do</h2><pre id='statement'>{esc(statement)}</pre>"
        "<h2 id='request'>Request this table</h2>"
        "<p>Write a data-use request (the request YAML of "
        "<code>sharing_agreements/requests/</code>) naming this agreement and a dataset above, "
        "and submit it signed with your member key:</p>"
        f"<pre id='request-command'>{esc(cmd)}</pre>"
        "<p>The node checks it with the B rules at once: allowed requests are approved, "
        "requests a person must decide go to the steward, refused ones name the rules.</p>"
        f"<h2>Processing context</h2>"
        + (f"<table>{ctx_rows}</table>" if ctx_rows else
           "<p class='missing'>Not disclosed or not recorded.</p>")
        + f"<h2>Samples</h2>{sample_html}")
    return layout(e["name"], body, node_name)


def login_page(csrf: str, node_name: str, error: str = "") -> str:
    err = f"<p class='no' id='error'>{esc(error)}</p>" if error else ""
    body = (err + "<form method='post' action='/steward/login' id='login'>"
            f"<input type='hidden' name='csrf' value='{esc(csrf)}'>"
            "<label>Steward token <input type='password' name='token' maxlength='200' "
            "autocomplete='off'></label> <button type='submit'>Log in</button></form>"
            "<p class='missing'>A token is issued on the node's machine by "
            "<code>soilbiome node steward-token</code>.</p>")
    return layout("Steward login", body, node_name)


def _findings(verdict_json: str) -> str:
    """What the B rules could not decide (or found), one line per finding."""
    import json

    try:
        rules = json.loads(verdict_json).get("rules") or []
    except (ValueError, AttributeError):
        return ""
    lines = []
    for r in rules:
        if r.get("status") not in ("needs_person", "failed", "warning"):
            continue
        for f in r.get("findings") or [{"where": "", "reason": r.get("why", "")}]:
            lines.append(f"<li><strong>{esc(r.get('rule'))}</strong> {esc(r.get('name', ''))}"
                         f" ({esc(r.get('status'))}): <code>{esc(f.get('where', ''))}</code> "
                         f"{esc(f.get('reason', ''))}</li>")
    return f"<ul class='findings'>{''.join(lines)}</ul>" if lines else ""


def queue_page(steward: str, csrf: str, pending: list[dict[str, Any]],
               decided: list[dict[str, Any]], tables: dict[str, dict[str, Any]],
               node_name: str, notice: str = "") -> str:
    """The steward's queue: each pending request with its plain-language verdict."""
    note = f"<p class='ok' id='notice'>{esc(notice)}</p>" if notice else ""
    items = []
    for r in pending:
        t = tables.get(r["table_id"], {})
        items.append(
            f"<section class='pending' data-request='{esc(r['id'])}'>"
            f"<h2>Request {esc(r['id'][:8])} for {esc(t.get('name', r['table_id']))}</h2>"
            f"<p>From key <code>{esc(r['requester_keyid'][:23])}…</code> "
            f"({esc(r.get('member', ''))}), {esc(r['created_at'])}. Needs a person: "
            f"{_tags(r['needs_person'].split(','))}</p>"
            + _findings(r.get("verdict", "")) +
            f"<pre class='verdict'>{esc(r['statement'])}</pre>"
            f"<details><summary>Request as submitted</summary><pre>{esc(r['request_yaml'])}"
            "</pre></details>"
            "<form method='post' action='/steward/decide'>"
            f"<input type='hidden' name='csrf' value='{esc(csrf)}'>"
            f"<input type='hidden' name='request' value='{esc(r['id'])}'>"
            "<label>Reason <textarea name='reason' rows='2' cols='70' maxlength='2000' "
            "required></textarea></label><br>"
            "<button type='submit' name='action' value='approve'>Approve</button>"
            "<button type='submit' name='action' value='deny'>Deny</button></form></section>")
    done = "".join(
        f"<tr><td>{esc(r['id'][:8])}</td><td>{esc(tables.get(r['table_id'], {}).get('name'))}"
        f"</td><td class='{'ok' if r['status'] == 'approved' else 'no'}'>{esc(r['status'])}"
        f"</td><td>{esc(r['decided_by'])}</td><td>{esc(r['reason'])}</td></tr>"
        for r in decided)
    body = (note + f"<p>Logged in as {esc(steward)}. "
            "<form method='post' action='/steward/logout' style='display:inline'>"
            f"<input type='hidden' name='csrf' value='{esc(csrf)}'>"
            "<button type='submit'>Log out</button></form></p>"
            f"<h2>Waiting for a decision ({len(pending)})</h2>"
            + ("".join(items) or "<p id='empty'>Nothing waits for a decision.</p>")
            + "<h2>Decided</h2><table id='decided'><tr><th>request</th><th>table</th>"
              "<th>status</th><th>by</th><th>reason</th></tr>" + done + "</table>")
    return layout("Steward queue", body, node_name)


def message_page(title: str, text: str, node_name: str) -> str:
    return layout(title, f"<p>{esc(text)}</p>", node_name)
