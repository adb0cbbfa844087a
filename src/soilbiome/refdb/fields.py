"""Checks of the fields a database sheet row is made of, shared by ``refdb add`` and the
catalogue: the reference's name, its marker (against its format) and its licence (SPDX).

Each check returns the canonical spelling or raises :class:`~soilbiome.errors.InputError`
without a location; the caller adds the file, line or entry it is about.
"""

from __future__ import annotations

import re

from soilbiome.errors import InputError

#: Markers a reference can be for (amplicon regions, shotgun metagenomes, host genomes); the
#: spelling written into the sheet is the one given here, whatever the case typed.
AMPLICON_MARKERS = ("16S", "18S", "23S", "28S", "12S", "ITS", "ITS1", "ITS2", "COI", "rbcL",
                    "trnL", "nifH")
MARKERS = (*AMPLICON_MARKERS, "shotgun", "host")
#: Markers each format may carry: a Kraken2 database is for shotgun reads or, for the 16S
#: Kraken2 builds (SILVA, RDP, Greengenes), an amplicon marker.
_FORMAT_MARKERS = {
    "sintax": AMPLICON_MARKERS,
    "dada2": AMPLICON_MARKERS,
    "kraken2": ("shotgun", *AMPLICON_MARKERS),
    "host_fasta": ("host",),
    "sylph": ("shotgun",),
}
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,99}$")


def check_name(name: str) -> str:
    """A reference name: letters, digits, ``. _ + -``, starting with a letter or digit (it is
    passed as ``--refdb NAME`` and written into file names)."""
    if not _NAME.match(name or ""):
        raise InputError(f"'{name}' is not a usable reference name (letters, digits and "
                         ". _ + - only, starting with a letter or digit, at most 100)")
    return name


def check_marker(marker: str, fmt: str) -> str:
    """The canonical spelling of ``marker``, refused when unknown or unfit for ``fmt``."""
    canonical = {m.lower(): m for m in MARKERS}.get((marker or "").strip().lower())
    if canonical is None:
        raise InputError(f"unknown marker '{marker}' (one of {', '.join(MARKERS)})")
    allowed = _FORMAT_MARKERS.get(fmt)
    if allowed is not None and canonical not in allowed:
        raise InputError(f"marker '{canonical}' does not fit format '{fmt}' (expected "
                         f"{', '.join(allowed)})")
    return canonical


def check_licence(expression: str) -> str:
    """The normalised SPDX expression (``LicenseRef-...`` accepted), or an error saying why."""
    from soilbiome.sharing.spdx import LicenceError, parse

    try:
        return parse(expression).expression
    except LicenceError as exc:
        raise InputError(f"licence '{expression}': {exc}") from None
