"""Provenance: what this batch was made from and under which terms.

The table's processing context, the reference database (name, version, licence, citation,
checksum), the parameters of QC, primer removal, DADA2, taxonomy and diversity (from
``pipeline_info/params.json``), the licence stamp with the verdict of ``soilbiome verify``
(:mod:`soilbiome.report.licence`), the RO-Crate, and the sample metadata.
"""

from __future__ import annotations

from pathlib import Path

from soilbiome.io.jsonfile import read_json_object
from soilbiome.report.context import ReportContext, section
from soilbiome.report.html import definition_list, esc, html_table, missing
from soilbiome.report.licence import verdict_html

#: Parameter groups shown, by name prefix (first match wins); others go to "Run". A group
#: named in MODE_GROUPS is shown only for runs of that --mode.
PARAM_GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Quality control", ("fastp_", "skip_fastp", "qc_")),
    ("Primers", ("primer_", "amplicon_region")),
    ("DADA2", ("dada2_",)),
    ("Clean-up and tree", ("contaminant_", "remove_contaminants", "its_", "skip_phylogeny")),
    ("Shotgun profiling", ("shotgun_", "sylph_", "kraken2_", "bracken_", "host_db")),
    ("Taxonomy", ("refdb", "taxonomy_")),
    ("Diversity", ("rarefaction_", "shannon_", "group_by", "report_rank", "soil_env")),
)
MODE_GROUPS = {"Primers": "amplicon", "DADA2": "amplicon", "Clean-up and tree": "amplicon",
               "Shotgun profiling": "shotgun"}
#: Processing-context fields that only amplicon tables have.
AMPLICON_FIELDS = ("region", "primer_fwd", "primer_rev", "trunc_len_f", "trunc_len_r",
                   "asv_length")
_RUN_KEYS = ("batch_name", "mode", "input", "outdir", "seed", "agreement")


def _reference(ctx: ReportContext) -> str:
    path = ctx.input("refdb")
    if path is None:
        refs = sorted({str(r) for r in ctx.table.observation_metadata.get("reference", []) if r})
        ctx.not_provided("reference database record (--refdb reference_database.json)")
        text = f" The table names: {', '.join(refs)}." if refs else ""
        return "<h3>Reference database</h3>" + missing(
            "Not provided: the reference database record (version, licence, citation)." + text)
    db = read_json_object(path, "reference database record")
    items = [(k, db.get(k, "")) for k in ("name", "version", "marker", "format", "licence",
                                          "citation", "sha256")]
    items.append(("file", Path(str(db.get("path", ""))).name))
    return "<h3>Reference database</h3>" + definition_list(items)


def _parameters(ctx: ReportContext) -> str:
    path = ctx.input("params")
    if path is None:
        ctx.not_provided("run parameters (--params params.json)")
        return "<h3>Parameters</h3>" + missing("Not provided: run parameters (params.json).")
    params = read_json_object(path, "parameters file")
    parts = ["<h3>Parameters</h3>"]
    seen: set[str] = set()
    mode = params.get("mode")
    # a shotgun run shows the options of the profilers it ran only
    profilers = str(params.get("shotgun_profiler") or "").split(",")
    unused = tuple(p for name, p in (("kraken2", "kraken2_"), ("kraken2", "bracken_"),
                                     ("sylph", "sylph_")) if name not in profilers)
    for title, prefixes in PARAM_GROUPS:
        keys = sorted(k for k in params if k not in seen and k.startswith(prefixes)
                      and not (mode == "shotgun" and k.startswith(unused)))
        seen.update(keys)
        if keys and (mode is None or MODE_GROUPS.get(title, mode) == mode):
            parts.append(f"<h4>{esc(title)}</h4>" + definition_list(
                [(k, _show(params[k])) for k in keys]))
    run = [k for k in _RUN_KEYS if k in params]
    if run:
        parts.append("<h4>Run</h4>" + definition_list([(k, _show(params[k])) for k in run]))
    return "".join(parts)


def _show(value: object) -> str:
    if value is None:
        return "(not set)"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _stamp(ctx: ReportContext) -> str:
    attrs = ctx.table.attributes
    path = ctx.input("verification")
    head = "<h3>Licence stamp</h3>"
    has_stamp = any(k.startswith("x-sharing") or "sharing" in k for k in attrs)
    if path is None:
        if has_stamp:
            ctx.not_provided("stamp verification (--verification verify.json)")
            return head + missing("The table is stamped, but no verification result was given.")
        return head + missing("This table carries no licence stamp (run without --agreement).")
    return head + verdict_html(read_json_object(path, "stamp verification"), ctx.biom.name)


def _crate(ctx: ReportContext) -> str:
    path = ctx.input("crate")
    if path is None:
        return ""
    return ("<h3>Run provenance (RO-Crate)</h3><p>The inputs, parameters, tools, tasks and "
            "outputs of this run, with checksums, are described in "
            f"<code>{esc(Path(path).name)}</code> (Workflow Run RO-Crate, Provenance Run Crate "
            "profile).</p>")


def _samples(ctx: ReportContext) -> str:
    md = ctx.table.sample_metadata
    head = "<h3>Sample metadata</h3>"
    if md.empty:
        return head + missing("The table carries no sample metadata.")
    shown = md.reindex(ctx.order).reset_index()
    shown = shown.rename(columns={shown.columns[0]: "sample"})
    return head + html_table(shown)


def _context(ctx: ReportContext) -> str:
    """How the table was made (its processing context), or that the table does not say."""
    context = ctx.table.context
    head = ("<h3>Processing context</h3><p>Recorded in the table "
            "(<code>soilbiome:processing-context</code>, under its stamp); comparisons across "
            "tables depend on it.</p>")
    if context.is_unknown:
        return head + missing("Unknown: the table does not record how it was made.")
    # a shotgun table has no amplicon, primers, truncation or ASVs: those fields are left out
    # when empty, not listed as "not recorded"
    amplicon_only = set(AMPLICON_FIELDS) if ctx.shotgun else set()
    return head + definition_list([(k, v or "not recorded")
                                   for k, v in context.to_dict().items()
                                   if v or k not in amplicon_only])


@section("provenance", "Provenance", position=90)
def provenance(ctx: ReportContext) -> str:
    """Processing context, reference, parameters, licence stamp, crate and sample metadata."""
    return (_context(ctx) + _reference(ctx) + _parameters(ctx) + _stamp(ctx) + _crate(ctx)
            + _samples(ctx))
