"""DIAMOND taxonomic classification (``diamond blastx --outfmt 102``): one line per read.

Three tab-separated columns: read ID, taxon ID (0 = unclassified), e-value. Reads are counted
per taxon.
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


def read_diamond(path: Path, sample: str) -> Profile:
    """Read DIAMOND ``--outfmt 102`` output."""
    profile = Profile(sample=sample, profiler="diamond", path=path, value_kind=COUNTS)
    n = 0
    for line, text in numbered_lines(path):
        if not text.strip():
            continue
        fields = text.split("\t")
        if len(fields) != 3:
            raise ProfileError(path, line, f"{len(fields)} tab-separated fields; DIAMOND "
                               "--outfmt 102 has 3 (read ID, taxon ID, e-value)")
        if not fields[0].strip():
            raise ProfileError(path, line, "empty read ID")
        taxid = parse_taxid(path, line, "taxon ID", fields[1])
        parse_number(path, line, "e-value", fields[2].strip())
        n += 1
        if taxid == "0":
            profile.unclassified += 1
        else:
            profile.add(taxid, 1.0)
    if not n:
        raise ProfileError(path, None, "no read lines")
    return profile
