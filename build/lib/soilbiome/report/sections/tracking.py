"""Read tracking: reads left after each DADA2 step, per sample."""

from __future__ import annotations

import numpy as np

from soilbiome.errors import InputError
from soilbiome.report.context import ReportContext, section
from soilbiome.report.html import esc, html_table, missing, read_tsv

TRACKING_STEPS: tuple[str, ...] = (
    "input", "filtered", "denoised_f", "denoised_r", "merged", "nonchim",
)
#: Read accounting of a shotgun run (``qc/shotgun_summary.tsv``), used when no DADA2 step is.
SHOTGUN_TRACKING_STEPS: tuple[str, ...] = (
    "reads_in", "reads_after_qc", "reads_profiled", "reads_classified",
)


@section("tracking", "Read tracking", position=40)
def read_tracking(ctx: ReportContext) -> str:
    """A line per sample through the DADA2 steps, and the table with the share retained."""
    import plotly.graph_objects as go

    path = ctx.input("tracking")
    if path is None:
        ctx.not_provided("read tracking (--tracking read_tracking.tsv)")
        return missing("Not provided: read tracking (--tracking read_tracking.tsv from DADA2).")
    df = read_tsv(path, "read tracking table", ("sample",))
    steps = ([s for s in TRACKING_STEPS if s in df.columns]
             or [s for s in SHOTGUN_TRACKING_STEPS if s in df.columns])
    if not steps:
        raise InputError(f"read tracking table has none of {', '.join(TRACKING_STEPS)}",
                         location=str(path))
    fig = go.Figure()
    for _, row in df.iterrows():
        fig.add_trace(go.Scatter(
            x=steps, y=[row[s] for s in steps], mode="lines+markers", name=str(row["sample"]),
            hovertemplate="%{x}: %{y:,} reads<extra>" + esc(row["sample"]) + "</extra>",
        ))
    fig.update_layout(height=420, margin=dict(t=30, b=40), yaxis_title="reads",
                      xaxis_title="step", legend_title="sample", template="plotly_white")
    zero = set(df.loc[df[steps[-1]].fillna(0) == 0, "sample"].astype(str))
    for s in sorted(zero):
        ctx.flag(s, "read tracking", f"0 reads left after the last step ({steps[-1]}).")
    if "input" in df.columns and steps[-1] != "input":
        with np.errstate(divide="ignore", invalid="ignore"):
            df = df.assign(retained=np.where(df["input"] > 0, df[steps[-1]] / df["input"], np.nan))
    return ctx.figure(fig, "tracking") + html_table(df, highlight=zero)
