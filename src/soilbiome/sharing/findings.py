"""Findings of the steward's checker and the report that collects them.

Each finding carries a rule id (``A1`` .. ``D9``), a severity, the offending field or file and a
one-line reason. A report is printed as text for people or as JSON for machines; its exit code
is 0 only when no finding is an ``ERROR``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


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


@dataclass
class Report:
    """Findings about one subject, plus the ids of rules that were evaluated and passed.

    Parameters
    ----------
    subject : str
        What was checked (``"agreement sharing_agreements/examples/open.yaml"``).
    findings : list of Finding
        Everything that is not a clean pass.
    passed : set of str
        Rule ids evaluated without any finding (including rules that do not apply).
    """

    subject: str
    findings: list[Finding] = field(default_factory=list)
    passed: set[str] = field(default_factory=set)
    details: dict[str, Any] = field(default_factory=dict)

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
        """Mark ``rules`` as evaluated; they count as passed unless they have findings."""
        self.passed.update(rules)

    def extend(self, other: Report) -> None:
        """Merge another report's findings and passes into this one."""
        self.findings.extend(other.findings)
        self.passed.update(other.passed)
        self.details.update(other.details)

    # -- queries -------------------------------------------------------------------------------
    def rules(self, severity: Severity | None = None) -> set[str]:
        """Rule ids that have a finding (of ``severity`` if given)."""
        return {f.rule for f in self.findings if severity is None or f.severity == severity}

    def passed_rules(self) -> set[str]:
        """Rule ids evaluated with no ERROR, WARNING or ABSTAIN finding."""
        flagged = {f.rule for f in self.findings if f.severity != Severity.INFO}
        return self.passed - flagged

    @property
    def has_errors(self) -> bool:
        """True when any finding is an ERROR."""
        return any(f.severity == Severity.ERROR for f in self.findings)

    @property
    def exit_code(self) -> int:
        """0 without ERROR findings, 1 otherwise."""
        return 1 if self.has_errors else 0

    def counts(self) -> dict[str, int]:
        """Number of findings per severity."""
        out = {s.value: 0 for s in Severity}
        for f in self.findings:
            out[f.severity.value] += 1
        return out

    def sorted_findings(self) -> list[Finding]:
        """Findings ordered by rule id, then severity."""
        order = {s: i for i, s in enumerate(Severity)}
        return sorted(self.findings, key=lambda f: (_rule_key(f.rule), order[f.severity]))

    # -- output --------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Return the report as a JSON-ready mapping."""
        return {
            "subject": self.subject,
            "ok": not self.has_errors,
            "counts": self.counts(),
            "findings": [f.to_dict() for f in self.sorted_findings()],
            "passed": sorted(self.passed_rules(), key=_rule_key),
            **({"details": self.details} if self.details else {}),
        }

    def to_json(self) -> str:
        """Return the report as indented JSON."""
        return json.dumps(self.to_dict(), indent=2)

    def to_text(self) -> str:
        """Return the report as aligned text lines for a person."""
        lines = [f"== {self.subject}"]
        for f in self.sorted_findings():
            lines.append(f"{f.severity.value:<8} {f.rule:<4} {f.where}: {f.reason}")
        for key, value in self.details.items():
            shown = value if isinstance(value, str) else json.dumps(value, default=str)
            lines.append(f"{key}: {shown}")
        passed = sorted(self.passed_rules(), key=_rule_key)
        if passed:
            lines.append("passed:  " + " ".join(passed))
        c = self.counts()
        verdict = "FAIL" if self.has_errors else "OK"
        lines.append(
            f"{verdict}: {c['ERROR']} error(s), {c['WARNING']} warning(s), "
            f"{c['ABSTAIN']} abstention(s), {c['INFO']} note(s)"
        )
        return "\n".join(lines)
