"""First screen: the batch in numbers (samples, features, reads, key figures), every sample."""

from __future__ import annotations

import pandas as pd

from soilbiome.report.context import ReportContext, section
from soilbiome.report.html import esc, fmt, html_table


@section("overview", "Samples", position=10, late=True)
def overview(ctx: ReportContext) -> str:
    """Totals, key figures added by other sections, inputs not given, one row per sample."""
    totals = ctx.sample_totals
    samples = list(ctx.table.sample_ids)
    nnz = ctx.table.counts.getnnz(axis=1)
    features = pd.Series(nnz, index=samples)
    order = ctx.order
    # a relative table holds shares of each sample's reads, not reads: no read totals shown
    amount = "sum of shares" if ctx.relative else "reads in table"
    rows = pd.DataFrame({
        "sample": order,
        ctx.group_label: [ctx.groups.get(s, "") for s in order],
        amount: [totals[s] for s in order],
        "features": [int(features[s]) for s in order],
        "status": ["empty" if totals[s] == 0 else "" for s in order],
    })
    empty = {s for s in samples if totals[s] == 0}
    cards = [("samples", f"{len(samples):,}", f"{len(empty)} empty" if empty else ""),
             ("features", f"{ctx.table.shape[1]:,}", "")]
    if ctx.relative:
        cards.append(("values", "relative", "shares of each sample's reads, not read counts"))
        what = "values are relative abundances (shares of each sample's reads)"
    else:
        cards.append(("reads in table", fmt(float(totals.sum()))[0], ""))
        what = f"{fmt(float(totals.sum()))[0]} reads"
    cards += ctx.headlines
    card_html = "".join(
        f'<div class="card"><div class="value">{esc(v)}</div><div class="label">{esc(k)}'
        f"</div>{f'<div class=note>{esc(n)}</div>' if n else ''}</div>"
        for k, v, n in cards
    )
    intro = [
        f'<div class="cards">{card_html}</div>',
        f"<p>Table <code>{esc(ctx.biom.name)}</code>: {len(samples)} samples, "
        f"{ctx.table.shape[1]} features, {what}.</p>",
    ]
    if ctx.missing:
        intro.append('<div class="flag info"><strong>Inputs not provided</strong>'
                     + "<br>".join(esc(m) for m in ctx.missing) + "</div>")
    return "".join(intro) + html_table(rows, highlight=empty)
