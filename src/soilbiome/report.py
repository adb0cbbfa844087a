"""One self-contained HTML report per batch (plotly.js embedded inline: opens offline).

Sections: flags (empty samples, primer/QC flags, diversity exclusions), read tracking, QC,
composition at a chosen rank, alpha diversity by group, rarefaction curves, PCoA, PERMANOVA
and the tool versions. Every optional input may be absent; the report then says so.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import math
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from string import Template

import numpy as np
import pandas as pd
import yaml

from soilbiome import __version__
from soilbiome.diversity import RANKS, CountTable, load_table
from soilbiome.errors import InputError
from soilbiome.io.atomic import atomic_write

TRACKING_STEPS: tuple[str, ...] = (
    "input", "filtered", "denoised_f", "denoised_r", "merged", "nonchim",
)
ALPHA_LABELS: dict[str, str] = {
    "observed_features": "Observed features",
    "shannon": "Shannon",
    "simpson": "Gini-Simpson",
    "chao1": "Chao1",
    "pielou_evenness": "Pielou's evenness",
}
#: Colours of the composition bars (colour-blind friendly first, then plotly's defaults).
PALETTE: tuple[str, ...] = (
    "#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442",
    "#332288", "#88CCEE", "#44AA99", "#117733", "#999933", "#AA4499", "#882255",
)
OTHER_COLOUR = "#b0b7bf"
UNASSIGNED_COLOUR = "#e5e8eb"
METRIC_LABELS: dict[str, str] = {
    "braycurtis": "Bray-Curtis", "jaccard": "Jaccard (presence/absence)",
    "weighted_unifrac": "weighted UniFrac", "unweighted_unifrac": "unweighted UniFrac",
}
_PLOT_CONFIG = {"displaylogo": False, "responsive": True}


@dataclass
class _Report:
    """Sections collected while building; rendered at the end."""

    sections: list[tuple[str, str, str]] = field(default_factory=list)  # (id, title, html)
    missing: list[str] = field(default_factory=list)
    flags: list[dict] = field(default_factory=list)  # {sample, source, message, level}
    figures: int = 0

    def add(self, key: str, title: str, body: str) -> None:
        self.sections.append((key, title, body))

    def figure(self, fig: object, key: str) -> str:
        """HTML of a plotly figure without the bundle (it is embedded once in <head>)."""
        self.figures += 1
        return fig.to_html(  # type: ignore[attr-defined]
            full_html=False, include_plotlyjs=False, div_id=f"fig-{key}",
            config=_PLOT_CONFIG, default_width="100%",
        )


def _esc(value: object) -> str:
    return html.escape("" if value is None else str(value))


def _fmt(value: object) -> tuple[str, bool]:
    """Text of a table cell and whether it is numeric (right-aligned)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "", False
    if isinstance(value, bool | np.bool_):
        return str(bool(value)), False
    if isinstance(value, int | np.integer):
        return f"{int(value):,}", True
    if isinstance(value, float | np.floating):
        v = float(value)
        if v.is_integer() and abs(v) < 1e15:
            return f"{int(v):,}", True
        return f"{v:.4g}", True
    return str(value), False


def html_table(df: pd.DataFrame, highlight: set[str] | None = None, index: bool = False) -> str:
    """An escaped HTML table; rows whose first cell is in ``highlight`` get class ``empty``."""
    if index:
        df = df.reset_index()
    head = "".join(f"<th>{_esc(c)}</th>" for c in df.columns)
    rows = []
    for rec in df.itertuples(index=False):
        cells = []
        for v in rec:
            text, num = _fmt(v)
            cells.append(f'<td class="num">{_esc(text)}</td>' if num else f"<td>{_esc(text)}</td>")
        cls = ' class="empty"' if highlight and str(rec[0]) in highlight else ""
        rows.append(f"<tr{cls}>{''.join(cells)}</tr>")
    return f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>' + "".join(
        rows) + "</tbody></table></div>"


def _missing(text: str) -> str:
    return f'<p class="missing">{_esc(text)}</p>'


def _read_tsv(path: Path, what: str, required: tuple[str, ...]) -> pd.DataFrame:
    try:
        df = pd.read_csv(path, sep="\t", dtype={"sample": str}, keep_default_na=False,
                         na_values=["", "NaN", "NA", "nan"])
    except FileNotFoundError:
        raise InputError(f"{what} not found", location=str(path)) from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise InputError(f"{what} is not a readable TSV ({exc})", location=str(path)) from None
    lacking = [c for c in required if c not in df.columns]
    if lacking:
        raise InputError(f"{what} lacks column(s) {', '.join(lacking)}", location=str(path))
    return df


# --------------------------------------------------------------------------------------
# Composition
# --------------------------------------------------------------------------------------


def composition(table: CountTable, rank: str = "phylum", top: int = 10) -> pd.DataFrame:
    """Relative abundance per sample at ``rank``: top taxa, "Other" and "Unassigned".

    Parameters
    ----------
    table : CountTable
        Counts and taxonomy.
    rank : str, default "phylum"
        One of :data:`soilbiome.diversity.RANKS`.
    top : int, default 10
        Number of taxa shown by name, ranked by mean relative abundance over the non-empty
        samples; the rest are summed into "Other". Unassigned features (empty name at the
        rank) are always their own "Unassigned" column.

    Returns
    -------
    pandas.DataFrame
        Samples x taxa, rows summing to 1 (all-zero for empty samples).
    """
    if rank not in RANKS:
        raise InputError(f"unknown rank '{rank}'; choose one of {', '.join(RANKS)}")
    labels = table.taxonomy[rank].reindex(table.counts.columns).fillna("")
    labels = labels.where(labels != "", "Unassigned")
    by_taxon = table.counts.T.groupby(labels.to_numpy()).sum().T
    totals = by_taxon.sum(axis=1)
    rel = by_taxon.div(totals.where(totals > 0, 1.0), axis=0)
    named = [c for c in rel.columns if c != "Unassigned"]
    nonempty = rel.loc[totals > 0]
    order = (nonempty[named].mean().sort_values(ascending=False, kind="stable").index.tolist()
             if len(nonempty) else sorted(named))
    keep = order[:top]
    out = rel[keep].copy()
    rest = [c for c in named if c not in keep]
    if rest:
        out["Other"] = rel[rest].sum(axis=1)
    if "Unassigned" in rel.columns:
        out["Unassigned"] = rel["Unassigned"]
    return out


# --------------------------------------------------------------------------------------
# Sections
# --------------------------------------------------------------------------------------


def _flags_section(rep: _Report) -> str:
    """One box per flagged sample (most severe first), listing every reason."""
    if not rep.flags:
        return '<div class="ok">No sample is flagged.</div>'
    order = {"error": 0, "warn": 1, "info": 2}
    by_sample: dict[str, list[dict]] = {}
    for f in rep.flags:
        by_sample.setdefault(f["sample"], []).append(f)
    parts = []
    for sample, flags in sorted(
        by_sample.items(), key=lambda kv: (min(order[f["level"]] for f in kv[1]), kv[0])
    ):
        level = min((f["level"] for f in flags), key=order.__getitem__)
        cls = {"error": "flag", "warn": "flag warn", "info": "flag info"}[level]
        items = "".join(
            f"<li><b>{_esc(f['source'])}</b>: {_esc(f['message'])}</li>"
            for f in sorted(flags, key=lambda f: order[f["level"]])
        )
        parts.append(f'<div class="{cls}" data-sample="{_esc(sample)}">'
                     f"<strong>{_esc(sample)}</strong><ul>{items}</ul></div>")
    return "\n".join(parts)


def _tracking_section(rep: _Report, path: Path | None) -> None:
    import plotly.graph_objects as go

    if path is None:
        rep.missing.append("read tracking (--tracking read_tracking.tsv)")
        rep.add("tracking", "Read tracking", _missing(
            "Not provided: read tracking (--tracking read_tracking.tsv from DADA2)."))
        return
    df = _read_tsv(path, "read tracking table", ("sample",))
    steps = [s for s in TRACKING_STEPS if s in df.columns]
    if not steps:
        raise InputError(f"read tracking table has none of {', '.join(TRACKING_STEPS)}",
                         location=str(path))
    fig = go.Figure()
    for _, row in df.iterrows():
        fig.add_trace(go.Scatter(
            x=steps, y=[row[s] for s in steps], mode="lines+markers", name=str(row["sample"]),
            hovertemplate="%{x}: %{y:,} reads<extra>" + _esc(row["sample"]) + "</extra>",
        ))
    fig.update_layout(height=420, margin=dict(t=30, b=40), yaxis_title="reads",
                      xaxis_title="step", legend_title="sample", template="plotly_white")
    zero = set(df.loc[df[steps[-1]].fillna(0) == 0, "sample"].astype(str))
    for s in sorted(zero):
        rep.flags.append({"sample": s, "source": "read tracking", "level": "warn",
                          "message": f"0 reads left after the last step ({steps[-1]})."})
    if "input" in df.columns and steps[-1] != "input":
        with np.errstate(divide="ignore", invalid="ignore"):
            df = df.assign(retained=np.where(df["input"] > 0, df[steps[-1]] / df["input"], np.nan))
    body = (rep.figure(fig, "tracking")
            + html_table(df, highlight=zero))
    rep.add("tracking", "Read tracking", body)


def _qc_section(rep: _Report, path: Path | None) -> None:
    if path is None:
        rep.missing.append("QC summary (--qc qc_summary.tsv)")
        rep.add("qc", "Quality control",
                _missing("Not provided: QC summary (--qc qc_summary.tsv)."))
        return
    df = _read_tsv(path, "QC summary", ("sample", "status"))
    bad = df[df["status"].astype(str) != "ok"]
    for _, row in bad.iterrows():
        level = "warn" if str(row["status"]) in ("empty", "low_reads") else "error"
        extra = f" ({row['reads_out']} reads after QC)" if "reads_out" in df.columns else ""
        rep.flags.append({"sample": str(row["sample"]), "source": "QC", "level": level,
                          "message": f"QC status '{row['status']}'{extra}."})
    rep.add("qc", "Quality control", html_table(df, highlight=set(bad["sample"].astype(str))))


def _primer_section(rep: _Report, path: Path | None) -> str:
    if path is None:
        rep.missing.append("primer summary (--primers primer_summary.tsv)")
        return _missing("Not provided: primer summary (--primers primer_summary.tsv); "
                        "primer presence was not checked in this report.")
    cols = ("sample", "reads_in", "reads_with_primer", "fraction_with_primer", "flag")
    df = _read_tsv(path, "primer summary", cols)
    df["flag"] = df["flag"].fillna("").astype(str)
    flagged = df[df["flag"].str.strip() != ""]
    for _, row in flagged.iterrows():
        rep.flags.append({"sample": str(row["sample"]), "source": "primers", "level": "error",
                          "message": f"Primer check: {row['flag']}"})
    return "<h3>Primer removal</h3>" + html_table(df, highlight=set(flagged["sample"]))


def _composition_section(rep: _Report, table: CountTable, rank: str, order: list[str],
                         top: int) -> None:
    import plotly.graph_objects as go

    comp = composition(table, rank, top).reindex(order)
    totals = table.counts.sum(axis=1).reindex(order)
    fig = go.Figure()
    named = [c for c in comp.columns if c not in ("Other", "Unassigned")]
    colours = {c: PALETTE[i % len(PALETTE)] for i, c in enumerate(named)}
    colours.update(Other=OTHER_COLOUR, Unassigned=UNASSIGNED_COLOUR)
    for taxon in comp.columns:
        fig.add_trace(go.Bar(
            x=order, y=comp[taxon].to_numpy(), name=str(taxon),
            marker_color=colours[taxon],
            hovertemplate="%{x}<br>" + _esc(taxon) + ": %{y:.1%}<extra></extra>",
        ))
    for s in order:
        if totals[s] == 0:
            fig.add_annotation(x=s, y=0.5, text="empty", showarrow=False, textangle=-90,
                               font=dict(color="#c0392b", size=13))
    fig.update_layout(barmode="stack", height=480, template="plotly_white",
                      yaxis=dict(title="relative abundance", tickformat=".0%", range=[0, 1]),
                      xaxis=dict(title="sample", categoryorder="array", categoryarray=order),
                      legend_title=rank, margin=dict(t=30))
    note = (f"<p>Relative abundance at rank <b>{_esc(rank)}</b> (raw counts, not rarefied): "
            f"the {top} most abundant taxa by mean relative abundance, the rest as "
            "<i>Other</i>; features without a name at this rank as <i>Unassigned</i>.</p>")
    rep.add("composition", f"Composition ({rank})", note + rep.figure(fig, "composition"))


def _group_of(table: CountTable, group_by: str | None, rep: _Report) -> tuple[pd.Series, str]:
    md = table.sample_metadata
    if group_by and group_by in md.columns:
        g = md[group_by].astype(object).where(md[group_by].notna(), "(none)").astype(str)
        return g, group_by
    if group_by:
        rep.missing.append(f"sample metadata column '{group_by}' (--group-by)")
    return pd.Series("all samples", index=table.counts.index), "group"


def _alpha_section(rep: _Report, ddir: Path, summary: dict, groups: pd.Series,
                   group_label: str) -> None:
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    path = ddir / "alpha_diversity.tsv"
    if not path.is_file():
        rep.missing.append(f"alpha diversity ({path.name} in --diversity)")
        rep.add("alpha", "Alpha diversity", _missing(f"Not found: {path}."))
        return
    alpha = _read_tsv(path, "alpha diversity table", ("sample",)).set_index("sample")
    metrics = [m for m in ALPHA_LABELS if m in alpha.columns]
    base = summary.get("parameters", {}).get("shannon_log_base") or (
        str(alpha["shannon_base"].dropna().iloc[0]) if "shannon_base" in alpha.columns
        and alpha["shannon_base"].notna().any() else "?")
    titles = [ALPHA_LABELS[m] + (f" (log base {base})" if m == "shannon" else "")
              for m in metrics]
    fig = make_subplots(rows=1, cols=len(metrics), subplot_titles=titles)
    g = groups.reindex(alpha.index).fillna("(none)")
    levels = sorted(g.unique())
    for j, m in enumerate(metrics, start=1):
        for k, level in enumerate(levels):
            sel = alpha.loc[g == level, m].dropna()
            fig.add_trace(go.Box(
                y=sel.to_numpy(), x=[level] * len(sel), name=level, text=list(sel.index),
                boxpoints="all", jitter=0.4, pointpos=0, legendgroup=level,
                showlegend=(j == 1), marker_color=PALETTE[k % len(PALETTE)],
                hovertemplate="%{text}: %{y:.4g}<extra>" + _esc(level) + "</extra>",
            ), row=1, col=j)
    fig.update_layout(height=420, template="plotly_white", legend_title=group_label,
                      margin=dict(t=50), boxmode="overlay")
    rare = summary.get("parameters", {}).get("rarefaction", {})
    depth = rare.get("depth")
    note = (f"<p>Indices per sample by <b>{_esc(group_label)}</b>; "
            + (f"rarefied to <b>{depth}</b> reads (seed {rare.get('seed')}). "
               if depth else "computed on counts that were <b>not rarefied</b>. ")
            + "Samples with an undefined value (empty, excluded) are listed in the table with "
            "the reason, and left out of the plot.</p>")
    show = alpha.reset_index()
    rep.add("alpha", "Alpha diversity", note + rep.figure(fig, "alpha") + html_table(
        show, highlight=set(alpha.index[alpha.get("note", pd.Series(dtype=str)).fillna("")
                                        .astype(str) != ""])))


def _curve_section(rep: _Report, ddir: Path, summary: dict) -> None:
    import plotly.graph_objects as go

    path = ddir / "rarefaction_curve.tsv"
    if not path.is_file():
        rep.missing.append(f"rarefaction curve ({path.name} in --diversity)")
        rep.add("curve", "Rarefaction curves", _missing(f"Not found: {path}."))
        return
    curve = _read_tsv(path, "rarefaction curve", ("sample", "depth", "observed_features"))
    if curve.empty:
        rep.add("curve", "Rarefaction curves",
                _missing("No rarefaction curve (non-integer table)."))
        return
    fig = go.Figure()
    for sample, part in curve.groupby("sample", sort=True):
        fig.add_trace(go.Scatter(x=part["depth"], y=part["observed_features"], mode="lines",
                                 name=str(sample)))
    depth = summary.get("parameters", {}).get("rarefaction", {}).get("depth")
    if depth:
        fig.add_vline(x=depth, line_dash="dash", line_color="#c0392b",
                      annotation_text=f"rarefaction depth {depth}")
    fig.update_layout(height=420, template="plotly_white", xaxis_title="reads (depth)",
                      yaxis_title="expected observed features", margin=dict(t=30))
    rep.add("curve", "Rarefaction curves", rep.figure(fig, "curve"))


def _pcoa_section(rep: _Report, ddir: Path, summary: dict, groups: pd.Series,
                  group_label: str) -> None:
    import plotly.graph_objects as go

    files = sorted(ddir.glob("pcoa_*.tsv"))
    skipped = {m: v["skipped"] for m, v in summary.get("pcoa", {}).items() if "skipped" in v}
    if not files and not skipped:
        rep.missing.append("PCoA coordinates (pcoa_<metric>.tsv in --diversity)")
        rep.add("pcoa", "Ordination (PCoA)", _missing("No PCoA coordinates found."))
        return
    parts = []
    for f in files:
        metric = f.stem.removeprefix("pcoa_")
        coords = _read_tsv(f, "PCoA coordinates", ("sample",)).set_index("sample")
        if coords.shape[1] < 2:
            continue
        prop = summary.get("pcoa", {}).get(metric, {}).get("proportion_explained", {})
        g = groups.reindex(coords.index).fillna("(none)")
        fig = go.Figure()
        for k, level in enumerate(sorted(g.unique())):
            sel = coords[g == level]
            fig.add_trace(go.Scatter(
                x=sel.iloc[:, 0], y=sel.iloc[:, 1], mode="markers", name=level,
                text=list(sel.index), marker=dict(size=11, color=PALETTE[k % len(PALETTE)]),
                hovertemplate="%{text}<extra>" + _esc(level) + "</extra>",
            ))
        ax = [f"{c} ({prop[c]:.1%})" if c in prop else c for c in coords.columns[:2]]
        fig.update_layout(height=460, template="plotly_white", xaxis_title=ax[0],
                          yaxis_title=ax[1], legend_title=group_label, margin=dict(t=40),
                          title=METRIC_LABELS.get(metric, metric))
        parts.append(rep.figure(fig, f"pcoa-{metric}"))
    for m, why in skipped.items():
        parts.append(_missing(f"PCoA {m}: {why}"))
    perm = summary.get("permanova") or {}
    if perm:
        rows = [{"metric": m, "group_by": r.get("group_by"),
                 "pseudo_F": r.get("test_statistic"), "p_value": r.get("p_value"),
                 "permutations": r.get("permutations"), "samples": r.get("sample_size"),
                 "groups": r.get("number_of_groups"), "skipped": r.get("skipped", "")}
                for m, r in perm.items()]
        parts.append("<h3>PERMANOVA</h3>" + html_table(pd.DataFrame(rows)))
    rep.add("pcoa", "Ordination (PCoA)", "".join(parts))


def _versions_section(rep: _Report, path: Path | None, summary: dict) -> None:
    parts = []
    if path is None:
        rep.missing.append("software versions (--versions software_versions.yml)")
        parts.append(_missing("Not provided: software versions (--versions "
                              "software_versions.yml)."))
    else:
        try:
            data = yaml.safe_load(Path(path).read_text()) or {}
        except FileNotFoundError:
            raise InputError("software versions file not found", location=str(path)) from None
        except yaml.YAMLError as exc:
            raise InputError(f"not valid YAML ({exc})", location=str(path)) from None
        tools = data.get("tools") if isinstance(data, dict) else None
        if not isinstance(tools, dict):
            raise InputError("software versions file lacks a 'tools' mapping", location=str(path))
        parts.append("<h3>Pipeline tools</h3>" + html_table(pd.DataFrame(
            sorted((str(k), str(v)) for k, v in tools.items()), columns=["tool", "version"])))
        procs = data.get("processes") or {}
        if isinstance(procs, dict) and procs:
            rows = [(str(p), str(t), str(v)) for p, tv in sorted(procs.items())
                    if isinstance(tv, dict) for t, v in sorted(tv.items())]
            parts.append("<h3>Per process</h3>" + html_table(
                pd.DataFrame(rows, columns=["process", "tool", "version"])))
    lib = summary.get("versions") or {}
    if lib:
        parts.append("<h3>Diversity libraries</h3>" + html_table(pd.DataFrame(
            sorted(lib.items()), columns=["library", "version"])))
    rep.add("versions", "Software versions", "".join(parts))


# --------------------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------------------


def build_report(
    biom: str | Path,
    diversity_dir: str | Path,
    out: str | Path,
    *,
    qc: str | Path | None = None,
    tracking: str | Path | None = None,
    primers: str | Path | None = None,
    versions: str | Path | None = None,
    rank: str = "phylum",
    group_by: str | None = "site",
    title: str = "soilbiome report",
    top: int = 10,
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
    qc, tracking, primers, versions : str or Path, optional
        ``qc_summary.tsv``, DADA2 ``read_tracking.tsv``, ``primer_summary.tsv`` and
        ``software_versions.yml``; each may be absent, and the report says so.
    rank : str, default "phylum"
        Rank of the composition bars.
    group_by : str, optional
        Sample metadata column used to group alpha diversity and colour the PCoA.
    title : str
        Report title.
    top : int, default 10
        Taxa shown by name in the composition bars.

    Returns
    -------
    dict
        ``out``, ``samples``, ``flags`` (list of dicts), ``missing`` (inputs not given) and
        ``figures`` (number of plots).
    """
    from plotly.offline import get_plotlyjs

    if rank not in RANKS:
        raise InputError(f"unknown rank '{rank}'; choose one of {', '.join(RANKS)}")
    table = load_table(biom)
    ddir = Path(diversity_dir)
    if not ddir.is_dir():
        raise InputError("diversity folder not found", location=str(ddir))
    summary: dict = {}
    if (ddir / "diversity.json").is_file():
        try:
            summary = json.loads((ddir / "diversity.json").read_text())
        except json.JSONDecodeError as exc:
            raise InputError(
                f"not valid JSON ({exc})", location=str(ddir / "diversity.json")
            ) from None
    rep = _Report()
    if not summary:
        rep.missing.append("diversity.json in --diversity")

    samples = [str(s) for s in table.counts.index]
    totals = table.counts.sum(axis=1)
    for s in samples:
        if totals[s] == 0:
            rep.flags.append({"sample": s, "source": "table", "level": "warn",
                              "message": "Empty sample: no reads in the feature table. Kept in "
                                         "every table; diversity indices are undefined (NaN)."})
    seen = {(f["sample"], "empty") for f in rep.flags}
    for e in summary.get("excluded", []):
        if (e["sample"], "empty") in seen and "empty" in e["reason"]:
            continue
        rep.flags.append({"sample": e["sample"], "source": f"diversity ({e['stage']})",
                          "level": "info", "message": e["reason"]})

    groups, group_label = _group_of(table, group_by, rep)
    order = sorted(samples, key=lambda s: (str(groups.get(s, "")), s))

    primer_html = _primer_section(rep, Path(primers) if primers else None)
    _qc_section(rep, Path(qc) if qc else None)
    qc_key, qc_title, qc_body = rep.sections.pop()
    rep.add(qc_key, qc_title, qc_body + primer_html)
    _tracking_section(rep, Path(tracking) if tracking else None)
    _composition_section(rep, table, rank, order, top)
    _alpha_section(rep, ddir, summary, groups, group_label)
    _curve_section(rep, ddir, summary)
    _pcoa_section(rep, ddir, summary, groups, group_label)
    _versions_section(rep, Path(versions) if versions else None, summary)

    overview = pd.DataFrame({
        "sample": order,
        group_label: [groups.get(s, "") for s in order],
        "reads in table": [int(totals[s]) if float(totals[s]).is_integer() else float(totals[s])
                           for s in order],
        "features": [int((table.counts.loc[s] > 0).sum()) for s in order],
        "status": ["empty" if totals[s] == 0 else "" for s in order],
    })
    empty = {s for s in samples if totals[s] == 0}
    intro = [
        f"<p>Table <code>{_esc(Path(biom).name)}</code>: {len(samples)} samples, "
        f"{table.counts.shape[1]} features, {_fmt(float(totals.sum()))[0]} reads.</p>",
    ]
    if rep.missing:
        intro.append('<div class="flag info"><strong>Inputs not provided</strong>'
                     + "<br>".join(_esc(m) for m in rep.missing) + "</div>")
    n_flagged = len({f["sample"] for f in rep.flags})
    sections = [("overview", "Samples", "".join(intro) + html_table(overview, highlight=empty)),
                ("flags", f"Flags ({n_flagged} samples)", _flags_section(rep))]
    sections += rep.sections
    nav = "".join(f'<a href="#{k}">{_esc(t)}</a>' for k, t, _ in sections)
    body = "\n".join(f'<section id="{k}"><h2>{_esc(t)}</h2>\n{b}\n</section>'
                     for k, t, b in sections)
    now = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
    template = Template(
        resources.files("soilbiome").joinpath("data", "report_template.html").read_text()
    )
    page = template.substitute(
        title=_esc(title),
        subtitle=_esc(f"{len(samples)} samples · generated {now} · soilbiome {__version__}"),
        version=_esc(__version__),
        plotlyjs=get_plotlyjs(),
        nav=nav,
        body=body,
        footer=_esc(f"soilbiome {__version__} · plotly.js embedded (works offline) · {now}"),
    )
    with atomic_write(out) as fh:
        fh.write(page)
    return {"out": str(out), "samples": samples, "flags": rep.flags, "missing": rep.missing,
            "figures": rep.figures}
