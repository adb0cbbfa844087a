"""The page every soilbiome report shares: run sections in order, fill the HTML template.

The batch report (:func:`soilbiome.report.build.build_report`) and the comparison report
(:mod:`soilbiome.compare.report`) give their own list of sections to :func:`render_sections`
and the result to :func:`render_page` (template ``soilbiome/data/report_template.html``,
plotly.js embedded once: the page opens offline).
"""

from __future__ import annotations

from collections.abc import Iterable
from importlib import resources
from string import Template

from soilbiome import __version__
from soilbiome.report.context import ReportContext, Section
from soilbiome.report.html import esc


def render_sections(ctx: ReportContext,
                    sections: Iterable[Section]) -> list[tuple[str, str, str]]:
    """Run every section (``late`` ones last), return ``(key, title, body)`` in page order.

    Sections returning ``None`` are left out.
    """
    ordered = sorted(sections, key=lambda s: (s.position, s.key))
    rendered: dict[str, tuple[str, str]] = {}
    for sec in [s for s in ordered if not s.late] + [s for s in ordered if s.late]:
        result = sec.render(ctx)
        if result is None:
            continue
        rendered[sec.key] = result if isinstance(result, tuple) else (sec.title, result)
    return [(s.key, *rendered[s.key]) for s in ordered if s.key in rendered]


def render_page(rendered: list[tuple[str, str, str]], *, title: str, heading: str,
                subtitle: str, footer: str) -> str:
    """The whole HTML page: navigation, one ``<section>`` per rendered section."""
    from plotly.offline import get_plotlyjs

    nav = "".join(f'<a href="#{k}">{esc(t)}</a>' for k, t, _ in rendered)
    body = "\n".join(f'<section id="{k}"><h2>{esc(t)}</h2>\n{b}\n</section>'
                     for k, t, b in rendered)
    template = Template(
        resources.files("soilbiome").joinpath("data", "report_template.html").read_text()
    )
    return template.substitute(
        title=esc(title), heading=esc(heading), subtitle=esc(subtitle),
        version=esc(__version__), plotlyjs=get_plotlyjs(), nav=nav, body=body,
        footer=esc(footer),
    )
