"""Sampling sites on a map (MIxS ``lat_lon``), drawn offline by :mod:`soilbiome.report.sitemap`."""

from __future__ import annotations

from soilbiome.report.context import ReportContext, section
from soilbiome.report.html import esc, html_table
from soilbiome.report.sitemap import site_map, sites_from_metadata, sites_table


def sites_body(ctx: ReportContext, category: str | None = None) -> str | None:
    """Map and table of the sites of ``ctx.table`` by the report's grouping; None if no
    sample has a ``lat_lon``.

    Parameters
    ----------
    category : str, optional
        Sample metadata column colouring the points (e.g. ``institution``).
    """
    group = ctx.options.get("group_by")
    sites, unplaced = sites_from_metadata(ctx.table.sample_metadata, group, category)
    if not sites:
        return None
    label = group if group and group in ctx.table.sample_metadata.columns else "site"
    parts = [site_map(sites, category_label=category or "")]
    if unplaced:
        parts.append(f'<p class="missing">{len(unplaced)} sample(s) without a usable MIxS '
                     f"lat_lon, not on the map: {esc(', '.join(unplaced))}</p>")
    parts.append(html_table(sites_table(sites, label, category or "")))
    return "".join(parts)


@section("sites", "Sites", position=25)
def sites(ctx: ReportContext) -> str | None:
    """Shown when at least one sample has a MIxS ``lat_lon``."""
    return sites_body(ctx)
