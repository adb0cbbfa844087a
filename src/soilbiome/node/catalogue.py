"""What a published table tells the catalogue, how much of it is disclosed, and the filters.

**Disclosure** follows the agreement's ``access.confidentiality_tlp`` (Traffic Light Protocol):

=================  ===========================================================================
``clear``/``green`` everything indexed: sample ids, exact sites (MIxS ``lat_lon``), countries,
                    collection dates, processing context, and the table matches taxon filters
``amber``           the terms, the marker and processing context, the number of samples, their
                    countries and collection period, and sites rounded to whole degrees
                    (about 100 km); no sample ids, and taxon filters never match it
``red``             the terms and the marker only (no site, country of samples, date or taxon)
=================  ===========================================================================

Without a TLP an open licence (CC0, CC-BY, ...) discloses everything, any other licence as
``amber``. The terms themselves (licence, DUO terms, ABS, Local Contexts labels, embargo,
moratorium, provider) are always shown: a member needs them to decide whether to ask.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import numpy as np

from soilbiome.io.biom_reader import read_table
from soilbiome.report.sitemap import Site, parse_lat_lon
from soilbiome.sharing import duo, spdx
from soilbiome.sharing.agreement import Agreement

FULL, SUMMARY, TERMS = "full", "summary", "terms"
RANKS_INDEXED = ("phylum", "class", "order", "family", "genus", "species")
MAX_TAXA = 20000
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")


def disclosure_of(ag: Agreement) -> str:
    """``full``, ``summary`` or ``terms`` (see the module docstring)."""
    tlp = str(ag.get("access.confidentiality_tlp") or "").lower()
    if tlp in ("clear", "white", "green"):
        return FULL
    if tlp in ("amber", "amber+strict"):
        return SUMMARY
    if tlp == "red":
        return TERMS
    return FULL if ag.licence.is_open else SUMMARY


def _country(geo_loc_name: str) -> str:
    return geo_loc_name.split(":", 1)[0].strip() if geo_loc_name else ""


def terms_of(ag: Agreement) -> dict[str, Any]:
    """The terms every visitor sees."""
    mor = ag.duo(duo.MOR)
    provider = ag.provider or {}
    return {
        "agreement_id": ag.id,
        "title": str(ag.get("agreement.title") or ""),
        "provider": str(provider.get("name") or ""),
        "provider_country": str(ag.provider_country or ""),
        "licence": ag.spdx,
        "duo": [{"id": u.id, "label": getattr(duo.terms().get(u.id), "label", "")}
                for u in ag.duo_uses()],
        "abs": {"applicable": ag.get("abs.applicable"), "ircc": ag.get("abs.ircc") or [],
                "permitted_use": ag.get("abs.permitted_use")},
        "labels": [str(lab.get("code", "")) for lab in
                   ag.get("local_contexts.labels") or []],
        "embargo_until": str(ag.get("access.embargo_until") or ""),
        "moratorium_until": str(mor.entry.get("until") or "") if mor else "",
        "datasets": [str(d.get("id")) for d in ag.data.get("datasets") or []],
    }


def index_table(table: Path, ag: Agreement) -> dict[str, Any]:
    """Everything the node indexes about a verified table (not all of it is disclosed)."""
    ft = read_table(table)
    md = ft.sample_metadata

    def col(name: str) -> list[str]:
        return ([str(v) for v in md[name].tolist()] if name in md.columns
                else [""] * len(ft.sample_ids))

    samples = []
    for sid, ll, geo, date in zip(ft.sample_ids, col("lat_lon"), col("geo_loc_name"),
                                  col("collection_date"), strict=True):
        day = date[:10] if _DATE.match(date) else ""
        samples.append({"sample_id": str(sid), "lat_lon": ll if parse_lat_lon(ll) else "",
                        "country": _country(geo), "collection_date": day})
    present = np.asarray(ft.counts.sum(axis=0)).ravel() > 0
    taxa: set[str] = set()
    if not ft.taxonomy.empty:
        rows = ft.taxonomy[present]
        for rank in RANKS_INDEXED:
            if rank in rows.columns:
                taxa.update(str(v) for v in rows[rank] if str(v).strip())
    dates = sorted(s["collection_date"] for s in samples if s["collection_date"])
    return {"samples": samples, "taxa": sorted(taxa)[:MAX_TAXA],
            "context": ft.context.to_dict(), "marker": ft.marker or "",
            "date_from": dates[0] if dates else "", "date_to": dates[-1] if dates else "",
            "terms": terms_of(ag), "disclosure": disclosure_of(ag),
            "n_samples": len(samples), "n_features": len(ft.feature_ids)}


def _rounded(lat_lon: str) -> str:
    ll = parse_lat_lon(lat_lon)
    if ll is None:
        return ""
    lat, lon = round(ll[0]), round(ll[1])
    return f"{abs(lat)} {'S' if lat < 0 else 'N'} {abs(lon)} {'W' if lon < 0 else 'E'}"


def disclosed(row: dict[str, Any], samples: list[dict[str, Any]]) -> dict[str, Any]:
    """The catalogue entry of one published table: only what its agreement lets us show."""
    import json

    facts = json.loads(row["facts"])
    level = row["disclosure"]
    entry: dict[str, Any] = {
        "id": row["id"], "name": row["name"], "marker": row["marker"],
        "published_at": row["published_at"], "disclosure": level,
        "n_samples": facts.get("n_samples"), **facts["terms"],
        "drs_uri": None, "size": row["size"],
        "objects": {"table": row["id"], "sidecar": row["sidecar_sha256"],
                    "agreement": row["agreement_sha256"]},
    }
    if level in (FULL, SUMMARY):
        entry["context"] = facts.get("context")
        entry["date_from"], entry["date_to"] = row["date_from"], row["date_to"]
        entry["countries"] = sorted({s["country"] for s in samples if s["country"]})
    if level == FULL:
        entry["samples"] = [{k: s[k] for k in ("sample_id", "lat_lon", "country",
                                               "collection_date")} for s in samples]
        entry["sites"] = sorted({s["lat_lon"] for s in samples if s["lat_lon"]})
    elif level == SUMMARY:
        entry["sites"] = sorted({_rounded(s["lat_lon"]) for s in samples if s["lat_lon"]}
                                - {""})
    else:
        entry["sites"] = []
    return entry


def map_sites(entries: list[dict[str, Any]]) -> list[Site]:
    """Points of the catalogue map: one per disclosed site and table (category = provider)."""
    out = []
    for e in entries:
        counts: dict[str, int] = {}
        if e.get("samples"):
            for s in e["samples"]:
                if s["lat_lon"]:
                    counts[s["lat_lon"]] = counts.get(s["lat_lon"], 0) + 1
        else:
            counts = dict.fromkeys(e.get("sites") or [], 1)
        for ll, n in counts.items():
            pos = parse_lat_lon(ll)
            if pos:
                out.append(Site(e["name"], pos[0], pos[1], n, e.get("provider") or ""))
    return out


#: Query parameters of the catalogue (HTML and JSON) and their longest accepted value.
FILTERS = {"marker": 40, "country": 60, "licence": 120, "from": 10, "to": 10, "taxon": 120}


#: Catalogue pages: tables per page unless ``limit`` asks otherwise, and the most one page holds.
PAGE_SIZE, PAGE_MAX = 50, 200
#: Query parameters that choose the page rather than filter the tables.
PAGING = ("limit", "offset")
_MAX_OFFSET = 10**9


class FilterError(ValueError):
    """A filter or page value that is too long or malformed (HTTP 400)."""


def parse_page(query: dict[str, str]) -> tuple[int, int]:
    """``(limit, offset)`` from the ``limit`` and ``offset`` parameters: at most
    :data:`PAGE_MAX` tables per page (refused above it), :data:`PAGE_SIZE` by default."""

    def whole(key: str, default: int, lo: int, hi: int) -> int:
        value = query.get(key, "").strip()
        if not value:
            return default
        if not value.isascii() or not value.isdigit() or len(value) > 10 or \
                not lo <= int(value) <= hi:
            raise FilterError(f"{key}: not a whole number from {lo} to {hi}")
        return int(value)

    return whole("limit", PAGE_SIZE, 1, PAGE_MAX), whole("offset", 0, 0, _MAX_OFFSET)


def page_query(filters: dict[str, str], limit: int, offset: int) -> str:
    """The query string of one catalogue page under ``filters``."""
    return urlencode({**filters, "limit": limit, "offset": offset})


def page_offsets(total: int, limit: int, offset: int) -> tuple[int | None, int | None]:
    """Offsets of the previous and the next page (``None`` at either end)."""
    prev = max(0, min(offset, total) - limit) if offset > 0 else None
    nxt = offset + limit if offset + limit < total else None
    return prev, nxt


def parse_filters(query: dict[str, str]) -> dict[str, str]:
    """Validated filter values (unknown parameters are refused)."""
    out = {}
    for key, value in query.items():
        if key not in FILTERS:
            raise FilterError(f"unknown filter {key[:40]!r} (known: {', '.join(FILTERS)})")
        value = value.strip()
        if len(value) > FILTERS[key]:
            raise FilterError(f"filter {key}: longer than {FILTERS[key]} characters")
        if any(ord(c) < 32 for c in value):
            raise FilterError(f"filter {key}: control characters")
        if key in ("from", "to") and value:
            try:
                dt.date.fromisoformat(value)
            except ValueError:
                raise FilterError(f"filter {key}: not a date YYYY-MM-DD") from None
        if value:
            out[key] = value
    if "licence" in out:
        try:
            out["licence"] = spdx.parse(out["licence"]).expression
        except spdx.LicenceError:
            pass  # matched as written
    return out


def matches(entry: dict[str, Any], taxa_hit: bool, f: dict[str, str]) -> bool:
    """Whether a disclosed entry passes the filters (only disclosed facts are used)."""
    if "marker" in f and entry["marker"].lower() != f["marker"].lower():
        return False
    if "licence" in f and entry["licence"].lower() != f["licence"].lower():
        return False
    if "country" in f:
        want = f["country"].lower()
        have = {entry["provider_country"].lower()} | {c.lower() for c in
                                                       entry.get("countries") or []}
        if want not in have:
            return False
    if "from" in f or "to" in f:
        lo, hi = entry.get("date_from") or "", entry.get("date_to") or ""
        if not lo:
            return False
        if "from" in f and hi < f["from"]:
            return False
        if "to" in f and lo > f["to"]:
            return False
    return not ("taxon" in f and not taxa_hit)
