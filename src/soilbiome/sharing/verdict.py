"""What the recipient may do: one plain-language statement built from typed :class:`Terms`.

Every ``soilbiome check`` and ``soilbiome verify`` ends with this statement (text) and its
structured form (``may`` in ``--json``): the allowed use with its DUO labels, whether commercial
use is allowed, who may use the data and where, until when, how it may be passed on, and every
duty (credit, co-authorship, return of derived data, deletion, Local Contexts labels, ABS
permits). Only the terms are read: a field the agreement does not fill is said to be not stated,
never guessed.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from soilbiome.sharing import duo, spdx
from soilbiome.sharing.agreement import parse_date
from soilbiome.sharing.findings import Report, Status
from soilbiome.sharing.lc_labels import NOTICES, label_text
from soilbiome.sharing.terms import Terms

_ACTIONS = {
    "attribute": "give credit as required",
    "publish_results": "publish the results",
    "return_derived_data": "return derived data",
    "involve_collaborator": "involve the named collaborator",
    "notify_provider": "notify the provider",
    "delete_copies": "delete every copy",
    "share_benefits": "share benefits with the provider",
    "obtain_ethics_approval": "obtain ethics approval",
    "report_use": "report the use to the provider / community",
}
_TRIGGERS = {
    "on_any_use": "whenever the data are used",
    "on_project_end": "when the project ends",
    "on_publication": "on publication",
    "on_access": "from the start of access",
    "before_commercial_use": "before any commercial use",
    "on_expiry": "when the agreement or the time limit ends",
}
_ONWARD = {
    "prohibited": "may not be passed on to anyone",
    "parties_only": "may be passed on only to the agreement's parties",
    "same_terms": "may be passed on to others who accept these same terms",
    "unrestricted": "may be passed on freely",
}
_TRANSFER = {
    "prohibited": "prohibited",
    "requires_consent": "only with the provider's consent",
    "parties_only": "only to the agreement's parties",
    "allowed": "allowed",
}
_NOT_STATED = "not stated in the terms"


def duo_text(term_id: str) -> str:
    """``"DUO:0000042 general research use"`` (the label of the shipped DUO release)."""
    term = duo.terms().get(term_id)
    return f"{term_id} {term.label}" if term else f"{term_id} (not a term of DUO {duo.DUO_RELEASE})"


def _date(value: str | None, today: dt.date | None) -> str:
    day = parse_date(value)
    if day is None or today is None:
        return str(value)
    return f"{day} ({'over' if day <= today else 'in force on ' + str(today)})"


def _commercial(t: Terms) -> tuple[bool | None, list[str]]:
    """Whether commercial use is allowed, and why; None when the terms leave it open."""
    no: list[str] = []
    try:
        lic = spdx.parse(t.license)
    except spdx.LicenceError:
        lic = None
    if lic is not None and lic.has_nc:
        no.append(f"licence {lic.expression} is non-commercial")
    no += [duo_text(m) for m in t.duo_modifiers if m in duo.NON_COMMERCIAL]
    abs_ = t.abs or {}
    if abs_.get("permitted_use") == "non_commercial":
        no.append("the ABS (Nagoya) permit allows non-commercial use only")
    elif abs_.get("permitted_use") == "commercial_with_renegotiation":
        no.append("the ABS (Nagoya) permit needs new terms with the provider first")
    codes = {str(lab.get("code", "")).lower() for lab in (t.local_contexts or {}).get("labels", [])}
    no += [f"Local Contexts label {label_text(c)[0]}" for c in sorted(codes & {"bcnc", "tknc"})]
    if no:
        return False, no
    if lic is not None and lic.allows_commercial:
        return True, [f"licence {lic.expression} allows it and no term forbids it"]
    return None, [f"the licence {t.license} decides: read its text or ask the provider"]


def _duties(t: Terms) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    credit = (t.attribution or {}).get("credit_text")
    for d in t.duties:
        action = d.get("action", "")
        text = _ACTIONS.get(action, action.replace("_", " "))
        if action == "attribute" and credit:
            text = f'give credit: "{credit}"'
        elif action == "return_derived_data" and t.return_to:
            text += " to " + ", ".join(t.return_to)
        elif action == "involve_collaborator" and t.collaborators:
            text = "involve the collaborator(s) " + ", ".join(t.collaborators)
        when = _TRIGGERS.get(d.get("trigger", ""), str(d.get("trigger", "")).replace("_", " "))
        if d.get("due_months"):
            when = f"{when}, within {d['due_months']} months".lstrip(", ")
        source = d.get("source", "")
        source_text = duo_text(source) if duo.normalise_id(source) else source
        out.append({"id": d.get("id"), "action": action, "text": text, "when": when,
                    "source": source_text})
    listed = {d["action"] for d in out}
    att = t.attribution or {}
    if "attribute" not in listed and (att.get("required") or credit):
        out.insert(0, {"id": None, "action": "attribute",
                       "text": f'give credit: "{credit}"' if credit else
                       "give credit (no credit text stated)",
                       "when": _TRIGGERS["on_any_use"], "source": "attribution"})
    for b in (t.abs or {}).get("benefit_sharing") or []:
        kind = str(b.get("type", "other")).replace("_", "-")
        out.append({"id": None, "action": f"benefit_sharing:{b.get('type', 'other')}",
                    "text": f"{kind}: {b.get('description', '')}".rstrip(": "),
                    "when": "", "source": "ABS benefit sharing"})
    if (t.abs or {}).get("change_of_intent_notice") and "notify_provider" not in listed:
        out.append({"id": None, "action": "notify_provider",
                    "text": "notify the provider", "when": _TRIGGERS["before_commercial_use"],
                    "source": "ABS change-of-intent notice"})
    return out


def describe(terms: Terms, today: dt.date | None = None) -> dict[str, Any]:
    """The structured statement (``may`` in ``--json``) of what the recipient may do.

    Parameters
    ----------
    terms : Terms
        Terms of an agreement (:meth:`Terms.from_agreement`), a stamp or a merge.
    today : datetime.date, optional
        Marks dates as over or in force.
    """
    t = terms
    not_stated: list[str] = []
    perm = t.duo_permission
    if not perm:
        not_stated.append("permitted use (DUO permission)")
    conditions = []
    for m in t.duo_modifiers:
        detail = ""
        if m == duo.GS and t.regions:
            detail = ", ".join(t.regions)
        elif m == duo.MOR and t.moratorium_until:
            detail = f"until {t.moratorium_until}"
        elif m == duo.TS and t.use_months:
            detail = f"{t.use_months} months"
        elif m == duo.COL and t.collaborators:
            detail = ", ".join(t.collaborators)
        elif m == duo.RTN and t.return_to:
            detail = ", ".join(t.return_to)
        elif m == duo.PS and t.projects:
            detail = ", ".join(t.projects)
        elif m == duo.US and t.users:
            detail = ", ".join(t.users)
        elif m == duo.IS and t.institutions:
            detail = ", ".join(t.institutions)
        term = duo.terms().get(m)
        conditions.append({"id": m, "label": term.label if term else None, "detail": detail})
    allowed, why = _commercial(t)
    who = {"org_types": t.org_types, "institutions": t.institutions, "users": t.users,
           "projects": t.projects}
    abs_ = t.abs or {}
    until = {"valid_from": t.valid_from, "valid_until": t.valid_until,
             "embargo_until": t.embargo_until, "moratorium_until": t.moratorium_until,
             "use_months": t.use_months}
    if not t.valid_until:
        not_stated.append("end date of the agreement")
    if not t.onward_transfer:
        not_stated.append("onward transfer")
    att = t.attribution or {}
    if not att.get("credit_text"):
        not_stated.append("credit text")
    if abs_.get("applicable") not in (True, False):
        not_stated.append("whether Nagoya/ABS applies")
    lc = t.local_contexts or {}
    labels = []
    for lab in lc.get("labels") or []:
        name, meaning = label_text(lab.get("code", ""))
        labels.append({"code": lab.get("code"), "name": lab.get("name") or name,
                       "meaning": meaning, "community": lab.get("community")})
    notices = [{"type": n, "meaning": NOTICES.get(n, n)} for n in lc.get("notices") or []]
    return {
        "agreement_id": t.agreement_id,
        "licence": {"spdx": t.license, "derived_outputs": t.derived_outputs_license},
        "permitted_use": ({"id": perm, "label": getattr(duo.terms().get(perm), "label", None)}
                          if perm else None),
        "conditions": conditions,
        "commercial_use": {"allowed": allowed, "why": why},
        "who": who,
        "where": {"regions": t.regions, "provider_country": abs_.get("provider_country")
                  or (abs_.get("provider_countries") or [None])[0]},
        "until": until,
        "passing_on": {"onward_transfer": t.onward_transfer,
                       "abs_third_party_transfer": abs_.get("third_party_transfer")},
        "duties": _duties(t),
        "credit": {"required": bool(att.get("required")), "credit_text": att.get("credit_text"),
                   "cite": att.get("cite") or [], "dri_orcids": att.get("dri_orcids") or []},
        "local_contexts": {"project_id": lc.get("project_id"), "labels": labels,
                           "notices": notices},
        "abs": {"applicable": abs_.get("applicable"), "ircc": abs_.get("ircc") or [],
                "national_permits": abs_.get("national_permits") or [],
                "pic": abs_.get("pic"), "mat": abs_.get("mat"),
                "permitted_use": abs_.get("permitted_use")},
        "not_stated": not_stated,
        "today": today.isoformat() if today else None,
    }


def _lines(d: dict[str, Any], today: dt.date | None) -> list[str]:
    out = []
    perm = d["permitted_use"]
    use = f"{perm['id']} {perm['label']}" if perm else f"permitted use {_NOT_STATED}"
    out.append(f"Use: {use}.")
    if d["conditions"]:
        out.append("Conditions: " + "; ".join(
            f"{c['id']} {c['label']}" + (f" ({c['detail']})" if c["detail"] else "")
            for c in d["conditions"]) + ".")
    else:
        out.append("Conditions: none (no DUO modifier).")
    lic = d["licence"]
    derived = lic["derived_outputs"]
    out.append(f"Licence: {lic['spdx']}" + (f"; derived outputs under {derived}"
                                             if derived and derived != lic["spdx"] else "")
               + ".")
    com = d["commercial_use"]
    verdict = {True: "yes", False: "no", None: "not stated"}[com["allowed"]]
    out.append(f"Commercial use: {verdict} ({'; '.join(com['why'])}).")
    who = d["who"]
    parts = []
    if who["org_types"]:
        parts.append("organisations of kind " + ", ".join(who["org_types"]))
    for key, name in (("institutions", "institutions"), ("users", "people"),
                      ("projects", "projects")):
        if who[key]:
            parts.append(f"only the {name} " + ", ".join(who[key]))
    out.append("Who: " + ("; ".join(parts) if parts else
                          "no restriction on who may use the data is stated") + ".")
    where = d["where"]
    w = ("held and processed only in " + ", ".join(where["regions"]) if where["regions"]
         else "no geographic restriction is stated")
    if where["provider_country"]:
        w += f"; the genetic resources come from {where['provider_country']}"
    out.append(f"Where: {w}.")
    u = d["until"]
    dates = []
    if u["valid_from"] or u["valid_until"]:
        dates.append(f"agreement valid from {u['valid_from'] or '(not stated)'} to "
                     + (_date(u["valid_until"], today) if u["valid_until"] else
                        "(no end date stated)"))
    else:
        dates.append(f"agreement dates {_NOT_STATED}")
    if u["embargo_until"]:
        dates.append(f"embargo until {_date(u['embargo_until'], today)}: no distribution "
                     "beyond the parties before then")
    if u["moratorium_until"]:
        dates.append(f"publication moratorium until {_date(u['moratorium_until'], today)}: "
                     "no publication before then")
    if u["use_months"]:
        dates.append(f"use limited to {u['use_months']} months from access")
    out.append("Until when: " + "; ".join(dates) + ".")
    p = d["passing_on"]
    onward = _ONWARD.get(p["onward_transfer"] or "", f"onward transfer {_NOT_STATED}")
    if p["abs_third_party_transfer"]:
        onward += ("; ABS third-party transfer: "
                   + _TRANSFER.get(p["abs_third_party_transfer"], p["abs_third_party_transfer"]))
    out.append(f"Passing on: the data {onward}." if p["onward_transfer"] else
               f"Passing on: {onward}.")
    credit = d["credit"]
    if credit["credit_text"]:
        c = f'print "{credit["credit_text"]}"'
    else:
        c = f"credit text {_NOT_STATED}" + (" (credit is required)" if credit["required"] else "")
    if credit["cite"]:
        c += "; cite " + ", ".join(credit["cite"])
    out.append(f"Credit: {c}.")
    if d["duties"]:
        out.append("Duties:")
        for duty in d["duties"]:
            tail = ", ".join(x for x in (duty["when"], f"from {duty['source']}") if x)
            out.append(f"  - {duty['text']} ({tail})")
    else:
        out.append(f"Duties: none {_NOT_STATED[4:]}.")
    lc = d["local_contexts"]
    if lc["labels"] or lc["notices"]:
        out.append("Local Contexts labels:")
        for lab in lc["labels"]:
            who_ = f", {lab['community']}" if lab["community"] else ""
            out.append(f"  - {lab['name']} ({lab['code']}{who_}): {lab['meaning']}")
        for n in lc["notices"]:
            out.append(f"  - {n['meaning']}")
    a = d["abs"]
    if a["applicable"] is True:
        refs = [f"IRCC {', '.join(a['ircc'])}" if a["ircc"] else "",
                f"national permit {', '.join(a['national_permits'])}"
                if a["national_permits"] else "",
                f"PIC {a['pic']}" if a["pic"] else "", f"MAT {a['mat']}" if a["mat"] else ""]
        out.append("Nagoya/ABS: applies; " + ("; ".join(r for r in refs if r) or
                                              "no permit reference stated") + ".")
    elif a["applicable"] is False:
        out.append("Nagoya/ABS: does not apply.")
    else:
        out.append(f"Nagoya/ABS: whether it applies is {_NOT_STATED}.")
    if d["not_stated"]:
        out.append("Not stated in the terms: " + "; ".join(d["not_stated"]) + ".")
    return out


def plain_statement(terms: Terms, today: dt.date | None = None, lead: str = "") -> str:
    """The statement of what the recipient may do, as text (one block, one fact a line).

    Parameters
    ----------
    terms : Terms
    today : datetime.date, optional
        Marks dates as over or in force.
    lead : str
        The opening sentence (what the check concluded); see :func:`attach`.
    """
    head = "What the recipient may do" + (f": {lead}" if lead else ":")
    return "\n".join([head] + ["  " + line for line in _lines(describe(terms, today), today)])


def _lead(report: Report, kind: str) -> str:
    failed = ", ".join(report.with_status(Status.FAILED))
    person = ", ".join(report.with_status(Status.NEEDS_PERSON))
    if kind == "agreement":
        if report.has_errors:
            return (f"this agreement has errors ({failed}); fix them before sharing data "
                    "under it. As written, it says:")
        return "under this agreement a recipient may use the data as follows."
    if kind == "request":
        if report.has_errors:
            return (f"this request may not be granted as it stands ({failed} failed). Under "
                    "the agreement, a recipient may use the data as follows:")
        if person:
            return (f"a person must decide this request ({person}). If it is granted, the "
                    "recipient may use the data as follows:")
        return "the request fits the agreement; the recipient may use the data as follows."
    if report.has_errors:
        return (f"do not rely on this table's licence stamp ({failed} failed); ask the "
                "provider for a correctly stamped copy. The agreement given says:")
    if person:
        return (f"the stamp verifies, but {person} need a person. Under the agreement the "
                "recipient may use the table as follows:")
    return "the stamp verifies; under its agreement the recipient may use the table as follows."


def attach(report: Report, terms: Terms | None, kind: str, today: dt.date | None = None,
           *, refused: str = "") -> Report:
    """Put the statement of what the recipient may do on ``report`` (text and ``may``).

    Parameters
    ----------
    report : Report
        The finished check (its statuses choose the opening sentence).
    terms : Terms or None
        None when no terms could be read (e.g. an agreement that fails A1).
    kind : str
        ``agreement``, ``request``, ``verify`` or ``merge``.
    refused : str
        For a refused merge: the reason, said instead of combined terms.
    """
    if refused:
        report.set_statement(
            "What the recipient may do: nothing with a merged table; these tables may not be "
            f"merged ({refused}). Each input keeps its own terms (check each with soilbiome "
            "verify).", {"allowed": False, "reason": refused})
        return report
    if terms is None:
        report.set_statement("What the recipient may do: unknown; the terms could not be read "
                             "(see the failed rules above).", {"allowed": None})
        return report
    lead = _lead(report, kind) if kind != "merge" else (
        "the merged table carries the combined terms of its inputs; its recipient may use it "
        "as follows.")
    report.set_statement(plain_statement(terms, today, lead), describe(terms, today))
    return report
