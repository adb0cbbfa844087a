"""Findings of the steward's checker and the report that collects them.

Each finding carries a rule id (``A1`` .. ``D9``), a severity, the offending field or file and a
one-line reason. A report is printed as text for people (a plain-language summary first, then
every rule with its name and meaning, passed ones included) or as JSON for machines.

Exit codes (:attr:`Report.exit_code`): 0 OK, every rule decided and none failed;
:data:`EXIT_FAILED` (1) at least one ERROR; :data:`EXIT_UNDECIDED` (5) nothing failed but at
least one rule could not be decided (ABSTAIN): "OK, N rules undecided", a person must look.
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
    def undecided(self) -> set[str]:
        """Rules that could not be decided (ABSTAIN), when none failed."""
        return self.rules(Severity.ABSTAIN) - self.rules(Severity.ERROR)

    @property
    def exit_code(self) -> int:
        """0 OK; :data:`EXIT_FAILED` with an ERROR; :data:`EXIT_UNDECIDED` with an ABSTAIN."""
        if self.has_errors:
            return EXIT_FAILED
        return EXIT_UNDECIDED if self.undecided else 0

    @property
    def verdict(self) -> str:
        """``FAIL``, ``OK, N rule(s) undecided`` or ``OK``."""
        if self.has_errors:
            return "FAIL"
        n = len(self.undecided)
        return f"OK, {n} rule{'s' if n != 1 else ''} undecided" if n else "OK"

    def summary(self) -> str:
        """The result in one or two plain sentences, for a data steward."""
        def named(rules: set[str]) -> str:
            return ", ".join(f"{r} ({rule_name(r)})" if rule_name(r) else r
                             for r in sorted(rules, key=_rule_key))

        checked = len(self.passed | self.rules())
        warnings = self.rules(Severity.WARNING)
        if self.has_errors:
            failed = self.rules(Severity.ERROR)
            text = (f"NOT OK: {len(failed)} of {checked} rules failed: {named(failed)}. "
                    "The reasons are listed below.")
        elif self.undecided:
            text = (f"OK, {len(self.undecided)} rule(s) undecided: nothing failed, but "
                    f"{named(self.undecided)} could not be decided with the information given; "
                    "a person must look at them before relying on this result.")
        else:
            text = f"OK: all {checked} rules checked passed."
        if warnings:
            text += f" {len(warnings)} rule(s) gave a warning worth reading: {named(warnings)}."
        return text

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
            "verdict": self.verdict,
            "summary": self.summary(),
            "exit_code": self.exit_code,
            "undecided": sorted(self.undecided, key=_rule_key),
            "counts": self.counts(),
            "findings": [f.to_dict() for f in self.sorted_findings()],
            "passed": sorted(self.passed_rules(), key=_rule_key),
            **({"details": self.details} if self.details else {}),
        }

    def to_json(self) -> str:
        """Return the report as indented JSON."""
        from soilbiome.io.jsonfile import dumps

        return dumps(self.to_dict())

    def to_text(self) -> str:
        """The report for a person: summary first, then every rule, then the counts."""
        lines = [f"== {self.subject}", "", f"In short: {self.summary()}", ""]
        order = {s: i for i, s in enumerate(Severity)}
        label = {Severity.ERROR: "FAILED", Severity.WARNING: "WARNING",
                 Severity.ABSTAIN: "UNDECIDED", Severity.INFO: "passed"}
        by_rule: dict[str, list[Finding]] = {}
        for f in self.findings:
            by_rule.setdefault(f.rule, []).append(f)
        for rule in sorted(self.passed | set(by_rule), key=_rule_key):
            found = sorted(by_rule.get(rule, []), key=lambda f: order[f.severity])
            status = label[found[0].severity] if found else "passed"
            name, meaning = rule_name(rule), rule_meaning(rule)
            head = f"{status:<9} {rule:<4} {name}" + (f": {meaning}" if meaning else "")
            lines.append(head.rstrip())
            for f in found:
                note = "" if f.severity in (Severity.ERROR, found[0].severity) else \
                    f"[{f.severity.value.lower()}] "
                lines.append(f"{'':<14} {note}{f.where}: {f.reason}")
        for key, value in self.details.items():
            shown = value if isinstance(value, str) else json.dumps(value, default=str)
            lines.append(f"{key}: {shown}")
        passed = sorted(self.passed_rules(), key=_rule_key)
        if passed:
            lines.append("passed:  " + " ".join(passed))
        c = self.counts()
        lines.append(
            f"{self.verdict}: {c['ERROR']} error(s), {c['WARNING']} warning(s), "
            f"{c['ABSTAIN']} abstention(s), {c['INFO']} note(s)"
        )
        return "\n".join(lines)
