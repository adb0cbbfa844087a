"""Ordination: PCoA per beta-diversity metric, coloured by group, and PERMANOVA."""

from __future__ import annotations

import pandas as pd

from soilbiome.report.context import ReportContext, section
from soilbiome.report.html import esc, html_table, missing, read_tsv
from soilbiome.report.sections.composition import PALETTE

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
        parts.append(ctx.figure(fig, f"pcoa-{metric}"))
    for m, why in skipped.items():
        parts.append(missing(f"PCoA {m}: {why}"))
    perm = summary.get("permanova") or {}
    if perm:
        rows = [{"metric": m, "group_by": r.get("group_by"),
                 "pseudo_F": r.get("test_statistic"), "p_value": r.get("p_value"),
                 "permutations": r.get("permutations"), "samples": r.get("sample_size"),
                 "groups": r.get("number_of_groups"), "skipped": r.get("skipped", "")}
                for m, r in perm.items()]
        parts.append("<h3>PERMANOVA</h3>" + html_table(pd.DataFrame(rows)))
    return "".join(parts)
