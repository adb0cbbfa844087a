"""Rules A1..A17: is an agreement valid and internally consistent on its own?"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import re
from pathlib import Path

from soilbiome.sharing import duo
from soilbiome.sharing.agreement import (
    Agreement,
    agreement_problems,
    parse_date,
    read_yaml,
)
from soilbiome.sharing.errors import AgreementError
from soilbiome.sharing.findings import Report
from soilbiome.sharing.keys import keyid_of
from soilbiome.sharing.terms import Terms
from soilbiome.sharing.verdict import attach

IRCC = re.compile(r"^ABSCH-IRCC-([A-Z]{2})-[0-9]{6,7}-[1-9]$")
NAGOYA_IN_FORCE = dt.date(2014, 10, 12)

#: Local Contexts label codes (https://localcontexts.org/labels/).
BC_CODES = frozenset({"bcp", "bcmc", "bccl", "bccv", "bccnv", "bcr", "bccb", "bcoc", "bco", "bcnc"})
TK_CODES = frozenset({
    "tka", "tkcl", "tkf", "tkmc", "tkcv", "tkcr", "tkv", "tknv", "tks", "tkwg", "tkmg", "tkmr",
    "tkwr", "tkcs", "tkss", "tkoc", "tknc", "tkco", "tko", "tkcb",
})

ALL_RULES = tuple(f"A{i}" for i in range(1, 18))


def _commercial_permitted(ag: Agreement) -> tuple[bool, str]:
    """Whether licence or DUO terms permit commercial use, and which one does."""
    if ag.licence.allows_commercial:
        return True, f"licence {ag.spdx} allows commercial use"
    if not (ag.duo_ids & duo.NON_COMMERCIAL):
        return True, "DUO terms lack NCU (DUO:0000046) / NPUNCU (DUO:0000018)"
    return False, ""


def check_agreement(
    agreement: Agreement | str | Path, today: dt.date | None = None
) -> Report:
    """Evaluate rules A1..A17 on an agreement.

    Parameters
    ----------
    agreement : Agreement or path
        A loaded agreement, or a YAML file (schema errors then become A1 findings instead of
        an exception).
    today : datetime.date, optional
        Reference date for A16/A17 (default: today).

    Returns
    -------
    Report
    """
    today = today or dt.date.today()
    if not isinstance(agreement, Agreement):
        path = str(agreement)
        rep = Report(f"agreement {path}")
        try:
            data, raw = read_yaml(path)
        except AgreementError as exc:
            for field, msg in exc.problems:
                rep.error("A1", field, msg)
            return attach(rep, None, "agreement", today)
        problems = agreement_problems(data)
        if problems:
            for field, msg in problems:
                rep.error("A1", field, msg)
            rep.abstain("A2", "$", "rules A2..A17 not evaluated until A1 errors are fixed")
            return attach(rep, None, "agreement", today)
        agreement = Agreement(data, path=path, sha256=hashlib.sha256(raw).hexdigest())
    rep = Report(f"agreement {agreement.path}")
    rep.ok("A1")
    _duo_rules(agreement, rep)
    _licence_rules(agreement, rep)
    _abs_rules(agreement, rep)
    _lc_rules(agreement, rep)
    _validity_rules(agreement, rep, today)
    return attach(rep, Terms.from_agreement(agreement), "agreement", today)


def _duo_rules(ag: Agreement, rep: Report) -> None:
    known = duo.terms()
    if not ag.get("data_use.duoDataUse"):
        rep.na("A2", "the agreement lists no DUO use conditions")
    a2 = True
    perms: list[tuple[int, str]] = []
    for i, entry in enumerate(ag.get("data_use.duoDataUse") or []):
        where = f"data_use.duoDataUse[{i}].id"
        norm = duo.normalise_id(entry.get("id", ""))
        if norm is None or norm not in known:
            rep.error("A2", where, f"{entry.get('id')!r} is not a term of DUO release "
                      f"{duo.DUO_RELEASE}")
            a2 = False
            continue
        term = known[norm]
        if term.kind == "obsolete":
            rep.error("A2", where, f"{norm} is obsolete in DUO; use a current term")
            a2 = False
        elif term.kind == "class":
            rep.error("A2", where, f"{norm} ({term.label}) is an abstract class, not a usable term")
            a2 = False
        if term.kind == "permission":
            perms.append((i, norm))
    version = ag.get("data_use.duo_version")
    if version and version != duo.DUO_RELEASE:
        rep.info("A2", "data_use.duo_version", f"checked against the shipped DUO release "
                 f"{duo.DUO_RELEASE}, not {version}")
    if a2 and ag.get("data_use.duoDataUse"):
        rep.ok("A2")
    if len(perms) == 1:
        rep.ok("A3")
    elif not perms:
        rep.error("A3", "data_use.duoDataUse", "no DUO permission term (one of NRES, GRU, HMB, "
                  "DS, POA is required)")
    else:
        rep.error("A3", f"data_use.duoDataUse[{perms[1][0]}].id", "more than one DUO permission: "
                  + ", ".join(duo.describe(p) for _, p in perms))
    # A4: human-oriented terms on environmental data
    env = all("human" not in str(d.get("mixs_class", "")).lower() for d in ag.get("datasets") or [])
    odd = sorted(ag.duo_ids & duo.HUMAN_ONLY)
    if not env:
        rep.na("A4", "the datasets are not environmental (a human MIxS class)")
    elif odd:
        rep.warning("A4", "data_use.duoDataUse", "human-research DUO term(s) on environmental "
                    "data: "
                    + ", ".join(duo.describe(t) for t in odd))
    else:
        rep.ok("A4")


def _licence_rules(ag: Agreement, rep: Report) -> None:
    lic = ag.licence
    restrictive = sorted(ag.duo_ids & duo.RESTRICTIVE_MODIFIERS)
    onward = ag.get("access.onward_transfer")
    # A5
    if not lic.is_open:
        rep.na("A5", f"licence {lic.expression} is not an open public licence")
    elif restrictive or (onward and onward != "unrestricted"):
        what = [duo.describe(t) for t in restrictive]
        if onward and onward != "unrestricted":
            what.append(f"access.onward_transfer={onward}")
        rep.error("A5", "license.spdx", f"open licence {lic.expression} cannot carry use "
                  f"restrictions ({', '.join(what)}; CC-BY-4.0 s.2(a)(5)(b)): use LicenseRef-... "
                  "or drop the restrictions")
    else:
        rep.ok("A5")
    # A6
    if not lic.has_nc:
        rep.na("A6", f"licence {lic.expression} has no non-commercial (-NC) part")
    elif not (ag.duo_ids & duo.NON_COMMERCIAL):
        rep.warning("A6", "data_use.duoDataUse", f"licence {lic.expression} is non-commercial but "
                    "DUO lacks NCU: add DUO:0000046")
    else:
        rep.ok("A6")
    # A7
    deposit = ag.get("access.insdc_deposit")
    if deposit != "full":
        rep.na("A7", "no full INSDC deposit planned "
               f"(access.insdc_deposit: {deposit or 'not set'})")
    elif restrictive or not lic.is_open:
        rep.error("A7", "access.insdc_deposit", "INSDC archives attach no use restrictions: "
                  "restricted data cannot be deposited in full (use metadata_only)")
    else:
        rep.ok("A7")
    # A11
    if ag.get("abs.permitted_use") == "non_commercial":
        problems = []
        if not (ag.duo_ids & duo.NON_COMMERCIAL):
            problems.append("DUO lacks NCU (DUO:0000046)")
        if lic.allows_commercial:
            problems.append(f"licence {lic.expression} allows commercial use")
        if problems:
            rep.error("A11", "abs.permitted_use", "ABS terms are non-commercial but "
                      + " and ".join(problems))
        else:
            rep.ok("A11")
    else:
        rep.na("A11", "the ABS terms are not limited to non-commercial use "
               f"(abs.permitted_use: {ag.get('abs.permitted_use') or 'not set'})")


def _abs_rules(ag: Agreement, rep: Report) -> None:
    abs_ = ag.get("abs")
    if not abs_:
        rep.abstain("A9", "abs", "no abs section: Nagoya/ABS status not recorded")
        rep.na("A8", "no abs section: no IRCC to check")
        rep.na("A10", "no abs section")
        return
    country = abs_.get("provider_country")
    a8 = True
    if not abs_.get("ircc"):
        rep.na("A8", "no IRCC listed (abs.ircc)")
    for i, ircc in enumerate(abs_.get("ircc") or []):
        m = IRCC.match(ircc)
        if not m:
            rep.error("A8", f"abs.ircc[{i}]", f"{ircc!r} is not an IRCC id "
                      "(ABSCH-IRCC-CC-NNNNNN-N)")
            a8 = False
        elif not country:
            rep.abstain("A8", "abs.provider_country", "missing: cannot check IRCC countries")
            a8 = False
        elif m.group(1) != country:
            rep.error("A8", f"abs.ircc[{i}]", f"IRCC country {m.group(1)} != "
                      f"abs.provider_country {country}")
            a8 = False
    if a8 and abs_.get("ircc"):
        rep.ok("A8")
    applicable = abs_.get("applicable")
    if applicable is not True:
        rep.na("A9", f"ABS does not apply (abs.applicable: {str(applicable).lower()})")
    elif not abs_.get("ircc") and not abs_.get("national_permits"):
        rep.error("A9", "abs", "ABS applies but neither an IRCC nor a national permit is recorded")
    else:
        rep.ok("A9")
    if applicable == "unknown":
        access = parse_date(abs_.get("access_date"))
        if access is None:
            rep.abstain("A10", "abs.access_date", "ABS applicability unknown and no access date")
        elif access >= NAGOYA_IN_FORCE:
            rep.warning("A10", "abs.applicable", f"unknown, but access on {access} is after the "
                        "Nagoya Protocol entered into force (2014-10-12): establish ABS status")
        else:
            rep.ok("A10")
    else:
        rep.na("A10", "the ABS status is known "
               f"(abs.applicable: {str(applicable).lower()})")


def _lc_rules(ag: Agreement, rep: Report) -> None:
    lc = ag.get("local_contexts") or {}
    labels = lc.get("labels") or []
    codes = [str(lab.get("code", "")).lower() for lab in labels]
    if not labels:
        for rule in ("A12", "A13", "A14", "A15"):
            rep.na(rule, "no Local Contexts labels")
        return
    a12 = True
    if labels and not lc.get("project_id"):
        rep.warning("A12", "local_contexts.project_id", "labels listed without a Local Contexts "
                    "Hub project id")
        a12 = False
    for i, lab in enumerate(labels):
        code = str(lab.get("code", "")).lower()
        valid = BC_CODES if lab.get("kind") == "BC" else TK_CODES
        if code not in valid:
            rep.error("A12", f"local_contexts.labels[{i}].code", f"{lab.get('code')!r} is not a "
                      f"Local Contexts {lab.get('kind')} label code")
            a12 = False
    if a12:
        rep.ok("A12")
    onward = ag.get("access.onward_transfer")
    closed = sorted(set(codes) & {"tkss", "tkco"})
    if not closed:
        rep.na("A13", "no secret/sacred (tkss) or community-use-only (tkco) label")
    elif onward != "prohibited":
        rep.error("A13", "access.onward_transfer", f"label(s) {', '.join(closed)} require "
                  f"onward_transfer: prohibited (is {onward!r})")
    else:
        rep.ok("A13")
    nc = sorted(set(codes) & {"bcnc", "tknc"})
    permitted, why = _commercial_permitted(ag)
    if not nc:
        rep.na("A14", "no non-commercial label (bcnc, tknc)")
    elif permitted:
        rep.error("A14", "local_contexts.labels", f"label(s) {', '.join(nc)} forbid commercial "
                  f"use but {why}")
    else:
        rep.ok("A14")
    nv = sorted(set(codes) & {"bccnv", "tknv"})
    if nv:
        rep.warning("A15", "local_contexts.labels", f"consent non-verified label(s) "
                    f"{', '.join(nv)}: steward review needed")
    else:
        rep.ok("A15")


def _validity_rules(ag: Agreement, rep: Report, today: dt.date) -> None:
    status = ag.get("agreement.status")
    until = parse_date(ag.get("agreement.valid_until"))
    start = parse_date(ag.get("agreement.valid_from"))
    a16 = True
    if status != "active":
        rep.error("A16", "agreement.status", f"status is {status!r}, not 'active'")
        a16 = False
    if until and until < today:
        rep.error("A16", "agreement.valid_until", f"expired on {until} (today {today})")
        a16 = False
    if start and start > today:
        rep.info("A16", "agreement.valid_from", f"not yet in force (from {start})")
    if a16:
        rep.ok("A16")
    keys = ag.get("signing.trusted_keys") or []
    if not keys:
        rep.error("A17", "signing.trusted_keys", "no trusted keys: stamps cannot be verified")
        return
    usable = 0
    for i, k in enumerate(keys):
        try:
            raw = base64.b64decode(k["public_key_b64"], validate=True)
        except ValueError:
            raw = b""
        if len(raw) != 32:
            rep.error("A17", f"signing.trusted_keys[{i}].public_key_b64",
                      "not a 32-byte Ed25519 public key")
            continue
        if keyid_of(raw) != k["keyid"]:
            rep.error("A17", f"signing.trusted_keys[{i}].keyid", "does not match the public key "
                      f"(expected {keyid_of(raw)})")
            continue
        k_until = parse_date(k.get("valid_until"))
        if k["keyid"] in (ag.get("signing.revoked_keyids") or []):
            continue
        if k_until is None or k_until >= today:
            usable += 1
    if not usable:
        rep.error("A17", "signing.trusted_keys", "all trusted keys are expired, revoked or invalid")
    elif not rep.rules().intersection({"A17"}):
        rep.ok("A17")
    signers = set(ag.get("signing.required_signers") or [])
    key_parties = {k.get("party") for k in keys}
    for party in sorted(signers - key_parties):
        rep.error("A17", "signing.required_signers",
                  f"required signer {party!r} has no trusted key")
