"""Soil context: alpha diversity against each soil variable, fitted vectors on the PCoA,
Mantel tests and the distance-based RDA (outputs of ``soilbiome diversity --env``).

Each test is shown with its p-value and permutation resolution, or as ``not computable``
with the reason, next to the figure it belongs to (:mod:`soilbiome.report.stat_results`).
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd

from soilbiome.model.stat_result import COMPUTED
from soilbiome.report.context import ReportContext, section
from soilbiome.report.html import definition_list, esc, html_table, missing, read_tsv
from soilbiome.report.sections.alpha import ALPHA_LABELS
from soilbiome.report.sections.composition import PALETTE
from soilbiome.report.stat_results import p_text, reason_of, tidy_test_table
from soilbiome.soil.context import FILES


def _computed(row: pd.Series) -> bool:
    """A TSV row of a test that was computed (rows written before statuses existed count)."""
    status = row.get("status", COMPUTED)
    return status == COMPUTED or (isinstance(status, float) and math.isnan(status))


def _resolution(permutations: object) -> str:
    """``999 (smallest possible p-value 0.001)``."""
    n = int(permutations) if isinstance(permutations, int) else 0
    return f"{n:,} (smallest possible p-value {1 / (n + 1):.2g})" if n > 0 else str(permutations)


def _warnings(items: list[str]) -> str:
    """Tests that could not be computed, listed next to their figure."""
    if not items:
        return ""
    lines = "".join(f"<li>{esc(i)}</li>" for i in items)
    return f'<div class="flag warn"><strong>Not computable</strong><ul>{lines}</ul></div>'


def _label(variable: str, units: dict) -> str:
    unit = units.get(variable) or ""
    return f"{variable} ({unit})" if unit else variable


@section("soil", "Soil context", position=85)
def soil_context(ctx: ReportContext) -> str | None:
    """Shown when the diversity folder holds ``soil_context.json`` (``--env`` was given)."""
    summary_path = ctx.diversity_dir / FILES["summary"]
    if not summary_path.is_file():
        return None
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    info = json.loads(summary_path.read_text())
    variables: list[str] = info.get("variables", [])
    units: dict = info.get("units", {})
    metric = info.get("metric", "")
    parts = [definition_list([
        ("variables", ", ".join(_label(v, units) for v in variables)),
        ("community distance", metric),
        ("permutations", _resolution(info.get("permutations"))),
        ("samples lacking a variable", "; ".join(
            f"{v}: {', '.join(s)}" for v, s in info.get("missing", {}).items() if s) or "none"),
    ])]

    # alpha against each variable ------------------------------------------------------------
    alpha_path = ctx.diversity_dir / "alpha_diversity.tsv"
    spearman = read_tsv(ctx.diversity_dir / FILES["alpha_spearman"], "alpha-soil correlations",
                        ("index", "variable", "rho"))
    md = ctx.table.sample_metadata
    if alpha_path.is_file() and variables:
        alpha = read_tsv(alpha_path, "alpha diversity table", ("sample",)).set_index("sample")
        index = "shannon" if "shannon" in alpha.columns else next(
            (i for i in ALPHA_LABELS if i in alpha.columns), None)
        if index is not None:
            fig = make_subplots(rows=1, cols=len(variables),
                                subplot_titles=[_label(v, units) for v in variables])
            warnings = []
            for k, var in enumerate(variables, start=1):
                x = pd.to_numeric(md[var].reindex(alpha.index), errors="coerce")
                y = pd.to_numeric(alpha[index], errors="coerce")
                ok = x.notna() & y.notna()
                row = spearman[(spearman["index"] == index) & (spearman["variable"] == var)]
                if len(row) and _computed(row.iloc[0]):
                    name = (f"{var}: rho {float(row['rho'].iloc[0]):.2f}, "
                            f"{p_text(row['p_value'].iloc[0])}")
                else:
                    name = f"{var}: rho not computable"
                    if len(row):
                        warnings.append(f"Spearman {index} vs {var}: "
                                        f"{reason_of(row.iloc[0].to_dict())}")
                fig.add_trace(go.Scatter(
                    x=x[ok], y=y[ok], mode="markers", text=list(x[ok].index),
                    marker=dict(size=9, color=PALETTE[(k - 1) % len(PALETTE)]),
                    name=name, hovertemplate="%{text}: %{x}, %{y}<extra></extra>",
                ), row=1, col=k)
            fig.update_layout(height=360, template="plotly_white", margin=dict(t=50),
                              yaxis_title=ALPHA_LABELS.get(index, index))
            parts.append(f"<h3>{esc(ALPHA_LABELS.get(index, index))} against each variable"
                         "</h3>" + ctx.figure(fig, "soil-alpha")
                         + ctx.left_out(alpha.index[alpha[index].notna()]) + _warnings(warnings))
    if len(spearman):
        parts.append("<h3>Spearman correlation of each alpha index with each variable</h3>"
                     "<p>q: Benjamini-Hochberg over the computable correlations only.</p>"
                     + html_table(tidy_test_table(spearman, ("rho", "q_value"))))

    # fitted vectors on the PCoA ---------------------------------------------------------------
    envfit = read_tsv(ctx.diversity_dir / FILES["envfit"], "fitted vectors", ("variable",))
    pcoa_path = ctx.diversity_dir / f"pcoa_{metric}.tsv"
    axes = info.get("envfit", {}).get("axes", [])
    if pcoa_path.is_file() and len(axes) == 2 and len(envfit):
        coords = read_tsv(pcoa_path, "PCoA coordinates", ("sample",)).set_index("sample")
        fig = go.Figure()
        g = ctx.groups.reindex(coords.index).fillna("(none)")
        for k, level in enumerate(sorted(g.unique())):
            sel = coords[g == level]
            fig.add_trace(go.Scatter(x=sel[axes[0]], y=sel[axes[1]], mode="markers",
                                     name=level, text=list(sel.index),
                                     marker=dict(size=10, color=PALETTE[k % len(PALETTE)]),
                                     hovertemplate="%{text}<extra></extra>"))
        computed = envfit.apply(_computed, axis=1)
        lengths = np.sqrt(envfit["r2"].astype(float).where(computed, 0).fillna(0).to_numpy())
        extent = float(np.nanmax(np.abs(coords[axes].to_numpy()))) if len(coords) else 1.0
        scale = 0.9 * extent / max(float(lengths.max()), 1e-12)  # as vegan's ordiArrowMul
        warnings = [f"envfit {row['variable']}: {reason_of(row.to_dict())}"
                    for (_, row), ok in zip(envfit.iterrows(), computed, strict=True) if not ok]
        for (_, row), length, ok in zip(envfit.iterrows(), lengths, computed, strict=True):
            if not ok or not np.isfinite(float(row["r2"])):
                continue
            x, y = float(row[axes[0]]) * length * scale, float(row[axes[1]]) * length * scale
            fig.add_annotation(x=x, y=y, ax=0, ay=0, xref="x", yref="y", axref="x", ayref="y",
                               showarrow=True, arrowhead=2, arrowwidth=2, arrowcolor="#b03a2e",
                               text="")
            fig.add_annotation(x=x * 1.1, y=y * 1.1, xref="x", yref="y", showarrow=False,
                               text=f"{row['variable']} (r² {float(row['r2']):.2f}, "
                                    f"{p_text(row['p_value'])})",  # resolution: below
                               font=dict(color="#b03a2e"))
        fig.update_layout(height=480, template="plotly_white", xaxis_title=axes[0],
                          yaxis_title=axes[1], legend_title=ctx.group_label,
                          margin=dict(t=40), title=f"PCoA ({metric}) with fitted soil vectors "
                          "(length ∝ √r²)")
        parts.append("<h3>Soil variables fitted onto the PCoA (envfit)</h3>"
                     + ctx.figure(fig, "soil-envfit") + ctx.left_out(coords.index)
                     + f"<p>p-values from {esc(_resolution(info.get('permutations')))}.</p>"
                     + _warnings(warnings)
                     + html_table(tidy_test_table(envfit, (*axes, "r2"))))
    elif len(envfit) == 0:
        parts.append(missing(info.get("envfit", {}).get("note") or "No fitted vectors."))

    # Mantel and dbRDA -----------------------------------------------------------------------
    mantel = read_tsv(ctx.diversity_dir / FILES["mantel"], "Mantel tests", ("variables",))
    parts.append("<h3>Mantel tests (community distance vs Euclidean distance of the "
                 "standardised variables)</h3>"
                 + html_table(tidy_test_table(mantel, ("statistic",))))
    dbrda = read_tsv(ctx.diversity_dir / FILES["dbrda"], "dbRDA", ("term",))
    fits = info.get("dbrda", {})
    r2 = [(m, v) for m, v in fits.items() if isinstance(v, dict)]
    notes = "; ".join(
        f"{m}: R² {v['r2']:.3f}, adjusted R² {v['r2_adjusted']:.3f}"
        if v.get("r2") is not None else f"{m}: not computable: {reason_of(v)}" for m, v in r2)
    parts.append(f"<h3>Distance-based RDA (terms added in order)</h3><p>{esc(notes)} "
                 f"({esc(fits.get('n_samples'))} samples with every variable)</p>"
                 + html_table(tidy_test_table(dbrda, ("f",))))
    if "dbrda" in fits and fits["dbrda"].get("r2_adjusted") is not None:
        ctx.headline("Soil variables (dbRDA)", f"adj. R² {fits['dbrda']['r2_adjusted']:.2f}",
                     ", ".join(variables))
    excluded = read_tsv(ctx.diversity_dir / FILES["excluded"], "excluded samples",
                        ("test", "sample"))
    if len(excluded):
        parts.append("<h3>Samples left out of a test</h3>" + html_table(excluded))
    return "".join(parts)
