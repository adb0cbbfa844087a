"""The error of :mod:`soilbiome.taxonomy`: a malformed or inconsistent taxonomy input."""

from __future__ import annotations

from soilbiome.errors import InputError


class TaxonomyError(InputError):
    """A classifier output or lineage file is malformed or inconsistent."""
