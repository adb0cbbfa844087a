"""The harmonised lineage: eight fixed ranks, per-rank confidence, one row per feature.

Every classifier / reference database names and decorates ranks differently (``d:``/``k:``
in SINTAX headers, ``k__``/``d__`` prefixes in UNITE, SILVA and GTDB files for DADA2,
``NA`` for unassigned, placeholder names such as ``unidentified`` or ``Fusarium_sp``). This
module maps all of them onto one model, in the spirit of taxpasta's *standard profile*
(``taxpasta/src/taxpasta/domain/model/standard_profile.py``): one explicit, validated
contract that every reader produces and every writer consumes.

The rules (documented for users in ``docs/biom.md``):

* Ranks are fixed: :data:`RANKS` (``domain``, ``kingdom``, ``phylum`` .. ``species``).
  The top name a reference gives is placed by what it *is*, not by the column or letter it
  came in (DADA2 calls every top rank ``Kingdom``): a domain of life (:data:`DOMAINS`:
  Bacteria, Archaea, Eukaryota) is a ``domain``; a eukaryote kingdom
  (:data:`EUKARYOTE_KINGDOMS`, e.g. UNITE's ``k__Fungi``) is a ``kingdom`` under domain
  ``Eukaryota`` (with the kingdom's confidence). See :func:`place_top_ranks`.
* Prefixes (``d__``, ``k__``, ``p__`` ..., and SINTAX ``d:``/``p:`` ...) are stripped.
* A name is kept only if its own confidence **and the confidence of every parent rank** are at
  least the cutoff. Below that the rank (and all ranks under it) are empty; nothing is
  back-filled from a parent (no ``Unclassified Bacillaceae``).
* A rank without a confidence value (e.g. DADA2 ``addSpecies`` exact matches) is kept as given,
  with an empty confidence.
* Placeholder names (see :func:`is_placeholder`) empty their own rank only; lower ranks that
  carry a real name are kept. ``Incertae_sedis`` names are real positions in the reference
  taxonomy and are kept at their rank.
* Species are full names, kept as the reference writes them (``Fusarium_oxysporum``,
  ``Fusarium.oxysporum``, ``Bacillus subtilis``). Only a bare epithet (one word without
  ``_``, ``.`` or space; DADA2 ``addSpecies`` returns these) is joined to its genus with ``_``
  (the UNITE/SILVA separator); without a genus such an epithet is dropped.
* The confidence columns keep the classifier's confidence (0-1) in its best candidate at every
  rank it reported, even where the name was emptied, so users can see how close it was.
"""

from __future__ import annotations

import csv
import hashlib
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from soilbiome.errors import InputError
from soilbiome.io.atomic import atomic_write

#: The fixed ranks of the harmonised lineage, top to bottom.
RANKS: tuple[str, ...] = (
    "domain",
    "kingdom",
    "phylum",
    "class",
    "order",
    "family",
    "genus",
    "species",
)
#: One-letter prefix of each rank in Greengenes-style strings (``d__Bacteria``, ``k__Fungi``).
RANK_PREFIXES: dict[str, str] = dict(zip(RANKS, "dkpcofgs", strict=True))
#: The domains of life (the top rank of SILVA, GTDB, RDP; NCBI's superkingdom).
DOMAINS: frozenset[str] = frozenset({"Bacteria", "Archaea", "Eukaryota"})
#: The domain every eukaryote kingdom belongs to.
EUKARYOTA = "Eukaryota"
#: Kingdom-level names of eukaryote references (UNITE's ``k__`` values, NCBI and classic
#: kingdoms, the supergroups UNITE's all-eukaryote release places at kingdom rank). Each is
#: placed at rank ``kingdom`` under domain ``Eukaryota``. Names ending in
#: ``_kgd_Incertae_sedis`` (UNITE's ``Eukaryota_kgd_Incertae_sedis``) count too.
EUKARYOTE_KINGDOMS: frozenset[str] = frozenset(
    {
        "Fungi",
        "Metazoa",
        "Animalia",
        "Viridiplantae",
        "Plantae",
        "Protista",
        "Protozoa",
        "Chromista",
        "Rhizaria",
        "Stramenopila",
        "Alveolata",
        "Amoebozoa",
        "Apusozoa",
        "Choanoflagellozoa",
        "Cryptista",
        "Discoba",
        "Excavata",
        "Haptista",
        "Heterolobosea",
        "Ichthyosporia",
        "Rhodoplantae",
        "Glaucocystophyceae",
    }
)
#: Columns of ``lineage.tsv``, in order.
LINEAGE_COLUMNS: tuple[str, ...] = (
    "feature_id",
    *RANKS,
    *(f"confidence_{rank}" for rank in RANKS),
    "classifier",
    "reference",
)
#: Default minimum confidence (SINTAX's customary 0.8; DADA2 bootstrap 80).
DEFAULT_MIN_CONFIDENCE = 0.8

_PLACEHOLDER_START = re.compile(
    r"^(unidentified|uncultured|unclassified|unknown|unassigned|metagenome|environmental)",
    re.IGNORECASE,
)
_SPECIES_PLACEHOLDER = re.compile(r"(^|[_ ])sp\.?$", re.IGNORECASE)
_MISSING = frozenset({"", "na", "nan", "none", "null", "_dada2_unspecified"})
_MD5 = re.compile(r"^[0-9a-f]{32}$")


class TaxonomyError(InputError):
    """A classifier output or lineage file is malformed or inconsistent."""


def feature_id_for(sequence: str) -> str:
    """Return the feature ID of an ASV: the md5 hex digest of its uppercase sequence.

    This is the QIIME 2 convention (``q2-dada2`` names features by the md5 of the sequence),
    so the same ASV gets the same ID in every run, every institution and in QIIME 2.

    Parameters
    ----------
    sequence : str
        Nucleotide sequence; case and surrounding whitespace are ignored.

    Returns
    -------
    str
        32 lowercase hex characters.
    """
    return hashlib.md5(sequence.strip().upper().encode("ascii")).hexdigest()


def is_md5_id(value: str) -> bool:
    """True if ``value`` looks like a feature ID made by :func:`feature_id_for`."""
    return bool(_MD5.match(value))


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


@dataclass(frozen=True)
class Lineage:
    """The harmonised lineage of one feature.

    Attributes
    ----------
    feature_id : str
        The feature (ASV) ID, normally :func:`feature_id_for` of its sequence.
    names : tuple of str
        One name per rank of :data:`RANKS`; ``""`` where unassigned.
    confidences : tuple of float or None
        One confidence in 0-1 per rank; None where the classifier reported none.
    classifier : str
        Which classifier produced it (``vsearch-sintax``, ``dada2-assignTaxonomy``).
    reference : str
        Name (and version) of the reference database.
    """

    feature_id: str
    names: tuple[str, ...]
    confidences: tuple[float | None, ...]
    classifier: str
    reference: str

    def __post_init__(self) -> None:
        if len(self.names) != len(RANKS) or len(self.confidences) != len(RANKS):
            raise ValueError(f"{self.feature_id}: a lineage needs exactly {len(RANKS)} ranks")
        for value in self.confidences:
            if value is not None and not (0.0 <= value <= 1.0):
                raise ValueError(f"{self.feature_id}: confidence {value} is outside 0-1")

    @property
    def assigned(self) -> bool:
        """True when at least the top rank has a name."""
        return any(self.names)

    def as_row(self) -> dict[str, str]:
        """The lineage as one ``lineage.tsv`` row (strings)."""
        row = {"feature_id": self.feature_id}
        row.update(dict(zip(RANKS, self.names, strict=True)))
        for rank, value in zip(RANKS, self.confidences, strict=True):
            row[f"confidence_{rank}"] = "" if value is None else _format_confidence(value)
        row["classifier"] = self.classifier
        row["reference"] = self.reference
        return row


def _format_confidence(value: float) -> str:
    return f"{round(value, 4):g}"


def build_lineage(
    feature_id: str,
    raw: Mapping[str, tuple[str, float | None]],
    *,
    min_confidence: float,
    classifier: str,
    reference: str,
) -> Lineage:
    """Apply the harmonisation rules to one feature's prefix-free classifier output.

    Parameters
    ----------
    feature_id : str
        Feature ID.
    raw : mapping
        ``rank -> (name, confidence)`` for the ranks the classifier reported; names must
        already be stripped of prefixes. Missing ranks are unassigned.
    min_confidence : float
        Cutoff in 0-1 (see the module rules: a failed rank empties every rank below it).
    classifier, reference : str
        Recorded in the lineage.

    Returns
    -------
    Lineage
    """
    raw = place_top_ranks(raw, where=feature_id)
    names: list[str] = []
    confidences: list[float | None] = []
    passed = True
    for rank in RANKS:
        name, confidence = raw.get(rank, ("", None))
        name = name.strip()
        if confidence is not None and confidence < min_confidence:
            passed = False
        keep = passed and not is_placeholder(name, rank)
        if keep and rank == "species" and name:
            name = species_name(name, names[RANKS.index("genus")])
        names.append(name if keep else "")
        confidences.append(confidence)
    return Lineage(feature_id, tuple(names), tuple(confidences), classifier, reference)


def is_eukaryote_kingdom(name: str) -> bool:
    """True if ``name`` is a kingdom of domain Eukaryota (:data:`EUKARYOTE_KINGDOMS`)."""
    return name in EUKARYOTE_KINGDOMS or name.lower().endswith("_kgd_incertae_sedis")


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


def taxonomy_strings(names: Sequence[str]) -> list[str]:
    """Greengenes-style prefixed names, one per rank: ``["d__Bacteria", "k__", ...]``.

    A bare prefix marks an empty rank, so no rank ever shifts (biom-format's reader drops
    empty strings from taxonomy lists). Used in the BIOM ``taxonomy`` metadata and the
    QIIME 2 taxonomy TSV.

    Parameters
    ----------
    names : sequence of str
        One bare name per rank of :data:`RANKS`.

    Returns
    -------
    list of str
    """
    if len(names) != len(RANKS):
        raise ValueError(f"expected {len(RANKS)} names ({', '.join(RANKS)}), got {len(names)}")
    return [f"{RANK_PREFIXES[rank]}__{name}" for rank, name in zip(RANKS, names, strict=True)]


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


def write_lineage(lineages: Iterable[Lineage], out: str | Path) -> int:
    """Write ``lineage.tsv`` atomically; return the number of rows written.

    Parameters
    ----------
    lineages : iterable of Lineage
    out : str or Path

    Returns
    -------
    int
    """
    count = 0
    with atomic_write(out) as handle:
        writer = csv.DictWriter(
            handle, fieldnames=list(LINEAGE_COLUMNS), delimiter="\t", lineterminator="\n"
        )
        writer.writeheader()
        for lineage in lineages:
            writer.writerow(lineage.as_row())
            count += 1
    return count


def _parse_confidence(text: str, where: str) -> float | None:
    text = text.strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        raise TaxonomyError(f"{where}: confidence '{text}' is not a number") from None
    if math.isnan(value):
        return None
    if not 0.0 <= value <= 1.0:
        raise TaxonomyError(f"{where}: confidence {value} is outside 0-1")
    return value


def read_lineage(path: str | Path) -> dict[str, Lineage]:
    """Read a ``lineage.tsv`` written by :func:`write_lineage`.

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    dict
        ``feature_id -> Lineage`` in file order.

    Raises
    ------
    TaxonomyError
        Missing file, wrong columns, duplicate feature IDs, bad confidences.
    """
    path = Path(path)
    if not path.is_file():
        raise TaxonomyError("lineage file not found", location=str(path))
    lineages: dict[str, Lineage] = {}
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle, delimiter="\t")
        header = next(reader, None)
        if header is None or tuple(header) != LINEAGE_COLUMNS:
            expected = " ".join(LINEAGE_COLUMNS)
            got = " ".join(header or [])
            raise TaxonomyError(
                f"header must be the tab-separated columns '{expected}', got '{got}'",
                location=str(path),
            )
        for line_no, fields in enumerate(reader, start=2):
            where = f"{path}: line {line_no}"
            if len(fields) != len(LINEAGE_COLUMNS):
                raise TaxonomyError(
                    f"{where}: {len(fields)} fields, expected {len(LINEAGE_COLUMNS)}"
                )
            row = dict(zip(LINEAGE_COLUMNS, fields, strict=True))
            feature_id = row["feature_id"]
            if not feature_id:
                raise TaxonomyError(f"{where}: empty feature_id")
            if feature_id in lineages:
                raise TaxonomyError(f"{where}: duplicate feature_id {feature_id}")
            confidences = tuple(
                _parse_confidence(row[f"confidence_{rank}"], f"{where}, {feature_id}")
                for rank in RANKS
            )
            lineages[feature_id] = Lineage(
                feature_id,
                tuple(row[rank] for rank in RANKS),
                confidences,
                row["classifier"],
                row["reference"],
            )
    return lineages
