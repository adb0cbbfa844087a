"""The one date check of agreement terms at use time (verify, check merge, compare ...).

An agreement is checked on its own by rule A16 (``check agreement``); the commands that *use*
a stamped table must also refuse when, on the reference date, the agreement has expired or is
not yet in force, or the data are still under embargo. They all call :func:`date_findings`
(or :func:`add_date_findings`) with the terms they act under -- the agreement's, or the
signed stamp's when no agreement is given -- so every command says the same thing.

Rules reported (ids of ``docs/sharing.md``): A16 validity window (``agreement.valid_from``,
``agreement.valid_until``), B15 embargo (``access.embargo_until``). A publication moratorium
(DUO MOR, ``moratorium_until``) restricts publishing, not use: it is reported as INFO.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from soilbiome.sharing.agreement import Agreement, parse_date
from soilbiome.sharing.findings import Finding, Report, Severity
from soilbiome.sharing.merge import Terms


def date_findings(
    terms: Terms | Agreement | dict[str, Any], today: dt.date | None = None
) -> list[Finding]:
    """Date problems of ``terms`` on ``today`` (default: the real today).

    Parameters
    ----------
    terms : Terms, Agreement or dict
        An agreement, its :class:`Terms`, or a stamp's ``terms`` mapping.
    today : datetime.date, optional
        Reference date (``--today``).

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
        out.append(Finding("C11", Severity.INFO, "duo MOR until",
                           f"publication moratorium until {moratorium} (today {today})"))
    return out


def add_date_findings(
    rep: Report,
    terms: Terms | Agreement | dict[str, Any],
    today: dt.date | None = None,
    *,
    where: str = "",
) -> bool:
    """Add :func:`date_findings` to ``rep`` (``where`` prefixes each field); True if no ERROR."""
    found = date_findings(terms, today)
    for f in found:
        rep.add(f.rule, f.severity, f"{where}: {f.where}" if where else f.where, f.reason)
    return not any(f.severity == Severity.ERROR for f in found)
