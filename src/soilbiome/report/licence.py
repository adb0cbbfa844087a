"""The report's licence part: the verdict of ``soilbiome verify`` on the batch's stamped table.

The pipeline verifies the stamped table in its STAMP task with ``--before-publication``
(``pipeline/modules/stamp.nf``) and hands the JSON report to REPORT. Every rule is shown with
the status ``soilbiome verify`` gives it; D7 and D9 compare the table with the run's RO-Crate,
which the pipeline writes last (it describes this very report), so before publication they
are "after publication", and the section names the command that decides them on the
published results. No path of the run's work folders is shown: the table is named as
published (``biom/<name>``), and any absolute path in a reason is cut to its file name.
"""

from __future__ import annotations

import re
from typing import Any

import pandas as pd

from soilbiome.report.html import esc, html_table

#: Where the pipeline publishes the stamped table and its agreement, relative to --outdir
#: (``publishOnSuccess`` in ``pipeline/main.nf``).
PUBLISHED_TABLE_DIR = "biom"
PUBLISHED_AGREEMENT = "sharing/agreement.yaml"

_STATUS_TEXT = {
    "passed": "passed",
    "warning": "warning",
    "failed": "FAILED",
    "not_applicable": "not applicable",
    "needs_person": "needs a person",
    "after_publication": "after publication",
}
#: an absolute path (not a URL, not a relative ../ path); group 1 is its last part
_ABSOLUTE = re.compile(r"(?<![\w.:/~-])/(?:[^\s/:()'\"]+/)+([^\s/:()'\"]+)")


def no_paths(text: object) -> str:
    """``text`` with every absolute path cut to its last part (no work folders in reports)."""
    return _ABSOLUTE.sub(r"\1", str(text))


def _rows(result: dict[str, Any]) -> list[dict[str, str]]:
    """One row per rule: id, name, status, why (from ``rules``; older JSON from findings)."""
    rules = result.get("rules")
    if rules is None:  # a verify.json written before rule statuses existed
        rules = [{"rule": r, "name": "", "status": "passed", "findings": []}
                 for r in result.get("passed", [])]
        for f in result.get("findings", []):
            rules.append({"rule": f.get("rule"), "name": "", "findings": [f],
                          "status": {"ERROR": "failed", "ABSTAIN": "needs_person",
                                     "WARNING": "warning"}.get(f.get("severity"), "passed")})
    rows = []
    for r in rules:
        notes = [r["why"]] if r.get("why") else []
        notes += [f"{f.get('where')}: {f.get('reason')}" for f in r.get("findings", [])
                  if f.get("severity") != "INFO" or r.get("status") == "passed"]
        rows.append({"rule": r.get("rule"), "name": r.get("name", ""),
                     "result": _STATUS_TEXT.get(r.get("status"), str(r.get("status"))),
                     "why": no_paths("; ".join(notes))})
    return rows


def verdict_html(result: dict[str, Any], table_name: str) -> str:
    """The verdict box, the rule table and the statement of what the recipient may do.

    Parameters
    ----------
    result : dict
        ``soilbiome verify --json`` of the stamped table.
    table_name : str
        The table's file name (published as ``biom/<table_name>``).
    """
    published = f"{PUBLISHED_TABLE_DIR}/{table_name}"
    command = f"soilbiome verify {published} --agreement {PUBLISHED_AGREEMENT}"
    rows = _rows(result)
    later = [r["rule"] for r in rows if r["result"] == "after publication"]
    failed = [r["rule"] for r in rows if r["result"] == "FAILED"]
    person = [r["rule"] for r in rows if r["result"] == "needs a person"]
    passed = [r["rule"] for r in rows if r["result"] == "passed"]
    if failed:
        text, cls = f"FAILED: the stamp does not verify ({', '.join(failed)})", "flag"
    elif person:
        text, cls = (f"OK, {len(person)} rule(s) need a person ({', '.join(person)})",
                     "flag warn")
    else:
        text, cls = f"OK: the stamp verifies ({len(passed)} rules passed)", "ok"
    parts = [f'<div class="{cls}"><strong>{esc(text)}</strong>']
    if later:
        parts.append(
            f"<p>{esc(', '.join(later))}: checked after publication. They compare the table "
            "with the run's RO-Crate, which the pipeline writes last (it describes this "
            "report too). In the results folder, run <code>" + esc(command) + "</code>: "
            "it decides them and repeats every other result shown here.</p>")
    else:
        parts.append(f"<p>The same check, in the results folder: <code>{esc(command)}</code></p>")
    parts.append("</div>")
    parts.append(f"<p>Table: <code>{esc(published)}</code></p>")
    parts.append(html_table(pd.DataFrame(rows)))
    statement = result.get("statement")
    if statement:
        parts.append("<h4>What the recipient may do</h4>"
                     '<pre style="white-space: pre-wrap">' + esc(statement) + "</pre>")
    return "".join(parts)
