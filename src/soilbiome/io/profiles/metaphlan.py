"""MetaPhlAn profile (versions 3 and 4): relative abundances per clade.

``#`` comment lines, the header ``#clade_name  NCBI_tax_id  relative_abundance
additional_species``, then one row per clade at every rank (``k__Bacteria|p__...|s__...|t__...``)
with its abundance in percent, *cumulative* over the clade. The value directly at a clade is its
abundance minus that of the clades directly under it; the taxon is the last non-empty ID of
``NCBI_tax_id``. ``UNCLASSIFIED`` (MetaPhlAn 4) is the unclassified share. Checked: the top-level
clades sum to 100 (within 1 point) and no clade's children sum to more than the clade (within
:data:`TOLERANCE`). Values are fractions of 1 and the table is marked ``relative``: MetaPhlAn
estimates abundance, not read counts. Every clade keeps the abundance directly at it, however
small; what the file leaves unplaced (100% minus all it lists) is
:attr:`~soilbiome.io.profiles.model.Profile.unassigned`, never spread over the other taxa.
"""

from __future__ import annotations

from pathlib import Path

from soilbiome.io.profiles.model import (
    FLOAT_NOISE,
    RELATIVE,
    Profile,
    ProfileError,
    parse_number,
    parse_taxid,
    relative_remainder,
)
from soilbiome.io.profiles.tabular import header_rows

COLUMNS = ("clade_name", "NCBI_tax_id", "relative_abundance")
#: MetaPhlAn prints five decimals and MetaPhlAn 4's clade sums drift a little: children may
#: overshoot their clade by this much (percentage points) plus :data:`RELATIVE_TOLERANCE`.
TOLERANCE = 0.01
RELATIVE_TOLERANCE = 0.01


def read_metaphlan(path: Path, sample: str) -> Profile:
    """Read a MetaPhlAn profile."""
    profile = Profile(sample=sample, profiler="metaphlan", path=path, value_kind=RELATIVE)
    clades: dict[str, tuple[int, str, float]] = {}
    top = 0.0
    for line, row in header_rows(path, COLUMNS, "MetaPhlAn", comment="#", header_prefix="#"):
        name = row["clade_name"]
        abundance = parse_number(path, line, "relative_abundance", row["relative_abundance"])
        if abundance > 100 + TOLERANCE:
            raise ProfileError(path, line, f"relative_abundance {abundance} is above 100")
        if name.upper() in ("UNCLASSIFIED", "UNKNOWN"):
            profile.unclassified += abundance / 100.0
            top += abundance
            continue
        if not name or "__" not in name.split("|")[-1]:
            raise ProfileError(path, line, f"clade_name '{name}' is not a k__..|s__.. path")
        ids = [t.strip() for t in row["NCBI_tax_id"].split("|")]
        known = [t for t in ids if t]
        if not known:
            raise ProfileError(path, line, f"clade {name} has no NCBI taxon ID")
        taxid = parse_taxid(path, line, "NCBI_tax_id", known[-1])
        if name in clades:
            raise ProfileError(path, line, f"clade {name} already on line {clades[name][0]}")
        clades[name] = (line, taxid, abundance)
        if "|" not in name:
            top += abundance
        profile.names.setdefault(taxid, name.split("|")[-1][3:])
        letters = {"k": "domain", "p": "phylum", "c": "class", "o": "order", "f": "family",
                   "g": "genus", "s": "species"}
        if known[-1] == ids[-1] or taxid not in profile.lineages:
            profile.lineages[taxid] = {letters[part[0]]: part[3:] for part in name.split("|")
                                       if part[:1] in letters and part[1:3] == "__"}
    if not clades and not profile.unclassified:
        raise ProfileError(path, None, "no clade rows")
    if abs(top - 100.0) > 1.0:
        raise ProfileError(path, None, f"top-level clades sum to {top:g}%, not 100%")
    below: dict[str, float] = dict.fromkeys(clades, 0.0)
    for name, (_line, _taxid, abundance) in clades.items():
        # the nearest listed ancestor (MetaPhlAn 4 omits some intermediate clades)
        parts = name.split("|")
        parent = next((p for p in ("|".join(parts[:i]) for i in range(len(parts) - 1, 0, -1))
                       if p in clades), None)
        if parent is not None:
            below[parent] += abundance
    for name, (line, taxid, abundance) in clades.items():
        direct = abundance - below[name]
        if direct < -(TOLERANCE + RELATIVE_TOLERANCE * abundance):
            raise ProfileError(path, line, f"clades under {name} sum to {below[name]:g}%, more "
                               f"than its {abundance:g}% (abundances do not add up)")
        # every clade keeps what the file puts directly at it, however small: a leaf its whole
        # abundance (MetaPhlAn lists species down to 0.00001%), an internal clade what its
        # listed children leave over (``direct`` above float noise; children that overshoot
        # their clade within the tolerance leave it nothing)
        if direct > FLOAT_NOISE:
            profile.add(taxid, direct / 100.0)
    # what the file places nowhere stays visible as ``unassigned``; nothing is rescaled
    profile.unassigned = relative_remainder(path, sum(profile.values.values())
                                            + profile.unclassified)
    return profile
