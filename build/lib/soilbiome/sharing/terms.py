"""Sharing terms: those of one input (:class:`Terms`) and those of a merge (:class:`MergeResult`).

:class:`Terms` is the JSON-ready shape embedded in every stamp, read from an agreement or from a
stamp; :class:`MergeResult` is what :func:`soilbiome.sharing.merge.combine_terms` returns for
several inputs (rules C1..C14).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from soilbiome.sharing import duo
from soilbiome.sharing.agreement import Agreement, dig
from soilbiome.sharing.findings import Finding, Report, Severity


@dataclass(frozen=True)
class Terms:
    """The sharing terms of one input, in the JSON-ready shape embedded in every stamp.

    ``None`` in a set-valued field means "no restriction"; an empty list means "nobody".
    """

    source: str
    agreement_id: str
    license: str
    derived_outputs_license: str | None = None
    duo_permission: str | None = None
    duo_permission_qualifiers: list[str] = field(default_factory=list)
    duo_modifiers: list[str] = field(default_factory=list)
    regions: list[str] | None = None
    users: list[str] | None = None
    projects: list[str] | None = None
    institutions: list[str] | None = None
    embargo_until: str | None = None
    moratorium_until: str | None = None
    use_months: int | None = None
    valid_until: str | None = None
    onward_transfer: str | None = None
    abs: dict[str, Any] = field(default_factory=dict)
    local_contexts: dict[str, Any] = field(default_factory=dict)
    attribution: dict[str, Any] = field(default_factory=dict)
    duties: list[dict[str, Any]] = field(default_factory=list)
    valid_from: str | None = None
    org_types: list[str] | None = None
    collaborators: list[str] = field(default_factory=list)
    return_to: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready mapping (the ``terms`` member of a stamp)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str | None = None) -> Terms:
        """Inverse of :meth:`to_dict`; unknown keys are ignored."""
        names = {f.name for f in dataclasses.fields(cls)}
        kwargs = {k: v for k, v in data.items() if k in names}
        if source is not None:
            kwargs["source"] = source
        return cls(**kwargs)

    @classmethod
    def from_agreement(cls, agreement: Agreement, source: str | None = None) -> Terms:
        """Extract the terms of an agreement."""
        ag = agreement
        ds = ag.duo(duo.DS)
        us = ag.duo(duo.US)
        ps = ag.duo(duo.PS)
        is_ = ag.duo(duo.IS)
        mor = ag.duo(duo.MOR)
        ts = ag.duo(duo.TS)
        col = ag.duo(duo.COL)
        rtn = ag.duo(duo.RTN)
        regions = ag.allowed_regions
        users = ag.get("access.allowed_recipients.users_orcid") or []
        insts = ag.get("access.allowed_recipients.institutions_ror") or []
        abs_ = ag.get("abs") or {}
        lc = ag.get("local_contexts") or {}
        att = ag.get("attribution") or {}
        return cls(
            source=source or ag.path,
            agreement_id=ag.id,
            license=ag.spdx,
            derived_outputs_license=ag.derived_licence.expression,
            duo_permission=ag.permission,
            duo_permission_qualifiers=sorted(ds.modifier_ids) if ds else [],
            duo_modifiers=sorted(ag.modifiers),
            regions=sorted(regions) if regions is not None else None,
            users=sorted(set(users) | set(us.modifier_ids)) if us else None,
            projects=sorted(ps.modifier_ids) if ps else None,
            institutions=sorted(set(insts) | set(is_.modifier_ids)) if is_ else None,
            embargo_until=ag.get("access.embargo_until"),
            moratorium_until=mor.entry.get("until") if mor else None,
            use_months=ts.entry.get("months") if ts else None,
            valid_until=ag.get("agreement.valid_until"),
            onward_transfer=ag.get("access.onward_transfer"),
            abs={
                "applicable": abs_.get("applicable", "unknown") if abs_ else "unknown",
                "provider_country": ag.provider_country,
                "ircc": list(abs_.get("ircc") or []),
                "national_permits": [p["id"] for p in abs_.get("national_permits") or []],
                "pic": dig(abs_, "pic.reference"),
                "mat": dig(abs_, "mat.reference"),
                "permitted_use": abs_.get("permitted_use"),
                "third_party_transfer": abs_.get("third_party_transfer"),
                "benefit_sharing": list(abs_.get("benefit_sharing") or []),
                "change_of_intent_notice": abs_.get("change_of_intent_notice"),
            },
            local_contexts={
                "project_id": lc.get("project_id"),
                "labels": [
                    {k: lab.get(k) for k in ("kind", "code", "name", "community")
                     if lab.get(k)}
                    for lab in lc.get("labels") or []
                ],
                "notices": [n.get("type") for n in lc.get("notices") or []],
            },
            attribution={
                "required": att.get("required", False),
                "credit_text": att.get("credit_text"),
                "dri_orcids": list(att.get("dri_orcids") or []),
                "cite": list(att.get("cite") or []),
            },
            duties=[
                {k: d.get(k) for k in ("id", "action", "trigger", "due_months", "source")
                 if d.get(k)}
                for d in ag.get("duties") or []
            ],
            valid_from=ag.get("agreement.valid_from"),
            org_types=list(ag.get("access.allowed_recipients.org_types") or []) or None,
            collaborators=list(col.modifier_ids) if col else [],
            return_to=[rtn.entry["return_to"]] if rtn and rtn.entry.get("return_to") else [],
        )


@dataclass
class MergeResult:
    """Combined terms of a merge, or a refusal.

    Attributes
    ----------
    refused : bool
        True when any C rule gave an ERROR; ``reasons`` lists them.
    license : str or None
        ``AND`` of the inputs' (derived-output) licences (C1).
    required_output_license : str or None
        The licence the output must be published under when share-alike forces one (C5).
    report : Report
        Every C finding and passed rule.
    """

    refused: bool
    license: str | None
    required_output_license: str | None
    commercial_use_allowed: bool
    distribution_allowed: bool
    external_distribution_allowed: bool
    duo_permission: str | None
    duo_modifiers: list[str]
    regions: list[str] | None
    users: list[str] | None
    projects: list[str] | None
    institutions: list[str] | None
    embargo_until: str | None
    moratorium_until: str | None
    use_months: int | None
    valid_until: str | None
    onward_transfer: str | None
    abs: dict[str, Any]
    local_contexts: dict[str, Any]
    attribution: dict[str, Any]
    duties: list[dict[str, Any]]
    report: Report
    valid_from: str | None = None
    org_types: list[str] | None = None
    collaborators: list[str] = field(default_factory=list)
    return_to: list[str] = field(default_factory=list)

    @property
    def reasons(self) -> list[str]:
        """One line per ERROR finding."""
        return [f"{f.rule}: {f.reason}" for f in self.report.findings
                if f.severity == Severity.ERROR]

    @property
    def findings(self) -> list[Finding]:
        """The C-rule findings."""
        return self.report.findings

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (without the report)."""
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
               if f.name != "report"}
        out["reasons"] = self.reasons
        return out

    def to_terms(self, source: str, agreement_id: str) -> Terms:
        """The combined terms as a :class:`Terms` (e.g. to describe the merged output)."""
        return Terms(
            source=source,
            agreement_id=agreement_id,
            license=self.license or "NOASSERTION",
            derived_outputs_license=self.required_output_license or self.license,
            duo_permission=self.duo_permission,
            duo_modifiers=self.duo_modifiers,
            regions=self.regions,
            users=self.users,
            projects=self.projects,
            institutions=self.institutions,
            embargo_until=self.embargo_until,
            moratorium_until=self.moratorium_until,
            use_months=self.use_months,
            valid_until=self.valid_until,
            onward_transfer=self.onward_transfer,
            abs=self.abs,
            local_contexts=self.local_contexts,
            attribution=self.attribution,
            duties=self.duties,
            valid_from=self.valid_from,
            org_types=self.org_types,
            collaborators=self.collaborators,
            return_to=self.return_to,
        )
