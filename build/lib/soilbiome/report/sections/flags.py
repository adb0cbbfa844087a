"""Flags: one box per flagged sample, most severe first, listing every reason."""

from __future__ import annotations

from soilbiome.report.context import ReportContext, section
from soilbiome.report.html import esc

_ORDER = {"error": 0, "warn": 1, "info": 2}


@section("flags", "Flags", position=20, late=True)
def flags(ctx: ReportContext) -> tuple[str, str]:
    """Every flag other sections raised, grouped by sample."""
    n_flagged = len({f["sample"] for f in ctx.flags})
    title = f"Flags ({n_flagged} samples)"
    if not ctx.flags:
        return title, '<div class="ok">No sample is flagged.</div>'
    by_sample: dict[str, list[dict]] = {}
    for f in ctx.flags:
        by_sample.setdefault(f["sample"], []).append(f)
    parts = []
    for sample, items in sorted(
        by_sample.items(), key=lambda kv: (min(_ORDER[f["level"]] for f in kv[1]), kv[0])
    ):
        level = min((f["level"] for f in items), key=_ORDER.__getitem__)
        cls = {"error": "flag", "warn": "flag warn", "info": "flag info"}[level]
        lines = "".join(
            f"<li><b>{esc(f['source'])}</b>: {esc(f['message'])}</li>"
            for f in sorted(items, key=lambda f: _ORDER[f["level"]])
        )
        parts.append(f'<div class="{cls}" data-sample="{esc(sample)}">'
                     f"<strong>{esc(sample)}</strong><ul>{lines}</ul></div>")
    return title, "\n".join(parts)
