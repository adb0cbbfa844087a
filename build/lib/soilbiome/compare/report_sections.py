"""Sections of the comparison report that only ``compare`` has.

Each takes the report context and the content of ``compare.json`` (``cmp``); the report
(:mod:`soilbiome.compare.report`) binds ``cmp`` and places them among the batch report's own
sections (alpha diversity, composition, ordination, soil context).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from soilbiome.compare.terms_text import plain_terms
from soilbiome.model.stat_result import COMPUTED
from soilbiome.report.context import ReportContext
from soilbiome.report.html import definition_list, esc, fmt, html_table, missing
from soilbiome.report.sections.alpha import alpha_diversity
from soilbiome.report.sections.curves import rarefaction_curves
from soilbiome.report.sections.pcoa import pcoa_figures, skipped_pcoa
from soilbiome.report.sections.sites import sites_body
from soilbiome.report.stat_results import results_frame, status_of

UNKNOWN = "unknown"


def _cards(items: list[tuple[str, str, str]]) -> str:
    return '<div class="cards">' + "".join(
        f'<div class="card"><div class="value">{esc(v)}</div><div class="label">{esc(k)}'
        f"</div>{f'<div class=note>{esc(n)}</div>' if n else ''}</div>"
        for k, v, n in items) + "</div>"


def _ul(lines: list[str]) -> str:
    return "<ul>" + "".join(f"<li>{esc(x)}</li>" for x in lines) + "</ul>"


def overview(ctx: ReportContext, cmp: dict[str, Any]) -> str:
    """The comparison in numbers, the unverified-input warning, what harmonising did."""
    md = ctx.table.sample_metadata
    feats = cmp.get("features", {})
    norm = cmp.get("normalisation", {})
    group = cmp.get("group", ctx.group_label)
    sites = ctx.groups.nunique()
    parts = []
    unverified = cmp.get("unverified_inputs") or []
    if unverified:
        parts.append('<div class="flag"><strong>UNVERIFIED INPUTS (--allow-unverified)</strong>'
                     f"{esc(', '.join(unverified))}: their terms come from their stamps and "
                     "their signer was not checked against an agreement.</div>")
    institutions = sorted({str(x) for x in md.get("institution", pd.Series(dtype=str))})
    depth = norm.get("depth")
    parts.append(_cards([
        ("inputs", str(len(cmp.get("inputs", []))), ""),
        ("institutions", str(len(institutions)), ", ".join(institutions)),
        ("samples", f"{cmp.get('samples', len(md)):,}", ""),
        (f"{group} values", str(sites), ""),
        ("features", f"{feats.get('count', ctx.table.shape[1]):,}",
         str(feats.get("mode", ""))),
        ("rarefaction depth", fmt(depth)[0] if depth is not None else "none",
         f"{len(cmp.get('below_depth') or [])} samples below" if depth is not None
         else str(norm.get("method", ""))),
    ]))
    parts.append(definition_list([
        ("marker / region", f"{feats.get('marker') or UNKNOWN} / {feats.get('region') or UNKNOWN}"),
        ("values", feats.get("value_kind") or UNKNOWN),
        ("features matched by", feats.get("mode") or UNKNOWN),
        ("compared by", group),
        ("samples without a value", ", ".join(cmp.get("samples_without_group") or [])
         or "none"),
        ("renamed samples (ID in several inputs)", ", ".join(
            f"{k} (was {v['original_sample_id']} in {v['source_table']})"
            for k, v in (cmp.get("renamed_samples") or {}).items()) or "none"),
        ("reference date of the date rules", cmp.get("today")),
    ]))
    if cmp.get("statements"):
        parts.append("<h3>What harmonising did</h3>" + _ul(cmp["statements"]))
    return "".join(parts)


def terms(ctx: ReportContext, cmp: dict[str, Any]) -> str:
    """The combined sharing terms in plain words (:func:`plain_terms`)."""
    topics = plain_terms(cmp.get("terms") or {})
    body = "".join(
        f"<dt>{esc(topic)}</dt><dd>"
        + (esc(lines[0]) if len(lines) == 1 else _ul(lines)) + "</dd>"
        for topic, lines in topics)
    return ('<p>What the merged table and everything made from it may be used for, and '
            "what it obliges its users to do: the terms of every input combined (rules "
            "C1-C14). The same terms are in <code>terms.json</code>, the merged table's "
            "stamp and the first lines of every TSV.</p>"
            f'<dl class="kv">{body}</dl>')


def _flatten(value: Any, prefix: str = "") -> list[tuple[str, str]]:
    if isinstance(value, dict):
        if not value and prefix:
            return [(prefix, UNKNOWN)]
        out: list[tuple[str, str]] = []
        for k, v in value.items():
            out += _flatten(v, f"{prefix}.{k}" if prefix else str(k))
        return out
    if isinstance(value, list | tuple):
        text = ", ".join(v if isinstance(v, str) else "; ".join(
            f"{k}: {t}" for k, t in _flatten(v)) if isinstance(v, dict) else str(v)
            for v in value)
        return [(prefix, text or UNKNOWN)]
    if value is None or (isinstance(value, str) and not value.strip()):
        return [(prefix, UNKNOWN)]
    return [(prefix, fmt(value)[0])]


def context_items(context: dict[str, Any] | None) -> list[tuple[str, str]]:
    """An input's processing ``context`` as key → value pairs (nested keys dotted).

    Empty values read "unknown"; no context at all gives one "unknown" row.
    """
    if not context:
        return [("processing context", f"{UNKNOWN} (not recorded by this input)")]
    return _flatten(context)


def inputs(ctx: ReportContext, cmp: dict[str, Any]) -> str:
    """Each input: institution, file, samples, verification, licence and processing context."""
    md = ctx.table.sample_metadata
    per_table = md["source_table"].value_counts() if "source_table" in md.columns else {}
    rows, blocks = [], []
    for i in cmp.get("inputs", []):
        n = int(per_table.get(i.get("label"), 0)) if len(per_table) else 0
        rows.append({"institution": i.get("institution"), "file": i.get("file"),
                     "samples": n, "status": i.get("status"), "licence": i.get("license"),
                     "agreement": i.get("agreement_id"),
                     "sha256": (i.get("sha256") or "")[:16] + "…"})
        findings = [f"{f['rule']} {f['severity']}: {f['reason']}"
                    for f in i.get("findings") or []]
        blocks.append(
            f"<h3>{esc(i.get('institution'))}: <code>{esc(i.get('file'))}</code></h3>"
            + definition_list([
                ("samples", n), ("status", i.get("status")),
                ("rules passed", ", ".join(i.get("passed") or []) or "none"),
                ("agreement SHA-256", i.get("agreement_sha256") or UNKNOWN),
                ("file SHA-256", i.get("sha256")),
            ] + context_items(i.get("context")))
            + ("<h4>Findings</h4>" + _ul(findings) if findings else ""))
    return html_table(pd.DataFrame(rows)) + "".join(blocks)


def sites(ctx: ReportContext, cmp: dict[str, Any]) -> str:
    """Map of the sites, coloured by institution (drawn offline)."""
    body = sites_body(ctx, category="institution")
    return body if body is not None else missing("No sample has a MIxS lat_lon value.")


def rarefaction(ctx: ReportContext, cmp: dict[str, Any]) -> str:
    """Depth, seed, how the depth was chosen, and every sample below it (left out)."""
    norm = cmp.get("normalisation") or {}
    depth = norm.get("depth")
    if depth is None:
        return (f"<p>Not rarefied: {esc(norm.get('method', 'no rarefaction'))}.</p>"
                + rarefaction_curves(ctx))
    below = cmp.get("below_depth") or []
    totals = ctx.summary.get("samples", {}).get("totals", {})
    md = ctx.table.sample_metadata
    parts = [
        f"<p>Every sample was subsampled without replacement to <b>{fmt(depth)[0]}</b> "
        f"reads (seed {esc(norm.get('seed'))}; depth {esc(norm.get('mode', ''))}). "
        f"<b>{len(below)}</b> sample(s) had fewer reads: they are left out of every index "
        "and test (kept in the tables with the reason, listed in "
        "<code>below_depth.tsv</code>).</p>",
        definition_list([("method", norm.get("method")), ("depth", depth),
                         ("seed", norm.get("seed")), ("how the depth was chosen",
                                                      norm.get("mode"))]),
    ]
    if below:
        frame = pd.DataFrame([{
            "sample": b["sample"],
            "institution": md["institution"].get(b["sample"], "")
            if "institution" in md.columns else "",
            ctx.group_label: ctx.groups.get(b["sample"], ""),
            "reads": totals.get(b["sample"]), "reason": b.get("reason")} for b in below])
        parts.append("<h3>Samples below the rarefaction depth (dropped)</h3>"
                     + html_table(frame))
    else:
        parts.append('<div class="ok">No sample is below the rarefaction depth.</div>')
    return "".join(parts) + "<h3>Rarefaction curves</h3>" + rarefaction_curves(ctx)


def alpha(ctx: ReportContext, cmp: dict[str, Any], site_summary: pd.DataFrame) -> str:
    """The batch report's alpha section, then the per-site summary."""
    return (alpha_diversity(ctx) + f"<h3>Per {esc(ctx.group_label)}: samples, institutions "
            "and mean / sd of each index</h3>" + html_table(site_summary))


def ordination(ctx: ReportContext, cmp: dict[str, Any]) -> str:
    """PCoA by site (every metric) and by institution (Bray-Curtis)."""
    figs = pcoa_figures(ctx, key_suffix=f"-{ctx.group_label}")
    md = ctx.table.sample_metadata
    if "institution" in md.columns:
        figs += pcoa_figures(ctx, md["institution"].astype(str), "institution",
                             metrics=("braycurtis",), key_suffix="-institution")
    figs += skipped_pcoa(ctx.summary)
    return "".join(figs) or missing("No PCoA coordinates.")


def tests(ctx: ReportContext, cmp: dict[str, Any]) -> str:
    """PERMANOVA (as vegan's adonis2) and PERMDISP by the grouping, per metric."""
    group = esc(cmp.get("group", ctx.group_label))
    parts = []
    for name, title, label in (
            ("permanova", "PERMANOVA (adonis2): do communities differ by ", "pseudo-F"),
            ("permdisp", "PERMDISP: does their spread differ by ", "F")):
        results = cmp.get(name) or {}
        if results:  # status, statistic and p with its resolution, or the reason
            parts.append(f"<h3>{title}{group}?</h3>"
                         + html_table(results_frame(results, label=label)))
            parts += [f'<div class="flag warn">{esc(name)} {esc(m)}: not computable: '
                      f'{esc(r.get("reason", ""))}</div>'
                      for m, r in results.items() if status_of(r) != COMPUTED]
    perms = ctx.summary.get("parameters", {}).get("permutations")
    note = (f"<p>{esc(perms)} permutations; samples below the rarefaction depth are not "
            "in the tests.</p>" if perms else "")
    return note + "".join(parts) if parts else missing("No test was run.")


def outputs(ctx: ReportContext, cmp: dict[str, Any]) -> str:
    """The merged table's digest and signing key, the files written, versions."""
    merged = cmp.get("merged_table") or {}
    files = pd.DataFrame([{"output": k, "file": v} for k, v in (cmp.get("outputs") or {}).items()])
    return definition_list([
        ("merged table", merged.get("file")),
        ("merged table SHA-256", merged.get("sha256") or UNKNOWN),
        ("signed by key", merged.get("keyid") or UNKNOWN),
        ("created", cmp.get("created")),
        ("soilbiome", cmp.get("soilbiome")),
    ]) + html_table(files)
