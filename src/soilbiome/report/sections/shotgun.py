"""Shotgun tables: how many profiled reads were classified (a result, often the headline).

Soil shotgun data is often mostly unclassified; the share is shown on the first screen
(headline card) and per sample, from the table's own sample metadata (``classified_fraction``,
``reads_classified``, ``reads_unclassified``, host columns when host reads were removed).
"""

from __future__ import annotations

import pandas as pd

from soilbiome.report.context import ReportContext, section
from soilbiome.report.html import html_table

COLUMNS = ("reads_in", "reads_after_qc", "reads_host", "host_fraction", "reads_classified",
           "reads_unclassified", "classified_fraction", "genomes_detected", "profiled_fraction",
           "unexplained_fraction")


@section("classified", "Classified reads", position=35)
def classified_reads(ctx: ReportContext) -> str | None:
    """Classified share per sample (shotgun and imported tables only)."""
    md = ctx.table.sample_metadata
    if "classified_fraction" not in md.columns:
        return None
    share = pd.to_numeric(md["classified_fraction"], errors="coerce")
    known = share.dropna()
    if len(known) == 1:
        value = f"{known.iloc[0]:.1%}"
    elif len(known):
        value = f"{known.min():.1%}–{known.max():.1%}"
    else:
        value = "n/a"
    ctx.headline("profiled reads", value,
                 "share of the reads the profiler assigned to a taxon; the rest is unexplained "
                 "(the feature 'unclassified'): most soil organisms have no reference genome")
    rows = pd.DataFrame({"sample": list(ctx.order)})
    for column in COLUMNS:
        if column in md.columns:
            rows[column] = [md.loc[s, column] for s in ctx.order]
    low = {s for s in ctx.order if pd.notna(share.get(s)) and share[s] < 0.5}
    body = ("<p>Per sample, the share of the reads that reached the profiler (after QC and "
            "host removal) that it assigned to a taxon (<code>classified_fraction</code> = "
            "<code>profiled_fraction</code>) and the share it could not explain "
            "(<code>unexplained_fraction</code>). The unexplained part is a result, not a "
            "gap: in soil most organisms have no reference genome. It is kept in the table as "
            "the feature <code>unclassified</code> so totals add up, and diversity indices are "
            "computed on the profiled part only.</p>")
    return body + html_table(rows, highlight=low)
