"""KrakenUniq report (``krakenuniq --report-file``).

``#`` comment lines, then the header ``%  reads  taxReads  kmers  dup  cov  taxID  rank
taxName``; the count is ``taxReads`` (reads directly at the taxon); ``taxID`` 0 is unclassified.
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

COLUMNS = ("%", "reads", "taxReads", "kmers", "dup", "cov", "taxID", "rank", "taxName")


def read_krakenuniq(path: Path, sample: str) -> Profile:
    """Read a KrakenUniq report."""
    profile = Profile(sample=sample, profiler="krakenuniq", path=path, value_kind=COUNTS)
    n = 0
    for line, row in header_rows(path, COLUMNS, "KrakenUniq", comment="#"):
        n += 1
        taxid = parse_taxid(path, line, "taxID", row["taxID"])
        clade = parse_number(path, line, "reads", row["reads"], integer=True)
        direct = parse_number(path, line, "taxReads", row["taxReads"], integer=True)
        parse_number(path, line, "%", row["%"])
        if direct > clade:
            raise ProfileError(path, line, f"taxReads {direct:g} exceeds reads {clade:g}")
        if not row["taxName"]:
            raise ProfileError(path, line, "column 'taxName' is empty")
        if taxid == "0":
            profile.unclassified += direct
        elif direct:
            profile.add(taxid, direct)
        profile.names.setdefault(taxid, row["taxName"])
    if not n:
        raise ProfileError(path, None, "no taxon rows")
    return profile
