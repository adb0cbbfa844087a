"""A map of sampling sites drawn as inline SVG over a bundled world outline (works offline).

Nothing is fetched when the page is viewed: the basemap is Natural Earth 1:110m country
outlines (public domain) as redistributed by the npm package ``world-atlas`` 2.0.2 (ISC),
shipped unchanged as ``soilbiome/data/world-atlas-countries-110m.json`` (TopoJSON; see
``soilbiome/data/README.md``). Sites come from the MIxS ``lat_lon`` field of the sample
metadata and are drawn as points (hover shows site, category and sample count).

Projection: equirectangular, longitudes scaled by the cosine of the view's central latitude
(distances roughly true at the scale of a region). The view is fitted to the sites; when it
covers less than a third of the world's longitudes an inset locates it on a world map. Views that
cross the antimeridian are not handled (sites there are drawn at their own longitude).

Used by the batch report (section ``sites``) and ``compare``; :func:`site_map` takes only
a list of :class:`Site`, so a catalogue page can draw its own.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import pandas as pd

from soilbiome.report.html import esc

BASEMAP = "world-atlas-countries-110m.json"
LAND = "#e4dfcf"
BORDER = "#a9a18c"
SEA = "#dde9f2"
GRID = "#c5d4e0"
_LAT_LON = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([NS])\s+(\d+(?:\.\d+)?)\s*([EW])\s*$")
_COLOURS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#332288",
            "#44AA99", "#882255", "#999933")

Ring = list[tuple[float, float]]


@dataclass(frozen=True)
class Site:
    """One point on the map: a site (or site x category) with its sample count."""

    name: str
    lat: float
    lon: float
    samples: int
    category: str = ""


def parse_lat_lon(value: object) -> tuple[float, float] | None:
    """MIxS ``lat_lon`` (``'23.33 S 69.85 W'``) as signed decimal degrees, or None."""
    m = _LAT_LON.match(str(value if value is not None else ""))
    if not m:
        return None
    lat = float(m.group(1)) * (-1 if m.group(2) == "S" else 1)
    lon = float(m.group(3)) * (-1 if m.group(4) == "W" else 1)
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None
    return lat, lon


def sites_from_metadata(metadata: pd.DataFrame, group: str | None,
                        category: str | None = None) -> tuple[list[Site], list[str]]:
    """Sites of a sample metadata table: mean position of the samples of each group.

    Parameters
    ----------
    metadata : pandas.DataFrame
        Index = sample IDs; a ``lat_lon`` column (MIxS) is read.
    group : str, optional
        Column naming the site; without it (or when absent) each distinct position is a site.
    category : str, optional
        Column colouring the points (e.g. ``institution``); one point per site and category.

    Returns
    -------
    (sites, samples without a usable lat_lon)
    """
    if "lat_lon" not in metadata.columns:
        return [], [str(s) for s in metadata.index]
    rows, unplaced = [], []
    for sample, row in metadata.iterrows():
        ll = parse_lat_lon(row.get("lat_lon"))
        if ll is None:
            unplaced.append(str(sample))
            continue
        name = str(row.get(group, "") if group and group in metadata.columns else "").strip()
        rows.append({"name": name or str(row.get("lat_lon")).strip(), "lat": ll[0],
                     "lon": ll[1], "category": str(row.get(category, "")) if category
                     and category in metadata.columns else ""})
    if not rows:
        return [], unplaced
    pts = pd.DataFrame(rows)
    agg = pts.groupby(["name", "category"], as_index=False, sort=True).agg(
        lat=("lat", "mean"), lon=("lon", "mean"), samples=("lat", "size"))
    return [Site(r.name, float(r.lat), float(r.lon), int(r.samples), r.category)
            for r in agg.itertuples(index=False)], unplaced


def _unwrap(ring: Ring) -> Ring:
    """Make longitudes continuous across the antimeridian; close a ring around a pole."""
    out: Ring = [ring[0]]
    shift = 0.0
    for (lon0, _), (lon1, lat1) in zip(ring, ring[1:], strict=False):
        if lon1 - lon0 > 180:
            shift -= 360
        elif lon0 - lon1 > 180:
            shift += 360
        out.append((lon1 + shift, lat1))
    if abs(out[-1][0] - out[0][0]) > 180:  # goes once around the world: encloses a pole
        pole = -90.0 if sum(lat for _, lat in out) < 0 else 90.0
        out += [(out[-1][0], pole), (out[0][0], pole)]
    return out


@lru_cache(maxsize=2)
def basemap(layer: str = "countries") -> tuple[tuple[str, tuple[Ring, ...]], ...]:
    """Outlines of the bundled TopoJSON, ``(name, rings in (lon, lat))`` per feature.

    ``layer`` is ``countries`` (with names) or ``land`` (countries merged, fewer points).
    Rings crossing the antimeridian have continuous longitudes (they may pass 180).
    """
    topo = json.loads(resources.files("soilbiome").joinpath("data", BASEMAP).read_text())
    (sx, sy), (tx, ty) = topo["transform"]["scale"], topo["transform"]["translate"]
    arcs: list[Ring] = []
    for arc in topo["arcs"]:  # quantised, delta-encoded (TopoJSON specification 2.1.4)
        x = y = 0
        pts = []
        for dx, dy in arc:
            x, y = x + dx, y + dy
            pts.append((x * sx + tx, y * sy + ty))
        arcs.append(pts)

    def ring(indexes: list[int]) -> Ring:
        out: Ring = []
        for i in indexes:
            pts = arcs[i] if i >= 0 else arcs[~i][::-1]
            out.extend(pts if not out else pts[1:])
        return _unwrap(out)

    obj = topo["objects"][layer]
    geoms = obj["geometries"] if obj["type"] == "GeometryCollection" else [obj]
    features = []
    for geom in geoms:
        polys = {"Polygon": [geom.get("arcs", [])],
                 "MultiPolygon": geom.get("arcs", [])}.get(geom["type"], [])
        rings = tuple(ring(r) for poly in polys for r in poly)
        features.append(((geom.get("properties") or {}).get("name", ""), rings))
    return tuple(features)


@dataclass(frozen=True)
class _View:
    lon0: float
    lon1: float
    lat0: float
    lat1: float
    width: float
    height: float

    @property
    def kx(self) -> float:
        return self.width / (self.lon1 - self.lon0)

    @property
    def ky(self) -> float:
        return self.height / (self.lat1 - self.lat0)

    def xy(self, lon: float, lat: float) -> tuple[float, float]:
        return (lon - self.lon0) * self.kx, (self.lat1 - lat) * self.ky


def _fit(sites: list[Site], width: float, height: float, min_span: float) -> _View:
    """The smallest view (in degrees, with a margin) that holds every site at this aspect."""
    lats = [s.lat for s in sites]
    lons = [s.lon for s in sites]
    clat = (min(lats) + max(lats)) / 2
    clon = (min(lons) + max(lons)) / 2
    cos = max(math.cos(math.radians(clat)), 0.2)
    span_lat = max((max(lats) - min(lats)) * 1.5, min_span)
    span_lon = max((max(lons) - min(lons)) * 1.5, min_span)
    # fill the frame: ground width/height equals the frame's aspect
    aspect = width / height
    if span_lon * cos / span_lat < aspect:
        span_lon = span_lat * aspect / cos
    else:
        span_lat = span_lon * cos / aspect
    if span_lon >= 360 or span_lat >= 170:  # the whole world: plain equirectangular
        return _View(-180, 180, -85, 85, width, width * 170 / 360)
    lon0 = min(max(clon - span_lon / 2, -180), 180 - span_lon)
    lat0 = min(max(clat - span_lat / 2, -90), 90 - span_lat)
    return _View(lon0, lon0 + span_lon, lat0, lat0 + span_lat, width, height)


def _paths(view: _View, layer: str = "countries", digits: int = 1,
           pad: float = 2.0) -> list[tuple[str, str]]:
    """SVG path data of the outlines that reach into the view, ``(name, d)``.

    A ring that passes the antimeridian is drawn again shifted by 360 degrees where that
    copy is in view.
    """
    out = []
    for name, rings in basemap(layer):
        parts = []
        for r in rings:
            lons = [p[0] for p in r]
            lats = [p[1] for p in r]
            if max(lats) < view.lat0 - pad or min(lats) > view.lat1 + pad:
                continue
            for shift in (0.0, -360.0, 360.0):
                margin = pad if shift == 0 else 0.0  # a copy only where it shows
                if (max(lons) + shift <= view.lon0 - margin
                        or min(lons) + shift >= view.lon1 + margin):
                    continue
                pts: list[str] = []
                for lon, lat in r:
                    x, y = view.xy(lon + shift, lat)
                    p = f"{x:.{digits}f},{y:.{digits}f}"
                    if not pts or pts[-1] != p:
                        pts.append(p)
                if len(pts) > 2:
                    parts.append("M" + "L".join(pts) + "Z")
        if parts:
            out.append((name, "".join(parts)))
    return out


def _step(span: float) -> float:
    for s in (0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 30, 60):
        if span / s <= 6:
            return s
    return 90


def _graticule(view: _View) -> str:
    step = _step(max(view.lon1 - view.lon0, view.lat1 - view.lat0))
    parts, labels = [], []
    lon = math.ceil(view.lon0 / step) * step
    while lon <= view.lon1:
        x, _ = view.xy(lon, 0)
        parts.append(f"M{x:.1f},0V{view.height:.1f}")
        labels.append(f'<text x="{x + 3:.1f}" y="12">'
                      f"{abs(lon):g}°{'E' if lon > 0 else 'W' if lon < 0 else ''}</text>")
        lon += step
    lat = math.ceil(view.lat0 / step) * step
    while lat <= view.lat1:
        _, y = view.xy(0, lat)
        parts.append(f"M0,{y:.1f}H{view.width:.1f}")
        labels.append(f'<text x="3" y="{y - 3:.1f}">'
                      f"{abs(lat):g}°{'N' if lat > 0 else 'S' if lat < 0 else ''}</text>")
        lat += step
    return (f'<path d="{"".join(parts)}" fill="none" stroke="{GRID}" stroke-width="0.6"/>'
            f'<g font-size="10" fill="#6b7a88">{"".join(labels)}</g>')


def _land(view: _View, stroke: float, layer: str = "countries", digits: int = 1) -> str:
    return "".join(
        f'<path d="{d}"><title>{esc(name)}</title></path>' if name else f'<path d="{d}"/>'
        for name, d in _paths(view, layer, digits)
    ).join((f'<g fill="{LAND}" stroke="{BORDER}" stroke-width="{stroke}" '
            'stroke-linejoin="round">', "</g>"))


def _inset(view: _View, width: float, clip: str) -> str:
    """A small world map with the view's frame, in the lower right corner."""
    w, h = width, width / 2
    world = _View(-180, 180, -90, 90, w, h)
    x0, y0 = world.xy(view.lon0, view.lat1)
    x1, y1 = world.xy(view.lon1, view.lat0)
    bw, bh = max(x1 - x0, 3), max(y1 - y0, 3)
    ox, oy = view.width - w - 8, view.height - h - 8
    return (f'<g class="inset" transform="translate({ox:.1f},{oy:.1f})">'
            f'<clipPath id="{clip}"><rect width="{w:.1f}" height="{h:.1f}"/></clipPath>'
            f'<rect width="{w:.1f}" height="{h:.1f}" fill="{SEA}" stroke="#52606d"/>'
            f'<g clip-path="url(#{clip})">{_land(world, 0.3, "land", 0)}</g>'
            + f'<rect x="{x0:.1f}" y="{y0:.1f}" width="{bw:.1f}" height="{bh:.1f}" '
            'fill="none" stroke="#c0392b" stroke-width="1.5"/></g>')


def _dodge(view: _View, sites: list[Site],
           biggest: int) -> list[tuple[Site, float, float, float]]:
    """Position and radius of each point; points at the same place are set around it.

    Largest first, so that small points are drawn on top.
    """
    placed = []
    near: dict[tuple[int, int], list[int]] = {}
    for s in sorted(sites, key=lambda s: (-s.samples, s.name, s.category)):
        x, y = view.xy(s.lon, s.lat)
        placed.append([s, x, y, 5 + 7 * math.sqrt(s.samples / biggest)])
        near.setdefault((round(x / 3), round(y / 3)), []).append(len(placed) - 1)
    for members in near.values():
        if len(members) < 2:
            continue
        d = max(placed[i][3] for i in members)
        for k, i in enumerate(members):
            angle = 2 * math.pi * k / len(members) - math.pi / 2
            placed[i][1] += d * math.cos(angle)
            placed[i][2] += d * math.sin(angle)
    return [tuple(p) for p in placed]  # type: ignore[misc]


def category_colours(sites: list[Site]) -> dict[str, str]:
    """Colour of each category (in order of first appearance after sorting)."""
    cats = sorted({s.category for s in sites})
    return {c: _COLOURS[i % len(_COLOURS)] for i, c in enumerate(cats)}


def site_map(sites: list[Site], *, category_label: str = "", width: int = 860,
             height: int = 460, min_span: float = 6.0, map_id: str = "site-map") -> str:
    """The map as an HTML fragment: an inline ``<svg>`` and a legend of the categories.

    Parameters
    ----------
    sites : list of Site
    category_label : str
        Name of what the colours show (legend title), e.g. "institution".
    width, height : int
        Size of the SVG in CSS pixels (it scales down with the page).
    min_span : float
        Smallest extent of the view in degrees (context around close sites).
    map_id : str
        HTML id of the ``<svg>``.
    """
    if not sites:
        return ""
    view = _fit(sites, width, height, min_span)
    colours = category_colours(sites)
    biggest = max(s.samples for s in sites)
    dots = []
    for s, x, y, r in _dodge(view, sites, biggest):
        tip = (f"{s.name}{f' · {s.category}' if s.category else ''} · {s.samples} "
               f"sample{'s' if s.samples != 1 else ''} · {s.lat:.4f}, {s.lon:.4f}")
        dots.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r:.1f}" '
                    f'fill="{colours[s.category]}" fill-opacity="0.85" stroke="#fff" '
                    f'stroke-width="1.5" data-site="{esc(s.name)}"><title>{esc(tip)}</title>'
                    "</circle>")
    wide = view.lon1 - view.lon0 >= 120  # a third of the world or more: no locator inset
    digits = 0 if view.lon1 - view.lon0 > 90 else 1  # sub-pixel precision only when zoomed
    svg = (
        f'<svg id="{esc(map_id)}" class="site-map" xmlns="http://www.w3.org/2000/svg" '
        f'viewBox="0 0 {view.width:.0f} {view.height:.0f}" width="{view.width:.0f}" '
        f'height="{view.height:.0f}" role="img" style="max-width:100%;height:auto;'
        f'border:1px solid #d9dee3;background:{SEA}" '
        f'aria-label="Map of {len(sites)} sampling sites">'
        f'<rect width="100%" height="100%" fill="{SEA}"/>'
        + _land(view, 0.8, digits=digits) + _graticule(view)
        + ("" if wide else _inset(view, min(200.0, view.width / 4), f"{map_id}-inset"))
        + "".join(dots) + "</svg>"
    )
    legend = ""
    if any(colours):
        items = "".join(
            f'<span style="margin-right:1.2em"><svg width="12" height="12" '
            f'style="vertical-align:middle"><circle cx="6" cy="6" r="5" fill="{c}"/></svg> '
            f"{esc(k)}</span>" for k, c in colours.items())
        legend = (f'<p class="legend">{esc(category_label) + ": " if category_label else ""}'
                  f"{items}</p>")
    note = ('<p class="missing">Basemap: Natural Earth 1:110m (public domain), bundled; '
            "point size grows with the number of samples; hover a point for its site.</p>")
    return svg + legend + note


def sites_table(sites: list[Site], site_label: str = "site",
                category_label: str = "") -> pd.DataFrame:
    """The sites as a table (one row per point of the map)."""
    rows = [{site_label: s.name, **({category_label or "category": s.category}
                                    if any(x.category for x in sites) else {}),
             "latitude": round(s.lat, 5), "longitude": round(s.lon, 5), "samples": s.samples}
            for s in sites]
    return pd.DataFrame(rows)
