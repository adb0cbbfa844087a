"""Rules B0..B19: does a data-use request satisfy an agreement (DUO-style matching)?

A rule whose DUO term or field is absent from the agreement does not apply (status "not
applicable", never "passed"). A rule that applies but needs a request field that is missing
ABSTAINs (never a silent pass): "needs a person"; B19 then routes the request to a human.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from soilbiome.sharing import duo
from soilbiome.sharing.agreement import Agreement, dig, load_agreement, load_request, parse_date
from soilbiome.sharing.findings import Report, Severity
from soilbiome.sharing.terms import Terms
from soilbiome.sharing.verdict import attach

ALL_RULES = tuple(f"B{i}" for i in range(0, 20))


def _add_months(day: dt.date, months: int) -> dt.date:
    y, m = divmod(day.month - 1 + months, 12)
    year, month = day.year + y, m + 1
    for d in (day.day, 30, 29, 28):
        try:
            return dt.date(year, month, d)
        except ValueError:
            continue
    raise ValueError(day)


def _requester_party(ag: Agreement, req: dict[str, Any]) -> str | None:
    """The agreement party the requester belongs to (by ``requester.party`` or ROR)."""
    requester = req.get("requester") or {}
    if requester.get("party") in ag.parties:
        return requester["party"]
    ror = requester.get("institution_ror")
    if ror:
        for pid, p in ag.parties.items():
            if p.get("ror") == ror:
                return pid
    return None


def check_request(
    request: dict[str, Any] | str | Path,
    agreement: Agreement | str | Path,
    today: dt.date | None = None,
) -> Report:
    """Evaluate rules B0..B19 for a data-use request against an agreement.

    Parameters
    ----------
    request : dict or path
        The ``request`` mapping, or a request YAML file.
    agreement : Agreement or path
    today : datetime.date, optional
        Reference date for B9 and B15 (default: today).

    Returns
    -------
    Report
    """
    today = today or dt.date.today()
    req_path = "<request>"
    if not isinstance(request, dict):
        req_path = str(request)
        request = load_request(request)
    elif "request" in request and "agreement_id" not in request:
        request = request["request"]
    ag = agreement if isinstance(agreement, Agreement) else load_agreement(agreement)
    rep = Report(f"request {req_path} against agreement {ag.path}")
    req = request
    requester = req.get("requester") or {}
    purpose = req.get("purpose") or {}
    ids = ag.duo_ids

    def get(field: str) -> Any:
        return dig(req, field)

    def need(rule: str, *fields: str) -> bool:
        missing = [f for f in fields if get(f) is None]
        if missing:
            rep.abstain(rule, ", ".join(f"request.{f}" for f in missing),
                        "missing: rule cannot be evaluated")
            return False
        return True

    # B0: the request is about this agreement and its datasets
    b0 = True
    if req.get("agreement_id") != ag.id:
        rep.error("B0", "request.agreement_id", f"{req.get('agreement_id')!r} is not this "
                  f"agreement ({ag.id})")
        b0 = False
    known = {d["id"] for d in ag.data.get("datasets") or []}
    unknown = [d for d in req.get("datasets") or [] if d not in known]
    if unknown:
        rep.error("B0", "request.datasets", f"not covered by the agreement: {', '.join(unknown)}")
        b0 = False
    if b0:
        rep.ok("B0")

    # B1: GRU needs a research purpose
    perm = ag.permission
    if perm == duo.GRU:
        if need("B1", "purpose.research"):
            if purpose["research"] is False:
                rep.error("B1", "request.purpose.research", "GRU allows research use only")
            else:
                rep.ok("B1")
    elif perm in (duo.HMB, duo.DS, duo.POA):
        rep.abstain("B1", "data_use", f"permission {duo.describe(perm)}: purpose matching needs "
                    "a human")
    else:
        rep.na("B1", f"permission {duo.describe(perm) if perm else 'none'}: no purpose to match")

    commercial = purpose.get("commercial")
    for_profit = requester.get("org_type") == "for_profit" if requester.get("org_type") else None
    # B2 NCU
    if duo.NCU in ids:
        if need("B2", "purpose.commercial"):
            if commercial:
                rep.error("B2", "request.purpose.commercial", "non-commercial use only "
                          "(DUO:0000046) but the request is commercial")
            else:
                rep.ok("B2")
    else:
        rep.na("B2", "no DUO:0000046 (non-commercial use only)")
    # B3 NPU
    if duo.NPU in ids:
        if need("B3", "requester.org_type"):
            if for_profit:
                rep.error("B3", "request.requester.org_type", "not-for-profit organisations only "
                          "(DUO:0000045)")
            else:
                rep.ok("B3")
    else:
        rep.na("B3", "no DUO:0000045 (not-for-profit use only)")
    # B4 NPUNCU
    if duo.NPUNCU in ids:
        if need("B4", "purpose.commercial", "requester.org_type"):
            if commercial or for_profit:
                rep.error("B4", "request", "not-for-profit, non-commercial use only "
                          "(DUO:0000018)")
            else:
                rep.ok("B4")
    else:
        rep.na("B4", "no DUO:0000018 (not-for-profit, non-commercial use only)")
    # B5 GS
    regions = ag.allowed_regions
    if duo.GS in ids or ag.get("access.allowed_regions"):
        if need("B5", "requester.country", "processing_countries"):
            asked = {requester["country"], *req["processing_countries"]}
            outside = sorted(asked - (regions or set()))
            if outside:
                rep.error("B5", "request.processing_countries", f"outside the allowed regions "
                          f"{sorted(regions or [])}: {', '.join(outside)}")
            else:
                rep.ok("B5")
    else:
        rep.na("B5", "no geographical restriction (DUO:0000022, access.allowed_regions)")
    # B6 IS
    if duo.IS in ids:
        allowed = set(ag.get("access.allowed_recipients.institutions_ror") or [])
        allowed |= set(ag.duo(duo.IS).modifier_ids)
        if need("B6", "requester.institution_ror"):
            if requester["institution_ror"] not in allowed:
                rep.error("B6", "request.requester.institution_ror", "institution not approved "
                          "(DUO:0000028)")
            else:
                rep.ok("B6")
    else:
        rep.na("B6", "no DUO:0000028 (institution-specific restriction)")
    # B7 US
    if duo.US in ids:
        allowed = set(ag.get("access.allowed_recipients.users_orcid") or [])
        allowed |= set(ag.duo(duo.US).modifier_ids)
        if need("B7", "requester.orcid"):
            if requester["orcid"] not in allowed:
                rep.error("B7", "request.requester.orcid", "user not approved (DUO:0000026)")
            else:
                rep.ok("B7")
    else:
        rep.na("B7", "no DUO:0000026 (user-specific restriction)")
    # B8 PS
    if duo.PS in ids:
        if need("B8", "project_id"):
            if req["project_id"] not in ag.duo(duo.PS).modifier_ids:
                rep.error("B8", "request.project_id", f"project {req['project_id']!r} not "
                          "approved (DUO:0000027)")
            else:
                rep.ok("B8")
    else:
        rep.na("B8", "no DUO:0000027 (project-specific restriction)")
    # B9 TS and agreement validity
    b9 = True
    until = parse_date(ag.get("agreement.valid_until"))
    if until and today > until:
        rep.error("B9", "agreement.valid_until", f"agreement expired on {until}: duty "
                  "delete_copies applies")
        b9 = False
    ts = ag.duo(duo.TS)
    if ts and ts.entry.get("months"):
        granted = parse_date(req.get("access_granted"))
        if granted is not None:
            expiry = _add_months(granted, int(ts.entry["months"]))
            if today > expiry:
                rep.error("B9", "request.access_granted", f"time limit of {ts.entry['months']} "
                          f"months expired on {expiry}: duty delete_copies applies")
                b9 = False
    if not until and not (ts and ts.entry.get("months")):
        rep.na("B9", "no end date (agreement.valid_until) and no DUO:0000025 time limit")
    elif b9:
        rep.ok("B9")
    # B10 MOR
    mor = ag.duo(duo.MOR)
    if mor and mor.entry.get("until"):
        if need("B10", "planned_publication_date"):
            planned = parse_date(req["planned_publication_date"])
            until_mor = parse_date(mor.entry["until"])
            if planned and until_mor and planned < until_mor:
                rep.error("B10", "request.planned_publication_date", f"{planned} is before the "
                          f"publication moratorium ends ({until_mor})")
            else:
                rep.ok("B10")
    else:
        rep.na("B10", "no DUO:0000024 publication moratorium")
    # B11 COL
    col = ag.duo(duo.COL)
    if col:
        wanted = {m for m in col.modifier_ids if "orcid.org" in m}
        if not wanted:
            rep.abstain("B11", f"data_use.duoDataUse[{col.index}].modifiers",
                        "collaboration required but no collaborator ORCID listed")
        elif need("B11", "collaborators_orcid"):
            if not wanted & set(req["collaborators_orcid"]):
                rep.error("B11", "request.collaborators_orcid", "none of the required "
                          "collaborators " + ", ".join(sorted(wanted)) + " is listed")
            else:
                rep.ok("B11")
    else:
        rep.na("B11", "no DUO:0000020 (collaboration required)")
    # B12 IRB
    if duo.IRB in ids:
        if not req.get("ethics_approval_ref"):
            rep.error("B12", "request.ethics_approval_ref", "ethics approval required "
                      "(DUO:0000021)")
        else:
            rep.ok("B12")
    else:
        rep.na("B12", "no DUO:0000021 (ethics approval required)")
    # B13 NMDS
    if duo.NMDS in ids:
        if need("B13", "purpose.methods_development"):
            if purpose["methods_development"]:
                rep.error("B13", "request.purpose.methods_development", "methods development "
                          "is excluded (DUO:0000015)")
            else:
                rep.ok("B13")
    else:
        rep.na("B13", "no DUO:0000015 (no methods development)")
    # B14 duties
    duties = [d["id"] for d in ag.get("duties") or []]
    if duties:
        if need("B14", "accepted_duties"):
            missing = [d for d in duties if d not in req["accepted_duties"]]
            if missing:
                rep.error("B14", "request.accepted_duties", "duties not accepted: "
                          + ", ".join(missing))
            else:
                rep.ok("B14")
    else:
        rep.na("B14", "the agreement lists no duties")
    # B15 embargo
    party = _requester_party(ag, req)
    embargo = parse_date(ag.get("access.embargo_until"))
    allowed_parties = set(ag.get("access.allowed_recipients.parties") or [])
    if embargo and today < embargo:
        if party is None and not requester:
            rep.abstain("B15", "request.requester", "missing: cannot tell if requester is a party")
        elif party not in allowed_parties:
            rep.error("B15", "access.embargo_until", f"embargoed until {embargo}: only parties "
                      f"{sorted(allowed_parties)} may receive the data")
        else:
            rep.ok("B15")
    elif embargo:
        rep.na("B15", f"the embargo ended on {embargo} (today {today})")
    else:
        rep.na("B15", "no embargo (access.embargo_until)")
    # B16 org types
    org_types = ag.get("access.allowed_recipients.org_types")
    if org_types:
        if need("B16", "requester.org_type"):
            if requester["org_type"] not in org_types:
                rep.error("B16", "request.requester.org_type", f"{requester['org_type']} is not "
                          f"an allowed organisation type ({', '.join(org_types)})")
            else:
                rep.ok("B16")
    else:
        rep.na("B16", "no restriction on kinds of organisation "
               "(access.allowed_recipients.org_types)")
    # B17 ABS commercial
    if ag.get("abs.permitted_use") == "non_commercial":
        if need("B17", "purpose.commercial"):
            if commercial:
                rep.error("B17", "request.purpose.commercial", "ABS permits non-commercial use "
                          "only: commercial use needs new PIC/MAT with the provider")
            else:
                rep.ok("B17")
    else:
        rep.na("B17", "the ABS terms are not limited to non-commercial use")
    # B18 ABS third-party transfer
    transfer = ag.get("abs.third_party_transfer")
    if transfer not in ("prohibited", "requires_consent", "parties_only"):
        rep.na("B18", f"ABS third-party transfer is not restricted "
               f"(abs.third_party_transfer: {transfer or 'not set'})")
    elif party is not None:
        rep.ok("B18")
    else:
        if not requester:
            rep.abstain("B18", "request.requester", "missing: cannot tell if requester is a party")
        elif transfer == "requires_consent" and req.get("abs_consent_ref"):
            rep.warning("B18", "request.abs_consent_ref", "third-party transfer requires the "
                        "provider's consent: verify the consent evidence")
        else:
            rep.error("B18", "abs.third_party_transfer", f"{transfer}: the requester is not a "
                      "party to the agreement")
    # B19: route abstentions to a human
    abstained = sorted({f.rule for f in rep.findings if f.severity == Severity.ABSTAIN},
                       key=lambda r: int(r[1:]))
    if not abstained:
        rep.ok("B19")  # every rule that applies was decided
    elif perm == duo.NRES and not ag.modifiers:
        rep.na("B19", "the data carry no DUO restriction (NRES without modifiers): no data "
               "access committee needed; the undecided rules above still need a person")
    else:
        rep.abstain("B19", "request", "rule(s) " + ", ".join(abstained) + " could not be "
                    "evaluated: route this request to a data access committee / steward")
    return attach(rep, Terms.from_agreement(ag), "request", today)
