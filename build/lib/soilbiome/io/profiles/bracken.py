"""Bracken output (``bracken -o``): one row per taxon at the estimation level.

Columns ``name, taxonomy_id, taxonomy_lvl, kraken_assigned_reads, added_reads, new_est_reads,
fraction_total_reads``; the count is ``new_est_reads``. Checked: ``new_est_reads`` equals
``kraken_assigned_reads + added_reads`` and each fraction equals its share of the estimated
reads (to Bracken's 5 decimals). Bracken does not report unclassified reads.
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

COLUMNS = ("name", "taxonomy_id", "taxonomy_lvl", "kraken_assigned_reads", "added_reads",
           "new_est_reads", "fraction_total_reads")


def read_bracken(path: Path, sample: str) -> Profile:
    """Read a Bracken output file."""
    profile = Profile(sample=sample, profiler="bracken", path=path, value_kind=COUNTS)
    rows = []
    for line, row in header_rows(path, COLUMNS, "Bracken"):
        taxid = parse_taxid(path, line, "taxonomy_id", row["taxonomy_id"])
        kraken = parse_number(path, line, "kraken_assigned_reads", row["kraken_assigned_reads"],
                              integer=True)
        added = parse_number(path, line, "added_reads", row["added_reads"], integer=True,
                             allow_negative=True)
        new = parse_number(path, line, "new_est_reads", row["new_est_reads"], integer=True)
        fraction = parse_number(path, line, "fraction_total_reads", row["fraction_total_reads"])
        if new != kraken + added:
            raise ProfileError(path, line, f"new_est_reads {new:g} is not kraken_assigned_reads "
                               f"{kraken:g} + added_reads {added:g}")
        rows.append((line, taxid, new, fraction))
        profile.names.setdefault(taxid, row["name"])
        profile.add(taxid, new)
    if not rows:
        raise ProfileError(path, None, "no taxon rows")
    total = sum(new for _, _, new, _ in rows)
    for line, _taxid, new, fraction in rows:
        expected = new / total if total else 0.0
        if abs(expected - fraction) > 0.000051:
            raise ProfileError(path, line, f"fraction_total_reads {fraction} does not match "
                               f"{new:g} of {total:g} estimated reads ({expected:.5f})")
    return profile
