"""Step 7a of ``compare``: the merged BIOM table, stamped with the combined terms and signed.

The stamp has the shape of an input's stamp (so ``check merge``, ``verify``'s integrity rules
and :func:`soilbiome.sharing.integrity.check_integrity` read it) with the combined terms
(:class:`soilbiome.sharing.terms.MergeResult`) in place of one agreement's, plus
``merged_from``: each input's file name, SHA-256, agreement and verification status. The
sidecar is an in-toto statement over the merged file signed by the comparer's key.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pandas as pd

from soilbiome import __version__
from soilbiome.compare.harmonise import Harmonised
from soilbiome.io.atomic import atomic_path, ensure_room
from soilbiome.io.biom_layout import BiomError
from soilbiome.io.biom_validate import validate_biom
from soilbiome.io.biom_writer import hdf5_in_memory, pad_empty_samples
from soilbiome.io.hashing import sha256_file
from soilbiome.io.jsonfile import dumps, write_json
from soilbiome.model.context import CONTEXT_ATTR, ProcessingContext
from soilbiome.model.table import MARKER_ATTR, REGION_ATTR, VALUE_KIND_ATTR
from soilbiome.sharing import dsse
from soilbiome.sharing.keys import keyid_of, load_private_key
from soilbiome.sharing.stamp_format import (
    PREDICATE_TYPE,
    SAMPLE_COLUMNS,
    STAMP_ATTR,
    STAMP_VERSION,
    STATEMENT_TYPE,
    canonical_json,
    sidecar_path,
)
from soilbiome.sharing.terms import MergeResult
from soilbiome.taxonomy.ranks import taxonomy_strings

#: Root attribute naming how features were harmonised.
FEATURES_ATTR = "soilbiome:compare-features"


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and \
        not isinstance(value, (bool, np.bool_))


def _metadata_records(metadata: pd.DataFrame) -> list[dict[str, Any]]:
    """Sample metadata rows for biom-format: numeric columns stay float64 (NaN = missing).

    A column whose values are all numbers or empty (the soil measurements of
    :mod:`soilbiome.model.soil`, typed float64 in every input) is written as numbers, so
    ``--env`` and the soil report read it as the inputs stored it; any other column as text.
    """
    columns: dict[str, list[Any]] = {}
    for c in metadata.columns:
        values = list(metadata[c])
        present = [v for v in values if not (isinstance(v, str) and not v.strip())
                   and v is not None]
        if present and all(_is_number(v) for v in present):
            columns[str(c)] = [float(v) if _is_number(v) else math.nan for v in values]
        else:
            columns[str(c)] = [str(v) for v in values]
    return [{c: col[i] for c, col in columns.items()} for i in range(len(metadata))]


def merged_units(units: Sequence[str | None]) -> str:
    """Union of the inputs' ``soilbiome:sample-units`` (JSON) attributes, as JSON.

    Soil values are stored in one canonical unit per field, so inputs agree; a field whose
    units differ between inputs is left without a unit rather than given a wrong one.
    """
    out: dict[str, str] = {}
    conflict: set[str] = set()
    for raw in units:
        try:
            got = json.loads(raw) if raw else {}
        except ValueError:
            continue
        for name, unit in (got.items() if isinstance(got, dict) else ()):
            if name in out and out[name] != unit:
                conflict.add(name)
            out.setdefault(name, str(unit))
    return dumps({k: v for k, v in sorted(out.items()) if k not in conflict},
                 indent=None, sort_keys=True)


def write_merged_biom(h: Harmonised, out: Path, extra_attributes: dict[str, str],
                      context: ProcessingContext | None = None) -> Path:
    """Write the harmonised table as BIOM 2.1, validated, atomically."""
    from biom import Table

    obs_md = []
    for k, fid in enumerate(h.feature_ids):
        md: dict[str, Any] = {"taxonomy": taxonomy_strings(list(h.taxonomy.loc[fid]))}
        if h.sequences is not None:  # taxa (collapsed) have no sequence
            md["sequence"] = h.sequences[k]
        obs_md.append(md)
    sample_md = _metadata_records(h.sample_metadata.reindex(h.sample_ids))
    table = Table(h.matrix.T.tocsr(), list(h.feature_ids), list(h.sample_ids),
                  observation_metadata=obs_md or None, sample_metadata=sample_md,
                  type="OTU table")
    attrs = {VALUE_KIND_ATTR: h.value_kind, MARKER_ATTR: h.marker, REGION_ATTR: h.region,
             FEATURES_ATTR: h.feature_mode, **extra_attributes}
    if context is not None:
        attrs[CONTEXT_ATTR] = context.to_json()
    with atomic_path(out) as tmp:
        with hdf5_in_memory(tmp) as handle:
            table.to_hdf5(handle, f"soilbiome {__version__} compare", compress=True,
                          creation_date=dt.datetime.now().replace(microsecond=0))
            pad_empty_samples(handle)
            for key, value in attrs.items():
                handle.attrs[key] = value
        problems = validate_biom(tmp, required_sample_metadata=(),
                                 required_observation_metadata=("taxonomy",))
        if problems:
            raise BiomError("the merged table failed validation (nothing written):\n  "
                            + "\n  ".join(problems), location=str(out))
    return out


def build_merged_stamp(merge: MergeResult, inputs: Sequence[dict[str, Any]], n_samples: int,
                       now: dt.datetime, unverified: Sequence[str],
                       context: dict[str, str] | None = None) -> dict[str, Any]:
    """The stamp (predicate) of the merged table."""
    agreement_id = "merge:" + "+".join(str(i.get("agreement_id")) for i in inputs)
    terms = merge.to_terms(source="soilbiome compare", agreement_id=agreement_id)
    return {
        "stamp_version": STAMP_VERSION,
        "agreement_id": agreement_id,
        "agreement_version": None,
        "agreement_sha256": None,
        "license": merge.license,
        "derived_outputs_license": merge.required_output_license or merge.license,
        "metadata_license": None,
        "provider_country": None,
        "ircc": list((merge.abs or {}).get("ircc") or []),
        "terms": terms.to_dict(),
        "merged_from": list(inputs),
        "processing_context": dict(context or {}),
        "unverified_inputs": list(unverified),
        "samples": n_samples,
        "sample_columns": list(SAMPLE_COLUMNS),
        "generated_by": {"name": "soilbiome compare", "version": __version__},
        "run_id": None,
        "stamped_at": now.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def stamp_and_sign(path: Path, stamp: dict[str, Any], key_path: Path | None) -> dict[str, Any]:
    """Embed ``stamp`` in ``path`` and write its sidecar, signed with ``key_path``.

    Returns
    -------
    dict
        ``sha256`` of the stamped file and ``keyid`` (None when unsigned).
    """
    text = canonical_json(stamp)
    ensure_room(path, 2 * len(text.encode("utf-8")) + (1 << 20))  # HDF5 must not fail mid-write
    with h5py.File(path, "r+") as handle:
        handle.attrs[STAMP_ATTR] = text
    digest = sha256_file(path)
    keyid = None
    if key_path is not None:
        key = load_private_key(key_path)
        keyid = keyid_of(key.public_key())
        statement = {
            "_type": STATEMENT_TYPE,
            "subject": [{"name": path.name, "digest": {"sha256": digest}}],
            "predicateType": PREDICATE_TYPE,
            "predicate": stamp,
        }
        envelope = dsse.sign(canonical_json(statement).encode("utf-8"), [key])
        write_json(sidecar_path(path), envelope)
    return {"sha256": digest, "keyid": keyid}
