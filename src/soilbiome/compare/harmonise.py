"""Steps 3-4 of ``compare``: one feature space and unique sample IDs across institutions.

Features
    When every input has the same marker and amplicon region (``soilbiome:marker`` /
    ``soilbiome:region``) and records each ASV's sequence, ASVs are matched by sequence (the
    feature ID becomes the md5 of the sequence, as soilbiome names ASVs). Otherwise features
    are collapsed to taxa at ``rank`` through the harmonised lineage (domain .. rank); taxa
    unassigned at that rank are kept as ``<lineage>;unassigned <rank>``. Which was done and why
    is recorded. Tables of different markers, and count tables with relative-abundance
    tables, are refused rather than mixed (``to_relative`` converts every input to relative
    abundances, stated in the outputs).

Samples
    A sample ID found in more than one input becomes ``<id>@<input label>`` in every input that
    has it; every sample keeps ``original_sample_id``, ``institution`` and ``source_table`` as
    sample metadata, so the renaming is reversible. No two samples are ever merged.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import sparse

from soilbiome.errors import InputError
from soilbiome.model.table import COUNTS, RELATIVE, FeatureTable
from soilbiome.taxonomy.lineage import RANKS, feature_id_for

#: Sample metadata columns that make renamed sample IDs reversible.
ORIGIN_COLUMNS = ("original_sample_id", "institution", "source_table")


@dataclass
class Harmonised:
    """The merged table before normalisation.

    Attributes
    ----------
    matrix : scipy.sparse.csr_matrix
        Samples x features.
    sample_ids, feature_ids : list of str
    taxonomy : pandas.DataFrame
        One row per feature, columns ``RANKS``.
    sequences : list of str or None
        Per feature, in ASV mode.
    sample_metadata : pandas.DataFrame
        Union of the inputs' columns plus :data:`ORIGIN_COLUMNS`.
    value_kind, marker, region : str
    feature_mode : str
        ``asv-sequence`` or ``taxa-<rank>``.
    statements : list of str
        What was done and why (written into every output).
    renamed : dict
        New sample ID -> (original ID, input label), for the renamed ones.
    """

    matrix: sparse.csr_matrix
    sample_ids: list[str]
    feature_ids: list[str]
    taxonomy: pd.DataFrame
    sequences: list[str] | None
    sample_metadata: pd.DataFrame
    value_kind: str
    marker: str
    region: str
    feature_mode: str
    statements: list[str] = field(default_factory=list)
    renamed: dict[str, tuple[str, str]] = field(default_factory=dict)


def _sequences(t: FeatureTable) -> list[str] | None:
    seqs = t.observation_metadata.get("sequence")
    if seqs is None:
        return None
    seqs = [str(s).strip().upper() for s in seqs]
    return seqs if all(seqs) else None


def _with_taxonomy(t: FeatureTable, taxonomy: pd.DataFrame) -> FeatureTable:
    from dataclasses import replace

    with pd.option_context("future.no_silent_downcasting", True):  # text stays text
        return replace(t, taxonomy=taxonomy.reindex(list(t.feature_ids)).fillna(""))


def _trim(seqs: list[list[str] | None], n: int, tables: Sequence[FeatureTable],
          labels: Sequence[str]) -> tuple[list[list[str] | None], list[str]]:
    """Each ASV cut to its first ``n`` bases; shorter ones become "" (left out, counted)."""
    out: list[list[str] | None] = []
    lines: list[str] = []
    for s, t, label in zip(seqs, tables, labels, strict=True):
        if s is None:
            out.append(None)
            continue
        cut = [q[:n] if len(q) >= n else "" for q in s]
        short = [j for j, q in enumerate(cut) if not q]
        if short:
            reads = float(t.counts[:, short].sum())
            total = float(t.counts.sum()) or 1.0
            lines.append(f"{label}: {len(short)} of {len(s)} ASV(s) shorter than {n} bases "
                         f"left out by --trim-to ({reads:g} of {total:g} reads, "
                         f"{reads / total:.1%})")
        out.append(cut)
    return out, lines


def _lineage_key(row: pd.Series, depth: int, rank: str) -> tuple[str, list[str]]:
    names = [str(row[r]) for r in RANKS[:depth + 1]]
    if names[-1]:
        return ";".join(names), names + [""] * (len(RANKS) - depth - 1)
    known = [n for n in names if n]
    key = ";".join(known + [f"unassigned {rank}"])
    return key, names + [""] * (len(RANKS) - depth - 1)


def harmonise(
    tables: Sequence[FeatureTable],
    labels: Sequence[str],
    institutions: Sequence[str],
    *,
    rank: str = "genus",
    force_rank: bool = False,
    to_relative: bool = False,
    trim_to: int | None = None,
    taxonomies: Sequence[pd.DataFrame] | None = None,
    allow_amplicon_shotgun: bool = False,
) -> Harmonised:
    """Merge the inputs into one samples x features table (see the module docstring).

    Parameters
    ----------
    tables : sequence of FeatureTable
        From :func:`soilbiome.io.biom_reader.read_table`.
    labels : sequence of str
        Unique input labels (for renamed sample IDs and ``source_table``).
    institutions : sequence of str
        Institution of each input.
    rank : str, default "genus"
        Rank to collapse to when ASVs cannot be matched by sequence.
    force_rank : bool
        Collapse to ``rank`` even when sequences could be matched.
    to_relative : bool
        Convert every input to relative abundances (allows mixing counts with relative tables).
    trim_to : int, optional
        Match ASVs on their first ``trim_to`` bases; shorter ASVs are left out, counted per
        input in the statements.
    taxonomies : sequence of DataFrame, optional
        Replacement lineages per input (``--retaxonomise``), indexed like each input's
        features, columns ``RANKS``.

    Raises
    ------
    InputError
        Different markers, counts mixed with relative abundances, unknown rank.
    """
    if rank not in RANKS:
        raise InputError(f"--rank '{rank}' is not one of {', '.join(RANKS)}")
    statements: list[str] = []
    markers = {t.marker for t in tables}
    known_markers = markers - {""}
    if (allow_amplicon_shotgun and force_rank and len(known_markers) == 2
            and "shotgun" in known_markers):  # allowed at a rank, caveat recorded by the caller
        known_markers = {" + ".join(sorted(known_markers))}
    if len(known_markers) > 1:
        raise InputError(
            "tables of different markers cannot be compared: "
            + ", ".join(f"{t.path.name if t.path else i}={t.marker or '?'}"
                        for i, t in enumerate(tables))
        )
    marker = known_markers.pop() if known_markers else ""
    if "" in markers and marker:
        statements.append(f"some inputs do not record their marker; assumed {marker}")
    kinds = {t.value_kind for t in tables}
    matrices = [sparse.csr_matrix(t.counts, dtype=np.float64) for t in tables]
    if to_relative:
        for i, m in enumerate(matrices):
            totals = np.asarray(m.sum(axis=1)).ravel()
            scale = np.divide(1.0, totals, out=np.zeros_like(totals), where=totals > 0)
            matrices[i] = sparse.csr_matrix(sparse.diags(scale) @ m)
        value_kind = RELATIVE
        statements.append("every input converted to relative abundances (--to-relative)")
    elif len(kinds) > 1:
        raise InputError(
            "count tables and relative-abundance tables cannot be mixed: "
            + ", ".join(f"{t.path.name if t.path else i}={t.value_kind}"
                        for i, t in enumerate(tables))
            + " (use --to-relative to compare relative abundances)"
        )
    else:
        value_kind = kinds.pop() if kinds else COUNTS
    regions = {t.region for t in tables}
    seqs = [_sequences(t) for t in tables]
    if taxonomies is not None:
        tables = [_with_taxonomy(t, tax) for t, tax in zip(tables, taxonomies, strict=True)]
    if trim_to is not None and not force_rank:
        seqs, trim_lines = _trim(seqs, trim_to, tables, labels)
        statements.extend(trim_lines)
    same_region = len(regions - {""}) <= 1
    use_sequences = not force_rank and same_region and all(s is not None for s in seqs)
    if use_sequences:
        feature_mode = "asv-sequence"
        region = (regions - {""}).pop() if regions - {""} else ""
        statements.append(
            f"ASVs matched by sequence: every input is {marker or 'the same marker'}"
            f"{' ' + region if region else ''} and records ASV sequences")
        if "" in regions and region:
            statements.append(f"some inputs do not record their region; assumed {region}")
    else:
        feature_mode = f"taxa-{rank}"
        region = ",".join(sorted(regions - {""}))
        if force_rank:
            why = "requested (--rank given with --collapse)"
        elif not same_region:
            why = f"inputs have different regions ({', '.join(sorted(regions - {''}))})"
        else:
            why = "not every input records the ASV sequences"
        statements.append(f"features collapsed to {rank} through the harmonised lineage: {why}")

    # -- feature space ---------------------------------------------------------------------
    depth = RANKS.index(rank)
    index: dict[str, int] = {}
    feature_tax: list[list[str]] = []
    feature_seq: list[str] = []
    columns: list[np.ndarray] = []
    conflicts = 0
    for t, s in zip(tables, seqs, strict=True):
        cols = np.full(len(t.feature_ids), -1, dtype=np.int64)
        for j in range(len(t.feature_ids)):
            if use_sequences and not s[j]:
                continue  # shorter than --trim-to: left out, counted in the statements
            if use_sequences:
                key = feature_id_for(s[j])
                names = list(t.taxonomy.iloc[j]) if len(t.taxonomy) else [""] * len(RANKS)
            else:
                key, names = _lineage_key(t.taxonomy.iloc[j], depth, rank)
            k = index.get(key)
            if k is None:
                k = index[key] = len(index)
                feature_tax.append([str(n) for n in names])
                feature_seq.append(s[j] if use_sequences else "")
            elif use_sequences and not any(feature_tax[k]) and any(names):
                feature_tax[k] = [str(n) for n in names]
            elif use_sequences and any(names) and [str(n) for n in names] != feature_tax[k]:
                conflicts += 1
            cols[j] = k
        columns.append(cols)
    n_features = len(index)
    if conflicts:
        statements.append(
            f"{conflicts} ASV(s) shared by inputs carry different lineages in them; the merged "
            "table keeps the lineage of the first input that has the ASV")
    if not use_sequences:
        before = sum(len(t.feature_ids) for t in tables)
        statements.append(f"{before} input features became {n_features} taxa at {rank}")

    # -- samples ---------------------------------------------------------------------------
    seen = Counter(s for t in tables for s in t.sample_ids)
    sample_ids: list[str] = []
    renamed: dict[str, tuple[str, str]] = {}
    md_frames: list[pd.DataFrame] = []
    blocks: list[sparse.csr_matrix] = []
    for t, m, cols, label, inst in zip(tables, matrices, columns, labels, institutions,
                                       strict=True):
        new_ids = []
        for s in t.sample_ids:
            if seen[s] > 1:
                new = f"{s}@{label}"
                renamed[new] = (s, label)
                new_ids.append(new)
            else:
                new_ids.append(s)
        sample_ids.extend(new_ids)
        coo = m.tocoo()
        keep = cols[coo.col] >= 0
        block = sparse.csr_matrix((coo.data[keep], (coo.row[keep], cols[coo.col[keep]])),
                                  shape=(m.shape[0], n_features))
        block.sum_duplicates()
        blocks.append(block)
        md = t.sample_metadata.copy()
        md.index = pd.Index(new_ids, name="sample")
        md = md.astype(object).where(md.notna(), "")
        md["original_sample_id"] = list(t.sample_ids)
        md["institution"] = inst
        md["source_table"] = label
        md_frames.append(md)
    if len(set(sample_ids)) != len(sample_ids):
        dup = [s for s, c in Counter(sample_ids).items() if c > 1]
        raise InputError(f"sample IDs still collide after renaming: {', '.join(dup[:5])}")
    if renamed:
        statements.append(
            f"{len(renamed)} sample ID(s) occurring in more than one input renamed to "
            "<id>@<input>; original_sample_id, institution and source_table keep the origin")
    matrix = sparse.vstack(blocks, format="csr")
    matrix.sort_indices()
    # columns empty in one input are left out of the concatenation (pandas warns about their
    # dtype) and come back as holes; text is filled without pandas' downcasting either
    columns = list(dict.fromkeys(c for frame in md_frames for c in frame.columns))
    with pd.option_context("future.no_silent_downcasting", True):
        metadata = pd.concat([frame.dropna(axis=1, how="all") for frame in md_frames],
                             axis=0, sort=False).reindex(columns=columns).fillna("")
    feature_ids = list(index)
    taxonomy = pd.DataFrame(feature_tax, index=pd.Index(feature_ids, name="feature"),
                            columns=list(RANKS))
    return Harmonised(
        matrix=matrix, sample_ids=sample_ids, feature_ids=feature_ids, taxonomy=taxonomy,
        sequences=feature_seq if use_sequences else None, sample_metadata=metadata,
        value_kind=value_kind, marker=marker, region=region, feature_mode=feature_mode,
        statements=statements, renamed=renamed,
    )
