"""Shotgun runs with several profilers (``--shotgun_profiler sylph,kraken2``): the tables side
by side, per sample the share each profiler explained and what each found at species level.

Profilers see different parts of a soil sample (Kraken2 classifies reads by k-mers against its
database, sylph estimates which genomes of its catalogue are present by containment ANI), so
their tables are shown next to each other, never merged: each with its own processing context
(profiler, version, database and its SHA-256).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from soilbiome.io.biom_reader import read_table
from soilbiome.report.context import ReportContext, section
from soilbiome.report.html import esc, html_table
from soilbiome.taxonomy.taxdump import UNCLASSIFIED_ID

#: Species shown per profiler and sample.
TOP = 5


def _shares(table) -> pd.DataFrame:  # noqa: ANN001 - FeatureTable
    """Features x samples, each column as shares of its total."""
    counts = np.asarray(table.counts.toarray(), dtype=float)  # samples x features
    totals = counts.sum(axis=1, keepdims=True)
    shares = np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)
    return pd.DataFrame(shares.T, index=list(table.feature_ids), columns=list(table.sample_ids))


def _label(table, feature: str) -> str:  # noqa: ANN001
    row = table.taxonomy.loc[feature] if feature in table.taxonomy.index else None
    if row is None:
        return feature
    for rank in ("species", "genus", "family", "order", "class", "phylum", "domain"):
        if str(row.get(rank, "") or ""):
            return f"{row[rank]}" if rank == "species" else f"{row[rank]} ({rank})"
    return feature


def _labels(table, features) -> dict[str, str]:  # noqa: ANN001
    """Each feature's name at its deepest named rank; a name that several features share
    (two MAGs of one genus without a species name, sylph's ``genome:<MAG>`` features) gets
    its feature ID, so that no two taxa of a row read alike."""
    labels = {f: _label(table, f) for f in features}
    seen = pd.Series(list(labels.values())).value_counts()
    return {f: (f"{name} [{f}]" if seen[name] > 1 and name != f else name)
            for f, name in labels.items()}


@section("profilers", "Profilers side by side", position=36)
def profilers_side_by_side(ctx: ReportContext) -> str | None:
    """Each profiler's share explained and top taxa, per sample (shotgun, several tables)."""
    others = [Path(p) for p in (ctx.inputs.get("also_biom") or ())]
    if not others:
        return None
    tables = [(ctx.table, ctx.biom)] + [(read_table(p), p) for p in others]
    heads = []
    for table, path in tables:
        c = table.context
        heads.append(f"<li><b>{esc(c.method or path.name)}</b> {esc(c.method_version)}: "
                     f"<code>{esc(path.name)}</code>, database {esc(c.reference)} "
                     f"{esc(c.reference_version)} (sha256 {esc(c.reference_sha256[:12])}…), "
                     f"{esc(c.taxonomy_system)} names, values: {esc(c.value_kind)}</li>")
    labels = [_labels(table, table.feature_ids) for table, _ in tables]
    rows = []
    for sample in ctx.order:
        row: dict[str, str] = {"sample": sample}
        for (table, path), label in zip(tables, labels, strict=True):
            name = table.context.method or path.stem
            if sample not in table.sample_ids:
                row[f"{name}: profiled"] = "not in table"
                continue
            shares = _shares(table)[sample]
            unexplained = float(shares.get(UNCLASSIFIED_ID, 0.0))
            row[f"{name}: profiled"] = f"{1 - unexplained:.1%}"
            row[f"{name}: unexplained"] = f"{unexplained:.1%}"
            top = shares.drop(UNCLASSIFIED_ID, errors="ignore").sort_values(ascending=False)
            row[f"{name}: top taxa (share of reads)"] = "; ".join(
                f"{label[f]} {v:.1%}" for f, v in top.head(TOP).items() if v > 0)
        rows.append(row)
    body = ("<p>One table per profiler, never merged: each explains a different part of the "
            "sample and names taxa in its own database's taxonomy. <em>Profiled</em> is the "
            "share of the reads the profiler assigned (Kraken2: classified reads; sylph: the "
            "share of the sample's k-mers its genomes explain); <em>unexplained</em> is the "
            "rest, kept in each table as the feature <code>unclassified</code>.</p>"
            f"<ul>{''.join(heads)}</ul>")
    return body + html_table(pd.DataFrame(rows))
