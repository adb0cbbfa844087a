"""Software versions: pipeline tools, per process, and the diversity libraries."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from soilbiome.errors import InputError
from soilbiome.io.safe_yaml import load_yaml
from soilbiome.report.context import ReportContext, section
from soilbiome.report.html import html_table, missing
from soilbiome.run.provenance import collect_versions


def read_versions(path: Path) -> dict:
    """Read ``software_versions.yml`` (``tools`` mapping, optional ``processes``)."""
    data = load_yaml(path, what="software versions file")[0] or {}
    tools = data.get("tools") if isinstance(data, dict) else None
    if not isinstance(tools, dict):
        raise InputError("software versions file lacks a 'tools' mapping", location=str(path))
    return data


@section("versions", "Software versions", position=95)
def software_versions(ctx: ReportContext) -> str:
    """Tables of tool versions."""
    parts = []
    path = ctx.input("versions")
    per_process = [Path(p) for p in (ctx.inputs.get("process_versions") or ())]
    if path is None and not per_process:
        ctx.not_provided("software versions (--versions software_versions.yml)")
        parts.append(missing("Not provided: software versions (--versions "
                             "software_versions.yml)."))
    else:
        data = read_versions(path) if path is not None else collect_versions(
            per_process, str(ctx.inputs["nextflow_version"]),
            str(ctx.inputs["pipeline_version"]))
        parts.append("<p>The tools that made this table. Every tool of the run, the exports "
                     "(QIIME 2, phyloseq) included, is listed in "
                     "<code>pipeline_info/software_versions.yml</code>.</p>")
        parts.append("<h3>Pipeline tools</h3>" + html_table(pd.DataFrame(
            sorted((str(k), str(v)) for k, v in data["tools"].items()),
            columns=["tool", "version"])))
        procs = data.get("processes") or {}
        if isinstance(procs, dict) and procs:
            rows = [(str(p), str(t), str(v)) for p, tv in sorted(procs.items())
                    if isinstance(tv, dict) for t, v in sorted(tv.items())]
            parts.append("<h3>Per process</h3>" + html_table(
                pd.DataFrame(rows, columns=["process", "tool", "version"])))
    lib = ctx.summary.get("versions") or {}
    if lib:
        parts.append("<h3>Diversity libraries</h3>" + html_table(pd.DataFrame(
            sorted(lib.items()), columns=["library", "version"])))
    return "".join(parts)
