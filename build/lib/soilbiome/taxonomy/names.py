"""Rules for the names a reference gives: placeholders, species, domain vs kingdom.

:func:`is_placeholder` tells names that must leave their rank empty, :func:`species_name`
joins a bare epithet to its genus, :func:`place_top_ranks` puts a reference's top names at
``domain`` or ``kingdom`` by what they are, and :func:`names_from_taxonomy` maps another tool's
taxonomy list onto :data:`~soilbiome.taxonomy.ranks.RANKS`. The rules as a whole are described
in :mod:`soilbiome.taxonomy.lineage`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from soilbiome.taxonomy.errors import TaxonomyError
from soilbiome.taxonomy.ranks import (
    DOMAINS,
    EUKARYOTA,
    RANK_PREFIXES,
    RANKS,
    is_eukaryote_kingdom,
)

_PLACEHOLDER_START = re.compile(
    r"^(unidentified|uncultured|unclassified|unknown|unassigned|metagenome|environmental)",
    re.IGNORECASE,
)
_SPECIES_PLACEHOLDER = re.compile(r"(^|[_ ])sp\.?$", re.IGNORECASE)
_MISSING = frozenset({"", "na", "nan", "none", "null", "_dada2_unspecified"})


def is_placeholder(name: str, rank: str) -> bool:
    """Tell whether a (prefix-free) name is a placeholder that must leave its rank empty.

    Placeholders are names starting with ``unidentified``, ``uncultured``, ``unclassified``,
    ``unknown``, ``unassigned``, ``metagenome`` or ``environmental`` (any case), and at the
    species rank names ending in ``_sp``/`` sp``/`` sp.`` (``Fusarium_sp``: "some species of
    Fusarium", which is what the genus already says). ``Incertae_sedis`` names are *not*
    placeholders: they are real positions in the reference taxonomy.

    Parameters
    ----------
    name : str
        A rank value with its prefix removed.
    rank : str
        One of :data:`RANKS`.

    Returns
    -------
    bool
    """
    if name.strip().lower() in _MISSING:
        return True
    if _PLACEHOLDER_START.match(name):
        return True
    return rank == "species" and bool(_SPECIES_PLACEHOLDER.search(name))


def place_top_ranks(
    raw: Mapping[str, tuple[str, float | None]], *, where: str = ""
) -> dict[str, tuple[str, float | None]]:
    """Put a reference's top names at the ranks they are: domain or kingdom.

    References disagree about their top rank: SILVA and the DADA2 training sets call
    ``Bacteria`` a *Kingdom*, GTDB and RDP write ``d__``/``d:`` for it, UNITE writes
    ``k__Fungi`` for a kingdom of the Eukaryota. The rules:

    1. A domain of life (:data:`DOMAINS`) given as kingdom moves to ``domain``.
    2. A eukaryote kingdom (:func:`is_eukaryote_kingdom`) given as domain moves to
       ``kingdom``.
    3. A eukaryote kingdom with no domain above it gets domain ``Eukaryota``, with the
       kingdom's confidence (a classifier sure of ``Fungi`` is at least that sure of
       ``Eukaryota``; if ``Fungi`` fails the cutoff, so does the domain: nothing is invented
       beyond what the classifier said).
    4. Other names stay where the reference put them.

    Parameters
    ----------
    raw : mapping
        ``rank -> (name, confidence)``, prefixes stripped.
    where : str
        Feature / line, for the error message.

    Returns
    -------
    dict
        A new mapping with ``domain`` and ``kingdom`` placed.

    Raises
    ------
    TaxonomyError
        When two different names end up at the same rank (a lineage giving ``d:Bacteria``
        and ``k:Archaea``).
    """
    out = dict(raw)
    domain = out.pop("domain", ("", None))
    kingdom = out.pop("kingdom", ("", None))
    moved: dict[str, list[tuple[str, float | None]]] = {"domain": [], "kingdom": []}
    for given, value in (("domain", domain), ("kingdom", kingdom)):
        name = value[0].strip()
        if not name:
            continue
        if name in DOMAINS:
            moved["domain"].append(value)
        elif is_eukaryote_kingdom(name):
            moved["kingdom"].append(value)
        else:
            moved[given].append(value)
    for rank, values in moved.items():
        if len(values) > 1:
            names = " and ".join(v[0] for v in values)
            raise TaxonomyError(f"{where}: two names for rank {rank}: {names}".lstrip(": "))
        if values:
            out[rank] = values[0]
    king = out.get("kingdom")
    if king and "domain" not in out and is_eukaryote_kingdom(king[0].strip()):
        out["domain"] = (EUKARYOTA, king[1])
    return out


def species_name(name: str, genus: str) -> str:
    """The species name to store: as the reference writes it, or epithet joined to genus.

    A name holding ``_``, ``.`` or a space is a full name and is kept verbatim
    (``Fusarium_oxysporum``, ``Fusarium.oxysporum``, ``Bacillus subtilis``); so is a name
    starting with the genus. A bare epithet (``coli``) becomes ``<genus>_<epithet>``, or
    ``""`` without a genus.

    Parameters
    ----------
    name : str
        Species value, prefix stripped.
    genus : str
        The lineage's genus (``""`` when unassigned).

    Returns
    -------
    str
    """
    name = name.strip()
    if not name or re.search(r"[_. ]", name) or (genus and name.startswith(genus)):
        return name
    return f"{genus}_{name}" if genus else ""


_GG_PREFIX = re.compile(r"^([A-Za-z0-9_]{1,4})__(.*)$")


def names_from_taxonomy(entries: Sequence[str]) -> tuple[str, ...]:
    """Map a taxonomy list (ours or another tool's) onto :data:`RANKS`.

    Entries with a one-letter prefix go to the rank of that letter (``d k p c o f g s``);
    unprefixed entries are taken in order from the top rank, skipping ``kingdom`` when there
    are fewer entries than ranks (the classic seven-rank lists). Then the top names are
    placed with :func:`place_top_ranks`, so an older table's ``k__Bacteria`` becomes domain
    ``Bacteria`` and ``k__Fungi`` kingdom ``Fungi`` under domain ``Eukaryota``.

    Parameters
    ----------
    entries : sequence of str
        E.g. ``["d__Bacteria", "k__", "p__Firmicutes", ...]`` or ``["Bacteria", "Firmicutes"]``.

    Returns
    -------
    tuple of str
        One bare name per rank (``""`` where unassigned).
    """
    by_letter = {letter: rank for rank, letter in RANK_PREFIXES.items()}
    raw: dict[str, tuple[str, float | None]] = {}
    ordered = [r for r in RANKS if r != "kingdom"] if len(entries) < len(RANKS) else list(RANKS)
    for position, entry in enumerate(entries):
        text = str(entry).strip()
        match = _GG_PREFIX.match(text)
        head, name = (match.group(1), match.group(2).strip()) if match else ("", text)
        if head.lower() in by_letter:
            rank = by_letter[head.lower()]
        elif position < len(ordered):  # unprefixed, or SILVA's D_0__ style
            rank = ordered[position]
        else:
            continue
        if name and rank not in raw:
            raw[rank] = (name, None)
    try:
        placed = place_top_ranks(raw)
    except TaxonomyError:
        placed = raw
    return tuple(placed.get(rank, ("", None))[0] for rank in RANKS)
