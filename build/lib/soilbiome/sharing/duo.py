"""GA4GH Data Use Ontology (DUO) terms: id normalisation, permissions and modifiers.

The term table ships as package data (``soilbiome/data/duo-2021-02-23.csv``, ids, shorthands
and labels of the DUO release of 2021-02-23; DUO is CC-BY-4.0, https://github.com/EBISPOT/DUO).
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

DUO_RELEASE = "2021-02-23"

_ID = re.compile(r"^(?:DUO|duo|obo:DUO)[:_](\d{1,8})$")

NRES, GRU, HMB, DS, POA = (
    "DUO:0000004", "DUO:0000042", "DUO:0000006", "DUO:0000007", "DUO:0000011"
)
NPUNCU, NPU, NCU, IRB, PUB, COL, MOR = (
    "DUO:0000018", "DUO:0000045", "DUO:0000046", "DUO:0000021", "DUO:0000019",
    "DUO:0000020", "DUO:0000024",
)
GS, RTN, US, PS, IS, TS, NMDS, GSO = (
    "DUO:0000022", "DUO:0000029", "DUO:0000026", "DUO:0000027", "DUO:0000028",
    "DUO:0000025", "DUO:0000015", "DUO:0000016",
)
CC, NPOA, RS = "DUO:0000043", "DUO:0000044", "DUO:0000012"

PERMISSIONS = (NRES, GRU, HMB, DS, POA)
OBSOLETE = ("DUO:0000005", "DUO:0000014")
#: Modifiers that restrict use; an open public licence cannot carry them (rule A5).
RESTRICTIVE_MODIFIERS = frozenset({NCU, NPU, NPUNCU, GS, US, PS, IS, TS, MOR, COL, RTN})
#: Terms that make little sense for environmental (soil) data (rule A4).
HUMAN_ONLY = frozenset({HMB, DS, POA, GSO, CC, NPOA})
#: Modifiers that forbid commercial use.
NON_COMMERCIAL = frozenset({NCU, NPUNCU})


@dataclass(frozen=True)
class DuoTerm:
    """One DUO term of the shipped release."""

    id: str
    shorthand: str
    kind: str  # permission | modifier | class | obsolete
    label: str


def normalise_id(raw: str) -> str | None:
    """Return ``DUO:0000044`` for ``DUO_00000044``, ``duo:44`` ...; ``None`` when not a DUO id.

    Examples
    --------
    >>> normalise_id("DUO_00000044")
    'DUO:0000044'
    """
    m = _ID.match(str(raw).strip())
    if not m:
        return None
    return f"DUO:{int(m.group(1)):07d}"


@lru_cache(maxsize=1)
def terms() -> dict[str, DuoTerm]:
    """All terms of the shipped DUO release, keyed by normalised id."""
    text = resources.files("soilbiome").joinpath("data", f"duo-{DUO_RELEASE}.csv").read_text(
        encoding="utf-8"
    )
    out = {}
    for row in csv.DictReader(io.StringIO(text)):
        out[row["id"]] = DuoTerm(row["id"], row["shorthand"], row["kind"], row["label"])
    return out


def shorthand(term_id: str) -> str:
    """Shorthand (``NCU``) of a normalised id, or the id itself when unknown."""
    term = terms().get(term_id)
    return term.shorthand if term and term.shorthand else term_id


def describe(term_id: str) -> str:
    """``"DUO:0000046 (NCU)"`` style label for messages."""
    short = shorthand(term_id)
    return term_id if short == term_id else f"{term_id} ({short})"


#: Specificity order of permissions: a later one is more specific (more restrictive).
_PERMISSION_RANK = {NRES: 0, GRU: 1, HMB: 2, POA: 2, DS: 3}


def most_specific_permission(
    permissions: list[tuple[str, tuple[str, ...]]],
) -> tuple[str | None, str]:
    """Combine DUO permissions of merged inputs (rule C7).

    Parameters
    ----------
    permissions : list of (permission id, qualifiers)
        Qualifiers are e.g. the disease ids of a DS term (empty otherwise).

    Returns
    -------
    (permission, reason)
        The most specific permission, or ``None`` with a reason when two are incomparable
        (HMB vs POA, POA vs DS, DS for different diseases).
    """
    best: tuple[str, tuple[str, ...]] | None = None
    for perm, qual in permissions:
        if best is None:
            best = (perm, qual)
            continue
        b_perm, b_qual = best
        if perm == b_perm:
            if perm == DS and set(qual) != set(b_qual):
                return None, f"DS for different diseases {sorted(b_qual)} vs {sorted(qual)}"
            continue
        pair = {perm, b_perm}
        if pair == {HMB, POA} or pair == {POA, DS}:
            return None, f"{describe(b_perm)} and {describe(perm)} are incomparable"
        if _PERMISSION_RANK[perm] > _PERMISSION_RANK[b_perm]:
            best = (perm, qual)
    if best is None:
        return None, "no input declares a DUO permission"
    return best[0], "most specific of the inputs"
