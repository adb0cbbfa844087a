"""Licence and use-condition propagation when several inputs are merged (rules C1..C14).

:func:`combine_terms` is the library entry point the comparison workflow calls: it takes the
terms of every input (from their agreements or from their stamps) and returns the terms the
merged output must carry, or a refusal with the reasons. Rule C15 (per-sample provenance)
needs the tables themselves and lives in :func:`soilbiome.sharing.merge_check.check_merge`.

The terms themselves (:class:`~soilbiome.sharing.terms.Terms`,
:class:`~soilbiome.sharing.terms.MergeResult`) live in :mod:`soilbiome.sharing.terms` and are
re-exported here.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from soilbiome.sharing import duo, spdx
from soilbiome.sharing.agreement import Agreement
from soilbiome.sharing.findings import Report
from soilbiome.sharing.terms import MergeResult, Terms

_TRANSFER_ORDER = ["allowed", "parties_only", "requires_consent", "prohibited"]
_ONWARD_ORDER = ["unrestricted", "same_terms", "parties_only", "prohibited"]
_BLOCK_EXTERNAL = {"tkco", "tkss"}
_ATTRIBUTION_LICENCES = ("CC-BY", "ODC-By", "ODbL", "CDLA-")
_PUBLIC_DOMAIN = {"CC0-1.0", "PDDL-1.0", "CC-PDDC"}


def _intersect(values: Iterable[list[str] | None]) -> list[str] | None:
    out: set[str] | None = None
    for v in values:
        if v is None:
            continue
        out = set(v) if out is None else out & set(v)
    return sorted(out) if out is not None else None


def _uniq(items: Iterable[Any]) -> list[Any]:
    out: list[Any] = []
    for i in items:
        if i not in out:
            out.append(i)
    return out


def _satisfies(declared: spdx.Licence, key: str) -> bool:
    """Whether a declared output licence keeps the obligations of input licence ``key`` (C1)."""
    if key in declared.symbols or key in _PUBLIC_DOMAIN:
        return True
    if spdx.is_sa_id(key) or spdx.is_nd_id(key) or spdx.LICENSE_REF.match(key):
        return False  # only the same licence carries these (C3, C5; LicenseRef unknown)
    if spdx.is_nc_id(key):
        return any(spdx.is_nc_id(s) or spdx.LICENSE_REF.match(s) for s in declared.symbols)
    if key.startswith(_ATTRIBUTION_LICENCES):
        return any(
            s.startswith(_ATTRIBUTION_LICENCES) or spdx.LICENSE_REF.match(s)
            for s in declared.symbols
        )
    return False


def combine_terms(
    terms: Sequence[Terms | Agreement | dict[str, Any]],
    declared_license: str | None = None,
) -> MergeResult:
    """Combine the sharing terms of merged inputs (rules C1..C14).

    Parameters
    ----------
    terms : sequence of Terms, Agreement or dict
        One entry per input; dicts are ``Terms.to_dict()`` mappings (a stamp's ``terms``).
    declared_license : str, optional
        The licence the merged output is to be published under; checked against C1, C2, C5
        and C12 when given.

    Returns
    -------
    MergeResult
        ``refused`` is True (with ``reasons``) when the inputs cannot be merged and published
        as declared.
    """
    ts: list[Terms] = []
    for i, t in enumerate(terms):
        if isinstance(t, Agreement):
            ts.append(Terms.from_agreement(t))
        elif isinstance(t, dict):
            ts.append(Terms.from_dict(t, source=t.get("source") or f"input[{i}]"))
        else:
            ts.append(t)
    rep = Report(f"merge of {len(ts)} input(s)")
    if not ts:
        rep.error("C1", "inputs", "nothing to merge")
    declared = None
    if declared_license:
        try:
            declared = spdx.parse(declared_license)
        except spdx.LicenceError as exc:
            rep.error("C1", "declared_license", str(exc))

    # --- C1: licence = AND of inputs; declared output licence at least as restrictive ----------
    licences: list[spdx.Licence] = []
    for t in ts:
        licences.append(spdx.parse(t.derived_outputs_license or t.license))
    combined = spdx.combine_and([lic.expression for lic in licences]) if licences else None
    all_keys = _uniq(k for lic in licences for k in lic.symbols)
    if declared is not None:
        missing = [k for k in all_keys if not _satisfies(declared, k)]
        if missing:
            rep.error(
                "C1", "declared_license",
                f"{declared.expression} is less restrictive than the inputs; it does not carry "
                + ", ".join(missing),
            )
        else:
            rep.ok("C1")
    else:
        rep.ok("C1")

    # --- C2: any NC -> NC ----------------------------------------------------------------------
    nc_sources = [
        t.source for t, lic in zip(ts, licences, strict=False)
        if lic.has_nc or set(t.duo_modifiers) & duo.NON_COMMERCIAL
        or (t.abs or {}).get("permitted_use") == "non_commercial"
    ]
    commercial_ok = not nc_sources and all(lic.allows_commercial for lic in licences)
    if nc_sources:
        if declared is not None and declared.allows_commercial:
            rep.error("C2", "declared_license",
                      f"{declared.expression} permits commercial use but inputs are "
                      f"non-commercial: {', '.join(nc_sources)}")
        else:
            rep.info("C2", "output", "non-commercial terms propagate from "
                     + ", ".join(nc_sources) + " (DUO:0000046 added)")
            rep.ok("C2")
    else:
        rep.na("C2", "no input is non-commercial")

    # --- C3: ND -> no distribution ------------------------------------------------------------
    nd = [t.source for t, lic in zip(ts, licences, strict=False) if lic.has_nd]
    if nd:
        rep.error("C3", ", ".join(nd), "no-derivatives licence: a merged (adapted) table may not "
                  "be distributed")
    else:
        rep.na("C3", "no input has a no-derivatives licence")

    # --- C4 / C5: share-alike --------------------------------------------------------------------
    sa_keys = _uniq(k for k in all_keys if spdx.is_sa_id(k))
    required_output = None
    if len(sa_keys) > 1:
        note = " (ODbL x CC-BY-SA: needs legal review)" if "ODbL-1.0" in sa_keys else ""
        rep.error("C4", "inputs", f"different share-alike licences {', '.join(sa_keys)} cannot "
                  f"be combined; the merged table cannot be published{note}")
    elif len(sa_keys) == 1:
        sa = sa_keys[0]
        others_nc = [k for k in all_keys if k != sa and spdx.is_nc_id(k) and not spdx.is_nc_id(sa)]
        refs = [k for k in all_keys if spdx.LICENSE_REF.match(k)]
        if others_nc:
            rep.error("C4", "inputs", f"share-alike {sa} cannot be combined with non-commercial "
                      f"{', '.join(others_nc)}")
        else:
            rep.ok("C4")
            if refs:
                rep.warning("C4", "inputs", f"share-alike {sa} combined with restricted "
                            f"{', '.join(refs)}: steward/legal review")
        required_output = sa
        if declared is not None and declared.expression != sa:
            rep.error("C5", "declared_license", f"share-alike input: output must be {sa}, "
                      f"not {declared.expression}")
        else:
            rep.info("C5", "output", f"share-alike input: output must be licensed {sa}")
            rep.ok("C5")
    else:
        rep.na("C4", "no input has a share-alike licence")
        rep.na("C5", "no input has a share-alike licence")

    # --- C6: CDLA results exemption -----------------------------------------------------------
    cdla = [k.startswith("CDLA-") for k in all_keys]
    if cdla and all(cdla):
        rep.info("C6", "inputs", "all inputs CDLA: the CDLA 'Results' exemption may apply")
        rep.ok("C6")
    elif any(cdla):
        rep.info("C6", "inputs", "CDLA 'Results' exemption does not apply: not all inputs CDLA")
        rep.ok("C6")
    else:
        rep.na("C6", "no input has a CDLA licence")

    # --- C7: DUO permission ---------------------------------------------------------------------
    lacking = [t.source for t in ts if not t.duo_permission]
    perm = None
    if lacking:
        rep.abstain("C7", ", ".join(lacking), "no DUO permission recorded: cannot combine")
    else:
        perm, why = duo.most_specific_permission(
            [(t.duo_permission, tuple(t.duo_permission_qualifiers)) for t in ts]
        )
        if perm is None:
            rep.error("C7", "data_use", f"no permitted purpose: {why}")
        else:
            rep.ok("C7")

    # --- C8: modifiers union ------------------------------------------------------------------
    modifiers = _uniq(sorted(m for t in ts for m in t.duo_modifiers))
    if nc_sources and duo.NCU not in modifiers and duo.NPUNCU not in modifiers:
        modifiers.append(duo.NCU)
    if modifiers:
        rep.ok("C8")
    else:
        rep.na("C8", "no input has a DUO use condition (modifier)")

    # --- C9 / C10: intersections -------------------------------------------------------------
    regions = _intersect(t.regions for t in ts)
    if regions is not None and not regions:
        rep.error("C9", "allowed_regions", "allowed regions do not intersect ("
                  + "; ".join(f"{t.source}: {','.join(t.regions)}"
                              for t in ts if t.regions is not None)
                  + "): no one may hold or process the merged data")
    elif regions is None:
        rep.na("C9", "no input restricts where the data may be held or processed")
    else:
        rep.ok("C9")
    users = _intersect(t.users for t in ts)
    projects = _intersect(t.projects for t in ts)
    insts = _intersect(t.institutions for t in ts)
    empty = [n for n, v in (("users (US)", users), ("projects (PS)", projects),
                            ("institutions (IS)", insts)) if v is not None and not v]
    if empty:
        rep.error("C10", "allowed_recipients", "no common " + ", ".join(empty)
                  + " across inputs: nobody may use the merged data")
    elif users is None and projects is None and insts is None:
        rep.na("C10", "no input restricts users (US), projects (PS) or institutions (IS)")
    else:
        rep.ok("C10")

    # --- C11: dates ------------------------------------------------------------------------------
    embargo = max((t.embargo_until for t in ts if t.embargo_until), default=None)
    moratorium = max((t.moratorium_until for t in ts if t.moratorium_until), default=None)
    months = min((t.use_months for t in ts if t.use_months), default=None)
    valid_until = min((t.valid_until for t in ts if t.valid_until), default=None)
    if embargo or moratorium or months or valid_until:
        rep.ok("C11")
    else:
        rep.na("C11", "no input has an embargo, moratorium, time limit or end date")
    onward = max((t.onward_transfer for t in ts if t.onward_transfer in _ONWARD_ORDER),
                 key=_ONWARD_ORDER.index, default=None)

    # --- C12: ABS ----------------------------------------------------------------------------
    abs_in = [t.abs or {} for t in ts]
    c12_ok = True
    for t, a in zip(ts, abs_in, strict=False):
        if a.get("applicable") is True and not a.get("ircc") and not a.get("national_permits"):
            rep.error("C12", t.source, "ABS applies but no IRCC or national permit is recorded")
            c12_ok = False
        elif a.get("applicable") == "unknown":
            rep.abstain("C12", t.source, "ABS applicability unknown: steward must decide")
    abs_commercial = all(
        a.get("applicable") is not True or a.get("permitted_use") == "commercial" for a in abs_in
    )
    if declared is not None and declared.allows_commercial and not abs_commercial:
        rep.error("C12", "declared_license", "an input's ABS terms do not permit commercial use")
        c12_ok = False
    if not any(a.get("applicable") in (True, "unknown") for a in abs_in) and not (
            declared is not None and declared.allows_commercial):
        rep.na("C12", "ABS applies to no input")
    elif c12_ok:
        rep.ok("C12")
    transfers = [a.get("third_party_transfer") for a in abs_in if a.get("third_party_transfer")]
    abs_out = {
        "applicable": True if any(a.get("applicable") is True for a in abs_in)
        else ("unknown" if any(a.get("applicable") == "unknown" for a in abs_in) else False),
        "provider_countries": _uniq(a.get("provider_country") for a in abs_in
                                    if a.get("provider_country")),
        "ircc": _uniq(i for a in abs_in for i in a.get("ircc") or []),
        "national_permits": _uniq(p for a in abs_in for p in a.get("national_permits") or []),
        "pic": _uniq(a.get("pic") for a in abs_in if a.get("pic")),
        "mat": _uniq(a.get("mat") for a in abs_in if a.get("mat")),
        "commercial_use_allowed": abs_commercial,
        "third_party_transfer": max(transfers, key=_TRANSFER_ORDER.index) if transfers else None,
        "benefit_sharing": _uniq(b for a in abs_in for b in a.get("benefit_sharing") or []),
        "change_of_intent_notice": any(a.get("change_of_intent_notice") for a in abs_in),
    }

    # --- C13: Local Contexts ---------------------------------------------------------------------
    labels = _uniq(lab for t in ts for lab in (t.local_contexts or {}).get("labels") or [])
    notices = _uniq(n for t in ts for n in (t.local_contexts or {}).get("notices") or [])
    blocking = sorted({lab.get("code") for lab in labels} & _BLOCK_EXTERNAL)
    if blocking:
        rep.error("C13", "local_contexts", f"label(s) {', '.join(blocking)} block external "
                  "distribution of the merged data")
    elif not labels and not notices:
        rep.na("C13", "no input has Local Contexts labels or notices")
    else:
        rep.ok("C13")

    # --- C14: attribution ----------------------------------------------------------------------
    credits = _uniq(t.attribution.get("credit_text") for t in ts
                    if (t.attribution or {}).get("credit_text"))
    no_credit = [t.source for t in ts if not (t.attribution or {}).get("credit_text")]
    if no_credit:
        rep.warning("C14", ", ".join(no_credit), "no attribution.credit_text: credit incomplete")
    else:
        rep.ok("C14")
    attribution = {
        "required": any((t.attribution or {}).get("required") for t in ts),
        "credit_text": " ".join(credits) if credits else None,
        "dri_orcids": _uniq(o for t in ts for o in (t.attribution or {}).get("dri_orcids") or []),
        "cite": _uniq(c for t in ts for c in (t.attribution or {}).get("cite") or []),
    }
    duties = _uniq(d for t in ts for d in t.duties)

    result = MergeResult(
        refused=rep.has_errors,
        license=combined.expression if combined else None,
        required_output_license=required_output,
        commercial_use_allowed=commercial_ok,
        distribution_allowed=not nd and len(sa_keys) <= 1,
        external_distribution_allowed=not blocking and not nd,
        duo_permission=perm,
        duo_modifiers=modifiers,
        regions=regions,
        users=users,
        projects=projects,
        institutions=insts,
        embargo_until=embargo,
        moratorium_until=moratorium,
        use_months=months,
        valid_until=valid_until,
        onward_transfer=onward,
        abs=abs_out,
        local_contexts={"labels": labels, "notices": notices},
        attribution=attribution,
        duties=duties,
        report=rep,
        valid_from=max((t.valid_from for t in ts if t.valid_from), default=None),
        org_types=_intersect(t.org_types for t in ts),
        collaborators=_uniq(c for t in ts for c in t.collaborators),
        return_to=_uniq(r for t in ts for r in t.return_to),
    )
    rep.details["merged_terms"] = {
        "license": result.license,
        "required_output_license": required_output,
        "commercial_use_allowed": commercial_ok,
        "duo_permission": perm,
        "duo_modifiers": modifiers,
        "regions": regions,
        "embargo_until": embargo,
        "moratorium_until": moratorium,
        "use_months": months,
    }
    return result
