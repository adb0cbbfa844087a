"""Rarefaction curves: expected observed features against depth, per sample."""

from __future__ import annotations

from soilbiome.report.context import ReportContext, section
from soilbiome.report.html import missing, read_tsv


@section("curve", "Rarefaction curves", position=70)
def rarefaction_curves(ctx: ReportContext) -> str:
    """One line per sample, the rarefaction depth marked."""
    import plotly.graph_objects as go

    path = ctx.diversity_dir / "rarefaction_curve.tsv"
    if not path.is_file():
        ctx.not_provided(f"rarefaction curve ({path.name} in --diversity)")
        return missing(f"Not found: {path}.")
    curve = read_tsv(path, "rarefaction curve", ("sample", "depth", "observed_features"))
    if curve.empty:
        return missing("No rarefaction curve (non-integer table).")
    fig = go.Figure()
    # an empty sample has no curve (one point at 0 reads): left out, and named below
    curve = curve[curve.groupby("sample")["depth"].transform("max") > 0]
    for sample, part in curve.groupby("sample", sort=True):
        fig.add_trace(go.Scatter(x=part["depth"], y=part["observed_features"], mode="lines",
                                 name=str(sample)))
    depth = ctx.summary.get("parameters", {}).get("rarefaction", {}).get("depth")
    if depth:
        fig.add_vline(x=depth, line_dash="dash", line_color="#c0392b",
                      annotation_text=f"rarefaction depth {depth}")
    fig.update_layout(height=420, template="plotly_white", xaxis_title="reads (depth)",
                      yaxis_title="expected observed features", margin=dict(t=30))
    return ctx.figure(fig, "curve") + ctx.left_out(curve["sample"].unique())
