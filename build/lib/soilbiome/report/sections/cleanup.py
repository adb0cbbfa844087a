"""Clean-up: chloroplast / mitochondria reads per sample and contaminant ASVs (docs/dada2.md)."""

from __future__ import annotations

from soilbiome.report.context import ReportContext, section
from soilbiome.report.html import esc, html_table, read_tsv

#: A sample is flagged when more of its reads than this were chloroplast or mitochondria.
NONTARGET_FLAG = 0.25


@section("cleanup", "Non-target ASVs and contaminants", position=45)
def cleanup(ctx: ReportContext) -> str | None:
    """Per-sample non-target reads (16S) and the contaminant ASVs flagged by negative controls."""
    folder = ctx.input("cleanup")
    if folder is None:
        return None
    parts = []
    summary = read_tsv(folder / "nontarget_summary.tsv", "non-target summary", ("sample", "reads"))
    fractions = [c for c in summary.columns if c.endswith("_fraction")]
    total = summary[[c.removesuffix("_fraction") + "_reads" for c in fractions]].sum().sum()
    parts.append(f"<p>Chloroplast and mitochondria ASVs (by lineage) were moved out of the "
                 f"table: <b>{int(total)}</b> reads in all; per sample below "
                 "(<code>cleanup/nontarget_counts.tsv</code> holds them).</p>")
    for _, row in summary.iterrows():
        share = float(sum(row[c] for c in fractions)) if fractions else 0.0
        if share > NONTARGET_FLAG:
            ctx.flag(str(row["sample"]), "non-target",
                     f"{share:.0%} of reads were chloroplast / mitochondria")
    parts.append(html_table(summary))

    cont = read_tsv(folder / "contaminants.tsv", "contaminant table", ("feature_id",))
    flagged = cont[cont["contaminant"].astype(str).str.upper() == "TRUE"]
    if not len(cont) or cont["p_prev"].isna().all():
        parts.append("<p>No contaminant test: no negative control (<code>sample_type</code> "
                     "<code>negative_control</code>) with reads.</p>")
    else:
        removed = flagged["removed"].astype(str).str.upper().eq("TRUE").any()
        parts.append(
            f"<p><b>{len(flagged)}</b> ASV(s) flagged as contaminants by their prevalence in "
            "negative controls (decontam's prevalence method) and "
            + ("<b>removed</b> from the table." if removed else
               "<b>kept</b> in the table (remove them with <code>--remove_contaminants</code>).")
            + "</p>")
        if len(flagged):
            parts.append(html_table(flagged[["feature_id", "prev_controls", "prev_samples",
                                             "p_prev", "removed"]]))
    return "".join(parts) if parts else esc("")
