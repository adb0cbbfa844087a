"""Ordination: PCoA per beta-diversity metric, coloured by group, with PERMANOVA and PERMDISP.

Below each figure: the group tests of that metric, as a number with its permutation
resolution, or as ``not computable`` with the reason (:mod:`soilbiome.report.stat_results`).
"""

from __future__ import annotations

import pandas as pd

from soilbiome.model.stat_result import COMPUTED
from soilbiome.report.context import ReportContext, section
from soilbiome.report.html import esc, html_table, missing, read_tsv
from soilbiome.report.sections.composition import PALETTE
from soilbiome.report.stat_results import result_text, results_frame, status_of

METRIC_LABELS: dict[str, str] = {
    "braycurtis": "Bray-Curtis", "jaccard": "Jaccard (presence/absence)",
    "weighted_unifrac": "weighted UniFrac", "unweighted_unifrac": "unweighted UniFrac",
    "weighted_normalized_unifrac": "weighted normalized UniFrac",
}


def pcoa_figures(ctx: ReportContext, groups: pd.Series | None = None, label: str | None = None,
                 metrics: tuple[str, ...] | None = None, key_suffix: str = "") -> list[str]:
    """One scatter of the first two PCoA axes per metric, coloured by ``groups``.

    Parameters
    ----------
    groups : pandas.Series, optional
        Colour of each sample (default: the report's grouping).
    label : str, optional
        Legend title (default: the report's group label).
    metrics : tuple of str, optional
        Only these metrics (default: every ``pcoa_<metric>.tsv``).
    key_suffix : str
        Appended to each figure id (``fig-pcoa-<metric><suffix>``) so that one metric can be
        drawn twice with different colours.
    """
    import plotly.graph_objects as go

    groups = ctx.groups if groups is None else groups
    label = ctx.group_label if label is None else label
    parts = []
    for f in sorted(ctx.diversity_dir.glob("pcoa_*.tsv")):
        metric = f.stem.removeprefix("pcoa_")
        if metrics is not None and metric not in metrics:
            continue
        coords = read_tsv(f, "PCoA coordinates", ("sample",)).set_index("sample")
        if coords.shape[1] < 2:
            continue
        prop = ctx.summary.get("pcoa", {}).get(metric, {}).get("proportion_explained", {})
        g = groups.reindex(coords.index).fillna("(none)")
        fig = go.Figure()
        for k, level in enumerate(sorted(g.unique())):
            sel = coords[g == level]
            fig.add_trace(go.Scatter(
                x=sel.iloc[:, 0], y=sel.iloc[:, 1], mode="markers", name=level,
                text=list(sel.index), marker=dict(size=11, color=PALETTE[k % len(PALETTE)]),
                hovertemplate="%{text}<extra>" + esc(level) + "</extra>",
            ))
        ax = [f"{c} ({prop[c]:.1%})" if c in prop else c for c in coords.columns[:2]]
        fig.update_layout(height=460, template="plotly_white", xaxis_title=ax[0],
                          yaxis_title=ax[1], legend_title=label, margin=dict(t=40),
                          title=f"{METRIC_LABELS.get(metric, metric)} by {label}")
        parts.append(ctx.figure(fig, f"pcoa-{metric}{key_suffix}")
                     + ctx.left_out(coords.index)
                     + (_group_tests(ctx.summary, metric) if not key_suffix else ""))
    return parts


def permanova_table(summary: dict) -> str:
    """PERMANOVA and PERMDISP tables from ``diversity.json`` (``""`` when none was run):
    each result with its status, reason and permutation resolution."""
    parts = []
    for key, title, label in (("permanova", "PERMANOVA", "pseudo-F"),
                              ("permdisp", "PERMDISP (homogeneity of dispersions)", "F")):
        results = summary.get(key) or {}
        if results:
            group_by = next(iter(results.values())).get("group_by", "")
            parts.append(f"<h3>{title} by {esc(group_by)}</h3>"
                         + html_table(results_frame(results, label=label)))
    return "".join(parts)


def skipped_pcoa(summary: dict) -> list[str]:
    """A note per metric whose PCoA was skipped, with the reason."""
    return [missing(f"PCoA {m}: {v['skipped']}") for m, v in summary.get("pcoa", {}).items()
            if "skipped" in v]


@section("pcoa", "Ordination (PCoA)", position=80)
def ordination(ctx: ReportContext) -> str:
    """A scatter of the first two axes per metric, each with its group tests; skipped metrics
    and the PERMANOVA / PERMDISP tables listed."""
    figures = pcoa_figures(ctx)
    skipped = skipped_pcoa(ctx.summary)
    if not figures and not skipped:
        ctx.not_provided("PCoA coordinates (pcoa_<metric>.tsv in --diversity)")
        return missing("No PCoA coordinates found.")
    return "".join(figures + skipped) + permanova_table(ctx.summary)


def _group_tests(summary: dict, metric: str) -> str:
    """The PERMANOVA and PERMDISP results of ``metric``, next to its figure."""
    lines = []
    for key, name, label, extras in (
            ("permanova", "PERMANOVA", "pseudo-F", (("R²", "r_squared"),)),
            ("permdisp", "PERMDISP", "F", ())):
        result = (summary.get(key) or {}).get(metric)
        if not result:
            continue
        text = f"{name} by {result.get('group_by', '')}: " + result_text(result, label,
                                                                         extras=extras)
        warn = status_of(result) != COMPUTED
        lines.append(f'<div class="flag warn">{esc(text)}</div>' if warn
                     else f"<p>{esc(text)}</p>")
    return "".join(lines)
