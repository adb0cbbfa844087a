"""The stamp's on-disk format: constants, the sidecar name, and h5py access to stamp fields.

A stamp has three parts:

1. per-sample metadata columns (``sharing_agreement_id``, ``sharing_license``,
   ``provider_country``, ``abs_ircc``), written in the layout biom-format uses for sample
   metadata, so ``biom.load_table`` reads them and ``to_hdf5`` keeps them;
2. the root attribute ``x-sharing-stamp`` (compact JSON), which a biom round-trip drops;
3. the sidecar ``<file>.sharing.dsse.json``: an in-toto Statement v1 (subject = file name and
   SHA-256 of the stamped file, predicate = the stamp) in a DSSE envelope signed with Ed25519.

The stamp's ``tree`` field signs the features' phylogenetic tree on its own (HDF5 location and
SHA-256 of its Newick text, or null for a table without one; rule D10), so a tree that was
edited, dropped by a biom-format re-save or added later is named as such.

Signing lives in :mod:`soilbiome.sharing.stamp`, rules D1..D10 in :mod:`soilbiome.sharing.verify`,
D7/D9 (RO-Crate) in :mod:`soilbiome.sharing.crate_check`, merge checks in
:mod:`soilbiome.sharing.merge_check`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h5py

from soilbiome.io.biom_layout import BiomError
from soilbiome.io.biom_reader import check_table
from soilbiome.model.tree import FeatureTree
from soilbiome.sharing.errors import StampError

STAMP_ATTR = "x-sharing-stamp"
SIDECAR_SUFFIX = ".sharing.dsse.json"
STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "https://w3id.org/soilbiome/sharing-stamp/v0.1"
STAMP_VERSION = "0.1"
COL_AGREEMENT, COL_LICENSE, COL_COUNTRY, COL_IRCC = (
    "sharing_agreement_id", "sharing_license", "provider_country", "abs_ircc"
)
SAMPLE_COLUMNS = (COL_AGREEMENT, COL_LICENSE, COL_COUNTRY, COL_IRCC)
#: MIxS slots that ENA checklist ERC000022 (GSC MIxS soil) makes mandatory (rule D8, ENA part).
ERC000022_MANDATORY = (
    "collection_date", "geo_loc_name", "lat_lon", "env_broad_scale", "env_local_scale",
    "env_medium", "depth", "elev",
)


def sidecar_path(path: str | Path) -> Path:
    """``<file>.sharing.dsse.json`` next to ``path``."""
    p = Path(path)
    return p.with_name(p.name + SIDECAR_SUFFIX)


def canonical_json(data: Any) -> str:
    """Compact, key-sorted JSON (the form embedded in the BIOM root attribute)."""
    return json.dumps(data, separators=(",", ":"), sort_keys=True, ensure_ascii=False,
                      allow_nan=False)


# -- BIOM access with h5py --------------------------------------------------------------------
def _decode(values: Any) -> list[str]:
    return [v.decode("utf-8") if isinstance(v, bytes) else str(v) for v in values]


@dataclass
class BiomInfo:
    """What the stamp rules need from a BIOM file, read without loading the matrix."""

    sample_ids: list[str]
    sample_metadata: dict[str, list[str]]
    stamp_text: str | None
    tree: FeatureTree | None = None
    attributes: dict[str, str] = field(default_factory=dict)


def read_biom_info(path: str | Path, columns: Sequence[str] | None = None) -> BiomInfo:
    """Read sample ids, sample metadata columns and the raw stamp attribute of a BIOM 2.1 file.

    The table goes through the one validated reader's streaming check
    (:func:`soilbiome.io.biom_reader.check_table`, memory flat in the number of stored
    values): a table that fails it has no stamp worth reading.

    Raises
    ------
    StampError
        When the table fails validation (the message names the file and the problems).
    """
    try:
        table = check_table(path)
    except BiomError as exc:
        raise StampError(str(exc)) from None
    md: dict[str, list[str]] = {}
    for key in table.sample_metadata.columns:
        name = str(key).replace("@@SLASH@@", "/")
        if columns is not None and name not in columns:
            continue
        md[name] = [str(v) for v in table.sample_metadata[key].tolist()]
    return BiomInfo(list(table.sample_ids), md, table.attributes.get(STAMP_ATTR), table.tree,
                    dict(table.attributes))


def _write_sample_columns(f: h5py.File, values: dict[str, list[str]]) -> None:
    grp = f.require_group("sample/metadata")
    for name, column in values.items():
        if name in grp:
            del grp[name]
        grp.create_dataset(name, data=[v.encode("utf-8") for v in column],
                           dtype=h5py.string_dtype("utf-8"))
