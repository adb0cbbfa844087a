"""Kraken2 report (``kraken2 --report``), also the ``kreport`` layout of Centrifuge and Bracken.

Tab-separated, no header; 6 columns (percentage of all reads in the clade, reads in the clade,
reads directly at the taxon, rank code, taxon ID, indented name) or 8 with
``--report-minimizer-data`` (two minimizer columns before the rank code). The line with taxon
ID 0 holds the unclassified reads. Every line is checked: field count, numbers, rank code,
direct <= clade, and the percentage against the clade count (a report whose percentages do not
match its counts was edited or truncated).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from soilbiome.io.profiles.model import (
    COUNTS,
    Profile,
    ProfileError,
    numbered_lines,
    parse_number,
    parse_taxid,
)

_RANK_CODE = re.compile(r"^(?:[A-Z]\d*|\d+|-|)$")
#: Percentages are printed with two decimals.
_PERCENT_TOLERANCE = 0.0101


@dataclass(frozen=True)
class ReportLine:
    """One line of a Kraken-style report."""

    line: int
    percent: float
    clade_reads: int
    direct_reads: int
    rank_code: str
    taxid: str
    name: str
    depth: int


def read_report_lines(path: Path, profiler: str = "kraken2") -> list[ReportLine]:
    """Parse and check every line of a Kraken-style report.

    Raises
    ------
    ProfileError
        Naming the file, the line and the problem.
    """
    rows: list[ReportLine] = []
    width = None
    for number, text in numbered_lines(path):
        if not text.strip():
            continue
        fields = text.split("\t")
        if width is None:
            if len(fields) not in (6, 8):
                raise ProfileError(
                    path, number,
                    f"{len(fields)} tab-separated fields; a {profiler} report has 6 "
                    "(percent, clade reads, direct reads, rank, taxon ID, name) or 8",
                )
            width = len(fields)
        elif len(fields) != width:
            raise ProfileError(path, number,
                               f"{len(fields)} fields where the first line has {width}")
        percent = parse_number(path, number, "percent", fields[0].strip())
        if percent > 100.0:
            raise ProfileError(path, number, f"column 'percent': {percent} is above 100")
        clade = int(parse_number(path, number, "clade reads", fields[1].strip(), integer=True))
        direct = int(parse_number(path, number, "direct reads", fields[2].strip(), integer=True))
        if direct > clade:
            raise ProfileError(path, number,
                               f"{direct} reads directly at the taxon but {clade} in its clade")
        rank = fields[width - 3].strip()
        if not _RANK_CODE.match(rank):
            raise ProfileError(path, number, f"column 'rank': '{rank}' is not a rank code")
        taxid = parse_taxid(path, number, "taxon ID", fields[width - 2])
        raw_name = fields[width - 1]
        name = raw_name.lstrip(" ")
        if not name:
            raise ProfileError(path, number, "column 'name' is empty")
        rows.append(ReportLine(number, percent, clade, direct, rank, taxid, name,
                               (len(raw_name) - len(name)) // 2))
    if not rows:
        raise ProfileError(path, None, f"no lines: an empty {profiler} report")
    total = sum(r.direct_reads for r in rows)
    for row in rows if total else ():  # an empty sample's report has nothing to check
        expected = 100.0 * row.clade_reads / total if total else 0.0
        if abs(expected - row.percent) > _PERCENT_TOLERANCE:
            raise ProfileError(
                path, row.line,
                f"percentage {row.percent:.2f} does not match {row.clade_reads} of "
                f"{total} reads ({expected:.2f}%)",
            )
    return rows


#: Kraken rank codes -> harmonised ranks (codes with a number, e.g. ``S1``, are unranked).
RANK_CODES = {"D": "domain", "K": "kingdom", "P": "phylum", "C": "class", "O": "order",
              "F": "family", "G": "genus", "S": "species"}


def read_kraken2(path: Path, sample: str, profiler: str = "kraken2") -> Profile:
    """Read a Kraken-style report into a :class:`Profile` of direct read counts.

    The report's own tree (indentation) and rank codes give each taxon a lineage, used for
    taxa missing from the taxonomy given to ``soilbiome import``.
    """
    profile = Profile(sample=sample, profiler=profiler, path=path, value_kind=COUNTS)
    stack: list[tuple[int, dict[str, str]]] = []
    for row in read_report_lines(path, profiler):
        if row.taxid == "0":
            profile.unclassified += row.direct_reads
            continue
        while stack and stack[-1][0] >= row.depth:
            stack.pop()
        lineage = dict(stack[-1][1]) if stack else {}
        rank = RANK_CODES.get(row.rank_code)
        if rank:
            lineage[rank] = row.name.strip().replace(" ", "_")
        stack.append((row.depth, lineage))
        profile.lineages[row.taxid] = lineage
        if row.direct_reads:
            profile.add(row.taxid, float(row.direct_reads))
        profile.names.setdefault(row.taxid, row.name)
    return profile
