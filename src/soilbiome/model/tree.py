"""The phylogenetic tree a feature table carries (Newick text, where it was stored, its hash).

A soilbiome BIOM table stores the ASV tree inside the file, in a dataset biom-format ignores
(:data:`soilbiome.io.biom_layout.TREE_DATASET`); tables written before 2026-12 kept it as BIOM
observation group metadata, which biom-format cannot re-save (biom-format issue 965) and which
is still read. The tree's SHA-256 (of its UTF-8 Newick text) is what a sharing stamp signs.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass


def newick_sha256(newick: str) -> str:
    """SHA-256 (hex) of a Newick text's UTF-8 bytes."""
    return hashlib.sha256(newick.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class FeatureTree:
    """A Newick tree as stored in a table (not parsed: parsing is on demand).

    Attributes
    ----------
    newick : str
        The Newick text, tips named by feature ID.
    location : str
        HDF5 path it was read from (``soilbiome/phylogeny``, or the legacy
        ``observation/group-metadata/phylogeny``).
    """

    newick: str
    location: str

    @property
    def sha256(self) -> str:
        """SHA-256 of the Newick text (what the stamp signs)."""
        return newick_sha256(self.newick)
