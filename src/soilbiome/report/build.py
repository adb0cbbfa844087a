"""Build the report: read the table and summaries once, run every section, write the page."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pandas as pd

from soilbiome import __version__
from soilbiome.errors import InputError
from soilbiome.io.atomic import atomic_write
from soilbiome.io.biom_reader import read_table
from soilbiome.io.hashing import sha256_file
from soilbiome.report.context import SECTIONS, ReportContext
from soilbiome.report.page import render_page, render_sections
from soilbiome.report.sections import load_all
from soilbiome.taxonomy.lineage import RANKS


def _summary(ddir: Path) -> dict:
    path = ddir / "diversity.json"
    if not path.is_file():
        return {}
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise InputError(f"not valid JSON ({exc})", location=str(path)) from None


def _same_table(biom: Path, summary: dict, ddir: Path) -> str | None:
    """Refuse a diversity folder computed from another table; a warning if it cannot tell.

    ``diversity.json`` records the SHA-256 of the table it was computed from; a folder made
    from table B must not be shown under table A's name. Folders written before the digest
    was recorded (or from a table given in memory) are let through with a warning.
    """
    if not summary:
        return None
    where = str(ddir / "diversity.json")
    recorded = (summary.get("input") or {}).get("sha256")
    if not recorded:
        return (f"{where} records no table digest: the diversity results could not be "
                f"checked against {biom}")
    actual = sha256_file(biom)
    if recorded != actual:
        source = (summary.get("input") or {}).get("path") or "another table"
        raise InputError(f"diversity results were computed from {source} (sha256 "
                         f"{recorded[:12]}...), not from --biom {biom} (sha256 "
                         f"{actual[:12]}...)", location=where)
    return None


def _groups(ctx_md: pd.DataFrame, samples: list[str], group_by: str | None,
            missing: list[str]) -> tuple[pd.Series, str]:
    if group_by and group_by in ctx_md.columns:
        g = ctx_md[group_by].reindex(samples)
        g = g.astype(object).where(g.notna() & (g.astype(str) != ""), "(none)").astype(str)
        return g, group_by
    if group_by:
        missing.append(f"sample metadata column '{group_by}' (--group-by)")
    return pd.Series("all samples", index=samples), "group"


def build_report(
    biom: str | Path,
    diversity_dir: str | Path,
    out: str | Path,
    *,
    rank: str = "phylum",
    group_by: str | None = "site",
    title: str | None = None,
    batch_name: str | None = None,
    top: int = 10,
    **inputs: str | Path | None,
) -> dict:
    """Write the self-contained HTML report of one batch.

    Parameters
    ----------
    biom : str or Path
        The batch's BIOM table (counts, taxonomy, sample metadata).
    diversity_dir : str or Path
        Output folder of ``soilbiome diversity``.
    out : str or Path
        HTML file to write (atomically).
    rank : str, default "phylum"
        Rank the composition plot opens at (every rank can be chosen in the page).
    group_by : str, optional
        Sample metadata column used to group alpha diversity and colour the PCoA.
    title : str, optional
        Page title; default ``"<batch_name> · soilbiome report"``.
    batch_name : str, optional
        Name of the batch (the pipeline's ``--batch_name``), shown as the title.
    top : int, default 10
        Taxa shown by name in the composition bars.
    **inputs : str or Path, optional
        Optional inputs by name, each may be absent and the report says so: ``qc``
        (``qc_summary.tsv``), ``tracking`` (DADA2 ``read_tracking.tsv``), ``primers``
        (``primer_summary.tsv``), ``versions`` (``software_versions.yml``), ``params``
        (``params.json``), ``refdb`` (``reference_database.json``), ``verification``
        (``soilbiome verify --json`` output), ``crate`` (``ro-crate-metadata.json``), and
        whatever later sections read.

    Returns
    -------
    dict
        ``out``, ``samples``, ``flags`` (list of dicts), ``missing`` (inputs not given),
        ``figures`` (number of plots), ``sections`` (keys in page order) and ``warnings``
        (e.g. a ``diversity.json`` without the table's digest).

    Raises
    ------
    InputError
        Among others: ``diversity.json`` records another table's SHA-256 than ``biom``'s.
    """
    if rank not in RANKS:
        raise InputError(f"unknown rank '{rank}'; choose one of {', '.join(RANKS)}")
    biom = Path(biom)
    table = read_table(biom)
    ddir = Path(diversity_dir)
    if not ddir.is_dir():
        raise InputError("diversity folder not found", location=str(ddir))
    summary = _summary(ddir)
    samples = list(table.sample_ids)
    unchecked = _same_table(biom, summary, ddir)
    missing: list[str] = [] if summary else ["diversity.json in --diversity"]
    if unchecked:
        missing.append("table digest in diversity.json (results not checked against --biom)")
    groups, group_label = _groups(table.sample_metadata, samples, group_by, missing)
    order = sorted(samples, key=lambda s: (str(groups.get(s, "")), s))
    name = (batch_name or "").strip()
    page_title = title or (f"{name} · soilbiome report" if name else "soilbiome report")
    ctx = ReportContext(
        table=table, biom=biom, diversity_dir=ddir, summary=summary,
        inputs={k: v for k, v in inputs.items()},
        options={"rank": rank, "top": top, "group_by": group_by, "title": page_title,
                 "batch_name": name},
        groups=groups, group_label=group_label, order=order, missing=missing,
    )
    totals = ctx.sample_totals
    for s in samples:
        if totals[s] == 0:
            ctx.flag(s, "table", "Empty sample: no reads in the feature table. Kept in every "
                     "table; diversity indices are undefined (NaN).", "warn")
    empty = {s for s in samples if totals[s] == 0}
    for e in summary.get("excluded", []):
        if e["sample"] in empty and "empty" in e["reason"]:
            continue
        ctx.flag(e["sample"], f"diversity ({e['stage']})", e["reason"], "info")

    load_all()
    rendered = render_sections(ctx, SECTIONS.values())
    now = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
    page = render_page(
        rendered,
        title=page_title,
        heading=name or page_title,
        subtitle=f"{'soilbiome report · ' if name else ''}{len(samples)} samples · "
                 f"generated {now} · soilbiome {__version__}",
        footer=f"soilbiome {__version__} · plotly.js embedded (works offline) · {now}",
    )
    with atomic_write(out) as fh:
        fh.write(page)
    return {"out": str(out), "samples": samples, "flags": ctx.flags, "missing": ctx.missing,
            "figures": ctx.figures, "sections": [k for k, _, _ in rendered],
            "warnings": [unchecked] if unchecked else []}
