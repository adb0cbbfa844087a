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

The rank vocabulary lives in :mod:`soilbiome.taxonomy.ranks`, the rules on names in
:mod:`soilbiome.taxonomy.names`; this module holds the lineage itself (:class:`Lineage`,
:func:`build_lineage`, ``lineage.tsv``) and re-exports both, so
``soilbiome.taxonomy.lineage.RANKS`` stays the one name to import.
"""

from __future__ import annotations

import csv
import hashlib
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from soilbiome.io.atomic import atomic_write
from soilbiome.io.textfile import SafeWriter, plain_cell
from soilbiome.taxonomy.errors import TaxonomyError
from soilbiome.taxonomy.names import (  # noqa: F401  (re-exported)
    is_placeholder,
    names_from_taxonomy,
    place_top_ranks,
    species_name,
)
from soilbiome.taxonomy.ranks import (  # noqa: F401  (re-exported)
    DOMAINS,
    EUKARYOTA,
    EUKARYOTE_KINGDOMS,
    RANK_PREFIXES,
    RANKS,
    is_eukaryote_kingdom,
    taxonomy_strings,
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

_MD5 = re.compile(r"^[0-9a-f]{32}$")


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
        writer = SafeWriter(csv.DictWriter(
            handle, fieldnames=list(LINEAGE_COLUMNS), delimiter="\t", lineterminator="\n"
        ))
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
        for line_no, quoted in enumerate(reader, start=2):
            fields = [str(plain_cell(f)) for f in quoted]  # as write_lineages quoted them
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
