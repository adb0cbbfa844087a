"""Composition: stacked relative abundance per sample, switchable between ranks in the page.

Every rank of :data:`~soilbiome.taxonomy.lineage.RANKS` is drawn into one plotly figure; a
``<select>`` shows one rank at a time (``Plotly.restyle`` on the traces' ``meta``). The page
address can choose the rank: ``soilbiome_report.html#rank=genus``.
"""

from __future__ import annotations

from soilbiome.report.composition import OTHER, UNASSIGNED, UNEXPLAINED, composition
from soilbiome.report.context import ReportContext, section
from soilbiome.report.html import esc
from soilbiome.taxonomy.lineage import RANKS

#: Colours of the composition bars (colour-blind friendly first, then plotly's defaults).
PALETTE: tuple[str, ...] = (
    "#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442",
    "#332288", "#88CCEE", "#44AA99", "#117733", "#999933", "#AA4499", "#882255",
)
OTHER_COLOUR = "#b0b7bf"
UNASSIGNED_COLOUR = "#e5e8eb"
UNEXPLAINED_COLOUR = "#5f6b76"

_SWITCH_JS = """<script>
(function () {
  var sel = document.getElementById("rank-select");
  var label = document.getElementById("composition-rank");
  function show(rank) {
    var div = document.getElementById("fig-composition");
    if (!div || !div.data || !sel.querySelector('option[value="' + rank + '"]')) return;
    Plotly.restyle(div, {visible: div.data.map(function (t) { return t.meta === rank; })});
    Plotly.relayout(div, {"legend.title.text": rank});
    sel.value = rank;
    label.textContent = rank;
  }
  sel.addEventListener("change", function () { show(sel.value); });
  function fromHash() {
    var m = /rank=([a-z]+)/.exec(window.location.hash);
    if (m) show(m[1]);
  }
  window.addEventListener("hashchange", fromHash);
  if (document.readyState === "complete") fromHash();
  else window.addEventListener("load", fromHash);
})();
</script>"""


@section("composition", "Composition", position=50)
def composition_section(ctx: ReportContext) -> str:
    """Stacked bars per sample at every rank; one rank shown, chosen in the page."""
    import plotly.graph_objects as go

    rank = ctx.options.get("rank", "phylum")
    top = int(ctx.options.get("top", 10))
    order = ctx.order
    totals = ctx.sample_totals.reindex(order)
    fig = go.Figure()
    options = []
    unexplained = False  # a shotgun table's unclassified reads, drawn as their own column
    for r in RANKS:
        comp = composition(ctx.table, r, top).reindex(order)
        unexplained |= UNEXPLAINED in comp.columns
        named = [c for c in comp.columns if c not in (OTHER, UNASSIGNED, UNEXPLAINED)]
        colours = {c: PALETTE[i % len(PALETTE)] for i, c in enumerate(named)}
        colours.update({OTHER: OTHER_COLOUR, UNASSIGNED: UNASSIGNED_COLOUR,
                        UNEXPLAINED: UNEXPLAINED_COLOUR})
        for taxon in comp.columns:
            fig.add_trace(go.Bar(
                x=order, y=comp[taxon].to_numpy(), name=str(taxon), meta=r,
                visible=(r == rank), marker_color=colours[taxon], legendgroup=r,
                hovertemplate="%{x}<br>" + esc(taxon) + ": %{y:.1%}<extra>" + r + "</extra>",
            ))
        suffix = "" if named else " (no names at this rank)"
        chosen = " selected" if r == rank else ""
        options.append(f'<option value="{r}"{chosen}>{r}{esc(suffix)}</option>')
    for s in order:
        if totals[s] == 0:
            fig.add_annotation(x=s, y=0.5, text="empty", showarrow=False, textangle=-90,
                               font=dict(color="#c0392b", size=13))
    fig.update_layout(barmode="stack", height=480, template="plotly_white",
                      yaxis=dict(title="relative abundance", tickformat=".0%", range=[0, 1]),
                      xaxis=dict(title="sample", categoryorder="array", categoryarray=order),
                      legend_title=rank, margin=dict(t=30))
    switch = (f'<p class="switch"><label for="rank-select">Rank: </label>'
              f'<select id="rank-select">{"".join(options)}</select></p>')
    basis = ("the table's relative abundances" if ctx.relative
             else "raw counts, not rarefied")
    note = (f'<p>Relative abundance at rank <b id="composition-rank">{esc(rank)}</b> '
            f"({basis}): the {top} most abundant taxa by mean relative abundance, "
            "the rest as <i>Other</i>; features without a name at this rank as "
            "<i>Unassigned</i>"
            + ("; the reads the profiler could not explain (feature <code>unclassified</code>) "
               "as <i>Unexplained</i>" if unexplained else "")
            + ". Choose another rank above the plot.</p>")
    empty = [s for s in order if totals[s] == 0]
    if empty:  # drawn as an empty bar marked "empty": no share to show
        note += (f'<p class="note">Empty (0 reads, bar marked <i>empty</i>): {len(empty)} '
                 f"sample(s): {esc(', '.join(empty))}.</p>")
    return switch + note + ctx.figure(fig, "composition") + _SWITCH_JS
