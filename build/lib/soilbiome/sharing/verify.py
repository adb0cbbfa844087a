"""Rules D1..D10 for a stamped BIOM file: embedded stamp, signed sidecar, hash, scope, tree."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from soilbiome.io.biom_tree import resaved_by
from soilbiome.io.hashing import sha256_file
from soilbiome.sharing import dsse
from soilbiome.sharing.agreement import Agreement, load_agreement, parse_date
from soilbiome.sharing.crate_check import check_crate, linked_crate
from soilbiome.sharing.dates import add_date_findings
from soilbiome.sharing.errors import SigningKeyError, StampError
from soilbiome.sharing.findings import Finding, Report
from soilbiome.sharing.keys import keyid_of, public_key_from_b64
from soilbiome.sharing.stamp_format import (
    ERC000022_MANDATORY,
    PREDICATE_TYPE,
    STAMP_ATTR,
    STATEMENT_TYPE,
    read_biom_info,
    sidecar_path,
)
from soilbiome.sharing.terms import Terms
from soilbiome.sharing.verdict import attach

D_RULES = tuple(f"D{i}" for i in range(1, 11))


def _load_sidecar(path: Path) -> tuple[dsse.Envelope | None, dict[str, Any] | None, str | None]:
    """Return (envelope, statement, problem)."""
    if not path.is_file():
        return None, None, f"sidecar {path.name} is missing"
    try:
        env = dsse.Envelope.parse(json.loads(path.read_text(encoding="utf-8")))
        if env.payload_type != dsse.IN_TOTO_PAYLOAD_TYPE:
            return env, None, f"payloadType {env.payload_type!r} is not in-toto"
        st = env.statement()
    except (OSError, ValueError) as exc:
        return None, None, f"sidecar unreadable: {exc}"
    if not isinstance(st, dict) or st.get("_type") != STATEMENT_TYPE:
        return env, None, "payload is not an in-toto Statement v1"
    if st.get("predicateType") != PREDICATE_TYPE:
        return env, None, f"predicateType {st.get('predicateType')!r} is not a sharing stamp"
    return env, st, None



def read_embedded_stamp(p: Path, rep: Report, where: str) -> tuple[Any, dict[str, Any] | None]:
    """D1: read the table (validated reader) and its embedded stamp; report into ``rep``.

    Returns the table info (None if unreadable) and the embedded stamp (None if absent or not
    a JSON object). Shared by :func:`verify_report` and the agreement-free integrity check.
    """
    embedded = None
    info = None
    try:
        info = read_biom_info(p)
    except StampError as exc:
        rep.error("D1", where, str(exc))
    if info is not None:
        writer = resaved_by(info.attributes)
        if info.stamp_text is None and writer:
            rep.error("D1", where, f"no {STAMP_ATTR} root attribute, stamp lost: the table was "
                      f"re-saved by {writer} after stamping (biom convert, subset-table and "
                      "Table.to_hdf5 drop soilbiome's root attributes and tree); use the table "
                      "as stamped")
        elif info.stamp_text is None:
            rep.error("D1", where, f"no {STAMP_ATTR} root attribute: not stamped, or stamp lost "
                      "(e.g. by a biom load_table/to_hdf5 round-trip); re-stamp the file")
        else:
            try:
                embedded = json.loads(info.stamp_text)
                if not isinstance(embedded, dict):
                    raise ValueError("not a JSON object")
                rep.ok("D1")
            except ValueError as exc:
                rep.error("D1", where, f"{STAMP_ATTR} is not valid JSON: {exc}")
                embedded = None
    return info, embedded

def verify_report(
    path: str | Path,
    agreement: Agreement | str | Path,
    *,
    today: dt.date | None = None,
    crate: str | Path | None = None,
    rules: Sequence[str] = D_RULES,
    check_dates: bool = True,
    before_publication: bool = False,
) -> Report:
    """Evaluate rules D1..D10 on a stamped BIOM file; return the full report.

    Parameters
    ----------
    path : str or Path
        The stamped BIOM table; its sidecar is ``<path>.sharing.dsse.json``.
    agreement : Agreement or path
        The agreement the table should be stamped under.
    today : datetime.date, optional
        Reference date (default: today) for the agreement's validity window and embargo
        (:func:`soilbiome.sharing.dates.date_findings`: A16, B15); keys are checked at
        signing time (D2).
    crate : path, optional
        RO-Crate directory (or BagIt bag holding one) for D7/D9; default: the crate the
        stamp's ``run_crate`` links to, if it exists. Without a crate D7/D9 ABSTAIN.
    rules : sequence of str
        Subset of D rules to evaluate.
    check_dates : bool
        Also report the agreement's dates on ``today`` (A16, B15).
    before_publication : bool
        The table is checked by the pipeline before the run is published (``STAMP``): when
        the stamp links to a run crate that is not written yet, D7/D9 are "after publication"
        (checked by ``soilbiome verify`` of the published table) instead of needing a person.
        Without a link they still need a person.

    Returns
    -------
    Report
        With the statement of what the recipient may do (:mod:`soilbiome.sharing.verdict`).
    """
    p = Path(path)
    ag = agreement if isinstance(agreement, Agreement) else load_agreement(agreement)
    rep = Report(f"artefact {p}")
    where = p.name
    wanted = set(rules)
    # D1 -----------------------------------------------------------------------------------------
    info, embedded = read_embedded_stamp(p, rep, where)
    # sidecar ------------------------------------------------------------------------------------
    side = sidecar_path(p)
    env, statement, problem = _load_sidecar(side)
    predicate = statement.get("predicate") if statement else None
    if "D2" in wanted:
        if problem:
            rep.error("D2", side.name, problem)
        else:
            _check_signatures(env, predicate, ag, rep, side.name)
    if "D3" in wanted:
        if statement is None:
            rep.abstain("D3", where, "no valid sidecar statement to compare the file hash with")
        else:
            digests = [s.get("digest", {}).get("sha256") for s in statement.get("subject") or []]
            actual = sha256_file(p)
            if actual in digests:
                rep.ok("D3")
                names = [s.get("name") for s in statement.get("subject") or []]
                if p.name not in names:
                    rep.info("D3", where, f"file renamed since stamping (subject {names})")
            else:
                rep.error("D3", where, f"SHA-256 {actual[:16]}... matches no statement subject: "
                          "the file changed after stamping")
    if "D4" in wanted:
        if predicate is None or embedded is None:
            rep.abstain("D4", where, "needs both the embedded stamp and the signed predicate")
        elif embedded == predicate:
            rep.ok("D4")
        else:
            keys = sorted(k for k in set(embedded) | set(predicate)
                          if embedded.get(k) != predicate.get(k))
            rep.error("D4", where, "embedded stamp differs from the signed predicate in: "
                      + ", ".join(keys))
    if "D5" in wanted:
        source = predicate if predicate is not None else embedded
        if source is None:
            rep.abstain("D5", where, "no stamp to read agreement_sha256 from")
        elif source.get("agreement_sha256") == ag.sha256:
            rep.ok("D5")
        else:
            rep.error("D5", ag.path, f"stamp was made under agreement sha256 "
                      f"{str(source.get('agreement_sha256'))[:16]}..., not this file "
                      f"({ag.sha256[:16]}...)")
    if "D6" in wanted:
        allowed = ag.sample_ids
        if info is None:
            rep.abstain("D6", where, "sample ids unreadable")
        elif allowed is None:
            rep.abstain("D6", "datasets[].samples.sample_ids", "agreement lists no sample ids")
        else:
            extra = [s for s in info.sample_ids if s not in allowed]
            if extra:
                shown = ", ".join(extra[:5]) + (" ..." if len(extra) > 5 else "")
                rep.error("D6", where, f"{len(extra)} sample(s) not covered by the agreement: "
                          f"{shown}")
            else:
                rep.ok("D6")
    if "D7" in wanted or "D9" in wanted:
        stamp = predicate or embedded
        note = ""
        link = (stamp or {}).get("run_crate")
        if crate is None:
            crate, note = linked_crate(p, stamp)
            if crate is not None:
                rep.info("D7", where, note)
        if crate is None and before_publication and isinstance(link, str) and link:
            why = (f"checked once the run is published: the stamp links to the run's RO-Crate "
                   f"({link} from the table's folder), which the pipeline writes last")
            for r in sorted(wanted & {"D7", "D9"}):
                rep.defer(r, why)
        else:
            table_sha = sha256_file(p) if p.is_file() else None
            check_crate(crate, ag, stamp, rep, wanted, table_sha256=table_sha, note=note)
    if "D10" in wanted:
        from soilbiome.sharing.tree_rule import check_tree

        check_tree(info, predicate if predicate is not None else embedded, rep, where)
    if check_dates:
        add_date_findings(rep, ag, today)
    if "D8" in wanted:
        # verify decides the ENA ERC000022 part; the full MIxS LinkML validation is a note
        # (soilbiome validate checked the samplesheet's MIxS fields when the table was made)
        if info is None:
            rep.abstain("D8", where, "sample metadata unreadable")
        else:
            missing = [c for c in ERC000022_MANDATORY if c not in info.sample_metadata]
            if missing:
                rep.warning("D8", where, "ENA ERC000022 mandatory sample fields missing: "
                            + ", ".join(missing))
            else:
                rep.ok("D8")
            rep.info("D8", where, "full MIxS LinkML validation (linkml-validate -C MimsSoil) "
                     "is not run by soilbiome verify; run it on the sample sheet if needed")
    return attach(rep, Terms.from_agreement(ag), "verify", today or dt.date.today())


def verify_biom(
    path: str | Path,
    agreement_path: Agreement | str | Path,
    *,
    today: dt.date | None = None,
    crate: str | Path | None = None,
) -> list[Finding]:
    """Rules D1..D10 for a stamped BIOM file; return the findings (see :func:`verify_report`)."""
    return verify_report(path, agreement_path, today=today, crate=crate).sorted_findings()


def _check_signatures(env: dsse.Envelope, predicate: dict[str, Any] | None, ag: Agreement,
                      rep: Report, where: str) -> None:
    signed_on = parse_date((predicate or {}).get("stamped_at"))
    revoked = set(ag.get("signing.revoked_keyids") or [])
    trusted = {k["keyid"]: k for k in ag.get("signing.trusted_keys") or []}
    good_parties: set[str] = set()
    notes: list[str] = []
    for sig in env.signatures:
        kid = str(sig.get("keyid"))
        entry = trusted.get(kid)
        if entry is None:
            notes.append(f"signature by {kid[:23]}... (not a trusted key)")
            continue
        if kid in revoked:
            notes.append(f"key {kid[:23]}... is revoked")
            continue
        try:
            pub = public_key_from_b64(entry["public_key_b64"])
        except SigningKeyError:
            notes.append(f"trusted key {kid[:23]}... is malformed")
            continue
        if keyid_of(pub) != kid or not env.verify(kid, pub):
            notes.append(f"signature by {kid[:23]}... does not verify")
            continue
        start, end = parse_date(entry.get("valid_from")), parse_date(entry.get("valid_until"))
        if signed_on is None:
            notes.append("stamp has no stamped_at date")
            continue
        if (start and signed_on < start) or (end and signed_on > end):
            notes.append(f"key {kid[:23]}... was not valid on {signed_on}")
            continue
        good_parties.add(entry.get("party"))
    if not good_parties:
        rep.error("D2", where, "no valid signature by a trusted key"
                  + (": " + "; ".join(notes) if notes else ""))
        return
    missing = sorted(set(ag.get("signing.required_signers") or []) - good_parties)
    if missing:
        rep.error("D2", where, "missing signature(s) of required signer(s): " + ", ".join(missing))
        return
    rep.ok("D2")
    for n in notes:
        rep.info("D2", where, f"ignored {n}")
