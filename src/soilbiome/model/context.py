"""The processing context of a table: how its numbers were made, so that a comparison can tell
what is comparable.

Every BIOM table soilbiome writes (pipeline, ``import``, ``compare``) carries one, as JSON in
the root attribute ``soilbiome:processing-context``. The whole file is covered by the stamp's
SHA-256 and the stamp repeats the context in its signed statement, so editing it breaks
``soilbiome verify``. A table without one (older, or made by another tool) has the *unknown*
context: every field ``""``, stated wherever the table is used.

Fields (``""`` = not recorded):

* ``marker``: ``16S``, ``18S``, ``ITS``, ``COI``, ``shotgun`` ... (what was sequenced);
* ``region``: amplicon region (``V4``, ``V3-V4``, ``ITS1``, ``ITS2``); ``primer_fwd`` /
  ``primer_rev``: primer sequences cut from the reads;
* ``trunc_len_f`` / ``trunc_len_r``: read length after truncation (DADA2 ``truncLen``; 0 = no
  truncation) and ``asv_length``: the shortest and longest ASV (``"min-max"``);
* ``method`` / ``method_version``: the denoiser or profiler (``DADA2``, ``Kraken2``, an
  imported profiler) and its version;
* ``reference`` / ``reference_version`` / ``reference_sha256``: the reference database;
* ``classifier``: how features got their lineage (``vsearch SINTAX``, ``DADA2
  assignTaxonomy``, ``Kraken2 + Bracken method`` ...);
* ``taxonomy_system``: whose names the lineages use (``SILVA``, ``GTDB``, ``UNITE``, ``NCBI``,
  ``PR2``, ``RDP`` ...);
* ``read_qc``: shotgun read QC before profiling (``fastp``, or ``none``: reads profiled as
  sequenced, ``--shotgun_qc none``);
* ``value_kind``: ``counts`` or ``relative``; ``soilbiome_version``.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields, replace

#: Root attribute holding the context (JSON object).
CONTEXT_ATTR = "soilbiome:processing-context"

#: Known amplicon primer pairs -> region (forward, reverse as commonly published).
_PRIMER_REGIONS = {
    ("GTGYCAGCMGCCGCGGTAA", "GGACTACNVGGGTWTCTAAT"): "V4",  # 515F-Y / 806R-B (EMP)
    ("GTGCCAGCMGCCGCGGTAA", "GGACTACHVGGGTWTCTAAT"): "V4",  # 515F / 806R (EMP, original)
    ("CCTACGGGNGGCWGCAG", "GACTACHVGGGTATCTAATCC"): "V3-V4",  # 341F / 805R
    ("GCATCGATGAAGAACGCAGC", "TCCTCCGCTTATTGATATGC"): "ITS2",  # ITS3 / ITS4
    ("CTTGGTCATTTAGAGGAAGTAA", "GCTGCGTTCTTCATCGATGC"): "ITS1",  # ITS1F / ITS2
}

#: Substrings of a reference name that name its taxonomy system.
_SYSTEMS = (("silva", "SILVA"), ("gtdb", "GTDB"), ("unite", "UNITE"), ("pr2", "PR2"),
            ("greengenes", "Greengenes"), ("gg2", "Greengenes2"), ("rdp", "RDP"),
            ("midas", "MiDAS"), ("ncbi", "NCBI"), ("refseq", "NCBI"))

#: Fields whose difference forbids matching ASVs by sequence.
ASV_FIELDS = ("marker", "region", "primer_fwd", "primer_rev", "trunc_len_f", "trunc_len_r")
#: Fields whose difference makes lineages of two tables differ in meaning.
TAXONOMY_FIELDS = ("reference", "reference_version", "taxonomy_system")


@dataclass(frozen=True)
class ProcessingContext:
    """How a table was made (see the module docstring); ``""`` = not recorded."""

    marker: str = ""
    region: str = ""
    primer_fwd: str = ""
    primer_rev: str = ""
    trunc_len_f: str = ""
    trunc_len_r: str = ""
    asv_length: str = ""
    method: str = ""
    method_version: str = ""
    reference: str = ""
    reference_version: str = ""
    reference_sha256: str = ""
    classifier: str = ""
    taxonomy_system: str = ""
    read_qc: str = ""
    value_kind: str = ""
    soilbiome_version: str = ""

    @property
    def is_unknown(self) -> bool:
        """True for a table that records no context at all."""
        return not any(asdict(self).values())

    def to_dict(self) -> dict[str, str]:
        """Every field, as text."""
        return asdict(self)

    def to_json(self) -> str:
        """Canonical JSON (sorted keys), as stored in :data:`CONTEXT_ATTR`."""
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_dict(cls, data: dict) -> ProcessingContext:
        """From a dict; unknown keys are ignored, every value becomes text."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: "" if v is None else str(v) for k, v in data.items() if k in names})

    @classmethod
    def from_attributes(cls, attributes: dict[str, str]) -> ProcessingContext:
        """From a table's root attributes (the *unknown* context when there is none).

        Older tables recorded only ``soilbiome:marker`` / ``soilbiome:region`` /
        ``soilbiome:value-kind``: those are used when no context attribute exists.
        """
        raw = attributes.get(CONTEXT_ATTR, "")
        if raw:
            try:
                data = json.loads(raw)
            except ValueError:
                data = None
            if isinstance(data, dict):
                return cls.from_dict(data)
        return cls(marker=attributes.get("soilbiome:marker", ""),
                   region=attributes.get("soilbiome:region", ""),
                   value_kind=attributes.get("soilbiome:value-kind", ""))

    def with_values(self, **changes: str) -> ProcessingContext:
        """A copy with ``changes`` applied (``None`` values left out)."""
        return replace(self, **{k: str(v) for k, v in changes.items() if v is not None})

    def describe(self) -> str:
        """One line for people: marker, region, method, reference, taxonomy."""
        if self.is_unknown:
            return "unknown processing context (the table does not record how it was made)"
        parts = [self.marker or "marker unknown"]
        if self.region:
            parts.append(self.region)
        if self.trunc_len_f or self.trunc_len_r:
            parts.append(f"truncated at {self.trunc_len_f or '-'}/{self.trunc_len_r or '-'} nt")
        if self.method:
            parts.append(f"{self.method} {self.method_version}".strip())
        if self.reference:
            parts.append(f"reference {self.reference} {self.reference_version}".strip())
        if self.classifier:
            parts.append(self.classifier)
        if self.taxonomy_system:
            parts.append(f"{self.taxonomy_system} taxonomy")
        if self.read_qc:
            parts.append(f"read QC {self.read_qc}")
        if self.value_kind:
            parts.append(self.value_kind)
        return ", ".join(parts)


def region_from_primers(primer_fwd: str, primer_rev: str) -> str:
    """The amplicon region of a known primer pair ("" when the pair is not known)."""
    return _PRIMER_REGIONS.get(((primer_fwd or "").upper(), (primer_rev or "").upper()), "")


def taxonomy_system_of(reference: str, fmt: str = "", declared: str = "") -> str:
    """Whose names a reference's lineages use: the sheet's ``taxonomy`` column when given,
    else NCBI for Kraken2 databases, else a system named in the reference's name ("")."""
    if declared:
        return declared
    if fmt == "kraken2":
        return "NCBI"
    if fmt == "sylph":  # genome catalogues (GTDB, soil MAGs) carry GTDB-style lineages
        return "GTDB"
    low = (reference or "").lower()
    for needle, system in _SYSTEMS:
        if needle in low:
            return system
    return ""
