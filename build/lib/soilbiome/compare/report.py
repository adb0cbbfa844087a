"""Step 7c of ``compare``: one self-contained HTML report, built like the batch report.

The page, style and building blocks are the batch report's (:mod:`soilbiome.report.page`,
``report_template.html``, :mod:`soilbiome.report.html`); its sections for composition, alpha
diversity, rarefaction curves, ordination and soil context are reused on the merged table.
Sections only a comparison has are in :mod:`soilbiome.compare.report_sections`: the
comparison in numbers, combined terms in plain words, inputs with their processing context,
the site map (drawn offline, :mod:`soilbiome.report.sitemap`), rarefaction with the samples
below the depth, the tests, and the outputs. Nothing is fetched when the page is viewed.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pandas as pd

from soilbiome import __version__
from soilbiome.compare import report_sections as cs
from soilbiome.io.atomic import atomic_write
from soilbiome.model.table import FeatureTable
from soilbiome.report.context import ReportContext, Section
from soilbiome.report.page import render_page, render_sections
from soilbiome.report.sections.composition import composition_section
from soilbiome.report.sections.soil import soil_context


def _sections(cmp: dict[str, Any], site_summary: pd.DataFrame) -> list[Section]:
    def bound(fn: Any, *args: Any) -> Any:
        return lambda ctx: fn(ctx, cmp, *args)

    return [
        Section("overview", "Comparison", 10, bound(cs.overview)),
        Section("terms", "Combined sharing terms", 20, bound(cs.terms)),
        Section("inputs", "Inputs", 30, bound(cs.inputs)),
        Section("sites", "Sites", 40, bound(cs.sites)),
        Section("rarefaction", "Rarefaction", 50, bound(cs.rarefaction)),
        Section("composition", "Composition", 55, composition_section),
        Section("alpha", "Alpha diversity", 60, bound(cs.alpha, site_summary)),
        Section("pcoa", "Ordination (PCoA)", 70, bound(cs.ordination)),
        Section("tests", "Tests", 75, bound(cs.tests)),
        Section("soil", "Soil context", 80, soil_context),
        Section("outputs", "Outputs", 90, bound(cs.outputs)),
    ]


def write_report(
    path: Path,
    *,
    summary: dict[str, Any],
    table: FeatureTable,
    diversity: dict[str, Any],
    diversity_dir: Path,
    group: str,
    site_summary: pd.DataFrame,
) -> list[str]:
    """Write the comparison report.

    Parameters
    ----------
    path : Path
    summary : dict
        The content of ``compare.json``.
    table : FeatureTable
        The merged table as written (read back with the one validated reader).
    diversity : dict
        ``diversity/diversity.json`` of the merged table.
    diversity_dir : Path
        The ``diversity/`` folder (alpha, PCoA, tests, soil context).
    group : str
        The grouping column (site).
    site_summary : pandas.DataFrame

    Returns
    -------
    list of str
        Keys of the sections on the page, in order.
    """
    md = table.sample_metadata
    samples = list(table.sample_ids)
    values = md[group].reindex(samples) if group in md.columns else pd.Series("", index=samples)
    groups = values.astype(object).where(
        values.notna() & (values.astype(str).str.strip() != ""), "(no value)").astype(str)
    ctx = ReportContext(
        table=table, biom=path.parent / "merged.biom", diversity_dir=diversity_dir,
        summary=diversity, inputs={}, options={"rank": "phylum", "top": 10, "group_by": group},
        groups=groups, group_label=group,
        order=sorted(samples, key=lambda s: (groups[s], s)),
    )
    rendered = render_sections(ctx, _sections(summary, site_summary))
    now = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
    institutions = sorted({i["institution"] for i in summary["inputs"]})
    page = render_page(
        rendered,
        title="soilbiome compare · " + ", ".join(institutions),
        heading=f"Cross-institution comparison: {', '.join(institutions)}",
        subtitle=f"soilbiome compare · {len(summary['inputs'])} inputs · "
                 f"{summary['samples']} samples · by {group} · generated {now} · "
                 f"soilbiome {__version__}",
        footer=f"soilbiome {__version__} · plotly.js and the basemap embedded (works "
               f"offline) · {now}",
    )
    with atomic_write(path) as fh:
        fh.write(page)
    return [k for k, _, _ in rendered]
