"""Ordination: PCoA per beta-diversity metric, coloured by group, with PERMANOVA and PERMDISP.

Below each figure: the group tests of that metric, as a number with its permutation
resolution, or as ``not computable`` with the reason (:mod:`soilbiome.report.stat_results`).
"""

from __future__ import annotations

from soilbiome.model.stat_result import COMPUTED
from soilbiome.report.context import ReportContext, section
from soilbiome.report.html import esc, html_table, missing, read_tsv
from soilbiome.report.sections.composition import PALETTE
from soilbiome.report.stat_results import result_text, results_frame, status_of

METRIC_LABELS: dict[str, str] = {
    "braycurtis": "Bray-Curtis", "jaccard": "Jaccard (presence/absence)",
    "weighted_unifrac": "weighted UniFrac", "unweighted_unifrac": "unweighted UniFrac",
}


@section("pcoa", "Ordination (PCoA)", position=80)
def ordination(ctx: ReportContext) -> str:
    """A scatter of the first two axes per metric; skipped metrics and PERMANOVA listed."""
    import plotly.graph_objects as go

    summary = ctx.summary
    files = sorted(ctx.diversity_dir.glob("pcoa_*.tsv"))
    skipped = {m: v["skipped"] for m, v in summary.get("pcoa", {}).items() if "skipped" in v}
    if not files and not skipped:
        ctx.not_provided("PCoA coordinates (pcoa_<metric>.tsv in --diversity)")
        return missing("No PCoA coordinates found.")
    parts = []
    for f in files:
        metric = f.stem.removeprefix("pcoa_")
        coords = read_tsv(f, "PCoA coordinates", ("sample",)).set_index("sample")
        if coords.shape[1] < 2:
            continue
        prop = summary.get("pcoa", {}).get(metric, {}).get("proportion_explained", {})
        g = ctx.groups.reindex(coords.index).fillna("(none)")
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
                          yaxis_title=ax[1], legend_title=ctx.group_label, margin=dict(t=40),
                          title=METRIC_LABELS.get(metric, metric))
        parts.append(ctx.figure(fig, f"pcoa-{metric}") + _group_tests(summary, metric))
    for m, why in skipped.items():
        parts.append(missing(f"PCoA {m}: {why}"))
    for key, title, label in (("permanova", "PERMANOVA", "pseudo-F"),
                              ("permdisp", "PERMDISP (homogeneity of dispersions)", "F")):
        results = summary.get(key) or {}
        if results:
            group_by = next(iter(results.values())).get("group_by", "")
            parts.append(f"<h3>{title} by {esc(group_by)}</h3>"
                         + html_table(results_frame(results, label=label)))
    return "".join(parts)


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
