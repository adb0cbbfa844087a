"""Step 7c of ``compare``: one self-contained HTML report (plotly.js embedded once, offline).

Sections: the combined terms (or the unverified-input warning first), each input's
verification and terms, a map of the sites (MIxS ``lat_lon``), alpha diversity by site, PCoA
coloured by site and by institution, PERMANOVA / PERMDISP, and the per-site summary.
"""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any

import pandas as pd

from soilbiome.io.atomic import atomic_write
from soilbiome.report.stat_results import results_frame

_LAT_LON = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([NS])\s+(\d+(?:\.\d+)?)\s*([EW])\s*$")
_CONFIG = {"displaylogo": False, "responsive": True}


def parse_lat_lon(value: object) -> tuple[float, float] | None:
    """MIxS ``lat_lon`` (``'23.33 S 69.85 W'``) as signed decimal degrees, or None."""
    m = _LAT_LON.match(str(value or ""))
    if not m:
        return None
    lat = float(m.group(1)) * (-1 if m.group(2) == "S" else 1)
    lon = float(m.group(3)) * (-1 if m.group(4) == "W" else 1)
    return lat, lon


def _esc(value: object) -> str:
    return html.escape("" if value is None else str(value))


def _table(frame: pd.DataFrame) -> str:
    return frame.to_html(index=False, na_rep="", escape=True, border=0, classes="t",
                         float_format=lambda v: f"{v:.4g}")


def _fig(fig: object, key: str) -> str:
    return fig.to_html(full_html=False, include_plotlyjs=False, div_id=f"fig-{key}",
                       config=_CONFIG, default_width="100%")


def write_report(
    path: Path,
    *,
    summary: dict[str, Any],
    metadata: pd.DataFrame,
    alpha: pd.DataFrame,
    coords: pd.DataFrame | None,
    group: str,
    site_summary: pd.DataFrame,
) -> None:
    """Write the comparison report.

    Parameters
    ----------
    path : Path
    summary : dict
        The content of ``compare.json``.
    metadata : pandas.DataFrame
        Sample metadata of the merged table (index = sample IDs).
    alpha : pandas.DataFrame
        ``alpha_diversity.tsv`` of the merged table.
    coords : pandas.DataFrame or None
        Bray-Curtis PCoA coordinates.
    group : str
        The grouping column (site).
    site_summary : pandas.DataFrame
    """
    import plotly.express as px
    import plotly.offline

    parts: list[str] = []
    unverified = summary.get("unverified_inputs") or []
    if unverified:
        parts.append(f"<p class='warn'><b>UNVERIFIED INPUTS</b> (--allow-unverified): "
                     f"{_esc(', '.join(unverified))}. Their terms come from their stamps and "
                     "their signer was not checked.</p>")
    terms = summary["terms"]
    rows = [(k, terms.get(k)) for k in (
        "license", "required_output_license", "duo_permission", "duo_modifiers", "regions",
        "embargo_until", "moratorium_until", "abs", "local_contexts", "commercial_use_allowed",
        "distribution_allowed")]
    parts.append("<h2>Combined terms</h2><table class='t'>" + "".join(
        f"<tr><th>{_esc(k)}</th><td>{_esc(v)}</td></tr>" for k, v in rows) + "</table>")
    for s in summary.get("statements", []):
        parts.append(f"<p>{_esc(s)}</p>")
    inputs = pd.DataFrame([
        {"file": i["file"], "institution": i["institution"], "status": i["status"],
         "license": i["license"], "agreement": i["agreement_id"], "sha256": i["sha256"][:16],
         "findings": "; ".join(f"{f['rule']} {f['severity']}: {f['reason']}"
                               for f in i["findings"]),
         "passed": ", ".join(i["passed"])}
        for i in summary["inputs"]])
    parts.append("<h2>Inputs: verification and terms</h2>" + _table(inputs))

    md = metadata.copy()
    md["sample"] = md.index
    points = []
    for sample, row in md.iterrows():
        ll = parse_lat_lon(row.get("lat_lon"))
        if ll is not None:
            points.append({"sample": sample, "lat": ll[0], "lon": ll[1],
                           group: row.get(group, ""), "institution": row.get("institution", "")})
    if points:
        pts = pd.DataFrame(points)
        sites = pts.groupby([group, "institution"], as_index=False).agg(
            lat=("lat", "mean"), lon=("lon", "mean"), samples=("sample", "count"))
        fig = px.scatter_geo(sites, lat="lat", lon="lon", color="institution", size="samples",
                             hover_name=group, projection="natural earth",
                             title="Sites (MIxS lat_lon)")
        parts.append("<h2>Map</h2>" + _fig(fig, "map"))
    else:
        parts.append("<h2>Map</h2><p>No sample has a MIxS lat_lon value.</p>")

    a = alpha.join(md[[c for c in (group, "institution") if c in md.columns]], how="left")
    if "shannon" in a.columns and a["shannon"].notna().any():
        fig = px.box(a.reset_index(), x=group, y="shannon", color="institution", points="all",
                     title="Shannon diversity by site")
        parts.append("<h2>Alpha diversity by site</h2>" + _fig(fig, "alpha"))
    parts.append(_table(site_summary))
    if coords is not None and {"PC1", "PC2"} <= set(coords.columns):
        c = coords.join(md[[x for x in (group, "institution") if x in md.columns]], how="left")
        c = c.reset_index()
        for colour in (group, "institution"):
            fig = px.scatter(c, x="PC1", y="PC2", color=colour, hover_name="sample",
                             title=f"PCoA (Bray-Curtis) by {colour}")
            parts.append(_fig(fig, f"pcoa-{colour}"))
    for key, title, label in (("permanova", "PERMANOVA (adonis2)", "pseudo-F"),
                              ("permdisp", "PERMDISP", "F")):
        res = summary.get(key) or {}
        if res:  # status, statistic, p with its permutation resolution, or the reason
            parts.append(f"<h2>{title} by {_esc(group)}</h2>"
                         + _table(results_frame(res, label=label)))

    head = plotly.offline.get_plotlyjs()
    page = (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>soilbiome compare</title>"
        f"<script type='text/javascript'>{head}</script>"
        "<style>body{font-family:sans-serif;margin:2em}table.t{border-collapse:collapse}"
        "table.t td,table.t th{border:1px solid #ccc;padding:2px 6px;font-size:90%}"
        ".warn{background:#fee;border:2px solid #c00;padding:.5em}</style></head><body>"
        f"<h1>Cross-institution comparison ({len(summary['inputs'])} inputs, "
        f"{summary['samples']} samples)</h1>" + "".join(parts) + "</body></html>"
    )
    with atomic_write(path) as fh:
        fh.write(page)
