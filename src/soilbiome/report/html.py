"""HTML building blocks shared by every report section: escaping, tables, notes, TSV input."""

from __future__ import annotations

import html
import math
from pathlib import Path

import numpy as np
import pandas as pd

from soilbiome.errors import InputError
from soilbiome.io.textfile import plain_frame


def esc(value: object) -> str:
    """HTML-escape ``value`` (``None`` -> ``""``)."""
    return html.escape("" if value is None else str(value))


def fmt(value: object) -> tuple[str, bool]:
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
    """An escaped HTML table inside a box that scrolls when the table is wider or taller.

    Rows whose first cell is in ``highlight`` get class ``empty``.
    """
    if index:
        df = df.reset_index()
    head = "".join(f"<th>{esc(c)}</th>" for c in df.columns)
    rows = []
    for rec in df.itertuples(index=False):
        cells = []
        for v in rec:
            text, num = fmt(v)
            cells.append(f'<td class="num">{esc(text)}</td>' if num else f"<td>{esc(text)}</td>")
        cls = ' class="empty"' if highlight and str(rec[0]) in highlight else ""
        rows.append(f"<tr{cls}>{''.join(cells)}</tr>")
    return (
        f'<div class="scroll" tabindex="0"><table><thead><tr>{head}</tr></thead><tbody>'
        + "".join(rows)
        + "</tbody></table></div>"
    )


def definition_list(items: list[tuple[str, object]]) -> str:
    """A two-column key/value table (``<dl>`` rendered as a grid)."""
    parts = "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in items)
    return f'<dl class="kv">{parts}</dl>'


def missing(text: str) -> str:
    """A greyed note for an input that was not given or a step that was skipped."""
    return f'<p class="missing">{esc(text)}</p>'


def read_tsv(path: Path, what: str, required: tuple[str, ...]) -> pd.DataFrame:
    """Read a TSV input of the report; missing file or columns raise one clear error."""
    try:
        df = pd.read_csv(path, sep="\t", dtype={"sample": str}, keep_default_na=False,
                         na_values=["", "NaN", "NA", "nan"])
    except FileNotFoundError:
        raise InputError(f"{what} not found", location=str(path)) from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise InputError(f"{what} is not a readable TSV ({exc})", location=str(path)) from None
    df = plain_frame(df)  # cells quoted against formula injection, as they were made
    lacking = [c for c in required if c not in df.columns]
    if lacking:
        raise InputError(f"{what} lacks column(s) {', '.join(lacking)}", location=str(path))
    return df


#: Trace fields that carry data (sample IDs, group and taxon names), not our own formatting.
_PLOT_DATA_FIELDS = ("name", "x", "y", "text", "hovertext", "customdata", "labels", "ids",
                     "legendgroup")


def _plot_literal(value: object) -> object:
    if isinstance(value, str):
        return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    if isinstance(value, np.ndarray):
        return [_plot_literal(v) for v in value.tolist()] if value.dtype.kind in "OUS" \
            else value
    if isinstance(value, list | tuple):
        return [_plot_literal(v) for v in value]
    return value


def literal_plot_text(fig: object) -> object:
    """Make every data label of a plotly figure show as the text it is.

    plotly reads a subset of HTML in every label it draws (``<a href=...>``, ``<b>``,
    ``<br>``): a site called ``<a href="javascript:...">x</a>`` would be drawn as a link named
    ``x``. ``&``, ``<`` and ``>`` in the trace data (names, categories, hover text, custom
    data) and in axis tick labels and category orders become entities, which plotly draws as
    those characters.
    Our own titles and hover templates keep their formatting.
    """
    for trace in fig.data:  # type: ignore[attr-defined]
        present = trace.to_plotly_json()
        trace.update({f: _plot_literal(present[f]) for f in _PLOT_DATA_FIELDS
                      if present.get(f) is not None})
    layout = fig.layout.to_plotly_json()  # type: ignore[attr-defined]
    for axis, spec in layout.items():
        if not axis.startswith(("xaxis", "yaxis")):
            continue
        for field in ("ticktext", "categoryarray"):  # the categories must match the data's
            if spec.get(field) is not None:
                fig.layout[axis][field] = _plot_literal(spec[field])  # type: ignore
    for note in fig.layout.annotations:  # type: ignore[attr-defined]
        for field in ("x", "y"):  # placed at a category (a sample): the same escaped name
            if isinstance(note[field], str):
                note[field] = _plot_literal(note[field])
    return fig
