"""The combined sharing terms of a comparison in plain words (for the report).

:func:`plain_terms` reads the fields of a merge result (``MergeResult.to_dict()``, the
``terms`` of ``compare.json``) and says what they allow and require, one topic at a time, with
DUO ids labelled from the shipped DUO release. It is the only place the report turns terms
into sentences, so it can be swapped for a shared statement of the terms later.
"""

from __future__ import annotations

from typing import Any

from soilbiome.sharing import duo

_ONWARD = {
    "unrestricted": "may be passed on to anyone",
    "same_terms": "may be passed on only under these same terms",
    "parties_only": "may be passed on only among the parties of the agreements",
    "prohibited": "may not be passed on to anyone else",
}
_TRANSFER = {
    "allowed": "allowed",
    "parties_only": "only among the parties",
    "requires_consent": "only with the provider's consent",
    "prohibited": "not allowed",
}
_ACTIONS = {
    "attribute": "Credit the data providers",
    "publish_results": "Publish the results",
    "return_derived_data": "Return derived data to the provider",
    "involve_collaborator": "Involve the provider as a collaborator",
    "notify_provider": "Notify the provider",
    "delete_copies": "Delete every copy",
    "share_benefits": "Share the benefits as agreed",
    "obtain_ethics_approval": "Obtain ethics approval",
    "report_use": "Report the use to the provider",
}
_TRIGGERS = {
    "on_any_use": "whenever the data are used",
    "on_project_end": "at the end of the project",
    "on_publication": "on publication",
    "on_access": "on access",
    "before_commercial_use": "before any commercial use",
    "on_expiry": "when the agreement expires",
}

#: Names of the Local Contexts TK and BC label codes (localcontexts.org).
_LC_NAMES = {
    "tka": "Attribution", "tkcl": "Clan", "tkf": "Family", "tkmc": "Multiple Communities",
    "tkcv": "Community Voice", "tkcr": "Creative", "tkv": "Verified", "tknv": "Non-Verified",
    "tks": "Seasonal", "tkwg": "Women General", "tkmg": "Men General",
    "tkmr": "Men Restricted", "tkwr": "Women Restricted", "tkcs": "Culturally Sensitive",
    "tkss": "Secret/Sacred", "tkoc": "Open to Commercialization", "tknc": "Non-Commercial",
    "tkco": "Community Use Only", "tko": "Outreach", "tkcb": "Open to Collaboration",
    "bcp": "Provenance", "bcmc": "Multiple Communities", "bccl": "Clan",
    "bccv": "Consent Verified", "bccnv": "Consent Non-Verified", "bcr": "Research Use",
    "bccb": "Open to Collaboration", "bcoc": "Open to Commercialization", "bco": "Outreach",
    "bcnc": "Non-Commercial",
}


def _lc_label(label: dict[str, Any]) -> str:
    code = str(label.get("code") or "")
    kind = str(label.get("kind") or code[:2].upper())
    name = f"{kind} {_LC_NAMES[code]} ({code})" if code in _LC_NAMES else f"{kind} {code}"
    return name + (f", {label['community']}" if label.get("community") else "")


def duo_label(term_id: str) -> str:
    """``"DUO:0000046 non-commercial use only (NCU)"``; the id alone when not in the release."""
    term = duo.terms().get(term_id)
    if term is None:
        return f"{term_id} (not in DUO {duo.DUO_RELEASE})"
    short = f" ({term.shorthand})" if term.shorthand else ""
    return f"{term_id} {term.label}{short}"


def _words(value: object) -> str:
    return str(value).replace("_", " ")


def _text(value: object) -> str:
    """Any JSON value as words (never a Python repr)."""
    if isinstance(value, dict):
        if value.get("type") and value.get("description"):
            return f"{_words(value['type'])} ({value['description']})"
        return ", ".join(f"{_words(k)}: {_text(v)}" for k, v in value.items()
                         if v not in (None, "", [], {}))
    if isinstance(value, list | tuple):
        return ", ".join(_text(v) for v in value)
    return "" if value is None else str(value)


def _list(values: list[Any] | None, none: str, empty: str) -> str:
    if values is None:
        return none
    if not values:
        return empty
    return ", ".join(_text(v) for v in values)


def _source(source: str) -> str:
    if source == "license":
        return "the licence"
    if source == "abs":
        return "the access and benefit-sharing terms"
    if source == "local_contexts":
        return "the Local Contexts labels"
    term = duo.normalise_id(source)
    return duo_label(term) if term else source


def _abs(a: dict[str, Any]) -> list[str]:
    applicable = a.get("applicable")
    if applicable is False:
        return ["Does not apply to any input (no access and benefit-sharing obligations)."]
    lines = ["Applies to at least one input." if applicable is True else
             "Applicability is unknown for at least one input: a data steward must decide."]
    for key, what in (("provider_countries", "Provider countries"),
                      ("ircc", "Internationally recognised certificates of compliance (IRCC)"),
                      ("national_permits", "National permits"),
                      ("pic", "Prior informed consent (PIC)"),
                      ("mat", "Mutually agreed terms (MAT)"),
                      ("benefit_sharing", "Benefit sharing")):
        values = a.get(key) or []
        if values:
            lines.append(f"{what}: {'; '.join(_text(v) for v in values)}.")
    lines.append("Commercial use is " + ("permitted" if a.get("commercial_use_allowed")
                                         else "not permitted") + " by these terms.")
    transfer = a.get("third_party_transfer")
    if transfer:
        lines.append(f"Transfer to third parties: {_TRANSFER.get(transfer, _words(transfer))}.")
    return lines


def _duty(d: dict[str, Any]) -> str:
    action = d.get("action") or "duty"
    trigger = d.get("trigger")
    text = (_ACTIONS.get(action) or _words(action).capitalize()) + " " + (
        _TRIGGERS.get(trigger, _words(trigger)) if trigger else "as agreed")
    notes = ([f"from {_source(d['source'])}"] if d.get("source") else []) + (
        [f"duty {d['id']}"] if d.get("id") else [])
    return text + (f" ({'; '.join(notes)})" if notes else "") + "."


def plain_terms(terms: dict[str, Any]) -> list[tuple[str, list[str]]]:
    """The combined terms as ``(topic, sentences)`` pairs, in reading order.

    Parameters
    ----------
    terms : dict
        ``MergeResult.to_dict()`` (``compare.json`` → ``terms``).

    Returns
    -------
    list of (str, list of str)
        Topics: licence, use, permitted purpose (DUO), conditions (DUO modifiers), where,
        who, dates, passing on, access and benefit-sharing, Local Contexts, credit, duties
        and warnings. Every DUO id carries its label; no topic is left empty.
    """
    out: list[tuple[str, list[str]]] = []
    lic = terms.get("license") or "no licence recorded"
    licence = [f"The merged data carry {lic}: every input's licence applies at once."]
    if terms.get("required_output_license"):
        licence.append("Outputs made from them must be published under "
                       f"{terms['required_output_license']} (share-alike).")
    out.append(("Licence", licence))
    use = ["Commercial use is " + ("allowed." if terms.get("commercial_use_allowed")
                                   else "not allowed.")]
    use.append("Redistributing the merged table is " + (
        "allowed." if terms.get("distribution_allowed") else
        "not allowed (a no-derivatives or incompatible share-alike licence)."))
    if terms.get("external_distribution_allowed") is False:
        use.append("It may not leave the parties: a Local Contexts label or a no-derivatives "
                   "licence blocks distribution outside them.")
    out.append(("Use", use))
    perm = terms.get("duo_permission")
    out.append(("Permitted purpose (DUO)", [duo_label(perm) if perm else
                                            "No DUO permission could be combined."]))
    modifiers = terms.get("duo_modifiers") or []
    out.append(("Conditions (DUO modifiers)",
                [duo_label(m) for m in modifiers] or ["None."]))
    out.append(("Where", ["Regions where the data may be held and processed: "
                          + _list(terms.get("regions"), "no restriction.", "none.")]))
    who = [f"{what}: {_list(terms.get(key), 'no restriction', 'none (nobody)')}."
           for key, what in (("users", "Users"), ("projects", "Projects"),
                             ("institutions", "Institutions"))]
    out.append(("Who", who))
    dates = []
    if terms.get("embargo_until"):
        dates.append(f"Embargo: no access for others before {terms['embargo_until']}.")
    if terms.get("moratorium_until"):
        dates.append(f"Publication moratorium: nothing published before "
                     f"{terms['moratorium_until']}.")
    if terms.get("use_months"):
        dates.append(f"Use is limited to {terms['use_months']} months.")
    if terms.get("valid_until"):
        dates.append(f"The earliest agreement ends on {terms['valid_until']}.")
    out.append(("Dates", dates or ["No embargo, moratorium or time limit."]))
    onward = terms.get("onward_transfer")
    out.append(("Passing on", [f"The data {_ONWARD.get(onward, _words(onward))}." if onward
                               else "Not stated by any input."]))
    out.append(("Access and benefit-sharing (Nagoya)", _abs(terms.get("abs") or {})))
    lc = terms.get("local_contexts") or {}
    labels = [_lc_label(lab) for lab in lc.get("labels") or []]
    notices = [_words(n) for n in lc.get("notices") or []]
    lc_lines = ([f"Labels: {'; '.join(labels)}."] if labels else []) + (
        [f"Notices: {'; '.join(notices)}."] if notices else [])
    out.append(("Local Contexts", lc_lines or ["No labels or notices."]))
    att = terms.get("attribution") or {}
    credit = ["Credit is required." if att.get("required") else "Credit is not required."]
    credit.append(f"Credit text: {att['credit_text']}" if att.get("credit_text")
                  else "No credit text was given by the inputs.")
    if att.get("cite"):
        credit.append("Cite: " + "; ".join(att["cite"]))
    if att.get("dri_orcids"):
        credit.append("Data-responsible people (ORCID): " + "; ".join(att["dri_orcids"]))
    out.append(("Credit", credit))
    duties = [_duty(d) for d in terms.get("duties") or []]
    out.append(("Duties", duties or ["None recorded."]))
    if terms.get("warnings"):
        out.append(("Warnings", [str(w) for w in terms["warnings"]]))
    return out
