"""Integrity checks of a stamped table that need no agreement (rules D1, D3, D4, D10).

Whoever receives a stamped table can always check, without knowing which keys to trust:

* D1: the embedded stamp (root attribute ``x-sharing-stamp``) is present and readable;
* D3: the file's SHA-256 is one of the signed statement's subjects (the file is the one that
  was signed);
* D4: the embedded stamp equals the signed predicate (nobody rewrote the embedded terms);
* D10: the table's phylogenetic tree is the signed one (not edited, dropped or added).

A table whose embedded terms were edited fails D3 (its bytes changed) and D4 (the embedded
terms no longer match the signed ones), so ``check merge`` and ``compare`` refuse it whether or
not ``--agreement`` is given. Whether the signature is by a trusted key (D2) and the agreement
is the stamp's (D5) need the agreement: :func:`soilbiome.sharing.verify.verify_report`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from soilbiome.io.hashing import sha256_file
from soilbiome.sharing.findings import Report
from soilbiome.sharing.stamp_format import sidecar_path
from soilbiome.sharing.tree_rule import check_tree
from soilbiome.sharing.verify import _load_sidecar, read_embedded_stamp

#: Rules :func:`check_integrity` evaluates.
INTEGRITY_RULES = ("D1", "D3", "D4", "D10")


@dataclass
class Integrity:
    """Result of :func:`check_integrity`.

    Attributes
    ----------
    report : Report
        Findings of D1, D3, D4, D10 (``where`` prefixed with the file name).
    sha256 : str
        The file's digest.
    embedded : dict or None
        The embedded stamp.
    signed : dict or None
        The signed predicate (the stamp as signed).
    """

    report: Report
    sha256: str
    embedded: dict[str, Any] | None
    signed: dict[str, Any] | None

    @property
    def ok(self) -> bool:
        """No ERROR finding."""
        return not self.report.has_errors

    @property
    def stamp(self) -> dict[str, Any] | None:
        """The stamp to take terms from: the signed one when present."""
        return self.signed if self.signed is not None else self.embedded


def check_integrity(path: str | Path) -> Integrity:
    """Rules D1, D3, D4 and D10 on one stamped BIOM table (no agreement needed).

    Parameters
    ----------
    path : str or Path
        The stamped table; its sidecar is ``<path>.sharing.dsse.json``.

    Returns
    -------
    Integrity
    """
    p = Path(path)
    name = p.name
    rep = Report(f"integrity of {p}")
    info, embedded = read_embedded_stamp(p, rep, name)
    digest = sha256_file(p) if p.is_file() else ""
    side = sidecar_path(p)
    _, statement, problem = _load_sidecar(side)
    signed = statement.get("predicate") if statement else None
    if statement is None:
        rep.error("D3", side.name, f"no signed statement to check the file against ({problem})")
    else:
        digests = [s.get("digest", {}).get("sha256") for s in statement.get("subject") or []]
        if digest in digests:
            rep.ok("D3")
        else:
            rep.error("D3", name, f"SHA-256 {digest[:16]}... matches no signed subject: the file "
                      "changed after it was stamped")
    if signed is None or embedded is None:
        if statement is not None and embedded is not None:
            rep.error("D4", name, "the signed statement has no predicate to compare with")
    elif embedded == signed:
        rep.ok("D4")
    else:
        keys = sorted(k for k in set(embedded) | set(signed) if embedded.get(k) != signed.get(k))
        rep.error("D4", name, "embedded stamp differs from the signed stamp in: "
                  + ", ".join(keys) + " (embedded terms were edited)")
    check_tree(info, signed if isinstance(signed, dict) else embedded, rep, name)
    return Integrity(rep, digest, embedded, signed if isinstance(signed, dict) else None)
