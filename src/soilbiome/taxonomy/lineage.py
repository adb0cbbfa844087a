"""The harmonised lineage: seven fixed ranks, per-rank confidence, one row per feature.

Every classifier / reference database names and decorates ranks differently (``d:``/``k:``
in SINTAX headers, ``k__``/``d__`` prefixes in UNITE, SILVA and GTDB files for DADA2,
``NA`` for unassigned, placeholder names such as ``unidentified`` or ``Fusarium_sp``). This
module maps all of them onto one model, in the spirit of taxpasta's *standard profile*
(``taxpasta/src/taxpasta/domain/model/standard_profile.py``): one explicit, validated
contract that every reader produces and every writer consumes.

The rules (documented for users in ``docs/biom.md``):

* Ranks are fixed: :data:`RANKS` (``domain`` .. ``species``). A reference's ``Kingdom``
  / ``k:`` top rank is stored as ``domain``.
* Prefixes (``d__``, ``k__``, ``p__`` ..., and SINTAX ``d:``/``p:`` ...) are stripped.
* A name is kept only if its own confidence **and the confidence of every parent rank** are at
  least the cutoff. Below that the rank (and all ranks under it) are empty; nothing is
  back-filled from a parent (no ``Unclassified Bacillaceae``).
* A rank without a confidence value (e.g. DADA2 ``addSpecies`` exact matches) is kept as given,
  with an empty confidence.
* Placeholder names (see :func:`is_placeholder`) empty their own rank only; lower ranks that
  carry a real name are kept. ``Incertae_sedis`` names are real positions in the reference
  taxonomy and are kept at their rank.
* Species are full names. An epithet-only species (DADA2 + UNITE strips the genus; DADA2
  ``addSpecies`` returns the epithet) is joined to its genus with ``_`` (the UNITE/SILVA
  separator); without a genus such an epithet is dropped.
* The confidence columns keep the classifier's confidence (0-1) in its best candidate at every
  rank it reported, even where the name was emptied, so users can see how close it was.
"""

from __future__ import annotations

import csv
import hashlib
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from soilbiome.errors import InputError
from soilbiome.io.atomic import atomic_write

#: The fixed ranks of the harmonised lineage, top to bottom.
RANKS: tuple[str, ...] = ("domain", "phylum", "class", "order", "family", "genus", "species")
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
        Seven names, one per rank of :data:`RANKS`; ``""`` where unassigned.
    confidences : tuple of float or None
        Seven confidences in 0-1; None where the classifier reported none.
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
    names: list[str] = []
    confidences: list[float | None] = []
    passed = True
    for rank in RANKS:
        name, confidence = raw.get(rank, ("", None))
        name = name.strip()
        if confidence is not None and confidence < min_confidence:
            passed = False
        keep = passed and not is_placeholder(name, rank)
        if keep and rank == "species" and name and not re.search(r"[_ ]", name):
            genus = names[RANKS.index("genus")]
            name = f"{genus}_{name}" if genus else ""
        names.append(name if keep else "")
        confidences.append(confidence)
    return Lineage(feature_id, tuple(names), tuple(confidences), classifier, reference)


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
