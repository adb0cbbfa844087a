"""Step 2b of ``compare``: are the inputs comparable, and how may they be combined?

Each input's processing context (:mod:`soilbiome.model.context`) is compared field by field,
and the answer says input by input what differs. What a careful reviewer of a cross-study
analysis asks for:

* **different markers** (16S with ITS, 16S with 18S ...): always refused; they count different
  organisms. **Amplicon with shotgun**: refused unless ``allow_amplicon_shotgun`` at a rank;
  the caveat is recorded in every output.
* **ASVs matched by sequence** only for the same marker, region, primers and truncation
  lengths; otherwise the two remedies the field uses: trim every input's ASVs to a common
  length (``trim_to``, as the Earth Microbiome Project does, same primers needed) or collapse
  to a rank.
* **different reference databases or taxonomy systems**: the lineages mean different things
  (same ASV, other names), at ASV level as much as at a rank. Refused unless
  ``retaxonomise`` (every input's ASV sequences re-classified with one reference) or
  ``accept_mixed_taxonomy`` (recorded as a caveat in every output).
* **shotgun tables of different profilers or databases** (``method`` or ``reference_sha256``
  differ, e.g. sylph with Kraken2): refused; each profiler explains another part of a sample.
* an **unknown context** (a table that does not record how it was made): stated in every
  output; two unknown values are never taken as proof that the inputs agree.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from soilbiome.model.context import (
    ASV_FIELDS,
    TAXONOMY_FIELDS,
    ProcessingContext,
)
from soilbiome.model.table import FeatureTable

SHOTGUN = "shotgun"


class NotComparable(Exception):
    """The inputs cannot be compared as asked; ``lines`` say input by input why."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        super().__init__("; ".join(lines))


@dataclass
class Plan:
    """How the inputs are combined, and every caveat that goes into the outputs."""

    feature_mode: str  # "asv-sequence" or "taxa"
    trim_to: int | None = None
    caveats: list[str] = field(default_factory=list)
    contexts: list[ProcessingContext] = field(default_factory=list)


def _values(contexts: Sequence[ProcessingContext], labels: Sequence[str], name: str) -> str:
    return ", ".join(f"{lab}={getattr(c, name) or 'unknown'}"
                     for lab, c in zip(labels, contexts, strict=True))


def _marker_family(marker: str) -> str:
    m = marker.upper()
    if m == SHOTGUN.upper():
        return SHOTGUN
    if m.startswith("ITS"):
        return "ITS"
    return m


def plan_comparison(
    tables: Sequence[FeatureTable],
    labels: Sequence[str],
    *,
    collapse: bool,
    rank: str,
    trim_to: int | None = None,
    retaxonomise: str | None = None,
    accept_mixed_taxonomy: bool = False,
    allow_amplicon_shotgun: bool = False,
) -> Plan:
    """Decide how ``tables`` may be combined (see the module docstring).

    Raises
    ------
    NotComparable
        With one line per difference, naming each input's value and the remedies.
    """
    contexts = [t.context for t in tables]
    plan = Plan(feature_mode="taxa" if collapse else "asv-sequence", trim_to=trim_to,
                contexts=contexts)
    unknown = [lab for lab, c in zip(labels, contexts, strict=True) if c.is_unknown]
    if unknown:
        plan.caveats.append(f"unknown processing context (the table does not record how it "
                            f"was made): {', '.join(unknown)}")

    # markers ----------------------------------------------------------------------------
    families = {_marker_family(c.marker) for c in contexts if c.marker}
    no_marker = [lab for lab, c in zip(labels, contexts, strict=True) if not c.marker]
    if no_marker and families:
        raise NotComparable([
            f"marker not recorded by {', '.join(no_marker)} (markers: "
            f"{_values(contexts, labels, 'marker')}): a table whose marker is unknown cannot "
            "be compared with others; re-export it with soilbiome (pipeline or import)"])
    amplicon = families - {SHOTGUN}
    if len(amplicon) > 1:
        raise NotComparable([
            f"different markers cannot be compared ({_values(contexts, labels, 'marker')}): "
            "they count different organisms"])
    if SHOTGUN in families and amplicon:
        if not (allow_amplicon_shotgun and collapse):
            raise NotComparable([
                f"amplicon and shotgun tables ({_values(contexts, labels, 'marker')}): "
                "refused; to compare them anyway at a rank give --allow-amplicon-shotgun with "
                "--rank (the caveat is recorded in every output)"])
        plan.caveats.append(
            f"amplicon and shotgun tables compared at {rank} (--allow-amplicon-shotgun): "
            "amplicon counts are marker-gene copies of one group, shotgun counts are reads of "
            "the whole community; relative patterns only")
    if not families and len(tables) > 1:
        plan.caveats.append("no input records its marker: assumed to be the same")

    # shotgun profilers ------------------------------------------------------------------
    shotgun = [c for c in contexts if _marker_family(c.marker) == SHOTGUN]
    if len(shotgun) > 1:
        lines = []
        for name, why in (("method", "profiler"), ("reference_sha256", "database digest")):
            values = {getattr(c, name) for c in shotgun}
            if len(values - {""}) > 1:
                lines.append(f"{why} differs ({_values(contexts, labels, name)})")
        if lines:
            raise NotComparable([
                "shotgun tables made with different profilers or databases cannot be mixed: "
                + "; ".join(lines) + ". Each profiler explains a different part of a sample "
                "(Kraken2 classifies reads against its database, sylph estimates which genomes "
                "of its catalogue are present) and reports another unexplained share; compare "
                "tables of one profiler and one database, and show profilers side by side "
                "instead (the pipeline's report does)"])
        if any(not c.method for c in shotgun):
            plan.caveats.append("a shotgun input does not record its profiler: assumed to be "
                                "the same as the others'")
        if len({c.read_qc for c in shotgun} - {""}) > 1:
            plan.caveats.append(
                f"read QC differs ({_values(contexts, labels, 'read_qc')}): reads profiled "
                "as sequenced keep adapters and low-quality reads, so their unexplained or "
                "unclassified share is larger; compare the profiled taxa's relative shares only")

    # ASV-level matching -----------------------------------------------------------------
    if not collapse:
        if SHOTGUN in families:
            raise NotComparable(["shotgun tables have taxa, not ASVs: give --rank RANK"])
        if trim_to is None:
            lines = []
            for name in ASV_FIELDS:
                values = {getattr(c, name) for c in contexts}
                if len(values - {""}) > 1 or (len(values - {""}) == 1 and "" in values):
                    lines.append(f"{name} differs ({_values(contexts, labels, name)})")
                elif values == {""} and name in ("region", "trunc_len_f"):
                    plan.caveats.append(
                        f"{name} not recorded by any input: ASVs matched by sequence on trust")
            if lines:
                raise NotComparable([
                    "ASVs cannot be matched by sequence: " + "; ".join(lines)
                    + ". Remedies: --trim-to N (trim every input's ASVs to a common length, "
                    "as the Earth Microbiome Project does; same primers needed) or --rank "
                    "RANK (collapse to a rank through the harmonised lineage)"])
        else:
            lines = [f"{name} differs ({_values(contexts, labels, name)})"
                     for name in ("marker", "region", "primer_fwd")
                     if len({getattr(c, name) for c in contexts} - {""}) > 1]
            if lines:
                raise NotComparable([
                    "--trim-to needs reads that start at the same primer: " + "; ".join(lines)
                    + "; give --rank RANK instead"])
            plan.caveats.append(
                f"every ASV trimmed to its first {trim_to} bases (--trim-to); ASVs shorter "
                "than that are left out and counted per input")

    # taxonomy ---------------------------------------------------------------------------
    if retaxonomise:
        plan.caveats.append(f"every input's ASVs re-classified with {retaxonomise} "
                            "(--retaxonomise): every lineage comes from that reference")
    else:
        lines = []
        for name in TAXONOMY_FIELDS:
            values = {getattr(c, name) for c in contexts}
            if len(values) > 1:
                lines.append(f"{name} differs ({_values(contexts, labels, name)})")
        if lines:
            if not accept_mixed_taxonomy:
                raise NotComparable([
                    "the inputs' lineages come from different references: " + "; ".join(lines)
                    + ". The same ASV can carry other names in each; give --retaxonomise NAME "
                    "--refdb-sheet SHEET (re-classify every input with one reference) or "
                    "--accept-mixed-taxonomy (recorded as a caveat in every output)"])
            plan.caveats.append("mixed taxonomy accepted (--accept-mixed-taxonomy): "
                                + "; ".join(lines))
        elif {c.reference for c in contexts} == {""}:
            plan.caveats.append("no input records its reference database: lineages assumed "
                                "to come from the same reference")
    return plan


def merged_context(plan: Plan, *, rank: str | None, value_kind: str,
                   reference: dict | None = None) -> ProcessingContext:
    """The merged table's context: each field the inputs agree on, ``mixed: a | b`` otherwise;
    the trim length, the collapse rank or the re-classification reference where applied."""
    data: dict[str, str] = {}
    for name in ProcessingContext().to_dict():
        values = list(dict.fromkeys(c.to_dict()[name] for c in plan.contexts))
        known = [v for v in values if v]
        if len(values) == 1:
            data[name] = values[0]
        elif known:
            data[name] = "mixed: " + " | ".join(v or "unknown" for v in values)
    context = ProcessingContext.from_dict(data).with_values(value_kind=value_kind)
    if plan.trim_to:
        context = context.with_values(trunc_len_f=str(plan.trim_to), trunc_len_r="",
                                      asv_length=str(plan.trim_to))
    if plan.feature_mode == "taxa" and rank:
        context = context.with_values(asv_length="", method=f"{context.method} collapsed to "
                                      f"{rank} by soilbiome compare".strip())
    if reference:
        context = context.with_values(
            reference=reference.get("name", ""), reference_version=reference.get("version", ""),
            reference_sha256=reference.get("sha256", ""),
            classifier=reference.get("classifier", ""),
            taxonomy_system=reference.get("taxonomy", ""))
    return context
