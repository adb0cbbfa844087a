"""KMCP profile (``kmcp profile``): one row per reference genome.

Header ``ref percentage coverage score chunksFrac chunksRelDepth chunksRelDepthStd reads ureads
hicureads refsize refname taxid rank taxname taxpath taxpathsn``; the count is ``reads`` at the
row's ``taxid``. KMCP does not report unclassified reads.
"""

from __future__ import annotations

from pathlib import Path

from soilbiome.io.profiles.model import (
    COUNTS,
    Profile,
    ProfileError,
    parse_number,
    parse_taxid,
)
from soilbiome.io.profiles.tabular import header_rows

COLUMNS = ("ref", "percentage", "coverage", "score", "chunksFrac", "chunksRelDepth",
           "chunksRelDepthStd", "reads", "ureads", "hicureads", "refsize", "refname", "taxid",
           "rank", "taxname", "taxpath", "taxpathsn")


def read_kmcp(path: Path, sample: str) -> Profile:
    """Read a KMCP profile."""
    profile = Profile(sample=sample, profiler="kmcp", path=path, value_kind=COUNTS)
    n = 0
    # KMCP leaves the trailing empty columns (rank .. taxpathsn) out when taxa have no names
    for line, row in header_rows(path, COLUMNS, "KMCP", min_fields=COLUMNS.index("taxid") + 1):
        n += 1
        percentage = parse_number(path, line, "percentage", row["percentage"])
        if percentage > 100:
            raise ProfileError(path, line, f"percentage {percentage} is above 100")
        reads = parse_number(path, line, "reads", row["reads"], integer=True)
        taxid = parse_taxid(path, line, "taxid", row["taxid"])
        profile.add(taxid, reads)
        profile.names.setdefault(taxid, row["taxname"] or row["ref"])
    if not n:
        raise ProfileError(path, None, "no reference rows: an empty KMCP profile")
    return profile
