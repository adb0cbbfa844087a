"""What a soilbiome BIOM 2.1 table holds: names shared by the builder, reader and validator."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from soilbiome.errors import InputError
from soilbiome.model.samplesheet import MIXS_REQUIRED
from soilbiome.taxonomy.lineage import RANK_PREFIXES, RANKS

#: BIOM table type of an ASV count table (biom-format's name for a feature count table).
TABLE_TYPE = "OTU table"
#: Observation metadata every soilbiome BIOM carries.
REQUIRED_OBSERVATION_METADATA: tuple[str, ...] = ("taxonomy", "sequence")
#: ... and a taxon table (root attribute ``soilbiome:marker`` = ``shotgun``: shotgun runs and
#: imported profiles, whose features are taxa without a sequence).
REQUIRED_TAXON_METADATA: tuple[str, ...] = ("taxonomy",)
#: Sample metadata every soilbiome BIOM carries (the MIxS soil fields of the samplesheet).
REQUIRED_SAMPLE_METADATA: tuple[str, ...] = MIXS_REQUIRED
#: Samplesheet columns that are not sample metadata.
NON_METADATA_COLUMNS = frozenset({"sample", "fastq_1", "fastq_2", "single_end"})
#: Greengenes rank prefixes used in the BIOM ``taxonomy`` list, one per rank of RANKS.
TAXONOMY_PREFIXES: tuple[str, ...] = tuple(RANK_PREFIXES[rank] for rank in RANKS)
#: Where soilbiome stores the features' Newick tree: a scalar UTF-8 string dataset outside the
#: BIOM 2.1 groups, which biom-format ignores on reading (so ``biom convert``, ``subset-table``
#: and ``Table.to_hdf5`` work) and drops on re-saving. Attributes: ``data_type = "newick"``,
#: ``sha256`` (of the UTF-8 text).
TREE_DATASET = "soilbiome/phylogeny"
#: Where tables written before 2026-12 kept it: BIOM observation group metadata, which
#: biom-format reads but cannot write back (biom-format issue 965). Read, never written.
LEGACY_TREE_DATASET = "observation/group-metadata/phylogeny"
#: At most this many IDs are named in one problem message.
SHOW = 5


class BiomError(InputError):
    """Inputs of a BIOM build are inconsistent, or a BIOM table is invalid.

    ``problems`` lists each problem found (without the file name), for ``biom validate``.
    """

    def __init__(self, message: str, *, location: str | None = None,
                 problems: Sequence[str] | None = None) -> None:
        self.problems = list(problems) if problems is not None else [message]
        super().__init__(message, location=location)


def name_some(ids: Sequence[str] | set[str]) -> str:
    """At most :data:`SHOW` IDs, comma-separated, with how many more there are."""
    ordered = sorted(ids) if isinstance(ids, set) else list(ids)
    shown = ", ".join(ordered[:SHOW])
    return shown + (f" (and {len(ordered) - SHOW} more)" if len(ordered) > SHOW else "")


def decode(values: np.ndarray) -> list[str]:
    """HDF5 strings (bytes or str) as a list of str; invalid UTF-8 raises ``ValueError``."""
    return [v.decode("utf-8") if isinstance(v, bytes) else str(v) for v in values]


def attr_text(value: object) -> str:
    """An HDF5 attribute value as text (bytes decoded, 0-d arrays unwrapped)."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, np.ndarray):
        if value.shape == ():
            return attr_text(value.item())
        return ",".join(attr_text(v) for v in value.tolist())
    return str(value)
