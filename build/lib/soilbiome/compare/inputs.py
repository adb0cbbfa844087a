"""Step 1 of ``compare``: verify every input table (D rules) and enforce agreement dates.

For each input:

* the integrity checks that need no agreement always run
  (:func:`soilbiome.sharing.integrity.check_integrity`: D1 stamp readable, D3 file digest in
  the signed statement, D4 embedded terms equal to the signed terms). An input failing them is
  refused even with ``--allow-unverified``: its terms cannot be trusted, so no licence could be
  computed for the merge;
* the agreement whose SHA-256 the stamp records is looked up among ``--agreement`` files and
  the stamp is verified against it (D2 trusted signature, D5 agreement, D6 samples covered).
  An input without a matching agreement, or failing these, is *unverified*: refused, unless
  ``--allow-unverified`` lets it in (and then every output says so);
* the dates of its terms are enforced at ``--today`` with the shared check
  (:func:`soilbiome.sharing.dates.add_date_findings`, as ``verify`` and ``check merge``): an
  expired or not-yet-valid agreement (A16), an embargo (B15) or a publication moratorium
  (C11) that is not over refuses the input: the merged table is an output shared onward.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from soilbiome.errors import InputError
from soilbiome.sharing.agreement import Agreement, load_agreement
from soilbiome.sharing.dates import add_date_findings
from soilbiome.sharing.findings import Report, Severity
from soilbiome.sharing.integrity import INTEGRITY_RULES, check_integrity
from soilbiome.sharing.terms import Terms
from soilbiome.sharing.verify import verify_report

#: Rules checked against the agreement (besides the integrity rules).
AGREEMENT_RULES = ("D2", "D5", "D6")
#: Rules of the shared date check (:mod:`soilbiome.sharing.dates`).
DATE_RULES = ("A16", "B15", "C11")


@dataclass
class InputCheck:
    """What step 1 found about one input table.

    Attributes
    ----------
    path : Path
    label : str
        Unique short name of the input (file stem, made unique).
    institution : str
        The provider party of its agreement (or the file stem when unknown).
    sha256 : str
    terms : Terms or None
        From the agreement when verified against one, else from the signed stamp.
    agreement : Agreement or None
    report : Report
        D-rule and date findings.
    integrity_ok, verified, dates_ok : bool
    """

    path: Path
    label: str
    institution: str
    sha256: str
    terms: Terms | None
    agreement: Agreement | None
    report: Report
    integrity_ok: bool
    verified: bool
    dates_ok: bool
    stamp: dict[str, Any] | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def status(self) -> str:
        """``verified``, ``unverified`` or ``refused``."""
        if not self.integrity_ok or not self.dates_ok:
            return "refused"
        return "verified" if self.verified else "unverified"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary."""
        return {
            "file": self.path.name,
            "label": self.label,
            "institution": self.institution,
            "sha256": self.sha256,
            "status": self.status,
            "agreement_id": self.agreement.id if self.agreement else
            (self.stamp or {}).get("agreement_id"),
            "agreement_sha256": self.agreement.sha256 if self.agreement else
            (self.stamp or {}).get("agreement_sha256"),
            "license": self.terms.license if self.terms else None,
            "findings": [f.to_dict() for f in self.report.sorted_findings()],
            "passed": sorted(self.report.passed_rules()),
        }


def _labels(paths: Sequence[Path]) -> list[str]:
    return _unique([p.name.removesuffix(".biom") for p in paths])


def _unique(names: Sequence[str]) -> list[str]:
    out: list[str] = []
    for base in names:
        label, k = base, 2
        while label in out:
            label, k = f"{base}-{k}", k + 1
        out.append(label)
    return out


def check_inputs(
    paths: Sequence[str | Path],
    agreements: Sequence[str | Path | Agreement] = (),
    *,
    today: dt.date | None = None,
    labels: Sequence[str] | None = None,
) -> list[InputCheck]:
    """Verify every input table (see the module docstring).

    Parameters
    ----------
    paths : sequence of path
        Stamped BIOM tables.
    agreements : sequence of path or Agreement
        Agreements of the inputs (matched to stamps by SHA-256).
    today : datetime.date, optional
        Reference date of the date rules (default: today).

    Returns
    -------
    list of InputCheck
        One per input, in order.
    """
    today = today or dt.date.today()
    loaded = [a if isinstance(a, Agreement) else load_agreement(a) for a in agreements]
    by_sha = {a.sha256: a for a in loaded}
    paths = [Path(p) for p in paths]
    out: list[InputCheck] = []
    if labels is not None and len(labels) != len(paths):
        raise InputError(f"{len(labels)} --label for {len(paths)} tables")
    names = _unique(list(labels)) if labels else _labels(paths)
    for p, label in zip(paths, names, strict=True):
        integrity = check_integrity(p)
        rep = Report(f"input {p.name}")
        rep.extend(integrity.report)
        stamp = integrity.stamp
        ag = by_sha.get((stamp or {}).get("agreement_sha256")) if stamp else None
        verified = False
        terms: Terms | None = None
        if stamp is not None:
            if ag is not None:
                sub = verify_report(p, ag, today=today, rules=AGREEMENT_RULES)
                for f in sub.findings:
                    rep.add(f.rule, f.severity, f.where, f.reason)
                rep.take_statuses(sub)
                verified = integrity.ok and not sub.has_errors
                terms = Terms.from_agreement(ag, source=p.name)
            else:
                why = ("no --agreement given" if not loaded else
                       "none of the --agreement files is the one the stamp names "
                       f"(agreement_sha256 {str(stamp.get('agreement_sha256'))[:16]}...)")
                rep.error("D5", p.name, f"stamp not verified: {why}")
                terms = Terms.from_dict(stamp.get("terms") or {
                    "agreement_id": stamp.get("agreement_id"), "license": stamp.get("license")
                }, source=p.name)
        dates_ok = True
        if terms is not None:  # the one shared date check (verify and check merge use it too)
            dates_ok = add_date_findings(rep, ag if ag is not None else terms, today,
                                         where=p.name, merging=True)
        institution = label
        if ag is not None and ag.provider:
            institution = str(ag.provider.get("id") or label)
        problems = [f"{f.rule} {f.where}: {f.reason}" for f in rep.sorted_findings()
                    if f.severity == Severity.ERROR]
        out.append(InputCheck(
            path=p, label=label, institution=institution, sha256=integrity.sha256, terms=terms,
            agreement=ag, report=rep, integrity_ok=integrity.ok and stamp is not None,
            verified=verified, dates_ok=dates_ok, stamp=stamp, problems=problems,
        ))
    return out


def refusals(checks: Sequence[InputCheck], allow_unverified: bool) -> list[str]:
    """One line per refused input (file, rule, reason); empty when all may be compared."""
    lines: list[str] = []
    for c in checks:
        if c.status == "verified":
            continue
        if c.status == "unverified" and allow_unverified:
            continue
        errors = [f for f in c.report.sorted_findings() if f.severity == Severity.ERROR]
        if c.status == "unverified":
            errors = [f for f in errors if f.rule not in INTEGRITY_RULES + DATE_RULES]
        for f in errors:
            lines.append(f"{c.path}: {f.rule}: {f.reason}")
        if c.status == "unverified":
            lines.append(f"{c.path}: not verified (use --allow-unverified to compare it "
                         "anyway; every output then says so)")
    return lines
