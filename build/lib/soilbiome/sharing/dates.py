"""The one date check of agreement terms at use time (verify, check merge, compare ...).

An agreement is checked on its own by rule A16 (``check agreement``); the commands that *use*
a stamped table must also refuse when, on the reference date, the agreement has expired or is
not yet in force, or the data are still under embargo. They all call :func:`date_findings`
(or :func:`add_date_findings`) with the terms they act under -- the agreement's, or the
signed stamp's when no agreement is given -- so every command says the same thing.

Rules reported (ids of ``docs/sharing.md``): A16 validity window (``agreement.valid_from``,
``agreement.valid_until``), B15 embargo (``access.embargo_until``) and C11 publication
moratorium (DUO:0000024 MOR ``until``). A moratorium restricts *publishing*, not use: where the
table is only used (``verify``) it is reported as INFO; where a new table is made from it to be
shared onward (``check merge``, ``compare``: ``merging=True``) a moratorium that is not over is
an ERROR -- the merged table would publish the data before the provider's date.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from soilbiome.sharing.agreement import Agreement, parse_date
from soilbiome.sharing.findings import Finding, Report, Severity
from soilbiome.sharing.terms import Terms


def date_findings(
    terms: Terms | Agreement | dict[str, Any],
    today: dt.date | None = None,
    *,
    merging: bool = False,
) -> list[Finding]:
    """Date problems of ``terms`` on ``today`` (default: the real today).

    Parameters
    ----------
    terms : Terms, Agreement or dict
        An agreement, its :class:`Terms`, or a stamp's ``terms`` mapping.
    today : datetime.date, optional
        Reference date (``--today``).
    merging : bool, default False
        The data are being merged into an output shared onward (``check merge``,
        ``compare``): a publication moratorium not over is an ERROR (C11), not an INFO.

    Returns
    -------
    list of Finding
        ``where`` is the agreement field; empty when every date allows use on ``today``.
    """
    today = today or dt.date.today()
    valid_from = None
    if isinstance(terms, Agreement):
        valid_from = terms.get("agreement.valid_from")
        terms = Terms.from_agreement(terms)
    elif isinstance(terms, dict):
        terms = Terms.from_dict({"agreement_id": "", "license": "", **terms}, source="stamp")
    out: list[Finding] = []
    label = f"agreement {terms.agreement_id}" if terms.agreement_id else "the agreement"
    until = parse_date(terms.valid_until)
    if until and until < today:
        out.append(Finding("A16", Severity.ERROR, "agreement.valid_until",
                           f"{label} expired on {until} (today {today}): the data may no "
                           "longer be used under it"))
    start = parse_date(valid_from)
    if start and start > today:
        out.append(Finding("A16", Severity.ERROR, "agreement.valid_from",
                           f"{label} is not in force before {start} (today {today})"))
    embargo = parse_date(terms.embargo_until)
    if embargo and embargo > today:
        out.append(Finding("B15", Severity.ERROR, "access.embargo_until",
                           f"under embargo until {embargo} (today {today}): not to be "
                           "distributed beyond the agreement's parties before then"))
    moratorium = parse_date(terms.moratorium_until)
    if moratorium and moratorium > today:
        if merging:
            out.append(Finding("C11", Severity.ERROR, "duo MOR until",
                               f"publication moratorium (DUO:0000024) until {moratorium} "
                               f"(today {today}): the data may not be merged into an output "
                               "shared onward before then"))
        else:
            out.append(Finding("C11", Severity.INFO, "duo MOR until",
                               f"publication moratorium until {moratorium} (today {today}): "
                               "the data may be used, not published, before then"))
    return out


def add_date_findings(
    rep: Report,
    terms: Terms | Agreement | dict[str, Any],
    today: dt.date | None = None,
    *,
    where: str = "",
    merging: bool = False,
) -> bool:
    """Add :func:`date_findings` to ``rep`` (``where`` prefixes each field); True if no ERROR."""
    found = date_findings(terms, today, merging=merging)
    for f in found:
        rep.add(f.rule, f.severity, f"{where}: {f.where}" if where else f.where, f.reason)
    return not any(f.severity == Severity.ERROR for f in found)
