"""May this table go to GBIF? The sharing rules of a public release, in plain words.

GBIF publishes every record openly, worldwide and for any purpose its licence allows, and it
accepts three licences only (CC0 1.0, CC BY 4.0, CC BY-NC 4.0;
https://www.gbif.org/terms/licences). So an export is refused when:

====  ==========================================================================================
G1    the table's stamp does not verify against the agreement (rules D1-D6: stamp present,
      signature by a trusted key, file unchanged since stamping, embedded stamp = signed one,
      made under this agreement, samples covered by it);
G2    the stamp's licence, or its licence of derived outputs (the archive is one), is not one
      GBIF accepts (an ``AND`` of accepted licences is published under the most restrictive);
G3    the data are not yet public: embargo or publication moratorium (DUO:0000024) not over,
      or the agreement has ended;
G4    the agreement limits where the data may be held or used (DUO:0000022 or
      ``allowed_regions``), who may use them (DUO US/IS/PS, allowed users, institutions or
      projects), or for what (a permission narrower than general research use; DUO NPU,
      NPUNCU, COL, IRB, TS; NCU unless the licence is CC BY-NC), or onward transfer;
G5    Nagoya/ABS terms forbid transfer to third parties, or allow only non-commercial use while
      the licence allows commercial use;
G6    Local Contexts labels ask to keep the data within the community (TK Secret/Sacred, TK
      Community Use Only).
====  ==========================================================================================

Each refusal names its rule and gives a reason a data steward can act on. ``INFO`` findings
note duties that travel with the export (attribution, publication, return of results).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from soilbiome.sharing import duo
from soilbiome.sharing.agreement import Agreement, parse_date
from soilbiome.sharing.findings import Report, Severity
from soilbiome.sharing.spdx import LicenceError, parse
from soilbiome.sharing.verify import verify_report

#: Licences GBIF accepts, least restrictive first, with their legal-code URL and EML title.
GBIF_LICENCES: dict[str, tuple[str, str]] = {
    "CC0-1.0": ("http://creativecommons.org/publicdomain/zero/1.0/legalcode",
                "Public Domain (CC0 1.0)"),
    "CC-BY-4.0": ("http://creativecommons.org/licenses/by/4.0/legalcode",
                  "Creative Commons Attribution (CC-BY) 4.0 License"),
    "CC-BY-NC-4.0": ("http://creativecommons.org/licenses/by-nc/4.0/legalcode",
                     "Creative Commons Attribution Non Commercial (CC-BY-NC) 4.0 License"),
}
#: Stamp rules that must pass (D7-D9 need an RO-Crate or LinkML run and are not about release).
STAMP_RULES = ("D1", "D2", "D3", "D4", "D5", "D6")
_BLOCKING_MODIFIERS = {
    duo.NPU: "use by not-for-profit organisations only",
    duo.NPUNCU: "not-for-profit, non-commercial use only",
    duo.COL: "collaboration with the provider required",
    duo.IRB: "ethics approval required",
    duo.TS: "use limited in time",
    duo.US: "use by named users only",
    duo.IS: "use at named institutions only",
    duo.PS: "use in named projects only",
    duo.GS: "use in named regions only",
    duo.MOR: "publication moratorium",
}
_LOCAL_ONLY_LABELS = {"tkss": "TK Secret/Sacred", "tkco": "TK Community Use Only"}


def gbif_licence(expression: str | None) -> str | None:
    """The GBIF licence a stamp's licence expression allows publishing under, or None.

    ``CC-BY-4.0`` -> ``CC-BY-4.0``; ``CC0-1.0 AND CC-BY-NC-4.0`` -> ``CC-BY-NC-4.0``; anything
    with another licence, an ``OR`` or a ``LicenseRef-`` -> None.
    """
    if not expression:
        return None
    try:
        licence = parse(expression)
    except LicenceError:
        return None
    if " OR " in f" {licence.expression} " or not licence.symbols:
        return None
    order = list(GBIF_LICENCES)
    if any(s not in GBIF_LICENCES for s in licence.symbols):
        return None
    return max(licence.symbols, key=order.index)


def check_release(
    path: str | Path,
    agreement: Agreement,
    stamp: dict[str, Any] | None,
    *,
    today: dt.date | None = None,
) -> tuple[Report, str | None]:
    """Evaluate rules G1-G6 for publishing the stamped table ``path`` through GBIF.

    Parameters
    ----------
    path : str or Path
        Stamped BIOM table (its sidecar beside it).
    agreement : Agreement
        The agreement it was stamped under.
    stamp : dict or None
        The embedded stamp (``x-sharing-stamp``), None if absent or unreadable.
    today : datetime.date, optional
        Injectable clock.

    Returns
    -------
    Report
        Findings; an ERROR refuses the export.
    str or None
        The GBIF licence the archive carries (None when G2 fails).
    """
    today = today or dt.date.today()
    rep = Report(f"GBIF release of {Path(path).name}")
    # G1 --------------------------------------------------------------------------------------
    verified = verify_report(path, agreement, today=today, rules=STAMP_RULES)
    problems = [f for f in verified.findings if f.severity == Severity.ERROR]
    for f in problems:
        rep.error("G1", f.where, f"the table's licence stamp does not verify ({f.rule}: "
                  f"{f.reason})")
    if problems or stamp is None:
        if stamp is None and not problems:
            rep.error("G1", Path(path).name, "the table carries no licence stamp")
        return rep, None
    rep.ok("G1")
    terms = stamp.get("terms") or {}
    # G2 --------------------------------------------------------------------------------------
    declared = stamp.get("license")
    derived = stamp.get("derived_outputs_license")
    licence = gbif_licence(declared)
    if licence is None:
        rep.error("G2", "license", f"the data are licensed '{declared}'; GBIF publishes only "
                  "under CC0 1.0, CC BY 4.0 or CC BY-NC 4.0, so the provider must agree to one "
                  "of these first")
    elif derived and derived != declared:
        # the archive is a derived output: its licence must allow the release too
        combined = gbif_licence(f"({declared}) AND ({derived})")
        if combined is None:
            rep.error("G2", "derived_outputs_license", f"derived outputs are licensed "
                      f"'{derived}', which GBIF does not accept; the archive is a derived "
                      "output of the table")
        licence = combined
    if licence is not None:
        rep.ok("G2")
    # G3 --------------------------------------------------------------------------------------
    n = len(rep.findings)
    for key, what in (("embargo_until", "the data are under embargo"),
                      ("moratorium_until", "a publication moratorium (DUO:0000024) applies")):
        until = parse_date(terms.get(key))
        if until is not None and today < until:
            rep.error("G3", f"terms.{key}", f"{what} until {until.isoformat()}; a GBIF release "
                      "is public, so wait until then")
    ends = parse_date(terms.get("valid_until"))
    if ends is not None and today > ends:
        rep.error("G3", "terms.valid_until", f"the agreement ended on {ends.isoformat()}; "
                  "no release under it")
    if len(rep.findings) == n:
        rep.ok("G3")
    # G4 --------------------------------------------------------------------------------------
    n = len(rep.findings)
    if terms.get("regions") is not None:
        rep.error("G4", "terms.regions", "the data may be held and used only in "
                  f"{', '.join(terms['regions']) or 'no region'}; GBIF serves them worldwide")
    for key, who in (("users", "named users"), ("institutions", "named institutions"),
                     ("projects", "named projects")):
        if terms.get(key) is not None:
            rep.error("G4", f"terms.{key}", f"only {who} may use the data; GBIF serves anyone")
    permission = terms.get("duo_permission")
    if permission not in (None, duo.GRU, duo.NRES):
        rep.error("G4", "terms.duo_permission", f"use is limited to {duo.describe(permission)}; "
                  "GBIF cannot restrict what its users do with the data")
    covered = {duo.MOR: True,  # G3 checks its date
               duo.GS: terms.get("regions") is not None, duo.US: terms.get("users") is not None,
               duo.IS: terms.get("institutions") is not None,
               duo.PS: terms.get("projects") is not None}
    for modifier in terms.get("duo_modifiers") or []:
        if modifier in _BLOCKING_MODIFIERS and not covered.get(modifier, False):
            rep.error("G4", "terms.duo_modifiers", f"{modifier} ({_BLOCKING_MODIFIERS[modifier]})"
                      ": a public release cannot enforce it")
        if modifier == duo.NCU and licence != "CC-BY-NC-4.0":
            rep.error("G4", "terms.duo_modifiers", "DUO:0000046 (non-commercial use only) "
                      "needs the CC BY-NC 4.0 licence on GBIF")
    onward = terms.get("onward_transfer")
    if onward not in (None, "unrestricted"):
        rep.error("G4", "terms.onward_transfer", f"onward transfer is '{onward}'; a GBIF "
                  "release passes the data to everyone")
    if len(rep.findings) == n:
        rep.ok("G4")
    # G5 --------------------------------------------------------------------------------------
    n = len(rep.findings)
    abs_ = terms.get("abs") or {}
    transfer = abs_.get("third_party_transfer")
    if transfer in ("prohibited", "requires_consent", "parties_only"):
        rep.error("G5", "terms.abs.third_party_transfer", f"the ABS terms say '{transfer}' for "
                  "third parties; GBIF users are third parties (new PIC/MAT needed)")
    if abs_.get("permitted_use") == "non_commercial" and licence in ("CC0-1.0", "CC-BY-4.0"):
        rep.error("G5", "terms.abs.permitted_use", f"the ABS permit allows non-commercial use "
                  f"only, but {licence} allows commercial use")
    if len(rep.findings) == n:
        rep.ok("G5")
    # G6 --------------------------------------------------------------------------------------
    codes = [lab.get("code") for lab in (terms.get("local_contexts") or {}).get("labels") or []]
    blocking = [c for c in codes if c in _LOCAL_ONLY_LABELS]
    for code in blocking:
        rep.error("G6", "terms.local_contexts.labels", f"Local Contexts label {code} "
                  f"({_LOCAL_ONLY_LABELS[code]}): the community keeps these data; no public "
                  "release")
    if not blocking:
        rep.ok("G6")
    # duties that travel with the data -------------------------------------------------------
    attribution = terms.get("attribution") or {}
    if attribution.get("required"):
        rep.info("G2", "terms.attribution", "attribution required: the credit text goes into "
                 "eml.xml (citation) and must be kept by GBIF users")
    for duty in terms.get("duties") or []:
        if duty.get("action") in ("publish_results", "return_derived_data", "notify_provider"):
            rep.info("G4", "terms.duties", f"duty '{duty.get('id')}' ({duty.get('action')}) "
                     "still applies to the provider after release")
    return rep, licence if not rep.has_errors else None
