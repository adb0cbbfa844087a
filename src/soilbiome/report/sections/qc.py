"""Quality control: fastp per-sample summary and the primer check (cutadapt)."""

from __future__ import annotations

from soilbiome.report.context import ReportContext, section
from soilbiome.report.html import html_table, missing, read_tsv

PRIMER_COLUMNS = ("sample", "reads_in", "reads_with_primer", "fraction_with_primer", "flag")


def _primers(ctx: ReportContext) -> str:
    path = ctx.input("primers")
    if path is None and ctx.shotgun:  # shotgun reads carry no primers: nothing was left out
        return ""
    if path is None:
        ctx.not_provided("primer summary (--primers primer_summary.tsv)")
        return missing("Not provided: primer summary (--primers primer_summary.tsv); "
                       "primer presence was not checked in this report.")
    df = read_tsv(path, "primer summary", PRIMER_COLUMNS)
    df["flag"] = df["flag"].fillna("").astype(str)
    flagged = df[df["flag"].str.strip() != ""]
    for _, row in flagged.iterrows():
        ctx.flag(str(row["sample"]), "primers", f"Primer check: {row['flag']}", "error")
    return "<h3>Primer removal</h3>" + html_table(df, highlight=set(flagged["sample"]))


@section("qc", "Quality control", position=30)
def quality_control(ctx: ReportContext) -> str:
    """The QC summary table (status per sample) and the primer check."""
    primer_html = _primers(ctx)
    path = ctx.input("qc")
    if path is None:
        ctx.not_provided("QC summary (--qc qc_summary.tsv)")
        return missing("Not provided: QC summary (--qc qc_summary.tsv).") + primer_html
    df = read_tsv(path, "QC summary", ("sample", "status"))
    bad = df[df["status"].astype(str) != "ok"]
    for _, row in bad.iterrows():
        level = "warn" if str(row["status"]) in ("empty", "low_reads") else "error"
        extra = f" ({row['reads_out']} reads after QC)" if "reads_out" in df.columns else ""
        ctx.flag(str(row["sample"]), "QC", f"QC status '{row['status']}'{extra}.", level)
    return html_table(df, highlight=set(bad["sample"].astype(str))) + primer_html
