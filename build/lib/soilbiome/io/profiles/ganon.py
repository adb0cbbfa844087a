"""ganon report (``ganon report``, ``.tre``): one row per taxon at the reported ranks.

Nine tab-separated columns: ``rank, target, lineage, name, unique, shared, children,
cumulative, cumulative_perc``; ``lineage`` is the ``|``-separated taxon IDs from the root. Reads
directly at a taxon are its ``cumulative`` minus the ``cumulative`` of the reported taxa
directly under it (ganon reports only some ranks, so reads of unreported lower nodes stay with
the lowest reported ancestor). Checked: ``cumulative = unique + shared + children``, no taxon's
reported children hold more reads than it, and percentages are 0-100.
"""

from __future__ import annotations

from pathlib import Path

from soilbiome.io.profiles.model import (
    COUNTS,
    Profile,
    ProfileError,
    numbered_lines,
    parse_number,
    parse_taxid,
)
from soilbiome.taxonomy.taxdump import harmonised_rank

WIDTH = 9


def read_ganon(path: Path, sample: str) -> Profile:
    """Read a ganon ``.tre`` report."""
    profile = Profile(sample=sample, profiler="ganon", path=path, value_kind=COUNTS)
    rows: dict[str, tuple[int, list[str], float, float]] = {}
    ranks: dict[str, str] = {}
    percents = []
    for line, text in numbered_lines(path):
        if not text.strip():
            continue
        f = text.split("\t")
        if len(f) != WIDTH:
            raise ProfileError(path, line, f"{len(f)} tab-separated fields; a ganon report has "
                               f"{WIDTH} (rank, target, lineage, name, unique, shared, children, "
                               "cumulative, cumulative_perc)")
        unique, shared, children, cumulative = (
            parse_number(path, line, c, f[i].strip(), integer=True)
            for i, c in ((4, "unique"), (5, "shared"), (6, "children"), (7, "cumulative")))
        percent = parse_number(path, line, "cumulative_perc", f[8].strip())
        percents.append((line, cumulative, percent))
        if f[0].strip() == "unclassified":
            profile.unclassified += cumulative
            continue
        if cumulative != unique + shared + children:
            raise ProfileError(path, line, f"cumulative {cumulative:g} is not unique + shared + "
                               f"children ({unique + shared + children:g})")
        taxid = parse_taxid(path, line, "target", f[1])
        lineage = [t for t in f[2].strip().split("|") if t]
        if not lineage or lineage[-1] != taxid:
            raise ProfileError(path, line, f"lineage '{f[2]}' does not end in the target {taxid}")
        if taxid in rows:
            raise ProfileError(path, line, f"taxon {taxid} already on line {rows[taxid][0]}")
        rows[taxid] = (line, lineage, cumulative, 0.0)
        profile.names[taxid] = f[3].strip()
        ranks[taxid] = f[0].strip()
    if not rows and not profile.unclassified:
        raise ProfileError(path, None, "no taxon rows")
    for taxid, (_line, lineage, _c, _) in rows.items():
        own = {}
        for node in lineage:
            rank = harmonised_rank(ranks.get(node, "")) if node in rows else None
            if rank:
                own[rank] = profile.names[node].replace(" ", "_")
        profile.lineages[taxid] = own
    below: dict[str, float] = dict.fromkeys(rows, 0.0)
    for _line, lineage, cumulative, _ in rows.values():
        parent = next((t for t in reversed(lineage[:-1]) if t in rows), None)
        if parent is not None:
            below[parent] += cumulative
    for taxid, (line, _lineage, cumulative, _) in rows.items():
        direct = cumulative - below[taxid]
        if direct < 0:
            raise ProfileError(path, line, f"taxa under {taxid} hold {below[taxid]:g} reads, "
                               f"more than its cumulative {cumulative:g}")
        if direct:
            profile.add(taxid, direct)
    # percentages are abundances (corrected for genome size by default), not read shares
    for line, _cumulative, percent in percents:
        if percent > 100.0 + 1e-6:
            raise ProfileError(path, line, f"cumulative_perc {percent} is above 100")
    return profile
