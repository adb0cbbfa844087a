"""Alpha diversity per sample, by group (box plots and the table with reasons)."""

from __future__ import annotations

import pandas as pd

from soilbiome.report.context import ReportContext, section
from soilbiome.report.html import esc, html_table, missing, read_tsv
from soilbiome.report.sections.composition import PALETTE

ALPHA_LABELS: dict[str, str] = {
    "observed_features": "Observed features",
    "shannon": "Shannon",
    "simpson": "Gini-Simpson",
    "chao1": "Chao1",
    "pielou_evenness": "Pielou's evenness",
    "faith_pd": "Faith's PD",
}


def _tree_note(summary: dict) -> str:
    """Which tree Faith's PD and UniFrac used (diversity.json ``parameters.tree``), or none."""
    tree = summary.get("parameters", {}).get("tree")
    if not tree:
        return "No ASV tree: Faith's PD and UniFrac were not computed."
    if isinstance(tree, dict):
        single = (" Its branch lengths were read in single precision, as Striped UniFrac "
                  "(QIIME 2) reads them." if tree.get("branch_lengths") == "single" else "")
        return (f"Faith's PD and UniFrac use the ASV tree {esc(tree.get('source', ''))} "
                f"(SHA-256 {esc(str(tree.get('sha256', ''))[:16])}...).{single}")
    return f"Faith's PD and UniFrac use the ASV tree {esc(str(tree))}."


def _profiled_note(summary: dict) -> str:
    """Shotgun tables: the indices describe the profiled part only (diversity.json)."""
    part = summary.get("parameters", {}).get("profiled_part_only")
    if not part:
        return ""
    shares = part.get("unexplained_share", {})
    span = ""
    if shares:
        low, high = min(shares.values()), max(shares.values())
        span = (f" The unexplained share left out is {low:.1%}" if low == high
                else f" The unexplained share left out is {low:.1%}–{high:.1%}") + " of reads."
    return (f"<p class='note'><b>Profiled part only:</b> Shannon, Simpson, Chao1, observed "
            f"features, evenness, Bray-Curtis and the rarefaction curve are computed on the "
            f"taxa the profiler could name, without the unexplained reads (feature "
            f"<code>{esc(part.get('feature_left_out', 'unclassified'))}</code>).{span} They "
            "describe the known part of the community, not the whole of it.</p>")


@section("alpha", "Alpha diversity", position=60)
def alpha_diversity(ctx: ReportContext) -> str:
    """One box plot per index, grouped by ``group_by``; every sample in the table."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    path = ctx.diversity_dir / "alpha_diversity.tsv"
    if not path.is_file():
        ctx.not_provided(f"alpha diversity ({path.name} in --diversity)")
        return missing(f"Not found: {path}.")
    summary = ctx.summary
    alpha = read_tsv(path, "alpha diversity table", ("sample",)).set_index("sample")
    metrics = [m for m in ALPHA_LABELS if m in alpha.columns]
    base = summary.get("parameters", {}).get("shannon_log_base") or (
        str(alpha["shannon_base"].dropna().iloc[0]) if "shannon_base" in alpha.columns
        and alpha["shannon_base"].notna().any() else "?")
    titles = [ALPHA_LABELS[m] + (f" (log base {base})" if m == "shannon" else "")
              for m in metrics]
    fig = make_subplots(rows=1, cols=max(len(metrics), 1), subplot_titles=titles)
    g = ctx.groups.reindex(alpha.index).fillna("(none)")
    levels = sorted(g.unique())
    for j, m in enumerate(metrics, start=1):
        for k, level in enumerate(levels):
            sel = alpha.loc[g == level, m].dropna()
            fig.add_trace(go.Box(
                y=sel.to_numpy(), x=[level] * len(sel), name=level, text=list(sel.index),
                boxpoints="all", jitter=0.4, pointpos=0, legendgroup=level,
                showlegend=(j == 1), marker_color=PALETTE[k % len(PALETTE)],
                hovertemplate="%{text}: %{y:.4g}<extra>" + esc(level) + "</extra>",
            ), row=1, col=j)
    fig.update_layout(height=420, template="plotly_white", legend_title=ctx.group_label,
                      margin=dict(t=50), boxmode="overlay")
    rare = summary.get("parameters", {}).get("rarefaction", {})
    depth = rare.get("depth")
    if depth:
        basis = f"rarefied to <b>{depth}</b> reads (seed {rare.get('seed')}). "
    elif ctx.relative:  # shares cannot be subsampled
        basis = ("computed on the table's <b>relative abundances</b> (not rarefied: there are "
                 "no reads to subsample). ")
    else:
        basis = "computed on counts that were <b>not rarefied</b>. "
    not_computed = summary.get("parameters", {}).get("not_computed", {})
    for index, why in not_computed.items():
        label = esc(ALPHA_LABELS.get(index, index))
        basis += f"{label} is not computed for any sample ({esc(why)}). "
    note = (f"<p>Indices per sample by <b>{esc(ctx.group_label)}</b>; " + basis
            + "Samples with an undefined value (empty, excluded) are listed in the table with "
            "the reason, and left out of the plot. " + _tree_note(summary) + "</p>"
            + _profiled_note(summary))
    plotted = alpha.index[alpha[metrics].notna().any(axis=1)] if metrics else []
    note += ctx.left_out(plotted)
    notes = alpha.get("note", pd.Series(dtype=str)).fillna("").astype(str)
    shown = alpha.reset_index()
    if ctx.relative:  # "reads" holds each sample's summed shares; "depth" repeats it
        shown = shown.drop(columns=["depth"], errors="ignore").rename(
            columns={"reads": "sum of shares"})
    # what holds for every sample (Chao1 on shares) is said above, not marked per sample
    table_wide = set(not_computed.values())
    marked = [s for s, n in notes.items() if set(n.split("; ")) - table_wide - {""}]
    return note + ctx.figure(fig, "alpha") + html_table(shown, highlight=set(marked))
