"""Taxonomy dumps: NCBI ``names.dmp``/``nodes.dmp`` (and GTDB-style names) to harmonised lineages.

Shotgun classifiers (Kraken2, Centrifuge, Kaiju, ganon, KMCP, MetaPhlAn ...) report taxon IDs
of a taxonomy *dump*: ``nodes.dmp`` (``taxid | parent | rank | ...``) and ``names.dmp``
(``taxid | name | unique name | name class |``), the NCBI Taxonomy layout
(https://ftp.ncbi.nlm.nih.gov/pub/taxonomy/taxdump_readme.txt). GTDB databases for these tools
are built with the same layout (e.g. ``gtdb_to_taxdump``) but names carry GTDB prefixes
(``d__Bacteria``, ``s__Bacteroides dorei``) and ranks say ``domain``; both are accepted.

A :class:`Taxonomy` maps any taxon ID onto the fixed ranks of
:data:`soilbiome.taxonomy.lineage.RANKS`: every ancestor whose rank is one of them (NCBI's
``superkingdom``/``domain`` -> ``domain``) fills that rank; ranks between (``clade``,
``no rank``, ``subgenus`` ...) and below species (strains, ``subspecies``, ``serotype``) fill
nothing, so reads at a strain count for its species. ``merged.dmp`` is honoured: an old taxon ID
resolves to its current one.
"""

from __future__ import annotations

import gzip
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from soilbiome.taxonomy.errors import TaxonomyError
from soilbiome.taxonomy.lineage import RANKS

#: NCBI / GTDB rank names -> harmonised rank (only ranks present in RANKS are used).
RANK_SYNONYMS: dict[str, str] = {
    "superkingdom": "domain",
    "domain": "domain",
    "realm": "domain",  # viruses: the top rank NCBI gives them
    "acellular root": "domain",
}
_GTDB_PREFIX = re.compile(r"^[dkpcofgs]__")
#: Rank of the genome leaves :func:`taxonomy_from_lineages` adds under their lineage.
GENOME_RANK = "genome"
#: Observation ID of reads no taxon was assigned to.
UNCLASSIFIED_ID = "unclassified"


def harmonised_rank(rank: str) -> str | None:
    """The rank of :data:`RANKS` a dump rank stands for, or None (``clade``, ``strain`` ...)."""
    rank = rank.strip().lower()
    if rank in RANKS:
        return rank
    mapped = RANK_SYNONYMS.get(rank)
    return mapped if mapped in RANKS else None


def _open(path: Path):  # noqa: ANN202 - text handle
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding="utf-8")
    return path.open(encoding="utf-8")


def _dmp_rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    with _open(path) as handle:
        for line_no, line in enumerate(handle, start=1):
            line = line.rstrip("\n")
            if not line.strip():
                continue
            if line.endswith("\t|"):
                line = line[:-2]
            yield line_no, [f.strip() for f in line.split("\t|\t")]


@dataclass
class Taxonomy:
    """A taxonomy tree from a dump: parents, ranks and scientific names by taxon ID.

    Attributes
    ----------
    parent, rank, name : dict
        ``taxid -> parent taxid``, ``taxid -> rank`` (as written), ``taxid -> name``.
    merged : dict
        ``old taxid -> current taxid`` from ``merged.dmp``.
    namespace : str
        ``ncbi`` for NCBI-style names, ``gtdb`` when names carry GTDB prefixes; used in
        observation IDs (:meth:`feature_id`).
    source : str
        Folder the dump was read from (for messages).
    """

    parent: dict[str, str] = field(default_factory=dict)
    rank: dict[str, str] = field(default_factory=dict)
    name: dict[str, str] = field(default_factory=dict)
    merged: dict[str, str] = field(default_factory=dict)
    namespace: str = "ncbi"
    source: str = ""
    _cache: dict[str, tuple[str, tuple[str, ...]]] = field(default_factory=dict, repr=False)

    def resolve(self, taxid: str) -> str | None:
        """The current ID of ``taxid`` (following ``merged.dmp``), or None if unknown."""
        taxid = str(taxid).strip()
        if taxid in self.parent:
            return taxid
        new = self.merged.get(taxid)
        return new if new in self.parent else None

    def __contains__(self, taxid: object) -> bool:
        return self.resolve(str(taxid)) is not None

    def path(self, taxid: str) -> list[str]:
        """IDs from the root down to ``taxid`` (raises for an unknown ID or a cycle)."""
        current = self.resolve(taxid)
        if current is None:
            raise TaxonomyError(f"taxon {taxid} is not in the taxonomy", location=self.source)
        chain = [current]
        while self.parent[current] != current:
            current = self.parent[current]
            if current not in self.parent:
                raise TaxonomyError(f"taxon {chain[-1]} has unknown parent {current}",
                                    location=self.source)
            chain.append(current)
            if len(chain) > 200:
                raise TaxonomyError(f"taxon {taxid}: parent chain does not reach the root",
                                    location=self.source)
        return chain[::-1]

    def placement(self, taxid: str) -> tuple[str, tuple[str, ...]]:
        """The taxon that represents ``taxid`` in a harmonised table, and its lineage.

        Returns
        -------
        tuple
            ``(taxid of the lowest ancestor-or-self at one of RANKS (the root if none),
            names per rank of RANKS)``. A strain resolves to its species; a ``clade`` between
            genus and species to its genus.
        """
        key = str(taxid).strip()
        if key in self._cache:
            return self._cache[key]
        names = dict.fromkeys(RANKS, "")
        anchor = None
        chain = self.path(key)
        for node in chain:
            rank = harmonised_rank(self.rank.get(node, ""))
            if rank is not None:
                names[rank] = self.display_name(node)
                anchor = node
        if not names["species"] and self.rank.get(chain[-1]) == GENOME_RANK:
            anchor = chain[-1]  # a genome of no named species (a new MAG) is its own feature
        result = (anchor or chain[0], tuple(names[r] for r in RANKS))
        self._cache[key] = result
        return result

    def display_name(self, taxid: str) -> str:
        """Scientific name without a GTDB prefix, spaces as ``_`` (as in SINTAX/UNITE names)."""
        return re.sub(r"\s+", "_", _GTDB_PREFIX.sub("", self.name.get(taxid, "")).strip())

    def feature_id(self, taxid: str) -> str:
        """Stable observation ID of a taxon: ``ncbi:<taxid>`` or ``gtdb:<rank>__<name>``.

        NCBI taxon IDs are stable across releases (merged IDs resolve to current ones) and the
        same in every institution's database; GTDB dumps number their nodes per build, so a
        GTDB taxon is named by its prefixed name instead (``gtdb:s__Bacteroides_dorei``).
        """
        if self.rank.get(taxid) == GENOME_RANK:
            return f"genome:{taxid}"
        if self.namespace == "gtdb":
            name = self.name.get(taxid, "")
            if not _GTDB_PREFIX.match(name):
                rank = harmonised_rank(self.rank.get(taxid, "")) or "root"
                name = f"{rank[0]}__{name}"
            return "gtdb:" + re.sub(r"\s+", "_", name.strip())
        return f"ncbi:{taxid}"


def read_taxdump(folder: str | Path) -> Taxonomy:
    """Read ``nodes.dmp`` + ``names.dmp`` (+ optional ``merged.dmp``) from ``folder``.

    Parameters
    ----------
    folder : str or Path
        A folder holding the dump files (plain or ``.gz``), or a Kraken2 database folder
        whose ``taxonomy/`` subfolder holds them.

    Returns
    -------
    Taxonomy

    Raises
    ------
    TaxonomyError
        Missing files, malformed lines (file and line named), nodes without a scientific name,
        parents that are not nodes.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise TaxonomyError("taxonomy folder not found", location=str(folder))
    if not _find(folder, "nodes.dmp") and (folder / "taxonomy").is_dir():
        folder = folder / "taxonomy"
    nodes_path, names_path = _find(folder, "nodes.dmp"), _find(folder, "names.dmp")
    if nodes_path is None or names_path is None:
        raise TaxonomyError(
            "a taxonomy folder needs nodes.dmp and names.dmp (NCBI taxdump layout)",
            location=str(folder),
        )
    tax = Taxonomy(source=str(folder))
    for line_no, fields in _dmp_rows(nodes_path):
        if len(fields) < 3 or not fields[0].isdigit() or not fields[1].isdigit():
            raise TaxonomyError(
                f"line {line_no}: expected 'taxid | parent taxid | rank | ...'",
                location=str(nodes_path),
            )
        tax.parent[fields[0]] = fields[1]
        tax.rank[fields[0]] = fields[2]
    prefixed = 0
    for line_no, fields in _dmp_rows(names_path):
        if len(fields) < 4 or not fields[0].isdigit():
            raise TaxonomyError(
                f"line {line_no}: expected 'taxid | name | unique name | name class'",
                location=str(names_path),
            )
        if fields[3] == "scientific name":
            tax.name[fields[0]] = fields[1]
            prefixed += bool(_GTDB_PREFIX.match(fields[1]))
    merged_path = _find(folder, "merged.dmp")
    if merged_path is not None:
        for line_no, fields in _dmp_rows(merged_path):
            if len(fields) < 2:
                raise TaxonomyError(f"line {line_no}: expected 'old taxid | new taxid'",
                                    location=str(merged_path))
            tax.merged[fields[0]] = fields[1]
    unnamed = [t for t in tax.parent if t not in tax.name]
    if unnamed:
        raise TaxonomyError(
            f"{len(unnamed)} node(s) without a scientific name in {names_path.name}, "
            f"e.g. {', '.join(unnamed[:5])}",
            location=str(nodes_path),
        )
    orphans = [t for t, p in tax.parent.items() if p not in tax.parent]
    if orphans:
        raise TaxonomyError(
            f"parent taxon not in the dump for {len(orphans)} node(s), e.g. "
            f"{', '.join(orphans[:5])}",
            location=str(nodes_path),
        )
    if prefixed and prefixed >= len(tax.name) // 2:
        tax.namespace = "gtdb"
    return tax


def _find(folder: Path, name: str) -> Path | None:
    for candidate in (folder / name, folder / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    return None


def taxonomy_from_lineages(lineages: dict[str, str], source: str = "") -> Taxonomy:
    """Build a :class:`Taxonomy` from GTDB lineage strings (``d__Bacteria;p__...;s__...``).

    This is the layout of GTDB's ``bac120_taxonomy.tsv``/``ar53_taxonomy.tsv`` (accession,
    lineage). Every distinct prefixed name becomes a node named by itself. A genome whose
    lineage names no species stands for itself in a table (feature ``genome:<key>``, lineage down
    to its deepest named rank); a genome with a species counts for its species.

    Parameters
    ----------
    lineages : dict
        ``key -> lineage string``; each key (e.g. a genome accession) becomes a leaf under its
        species.
    source : str
        For messages.

    Returns
    -------
    Taxonomy
    """
    letters = {"d": "domain", "k": "domain", "p": "phylum", "c": "class", "o": "order",
               "f": "family", "g": "genus", "s": "species"}
    tax = Taxonomy(namespace="gtdb", source=source)
    tax.parent["root"], tax.rank["root"], tax.name["root"] = "root", "no rank", "root"
    for key, lineage in lineages.items():
        parent = "root"
        for part in (p.strip() for p in lineage.split(";") if p.strip()):
            if not _GTDB_PREFIX.match(part) or len(part) == 3:
                break
            node = part
            tax.parent.setdefault(node, parent)
            tax.rank[node] = letters[part[0]]
            tax.name[node] = part
            parent = node
        if key not in tax.parent:
            tax.parent[key], tax.rank[key], tax.name[key] = parent, GENOME_RANK, key
    return tax
