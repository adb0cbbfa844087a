"""Readers of classifier output: vsearch SINTAX tabbed output and DADA2 ``assignTaxonomy``.

Each reader turns one classifier's output into prefix-free ``rank -> (name, confidence)``
mappings and hands them to :func:`soilbiome.taxonomy.lineage.build_lineage`, which applies the
harmonisation rules. Like taxpasta's per-profiler readers, a reader knows one format and
nothing else.

Formats
-------
SINTAX (``vsearch --sintax q.fasta --db ref --tabbedout out.tsv [--sintax_cutoff 0.8]``)
    Tab-separated, no header: query label, ``d:Bacteria(1.00),p:Proteobacteria(0.98),...``,
    strand, and (with ``--sintax_cutoff``) the cutoff-passing lineage. Unclassified queries
    have empty columns 2-4. Rank letters: ``d`` (domain), ``k`` (kingdom), ``p c o f g s``;
    the top names are then placed by what they are
    (:func:`~soilbiome.taxonomy.lineage.place_top_ranks`).
DADA2 (written by our R wrapper around ``assignTaxonomy(..., outputBootstraps = TRUE)``)
    Tab-separated with a header: ``feature_id``, ``sequence``, the reference's rank columns
    (``Kingdom Phylum Class Order Family Genus [Species]``; ``Domain`` is accepted), values
    possibly prefixed (``k__Fungi``) or ``NA``, and ``boot_<Rank>`` bootstrap columns (0-100).
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Iterator
from pathlib import Path

from soilbiome.taxonomy.lineage import (
    DEFAULT_MIN_CONFIDENCE,
    RANKS,
    Lineage,
    TaxonomyError,
    build_lineage,
    feature_id_for,
)

#: Classifier names recorded in ``lineage.tsv``.
SINTAX = "vsearch-sintax"
DADA2 = "dada2-assignTaxonomy"
FORMATS: dict[str, str] = {"sintax": SINTAX, "dada2": DADA2}

#: SINTAX rank letters -> harmonised rank.
SINTAX_RANKS: dict[str, str] = {
    "d": "domain",
    "k": "kingdom",
    "p": "phylum",
    "c": "class",
    "o": "order",
    "f": "family",
    "g": "genus",
    "s": "species",
}
#: Prefix letters allowed in front of a name at each rank (``k__Fungi``, ``d__Bacteria``).
PREFIX_LETTERS: dict[str, frozenset[str]] = {
    "domain": frozenset("dk"),
    "kingdom": frozenset("dk"),
    "phylum": frozenset("p"),
    "class": frozenset("c"),
    "order": frozenset("o"),
    "family": frozenset("f"),
    "genus": frozenset("g"),
    "species": frozenset("s"),
}
#: DADA2 rank column names (case-insensitive) -> harmonised rank.
DADA2_RANKS: dict[str, str] = {
    "kingdom": "kingdom",
    "domain": "domain",
    "phylum": "phylum",
    "class": "class",
    "order": "order",
    "family": "family",
    "genus": "genus",
    "species": "species",
}

_SINTAX_ITEM = re.compile(r"^([A-Za-z]):(.*)\(([0-9.]+)\)$")
_PREFIX = re.compile(r"^([A-Za-z])__")
_MISSING = frozenset({"", "na", "nan"})


def strip_prefix(value: str, rank: str, where: str) -> str:
    """Remove a ``x__`` rank prefix, checking that its letter fits ``rank``.

    Parameters
    ----------
    value : str
        Name as written by the classifier (``k__Fungi``, ``Bacteria``, ``NA``).
    rank : str
        Harmonised rank the value belongs to.
    where : str
        File / line / feature, used in error messages.

    Returns
    -------
    str
        The bare name; ``""`` for ``NA`` and empty values.
    """
    value = value.strip()
    if value.lower() in _MISSING:
        return ""
    match = _PREFIX.match(value)
    if match:
        letter = match.group(1).lower()
        if letter not in PREFIX_LETTERS[rank]:
            raise TaxonomyError(
                f"{where}: value '{value}' has prefix '{match.group(0)}' in the {rank} column"
            )
        value = value[match.end() :]
    return value.strip()


def _parse_sintax_prediction(text: str, where: str) -> dict[str, tuple[str, float | None]]:
    raw: dict[str, tuple[str, float | None]] = {}
    if not text.strip():
        return raw
    for item in text.split(","):
        match = _SINTAX_ITEM.match(item.strip())
        if not match:
            raise TaxonomyError(
                f"{where}: '{item}' is not a SINTAX prediction like 'g:Bacillus(0.95)'"
            )
        letter, name, conf_text = match.groups()
        rank = SINTAX_RANKS.get(letter.lower())
        if rank is None:
            raise TaxonomyError(
                f"{where}: unknown SINTAX rank letter '{letter}:' (known: "
                f"{', '.join(SINTAX_RANKS)})"
            )
        if rank in raw:
            raise TaxonomyError(f"{where}: rank {rank} given twice ('{item}')")
        confidence = float(conf_text)
        if not 0.0 <= confidence <= 1.0:
            raise TaxonomyError(f"{where}: confidence {confidence} in '{item}' is outside 0-1")
        raw[rank] = (strip_prefix(name, rank, where), confidence)
    return raw


def read_sintax(
    path: str | Path,
    *,
    min_confidence: float = DEFAULT_MIN_CONFIDENCE,
    reference: str,
) -> Iterator[Lineage]:
    """Harmonise vsearch SINTAX tabbed output, one lineage per query, in file order.

    The query label is the feature ID; a ``;size=N`` style annotation after the first ``;``
    is dropped. Our own ``min_confidence`` is applied to the per-rank confidences of column
    2; vsearch's own cutoff column is not needed.

    Parameters
    ----------
    path : str or Path
        The ``--tabbedout`` file.
    min_confidence : float
        Cutoff in 0-1.
    reference : str
        Reference database name recorded in every row.

    Yields
    ------
    Lineage
    """
    path = Path(path)
    _check_file(path)
    seen: set[str] = set()
    with path.open(newline="", encoding="utf-8") as handle:
        for line_no, line in enumerate(handle, start=1):
            line = line.rstrip("\r\n")
            if not line.strip():
                continue
            fields = line.split("\t")
            where = f"{path}: line {line_no}"
            if len(fields) < 2 or len(fields) > 4:
                raise TaxonomyError(
                    f"{where}: {len(fields)} tab-separated fields; SINTAX tabbed output has "
                    "2-4 (label, prediction, strand, cutoff prediction)"
                )
            feature_id = fields[0].split(";")[0].strip()
            if not feature_id:
                raise TaxonomyError(f"{where}: empty query label")
            if feature_id in seen:
                raise TaxonomyError(f"{where}: query {feature_id} appears more than once")
            seen.add(feature_id)
            raw = _parse_sintax_prediction(fields[1], f"{where}, query {feature_id}")
            yield build_lineage(
                feature_id,
                raw,
                min_confidence=min_confidence,
                classifier=SINTAX,
                reference=reference,
            )


def read_dada2(
    path: str | Path,
    *,
    min_confidence: float = DEFAULT_MIN_CONFIDENCE,
    reference: str,
) -> Iterator[Lineage]:
    """Harmonise a DADA2 ``assignTaxonomy`` table, one lineage per row, in file order.

    Bootstrap values (0-100) become confidences (0-1). Each ``feature_id`` must be the md5
    of its ``sequence`` (:func:`~soilbiome.taxonomy.lineage.feature_id_for`).

    Parameters
    ----------
    path : str or Path
        TSV with ``feature_id``, ``sequence``, rank and ``boot_<Rank>`` columns.
    min_confidence : float
        Cutoff in 0-1 (compare ``minBoot / 100``).
    reference : str
        Reference database name recorded in every row.

    Yields
    ------
    Lineage
    """
    path = Path(path)
    _check_file(path)
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle, delimiter="\t")
        header = next(reader, None)
        if not header or header[:2] != ["feature_id", "sequence"]:
            raise TaxonomyError(
                "DADA2 taxonomy table must start with the columns feature_id, sequence",
                location=str(path),
            )
        rank_cols: dict[str, int] = {}
        boot_cols: dict[str, int] = {}
        for index, column in enumerate(header[2:], start=2):
            is_boot = column.lower().startswith("boot_")
            base = column[5:] if is_boot else column
            rank = DADA2_RANKS.get(base.strip().lower())
            if rank is None:
                raise TaxonomyError(
                    f"column '{column}' is not a rank this reader knows "
                    f"({', '.join(sorted(set(DADA2_RANKS)))}, or boot_<Rank>)",
                    location=str(path),
                )
            target = boot_cols if is_boot else rank_cols
            if rank in target:
                raise TaxonomyError(
                    f"column '{column}' maps to rank {rank}, which another column already has",
                    location=str(path),
                )
            target[rank] = index
        if not rank_cols:
            raise TaxonomyError("no rank columns (Kingdom, Phylum, ...)", location=str(path))
        orphan = set(boot_cols) - set(rank_cols)
        if orphan:
            raise TaxonomyError(
                f"bootstrap columns without a rank column: {', '.join(sorted(orphan))}",
                location=str(path),
            )
        seen: set[str] = set()
        for line_no, fields in enumerate(reader, start=2):
            if not fields:
                continue
            where = f"{path}: line {line_no}"
            if len(fields) != len(header):
                raise TaxonomyError(f"{where}: {len(fields)} fields, header has {len(header)}")
            feature_id, sequence = fields[0].strip(), fields[1].strip()
            if feature_id in seen:
                raise TaxonomyError(f"{where}: feature {feature_id} appears more than once")
            seen.add(feature_id)
            expected = feature_id_for(sequence)
            if feature_id != expected:
                raise TaxonomyError(
                    f"{where}: feature_id {feature_id} is not the md5 of its sequence "
                    f"(expected {expected})"
                )
            raw: dict[str, tuple[str, float | None]] = {}
            for rank in RANKS:
                if rank not in rank_cols:
                    continue
                fwhere = f"{where}, feature {feature_id}"
                name = strip_prefix(fields[rank_cols[rank]], rank, fwhere)
                confidence = None
                if rank in boot_cols:
                    confidence = _parse_boot(fields[boot_cols[rank]], fwhere)
                raw[rank] = (name, confidence)
            yield build_lineage(
                feature_id,
                raw,
                min_confidence=min_confidence,
                classifier=DADA2,
                reference=reference,
            )


def _parse_boot(text: str, where: str) -> float | None:
    text = text.strip()
    if text.lower() in _MISSING:
        return None
    try:
        value = float(text)
    except ValueError:
        raise TaxonomyError(f"{where}: bootstrap '{text}' is not a number") from None
    if math.isnan(value) or not 0.0 <= value <= 100.0:
        raise TaxonomyError(f"{where}: bootstrap {text} is outside 0-100")
    return value / 100.0


def _check_file(path: Path) -> None:
    if not path.is_file():
        raise TaxonomyError("classifier output not found", location=str(path))


def harmonise(
    fmt: str,
    path: str | Path,
    *,
    reference: str,
    min_confidence: float = DEFAULT_MIN_CONFIDENCE,
) -> list[Lineage]:
    """Read classifier output of format ``fmt`` and return harmonised lineages.

    Parameters
    ----------
    fmt : {'sintax', 'dada2'}
    path : str or Path
    reference : str
        Reference database name (and version), recorded in every row.
    min_confidence : float
        Cutoff in 0-1.

    Returns
    -------
    list of Lineage
        One per feature, in input order; fully unassigned features included.
    """
    if not 0.0 <= min_confidence <= 1.0:
        raise TaxonomyError(f"--min-confidence {min_confidence} is outside 0-1")
    if not reference.strip():
        raise TaxonomyError("a reference name is required")
    readers = {"sintax": read_sintax, "dada2": read_dada2}
    if fmt not in readers:
        raise TaxonomyError(f"unknown format '{fmt}' (known: {', '.join(readers)})")
    return list(readers[fmt](path, min_confidence=min_confidence, reference=reference.strip()))
