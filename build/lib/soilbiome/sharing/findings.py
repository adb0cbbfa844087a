"""Findings of the steward's checker and the report that collects them.

Each finding carries a rule id (``A1`` .. ``D9``), a severity, the offending field or file and a
one-line reason. A report is printed as text for people (a plain-language summary first, then
every rule with its status, name and meaning, and last the statement of what the recipient may
do) or as JSON for machines.

Every rule ends with one :class:`Status`: passed, failed, not applicable (its precondition
does not hold), needs a person (ABSTAIN: it applies but could not be decided), or, for the
checks a pipeline run makes before it publishes, after publication.

Exit codes (:attr:`Report.exit_code`): 0 OK, nothing failed and nothing needs a person;
:data:`EXIT_FAILED` (1) at least one ERROR; :data:`EXIT_UNDECIDED` (5) nothing failed but at
least one rule needs a person: "OK, N rules need a person".
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from soilbiome.sharing.rule_names import rule_meaning, rule_name

#: Exit code when at least one rule failed (ERROR).
EXIT_FAILED = 1
#: Exit code when nothing failed but at least one rule could not be decided (ABSTAIN).
EXIT_UNDECIDED = 5


class Severity(StrEnum):
    """How serious a finding is. ``ABSTAIN`` means "could not decide: a human must look"."""

    ERROR = "ERROR"
    WARNING = "WARNING"
    INFO = "INFO"
    ABSTAIN = "ABSTAIN"


@dataclass(frozen=True)
class Finding:
    """One result of one rule.

    Parameters
    ----------
    rule : str
        Rule id from ``docs/sharing.md`` (e.g. ``"A8"``).
    severity : Severity
        ERROR, WARNING, INFO or ABSTAIN.
    where : str
        The field path (``abs.ircc[0]``) or file the finding is about.
    reason : str
        One line, for a data steward.
    """

    rule: str
    severity: Severity
    where: str
    reason: str

    def to_dict(self) -> dict[str, str]:
        """Return the finding as a JSON-ready mapping."""
        return {
            "rule": self.rule,
            "severity": self.severity.value,
            "where": self.where,
            "reason": self.reason,
        }


def _rule_key(rule: str) -> tuple[str, int]:
    head = rule.rstrip("0123456789")
    tail = rule[len(head):]
    return head, int(tail) if tail else -1


class Status(StrEnum):
    """The result of one rule (``docs/sharing.md``, "Reports").

    ``passed``: the rule applied and holds; ``warning``: it applied and raised something worth
    reading that does not fail the check; ``failed``: an ERROR; ``not_applicable``: the rule's
    precondition does not hold (no ABS section, no embargo, no such DUO term ...);
    ``needs_person``: the rule applies but could not be decided (ABSTAIN);
    ``after_publication``: deliberately left to the check of the published results (D7/D9
    while a run is still writing its RO-Crate).
    """

    PASSED = "passed"
    WARNING = "warning"
    FAILED = "failed"
    NOT_APPLICABLE = "not_applicable"
    NEEDS_PERSON = "needs_person"
    AFTER_PUBLICATION = "after_publication"


#: How each status is printed in the text report.
STATUS_LABEL = {
    Status.PASSED: "passed",
    Status.WARNING: "WARNING",
    Status.FAILED: "FAILED",
    Status.NOT_APPLICABLE: "not applicable",
    Status.NEEDS_PERSON: "NEEDS A PERSON",
    Status.AFTER_PUBLICATION: "after publication",
}


@dataclass
class Report:
    """Findings about one subject, and the status of every rule evaluated.

    Parameters
    ----------
    subject : str
        What was checked (``"agreement sharing_agreements/examples/open.yaml"``).
    findings : list of Finding
        Everything that is not a clean pass.
    passed : set of str
        Rule ids that applied and were evaluated (they pass unless they have findings).
    not_applicable : dict
        Rule id -> why it does not apply (its precondition does not hold).
    deferred : dict
        Rule id -> why it is checked only on the published results.
    statement : str or None
        The plain-language statement of what the recipient may do (:mod:`.verdict`).
    may : dict or None
        The same statement, structured (``--json``).
    """

    subject: str
    findings: list[Finding] = field(default_factory=list)
    passed: set[str] = field(default_factory=set)
    details: dict[str, Any] = field(default_factory=dict)
    not_applicable: dict[str, str] = field(default_factory=dict)
    deferred: dict[str, str] = field(default_factory=dict)
    statement: str | None = None
    may: dict[str, Any] | None = None

    def add(self, rule: str, severity: Severity, where: str, reason: str) -> Finding:
        """Record a finding and return it."""
        finding = Finding(rule, severity, where, reason)
        self.findings.append(finding)
        return finding

    def error(self, rule: str, where: str, reason: str) -> Finding:
        """Record an ERROR finding."""
        return self.add(rule, Severity.ERROR, where, reason)

    def warning(self, rule: str, where: str, reason: str) -> Finding:
        """Record a WARNING finding."""
        return self.add(rule, Severity.WARNING, where, reason)

    def info(self, rule: str, where: str, reason: str) -> Finding:
        """Record an INFO finding."""
        return self.add(rule, Severity.INFO, where, reason)

    def abstain(self, rule: str, where: str, reason: str) -> Finding:
        """Record that ``rule`` could not be decided because data is missing."""
        return self.add(rule, Severity.ABSTAIN, where, reason)

    def ok(self, *rules: str) -> None:
        """Mark ``rules`` as applied and evaluated; they pass unless they have findings."""
        self.passed.update(rules)

    def na(self, rule: str, why: str) -> None:
        """Mark ``rule`` as not applicable: its precondition does not hold (``why``)."""
        self.not_applicable[rule] = why

    def defer(self, rule: str, why: str) -> None:
        """Leave ``rule`` to the check of the published results (``why``)."""
        self.deferred[rule] = why

    def take_statuses(self, other: Report) -> None:
        """Copy ``other``'s passed, not-applicable and deferred rules (not its findings)."""
        self.passed.update(other.passed)
        self.not_applicable.update(other.not_applicable)
        self.deferred.update(other.deferred)

    def extend(self, other: Report) -> None:
        """Merge another report's findings and rule statuses into this one."""
        self.findings.extend(other.findings)
        self.take_statuses(other)
        self.details.update(other.details)

    def set_statement(self, text: str, structured: dict[str, Any]) -> None:
        """Attach the plain-language statement of what the recipient may do."""
        self.statement = text
        self.may = structured

    # -- queries -------------------------------------------------------------------------------
    def rules(self, severity: Severity | None = None) -> set[str]:
        """Rule ids that have a finding (of ``severity`` if given)."""
        return {f.rule for f in self.findings if severity is None or f.severity == severity}

    def all_rules(self) -> list[str]:
        """Every rule id the report has a status for, in rule order."""
        ids = self.passed | set(self.not_applicable) | set(self.deferred) | self.rules()
        return sorted(ids, key=_rule_key)

    def status(self, rule: str) -> Status:
        """The result of ``rule``: failed > needs a person > warning > after publication >
        not applicable > passed (a rule with only INFO notes has passed)."""
        found = {f.severity for f in self.findings if f.rule == rule}
        if Severity.ERROR in found:
            return Status.FAILED
        if Severity.ABSTAIN in found:
            return Status.NEEDS_PERSON
        if Severity.WARNING in found:
            return Status.WARNING
        if rule in self.deferred:
            return Status.AFTER_PUBLICATION
        if rule in self.not_applicable and rule not in self.passed:
            return Status.NOT_APPLICABLE
        return Status.PASSED

    def statuses(self) -> dict[str, Status]:
        """Rule id -> :class:`Status`, in rule order."""
        return {r: self.status(r) for r in self.all_rules()}

    def with_status(self, status: Status) -> list[str]:
        """Rule ids with ``status``, in rule order."""
        return [r for r, s in self.statuses().items() if s == status]

    def passed_rules(self) -> set[str]:
        """Rule ids that applied and passed (INFO notes allowed; not WARNING)."""
        return set(self.with_status(Status.PASSED))

    @property
    def has_errors(self) -> bool:
        """True when any finding is an ERROR."""
        return any(f.severity == Severity.ERROR for f in self.findings)

    @property
    def undecided(self) -> set[str]:
        """Rules that need a person (ABSTAIN, and no ERROR of the same rule)."""
        return set(self.with_status(Status.NEEDS_PERSON))

    @property
    def exit_code(self) -> int:
        """0 OK; :data:`EXIT_FAILED` with an ERROR; :data:`EXIT_UNDECIDED` when a rule needs a
        person. Rules that do not apply or are checked after publication do not change it."""
        if self.has_errors:
            return EXIT_FAILED
        return EXIT_UNDECIDED if self.undecided else 0

    @property
    def verdict(self) -> str:
        """``FAIL``, ``OK, N rule(s) need a person`` or ``OK``."""
        if self.has_errors:
            return "FAIL"
        n = len(self.undecided)
        return f"OK, {n} rule{'s need' if n != 1 else ' needs'} a person" if n else "OK"

    def summary(self) -> str:
        """The result in one or two plain sentences, for a data steward."""
        def named(rules: set[str] | list[str]) -> str:
            return ", ".join(f"{r} ({rule_name(r)})" if rule_name(r) else r
                             for r in sorted(rules, key=_rule_key))

        st = self.statuses()
        n_passed = sum(s == Status.PASSED for s in st.values())
        n_na = sum(s == Status.NOT_APPLICABLE for s in st.values())
        later = [r for r, s in st.items() if s == Status.AFTER_PUBLICATION]
        warnings = {r for r, s in st.items() if s == Status.WARNING}
        if self.has_errors:
            failed = self.with_status(Status.FAILED)
            applied = len(st) - n_na
            text = (f"NOT OK: {len(failed)} of {applied} applicable rules failed: "
                    f"{named(failed)}. The reasons are listed below.")
        elif self.undecided:
            text = (f"OK, {len(self.undecided)} rule(s) need a person: nothing failed, but "
                    f"{named(self.undecided)} could not be decided with the information given; "
                    "a person must decide before anyone relies on this result.")
        else:
            text = f"OK: {n_passed} rule(s) passed"
            text += f", {n_na} did not apply." if n_na else "."
        if later:
            text += (f" {named(later)} are checked only on the published results "
                     "(see below).")
        if warnings:
            text += f" {len(warnings)} rule(s) gave a warning worth reading: {named(warnings)}."
        return text

    def counts(self) -> dict[str, int]:
        """Number of findings per severity."""
        out = {s.value: 0 for s in Severity}
        for f in self.findings:
            out[f.severity.value] += 1
        return out

    def status_counts(self) -> dict[str, int]:
        """Number of rules per :class:`Status`."""
        out = {s.value: 0 for s in Status}
        for s in self.statuses().values():
            out[s.value] += 1
        return out

    def sorted_findings(self) -> list[Finding]:
        """Findings ordered by rule id, then severity."""
        order = {s: i for i, s in enumerate(Severity)}
        return sorted(self.findings, key=lambda f: (_rule_key(f.rule), order[f.severity]))

    def rule_results(self) -> list[dict[str, Any]]:
        """One JSON-ready entry per rule: id, name, status, why (not applicable / deferred),
        ``warning`` and its findings."""
        out = []
        for rule, status in self.statuses().items():
            found = [f.to_dict() for f in self.sorted_findings() if f.rule == rule]
            entry: dict[str, Any] = {"rule": rule, "name": rule_name(rule),
                                     "status": status.value}
            if status == Status.NOT_APPLICABLE:
                entry["why"] = self.not_applicable[rule]
            elif status == Status.AFTER_PUBLICATION:
                entry["why"] = self.deferred[rule]
            entry["findings"] = found
            out.append(entry)
        return out

    # -- output --------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Return the report as a JSON-ready mapping."""
        return {
            "subject": self.subject,
            "ok": not self.has_errors,
            "verdict": self.verdict,
            "summary": self.summary(),
            "exit_code": self.exit_code,
            "undecided": sorted(self.undecided, key=_rule_key),
            "counts": self.counts(),
            "status_counts": self.status_counts(),
            "rules": self.rule_results(),
            "findings": [f.to_dict() for f in self.sorted_findings()],
            "passed": sorted(self.passed_rules(), key=_rule_key),
            "warnings": self.with_status(Status.WARNING),
            "not_applicable": self.with_status(Status.NOT_APPLICABLE),
            "needs_person": self.with_status(Status.NEEDS_PERSON),
            "after_publication": self.with_status(Status.AFTER_PUBLICATION),
            **({"details": self.details} if self.details else {}),
            "statement": self.statement,
            "may": self.may,
        }

    def to_json(self) -> str:
        """Return the report as indented JSON."""
        from soilbiome.io.jsonfile import dumps

        return dumps(self.to_dict())

    def to_text(self) -> str:
        """The report for a person: summary first, then every rule with its status, the
        counts, and last the statement of what the recipient may do."""
        lines = [f"== {self.subject}", "", f"In short: {self.summary()}", ""]
        order = {s: i for i, s in enumerate(Severity)}
        width = max(len(v) for v in STATUS_LABEL.values())
        for rule, status in self.statuses().items():
            found = sorted((f for f in self.findings if f.rule == rule),
                           key=lambda f: order[f.severity])
            label = STATUS_LABEL[status]
            name, meaning = rule_name(rule), rule_meaning(rule)
            head = f"{label:<{width}} {rule:<4} {name}" + (f": {meaning}" if meaning else "")
            lines.append(head.rstrip())
            pad = " " * (width + 6)
            if status == Status.NOT_APPLICABLE:
                lines.append(f"{pad}{self.not_applicable[rule]}")
            elif status == Status.AFTER_PUBLICATION:
                lines.append(f"{pad}{self.deferred[rule]}")
            for f in found:
                note = "" if f.severity in (Severity.ERROR, Severity.ABSTAIN) else \
                    f"[{f.severity.value.lower()}] "
                lines.append(f"{pad}{note}{f.where}: {f.reason}")
        for key, value in self.details.items():
            shown = value if isinstance(value, str) else json.dumps(value, default=str)
            lines.append(f"{key}: {shown}")
        sc = self.status_counts()
        lines.append(
            f"{self.verdict}: {sc['passed']} passed, {sc['warning']} warning(s), "
            f"{sc['failed']} failed, "
            f"{sc['needs_person']} need(s) a person, {sc['not_applicable']} not applicable"
            + (f", {sc['after_publication']} after publication" if sc["after_publication"]
               else "")
        )
        if self.statement:
            lines += ["", self.statement]
        return "\n".join(lines)
