"""Rule D10: the table's phylogenetic tree is the one that was signed.

The stamp signs the tree on its own (``tree``: HDF5 location and SHA-256 of the Newick text,
null for a table without one), beside the whole file's SHA-256 (D3). D3 says *that* the file
changed; D10 says what happened to the tree: edited, gone (a biom-format re-save such as
``biom convert``, ``biom subset-table`` or ``Table.to_hdf5`` drops ``/soilbiome/phylogeny``,
so UniFrac and Faith's PD can no longer be computed from the table), or added after stamping.
Stamps made before trees were signed have no ``tree`` field: D10 then passes (with a note
when the table has a tree, which only the file hash, D3, covers).
"""

from __future__ import annotations

from typing import Any

from soilbiome.io.biom_tree import resaved_by
from soilbiome.sharing.findings import Report
from soilbiome.sharing.stamp_format import BiomInfo

RULE = "D10"


def check_tree(info: BiomInfo | None, stamp: dict[str, Any] | None, rep: Report,
               where: str) -> None:
    """Evaluate D10 into ``rep``: the table's tree against the stamp's signed ``tree``.

    Parameters
    ----------
    info : BiomInfo or None
        What the validated reader read (None: the table is unreadable).
    stamp : dict or None
        The signed predicate (or the embedded stamp when no signed one is available).
    rep : Report
    where : str
        The table's name, for the finding.
    """
    if info is None:
        rep.abstain(RULE, where, "table unreadable: its tree cannot be checked")
        return
    if stamp is None:
        rep.abstain(RULE, where, "no stamp to read the signed tree from")
        return
    have = info.tree
    if "tree" not in stamp:
        if have is None:
            rep.ok(RULE)
        else:
            rep.ok(RULE)
            rep.info(RULE, where, "the stamp predates signed trees: the tree at "
                     f"{have.location} is covered by the file hash (D3) only")
        return
    signed = stamp.get("tree")
    if signed is not None and not isinstance(signed, dict):
        rep.error(RULE, where, "the stamp's tree field is not an object")
        return
    writer = resaved_by(info.attributes)
    how = (f"the table was re-saved by {writer} after stamping" if writer
           else "the table was altered after stamping")
    if signed is None:
        if have is None:
            rep.ok(RULE)
        else:
            rep.error(RULE, where, f"the table carries a phylogenetic tree ({have.location}, "
                      f"SHA-256 {have.sha256[:16]}...) that the stamp does not cover: it was "
                      "added after stamping")
        return
    digest = str(signed.get("sha256") or "")
    location = str(signed.get("location") or "")
    if have is None:
        rep.error(RULE, where, f"the signed phylogenetic tree ({location}, SHA-256 "
                  f"{digest[:16]}...) is missing: {how} (biom convert, subset-table and "
                  "Table.to_hdf5 drop it), so UniFrac and Faith's PD cannot be computed; "
                  "use the table as stamped")
    elif have.sha256 != digest:
        rep.error(RULE, where, f"the phylogenetic tree ({have.location}, SHA-256 "
                  f"{have.sha256[:16]}...) differs from the signed tree ({digest[:16]}...): "
                  "the tree was edited after stamping")
    else:
        rep.ok(RULE)
