"""The report's extension point: a shared context and a registry of sections.

Adding a section to the report is adding one module to :mod:`soilbiome.report.sections`
(every module there is imported automatically) with a function decorated by
:func:`section`::

    from soilbiome.report.context import ReportContext, section
    from soilbiome.report.html import html_table, missing

    @section("soil", "Soil context", position=85)
    def soil_context(ctx: ReportContext) -> str | None:
        path = ctx.input("soil")          # an input given to build_report(soil=...)
        if path is None:
            ctx.not_provided("soil context (--soil soil.tsv)")
            return missing("Not provided: soil context.")
        ctx.headline("pH range", "4.1-7.9")   # optional key figure on the first screen
        return html_table(...)

A section function returns the section's HTML body, a ``(title, body)`` pair to change its
title, or ``None`` to leave the section out. It may add flags (:meth:`ReportContext.flag`),
plots (:meth:`ReportContext.figure`) and key figures for the first screen
(:meth:`ReportContext.headline`). Positions of the built-in sections (leave gaps between):

======== ================================ ========
position section                          key
======== ================================ ========
10       Samples (first screen; late)     overview
20       Flags (late)                     flags
25       Sites (map of MIxS lat_lon)      sites
30       Quality control + primers        qc
40       Read tracking                    tracking
50       Composition (rank switch)        composition
60       Alpha diversity                  alpha
70       Rarefaction curves               curve
80       Ordination (PCoA, PERMANOVA)     pcoa
90       Provenance                       provenance
95       Software versions                versions
======== ================================ ========

``late=True`` sections are computed after all others (they summarise what the others found)
but placed at their position.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from soilbiome.model.table import FeatureTable
from soilbiome.report.html import esc, literal_plot_text

#: Plotly options of every figure.
PLOT_CONFIG = {"displaylogo": False, "responsive": True}

SectionResult = str | tuple[str, str] | None


@dataclass(frozen=True)
class Section:
    """One registered report section."""

    key: str
    title: str
    position: int
    render: Callable[[ReportContext], SectionResult]
    late: bool = False


#: Every registered section, by key.
SECTIONS: dict[str, Section] = {}


def section(
    key: str, title: str, *, position: int, late: bool = False
) -> Callable[[Callable[[ReportContext], SectionResult]], Callable[[ReportContext], SectionResult]]:
    """Register a report section (decorator).

    Parameters
    ----------
    key : str
        HTML id of the section and its anchor in the navigation; unique.
    title : str
        Default heading (the function may return ``(title, body)`` to change it).
    position : int
        Place on the page, top to bottom (see the module table).
    late : bool
        Compute after every other section (for summaries of the whole report).
    """

    def register(fn: Callable[[ReportContext], SectionResult]) -> Callable:
        if key in SECTIONS and SECTIONS[key].render is not fn:
            raise ValueError(f"report section '{key}' is registered twice")
        SECTIONS[key] = Section(key, title, position, fn, late)
        return fn

    return register


@dataclass
class ReportContext:
    """Everything a section may read, and what sections report back.

    Attributes
    ----------
    table : FeatureTable
        The batch's table, read with the one validated BIOM reader.
    biom : Path
        Its file.
    diversity_dir : Path
        Output folder of ``soilbiome diversity``.
    summary : dict
        ``diversity.json`` (empty if absent).
    inputs : dict
        Optional inputs by name (``qc``, ``tracking``, ``primers``, ``versions``, ``params``,
        ``refdb``, ``verification``, ``crate`` ... ); ``None`` when not given.
    options : dict
        ``rank``, ``top``, ``group_by``, ``title``, ``batch_name``.
    groups : pandas.Series
        Group label of every sample (``group_by`` column, or "all samples").
    group_label : str
        Name of the grouping.
    order : list of str
        Samples in display order (by group, then name).
    """

    table: FeatureTable
    biom: Path
    diversity_dir: Path
    summary: dict
    inputs: dict[str, Path | None]
    options: dict
    groups: pd.Series
    group_label: str
    order: list[str]
    flags: list[dict] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    headlines: list[tuple[str, str, str]] = field(default_factory=list)
    figures: int = 0

    def input(self, name: str) -> Path | None:
        """The optional input ``name`` as a Path, or None when it was not given."""
        value = self.inputs.get(name)
        return Path(value) if value else None

    def not_provided(self, what: str) -> None:
        """Record an input that was not given (listed on the first screen)."""
        self.missing.append(what)

    def flag(self, sample: str, source: str, message: str, level: str = "warn") -> None:
        """Flag a sample: ``level`` is ``error``, ``warn`` or ``info``."""
        if level not in ("error", "warn", "info"):
            raise ValueError(f"flag level '{level}'")
        self.flags.append({"sample": sample, "source": source, "message": message,
                           "level": level})

    def headline(self, label: str, value: str, note: str = "") -> None:
        """A key figure shown on the first screen (e.g. the classified share)."""
        self.headlines.append((label, value, note))

    def left_out(self, shown: object, what: str = "the plot") -> str:
        """A caption naming the table's samples that are not in ``shown`` (sample IDs drawn
        in a plot), each with why (empty, or the reason ``diversity`` excluded it); ``""``
        when every sample is drawn."""
        drawn = {str(s) for s in shown}  # type: ignore[attr-defined]
        absent = [s for s in self.table.sample_ids if s not in drawn]
        if not absent:
            return ""
        reasons: dict[str, list[str]] = {}
        for s in self.summary.get("samples", {}).get("empty", []):
            reasons.setdefault(s, []).append("empty: 0 reads")
        for e in self.summary.get("excluded", []):
            if "empty" not in e.get("reason", "") or e["sample"] not in reasons:
                reasons.setdefault(e["sample"], []).append(e.get("reason", ""))
        items = [f"{esc(s)} ({esc('; '.join(dict.fromkeys(reasons.get(s, ['no value']))))})"
                 for s in absent[:30]]
        more = f" and {len(absent) - 30} more" if len(absent) > 30 else ""
        return (f'<p class="note">Left out of {esc(what)}: {len(absent)} sample(s): '
                f"{', '.join(items)}{more}.</p>")

    def figure(self, fig: object, key: str) -> str:
        """HTML of a plotly figure without the bundle (plotly.js is embedded once)."""
        self.figures += 1
        literal_plot_text(fig)  # data labels drawn as text, never as plotly's HTML subset
        return fig.to_html(  # type: ignore[attr-defined]
            full_html=False, include_plotlyjs=False, div_id=f"fig-{key}",
            config=PLOT_CONFIG, default_width="100%",
        )

    @property
    def relative(self) -> bool:
        """The table holds relative abundances (value kind ``relative``: shares of each
        sample's reads, as sylph and MetaPhlAn give them), not read counts."""
        return not self.table.is_counts

    @property
    def shotgun(self) -> bool:
        """The table profiles shotgun reads (marker ``shotgun``): no primers, no ASVs."""
        return self.table.marker == "shotgun"

    @property
    def sample_totals(self) -> pd.Series:
        """Reads (or summed values) per sample, indexed by sample ID."""
        return pd.Series(self.table.sample_totals(), index=list(self.table.sample_ids))
