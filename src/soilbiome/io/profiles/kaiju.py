"""Kaiju table (``kaiju2table``): ``file, percent, reads, taxon_id, taxon_name``.

Rows with ``taxon_id`` ``NA`` are ``unclassified`` (reads Kaiju could not classify: the
profile's unclassified reads) or ``cannot be assigned to a ...`` (reads Kaiju classified, but
above the table's rank, so on no taxon of the table: the profile's
:attr:`~soilbiome.io.profiles.model.Profile.unassigned` reads, kept as the feature
``unassigned``). Any other ``NA`` row is refused. Each percentage must match its share of all
reads in the file.
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

COLUMNS = ("file", "percent", "reads", "taxon_id", "taxon_name")


def read_kaiju(path: Path, sample: str) -> Profile:
    """Read a kaiju2table file."""
    profile = Profile(sample=sample, profiler="kaiju", path=path, value_kind=COUNTS)
    rows = []
    for line, row in header_rows(path, COLUMNS, "Kaiju"):
        percent = parse_number(path, line, "percent", row["percent"])
        reads = parse_number(path, line, "reads", row["reads"], integer=True)
        rows.append((line, percent, reads))
        if row["taxon_id"] == "NA":
            name = row["taxon_name"].strip().lower()
            if name == "unclassified":
                profile.unclassified += reads
            elif name.startswith("cannot be assigned"):
                profile.unassigned += reads
            else:
                raise ProfileError(path, line, f"taxon_id NA with taxon_name "
                                   f"'{row['taxon_name']}' (expected 'unclassified' or "
                                   "'cannot be assigned to a ...')")
            continue
        taxid = parse_taxid(path, line, "taxon_id", row["taxon_id"])
        profile.add(taxid, reads)
        profile.names.setdefault(taxid, row["taxon_name"])
    if not rows:
        raise ProfileError(path, None, "no taxon rows")
    total = sum(r for _, _, r in rows)
    for line, percent, reads in rows:
        expected = 100.0 * reads / total if total else 0.0
        if abs(expected - percent) > 0.001 + 1e-4 * expected:
            raise ProfileError(path, line, f"percent {percent} does not match {reads:g} of "
                               f"{total:g} reads in the file ({expected:.6f})")
    return profile
