"""MEGAN6 / MALT ``rma2info -c2c Taxonomy`` output: taxon ID and read count per line."""

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


def read_megan6(path: Path, sample: str) -> Profile:
    """Read a MEGAN6 rma2info taxon-to-count file (negative IDs are MEGAN's no-hit classes)."""
    profile = Profile(sample=sample, profiler="megan6", path=path, value_kind=COUNTS)
    n = 0
    for line, text in numbered_lines(path):
        if not text.strip() or text.startswith("#"):
            continue
        fields = text.split("\t")
        if len(fields) != 2:
            raise ProfileError(path, line, f"{len(fields)} tab-separated fields; rma2info "
                               "-c2c Taxonomy has 2 (taxon ID, reads)")
        reads = parse_number(path, line, "reads", fields[1].strip(), integer=True)
        n += 1
        raw = fields[0].strip()
        if raw.startswith("-") and raw[1:].isdigit():
            profile.unclassified += reads  # MEGAN: -1 no hits, -2 unassigned, -3 low complexity
            continue
        taxid = parse_taxid(path, line, "taxon ID", raw)
        if taxid == "0":
            profile.unclassified += reads
        else:
            profile.add(taxid, reads)
    if not n:
        raise ProfileError(path, None, "no taxon lines")
    return profile
