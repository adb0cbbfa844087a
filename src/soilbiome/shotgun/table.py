"""Taxon profiles (from our shotgun run or from other profilers) to one harmonised BIOM table.

Observations are taxa placed on the fixed ranks of :data:`soilbiome.taxonomy.lineage.RANKS`
by :meth:`Taxonomy.placement` (a strain counts for its species, a ``clade`` between genus and
species for the genus) and named by a stable ID: ``ncbi:<taxid>`` (NCBI taxon IDs are the same
in every institution's database; merged IDs resolve to current ones) or ``gtdb:<prefixed name>``.
Reads nobody could assign are the observation ``unclassified`` (empty lineage): they stay in the
table so that totals add up, and every sample's metadata says how many reads were classified
(``reads_classified``, ``reads_unclassified``, ``classified_fraction``). A relative profile is
never rescaled: the share its file places nowhere (100% minus everything it lists) is the
observation ``unassigned`` (empty lineage), so every taxon keeps the value its file gives; so
are Kaiju's reads classified above the rank of its table.

The table has the same contract as an amplicon table (written by
:func:`soilbiome.io.biom_writer.write_biom`, validated, atomic) with the root attributes
``soilbiome:marker`` = ``shotgun`` and ``soilbiome:value-kind`` = ``counts`` or ``relative``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import sparse

from soilbiome.io.biom_inputs import SampleMetadata, read_sample_metadata
from soilbiome.io.biom_layout import TABLE_TYPE, BiomError
from soilbiome.io.biom_writer import write_biom
from soilbiome.io.jsonfile import dumps
from soilbiome.io.profiles.model import Profile
from soilbiome.model.context import ProcessingContext
from soilbiome.model.samplesheet import MIXS_REQUIRED
from soilbiome.model.soil import SAMPLE_UNITS_ATTR, canonical_units, typed_metadata
from soilbiome.model.table import COUNTS, MARKER_ATTR, REGION_ATTR, RELATIVE, VALUE_KIND_ATTR
from soilbiome.taxonomy.lineage import RANKS, taxonomy_strings
from soilbiome.taxonomy.taxdump import UNCLASSIFIED_ID, Taxonomy

#: Sample metadata columns added to every shotgun / imported table.
READ_COLUMNS = ("reads_classified", "reads_unclassified", "classified_fraction",
                "profiled_fraction", "unexplained_fraction")
#: Marker of shotgun and imported profile tables.
SHOTGUN = "shotgun"
#: Observation holding what a profile places on no taxon: a relative profile's remainder to 1,
#: Kaiju's reads classified above its table's rank.
UNASSIGNED_ID = "unassigned"
#: MIxS value for fields an imported profile cannot know.
NOT_PROVIDED = "not provided"


@dataclass(frozen=True)
class TableSummary:
    """What :func:`write_profile_table` wrote."""

    path: Path
    n_taxa: int
    n_samples: int
    unknown_taxa: tuple[str, ...]
    classified_fraction: dict[str, float]


def integer_counts(values: Mapping[str, float]) -> dict[str, int]:
    """Round re-estimated reads to whole reads, keeping the total (largest remainder).

    Parameters
    ----------
    values : mapping
        ``key -> non-negative float``.

    Returns
    -------
    dict
        ``key -> int`` with ``sum`` equal to ``round(sum(values))``.
    """
    keys = sorted(values)
    floors = {k: math.floor(values[k] + 1e-9) for k in keys}
    missing = round(sum(values.values())) - sum(floors.values())
    order = sorted(keys, key=lambda k: (-(values[k] - floors[k]), k))
    for k in order[: max(0, missing)]:
        floors[k] += 1
    return floors


def _placement(taxonomy: Taxonomy, taxid: str) -> tuple[str, str, tuple[str, ...]] | None:
    if taxid not in taxonomy:
        return None
    anchor, names = taxonomy.placement(taxid)
    return taxonomy.feature_id(anchor), anchor, names


def profile_matrix(
    profiles: Sequence[Profile], taxonomy: Taxonomy
) -> tuple[list[str], dict[str, tuple[str, tuple[str, ...]]], np.ndarray, list[str]]:
    """Place every profile's taxa and build a features x samples value matrix.

    Returns
    -------
    tuple
        ``(feature IDs, feature ID -> (taxid, names), matrix features x samples,
        taxon IDs not in the taxonomy)``. Unknown taxon IDs keep their reads under
        ``<namespace>:<taxid>``, with the lineage the file itself gives (Kraken-style rank
        codes, MetaPhlAn clade names) or an empty one (nothing is dropped); the tool's
        unclassified share is ``unclassified``, a relative file's unplaced remainder
        ``unassigned``.
    """
    features: dict[str, tuple[str, tuple[str, ...]]] = {}
    cells: dict[tuple[str, int], float] = {}
    unknown: set[str] = set()
    empty = ("",) * len(RANKS)
    for column, profile in enumerate(profiles):
        for taxid, value in profile.values.items():
            placed = _placement(taxonomy, taxid)
            if placed is None:
                unknown.add(taxid)
                own = profile.lineages.get(taxid, {})
                fid, anchor = f"{taxonomy.namespace}:{taxid}", taxid
                names = tuple(own.get(rank, "") for rank in RANKS) if own else empty
            else:
                fid, anchor, names = placed
            features.setdefault(fid, (anchor, names))
            cells[(fid, column)] = cells.get((fid, column), 0.0) + value
        if profile.unclassified > 0:
            features.setdefault(UNCLASSIFIED_ID, ("0", empty))
            cells[(UNCLASSIFIED_ID, column)] = profile.unclassified
        if profile.unassigned > 0:
            features.setdefault(UNASSIGNED_ID, ("", empty))
            cells[(UNASSIGNED_ID, column)] = profile.unassigned
    ids = sorted(features, key=lambda f: (f in (UNCLASSIFIED_ID, UNASSIGNED_ID),
                                          features[f][1], f))
    row = {f: i for i, f in enumerate(ids)}
    matrix = np.zeros((len(ids), len(profiles)))
    for (fid, column), value in cells.items():
        matrix[row[fid], column] = value
    return ids, features, matrix, sorted(unknown)


def default_sample_metadata(samples: Sequence[str]) -> SampleMetadata:
    """MIxS fields set to the INSDC term ``not provided`` (imports without a samplesheet)."""
    rows = tuple({c: NOT_PROVIDED for c in MIXS_REQUIRED} for _ in samples)
    return SampleMetadata(Path("<no samplesheet>"), tuple(samples), MIXS_REQUIRED, rows)


def write_profile_table(
    profiles: Sequence[Profile],
    taxonomy: Taxonomy,
    out: str | Path,
    *,
    samplesheet: str | Path | None = None,
    classifier: str,
    reference: str,
    extra_sample_metadata: Mapping[str, Mapping[str, str]] | None = None,
    table_id: str | None = None,
    context: ProcessingContext | None = None,
) -> TableSummary:
    """Write a harmonised BIOM table of taxon profiles.

    Parameters
    ----------
    profiles : sequence of Profile
        One per sample; all of one value kind.
    taxonomy : Taxonomy
    out : str or Path
    samplesheet : str or Path, optional
        Validated samplesheet (or any CSV with ``sample`` + the MIxS columns); its samples and
        the profiles' samples must be the same. Without it the MIxS fields are
        ``not provided``.
    classifier, reference : str
        Recorded per observation (e.g. ``kraken2 2.1.2 + bracken-method``, ``demo-db v1``).
    extra_sample_metadata : mapping, optional
        ``sample -> {column: value}`` added to the sample metadata (host reads, QC reads ...).
    table_id : str, optional
    context : ProcessingContext, optional
        How the profiles were made; marker (``shotgun``), classifier, reference, taxonomy
        system (NCBI: the lineages come from a taxdump) and value kind are filled in when
        empty.

    Returns
    -------
    TableSummary
    """
    from biom import Table

    out = Path(out)
    if not profiles:
        raise BiomError("no profiles to write", location=str(out))
    kinds = {p.value_kind for p in profiles}
    if len(kinds) != 1:
        raise BiomError("profiles mix read counts and relative abundances", location=str(out))
    kind = kinds.pop()
    samples = [p.sample for p in profiles]
    dupes = sorted({s for s in samples if samples.count(s) > 1})
    if dupes:
        raise BiomError(f"sample ID(s) given more than once: {', '.join(dupes)} "
                        "(give --sample-id per file)", location=str(out))
    meta = read_sample_metadata(samplesheet) if samplesheet else default_sample_metadata(samples)
    if set(meta.sample_ids) != set(samples):
        only_sheet = sorted(set(meta.sample_ids) - set(samples))
        only_profiles = sorted(set(samples) - set(meta.sample_ids))
        raise BiomError(
            "samples differ between the samplesheet and the profiles: only in the sheet: "
            f"{', '.join(only_sheet) or '-'}; only in the profiles: "
            f"{', '.join(only_profiles) or '-'}",
            location=str(samplesheet),
        )
    by_sample = {p.sample: p for p in profiles}
    ordered = [by_sample[s] for s in meta.sample_ids]
    ids, features, matrix, unknown = profile_matrix(ordered, taxonomy)
    if kind == COUNTS:
        for column in range(matrix.shape[1]):
            col = integer_counts({str(i): v for i, v in enumerate(matrix[:, column])})
            matrix[:, column] = [col[str(i)] for i in range(matrix.shape[0])]
    # relative values stay as their files give them (fractions of 1, the remainder explicit)
    obs_md = [
        {
            "taxonomy": taxonomy_strings(names),
            "taxid": anchor,
            "classifier": classifier,
            "reference": reference,
        }
        for anchor, names in (features[f] for f in ids)
    ]
    unclassified_row = ids.index(UNCLASSIFIED_ID) if UNCLASSIFIED_ID in ids else None
    unassigned_row = ids.index(UNASSIGNED_ID) if UNASSIGNED_ID in ids else None
    sample_md = []
    fractions: dict[str, float] = {}
    for column, (sample, row) in enumerate(zip(meta.sample_ids, meta.rows, strict=True)):
        total = float(matrix[:, column].sum())
        unclassified = (float(matrix[unclassified_row, column])
                        if unclassified_row is not None else 0.0)
        unassigned = (float(matrix[unassigned_row, column])
                      if unassigned_row is not None else 0.0)
        # counts: unassigned reads were classified, above the table's ranks (Kaiju); a
        # relative remainder is not known to be classified
        classified = total - unclassified - (unassigned if kind == RELATIVE else 0.0)
        fraction = classified / total if total > 0 else 0.0
        fractions[sample] = fraction
        md = dict(typed_metadata(row))  # soil fields as numbers, as for amplicon tables
        if kind == COUNTS:
            md["reads_classified"] = str(int(round(classified)))
            md["reads_unclassified"] = str(int(round(unclassified)))
        else:
            md["reads_classified"] = md["reads_unclassified"] = NOT_PROVIDED
        md["classified_fraction"] = f"{fraction:.4f}"
        # the unknown majority is a result: every shotgun table states both shares
        md["profiled_fraction"] = f"{fraction:.4f}" if total > 0 else "0.0000"
        md["unexplained_fraction"] = f"{1 - fraction:.4f}" if total > 0 else "0.0000"
        md.update({k: str(v) for k, v in (extra_sample_metadata or {}).get(sample, {}).items()})
        sample_md.append(md)
    columns = list(dict.fromkeys(k for md in sample_md for k in md))
    sample_md = [{c: md.get(c, "") for c in columns} for md in sample_md]
    table = Table(
        sparse.csr_matrix(matrix),
        ids,
        list(meta.sample_ids),
        observation_metadata=obs_md or None,
        sample_metadata=sample_md,
        table_id=table_id or out.stem,
        type=TABLE_TYPE,
    )
    attributes = {
        VALUE_KIND_ATTR: RELATIVE if kind == RELATIVE else COUNTS,
        MARKER_ATTR: SHOTGUN,
        REGION_ATTR: "",
    }
    units = canonical_units(list(meta.rows))
    if units:
        attributes[SAMPLE_UNITS_ATTR] = dumps(units, indent=None)
    context = context or ProcessingContext()
    context = context.with_values(
        marker=context.marker or SHOTGUN, classifier=context.classifier or classifier,
        reference=context.reference or reference,
        taxonomy_system=context.taxonomy_system or "NCBI", value_kind=attributes[VALUE_KIND_ATTR])
    write_biom(table, out, attributes=attributes, context=context)
    return TableSummary(out, len(ids), len(meta.sample_ids), tuple(unknown), fractions)
