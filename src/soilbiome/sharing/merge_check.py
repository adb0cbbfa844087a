"""Whether stamped BIOM tables may be merged, and under which terms (rules C1..C15)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

from soilbiome.sharing.agreement import Agreement, load_agreement
from soilbiome.sharing.dates import add_date_findings
from soilbiome.sharing.errors import StampError
from soilbiome.sharing.findings import Report, Status
from soilbiome.sharing.integrity import check_integrity
from soilbiome.sharing.merge import combine_terms
from soilbiome.sharing.stamp_format import COL_COUNTRY, COL_IRCC, SAMPLE_COLUMNS, read_biom_info
from soilbiome.sharing.terms import Terms
from soilbiome.sharing.verdict import attach
from soilbiome.sharing.verify import verify_report


# -- merge check (C rules incl. C15) --------------------------------------------------------------
def check_merge(
    paths: Sequence[str | Path],
    agreements: Sequence[str | Path | Agreement] = (),
    *,
    declared_license: str | None = None,
    today: dt.date | None = None,
) -> Report:
    """Check whether stamped BIOM tables may be merged, and with which terms (C1..C15).

    Parameters
    ----------
    paths : sequence of path
        Stamped BIOM tables.
    agreements : sequence, optional
        Agreements of the inputs. When given, each input's stamp is also verified (D2, D5, D6)
        against the agreement whose SHA-256 it records, and that agreement's terms are used;
        otherwise the signed stamps' terms are used (signer not checked: INFO). The integrity
        checks that need no agreement (D1 stamp readable, D3 file digest against the signed
        statement, D4 embedded terms against the signed terms) run in both cases, so a table
        whose embedded terms were edited is refused with or without agreements.
    declared_license : str, optional
        Licence the merged output is to carry (checked by C1, C2, C5, C12).
    today : datetime.date, optional
        Reference date of the date rules (A16 agreement not in force or expired, B15 embargo
        not over, C11 publication moratorium not over: all refuse the merge).

    Returns
    -------
    Report
        With ``details["merged_terms"]`` summarising the combined terms; call
        :func:`soilbiome.sharing.merge.combine_terms` for the full :class:`MergeResult`.
    """
    loaded = [a if isinstance(a, Agreement) else load_agreement(a) for a in agreements]
    by_sha = {a.sha256: a for a in loaded}
    rep = Report(f"merge of {len(paths)} table(s)")
    terms: list[Terms] = []
    c15 = True
    for path in paths:
        p = Path(path)
        try:
            info = read_biom_info(p, columns=SAMPLE_COLUMNS)
        except StampError as exc:
            rep.error("D1", p.name, str(exc))
            c15 = False
            continue
        integrity = check_integrity(p)
        for f in integrity.report.findings:
            rep.add(f.rule, f.severity, f.where if f.where.startswith(p.name) else
                    f"{p.name}: {f.where}", f.reason)
        rep.take_statuses(integrity.report)
        stamp = integrity.stamp
        if not isinstance(stamp, dict):
            rep.error("D1", p.name, "no readable x-sharing-stamp: terms unknown, cannot merge")
            c15 = False
            continue
        if loaded:
            ag = by_sha.get(stamp.get("agreement_sha256"))
            if ag is None:
                rep.error("D5", p.name, "none of the supplied agreements matches the stamp's "
                          "agreement_sha256")
            else:
                sub = verify_report(p, ag, today=today, rules=("D2", "D5", "D6"),
                                    check_dates=False)
                for f in sub.findings:
                    rep.add(f.rule, f.severity, f"{p.name}: {f.where}", f.reason)
                terms.append(Terms.from_agreement(ag, source=p.name))
        else:
            # a signature by a key no agreement vouches for proves nothing about the terms:
            # anyone can rewrite them and sign again with a fresh key
            keyids = _signer_keyids(p)
            signer = f" ({', '.join(keyids)})" if keyids else ""
            rep.abstain("D2", p.name, f"no --agreement given: whether the signer{signer} is "
                        "trusted cannot be checked, so the signed terms cannot be trusted; "
                        "give each input's --agreement")
        if not loaded or by_sha.get(stamp.get("agreement_sha256")) is None:
            terms.append(Terms.from_dict(stamp.get("terms") or {
                "agreement_id": stamp.get("agreement_id"), "license": stamp.get("license")
            }, source=p.name))
        matched = by_sha.get(stamp.get("agreement_sha256")) if loaded else None
        # A16, B15, C11 (a moratorium not over refuses the merge)
        add_date_findings(rep, matched or terms[-1], today, where=p.name, merging=True)
        # C15: per-sample provenance
        country = info.sample_metadata.get(COL_COUNTRY)
        ircc = info.sample_metadata.get(COL_IRCC)
        abs_applies = (stamp.get("terms") or {}).get("abs", {}).get("applicable") is True
        if not info.sample_ids:
            continue
        if country is None:
            rep.error("C15", p.name, f"no {COL_COUNTRY} sample column")
            c15 = False
        else:
            blank = [s for s, c in zip(info.sample_ids, country, strict=False) if not c]
            if blank:
                rep.error("C15", p.name, f"{len(blank)} sample(s) lack {COL_COUNTRY}: "
                          + ", ".join(blank[:5]))
                c15 = False
        if abs_applies:
            column = ircc or [""] * len(info.sample_ids)
            blank = [s for s, c in zip(info.sample_ids, column, strict=False) if not c]
            if blank:
                rep.error("C15", p.name, f"ABS applies but {len(blank)} sample(s) lack "
                          f"{COL_IRCC}: " + ", ".join(blank[:5]))
                c15 = False
    if c15:
        rep.ok("C15")
    if not terms:
        return attach(rep, None, "merge", today)
    result = combine_terms(terms, declared_license=declared_license)
    rep.extend(result.report)
    if rep.has_errors:
        failed = ", ".join(rep.with_status(Status.FAILED))
        return attach(rep, None, "merge", today, refused=f"{failed} failed")
    merged = result.to_terms("merged table", "; ".join(
        dict.fromkeys(t.agreement_id for t in terms if t.agreement_id)))
    return attach(rep, merged, "merge", today)


def _signer_keyids(table: Path) -> list[str]:
    """Key ids of the signatures in ``table``'s sidecar (empty when unreadable)."""
    import json

    from soilbiome.sharing.stamp_format import sidecar_path

    try:
        envelope = json.loads(sidecar_path(table).read_text())
        return sorted({str(s["keyid"]) for s in envelope.get("signatures", [])
                       if isinstance(s, dict) and s.get("keyid")})
    except (OSError, ValueError, AttributeError, TypeError):
        return []
