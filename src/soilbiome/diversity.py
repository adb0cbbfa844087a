"""Alpha and beta diversity, rarefaction, ordination and group tests on a BIOM count table.

The library works on a *samples x features* :class:`pandas.DataFrame` of counts (the
orientation of scikit-bio and vegan), so the comparison work can reuse it on merged tables:
:func:`alpha_diversity`, :func:`beta_diversity`, :func:`rarefy`, :func:`rarefaction_curve`,
:func:`pcoa` and :func:`permanova`. :func:`run_diversity` ties them together for the
``soilbiome diversity`` command and writes every output atomically.

Conventions (see ``docs/diversity.md``):

* Empty samples (all-zero) are kept in every table; an index that is undefined for them is
  NaN and the reason is written beside it. They are never dropped silently.
* Shannon's logarithm base is written with every value (column ``shannon_base``) and in
  ``diversity.json``: QIIME 2 uses base 2, scikit-bio and vegan base *e*.
* Simpson is the Gini-Simpson index ``1 - sum(p_i^2)`` (vegan ``diversity(x, "simpson")``,
  scikit-bio ``simpson``), not Simpson's dominance ``sum(p_i^2)``.
* Chao1 is the bias-corrected form ``S_obs + F1 (F1 - 1) / (2 (F2 + 1))`` used by both
  vegan ``estimateR`` and scikit-bio ``chao1(bias_corrected=True)``. It is computed only on
  integer counts: on relative abundances scikit-bio silently returns the observed richness.
* Values match vegan 2.6 within 1e-9 (tested against vegan itself).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.special import gammaln

from soilbiome.errors import InputError, SoilbiomeError
from soilbiome.io.atomic import atomic_write
from soilbiome.io.hashing import sha256_file

#: Lineage ranks of the BIOM ``taxonomy`` observation metadata, in order.
RANKS: tuple[str, ...] = ("domain", "phylum", "class", "order", "family", "genus", "species")

#: Accepted ``--shannon-base`` values and the logarithm base each stands for.
SHANNON_BASES: dict[str, float] = {"e": math.e, "2": 2.0}

ALPHA_METRICS: tuple[str, ...] = (
    "observed_features",
    "shannon",
    "simpson",
    "chao1",
    "pielou_evenness",
)
BETA_METRICS: tuple[str, ...] = ("braycurtis", "jaccard")
PHYLO_METRICS: tuple[str, ...] = ("weighted_unifrac", "unweighted_unifrac")

SIMPSON_DEFINITION = "Gini-Simpson 1 - sum(p_i^2) (vegan diversity 'simpson', skbio simpson)"
CHAO1_DEFINITION = (
    "bias-corrected Chao1 S_obs + F1*(F1-1)/(2*(F2+1)) (vegan estimateR S.chao1, "
    "skbio chao1 bias_corrected=True); integer counts only"
)
RAREFACTION_METHOD = (
    "subsampling without replacement (multivariate hypergeometric draw, numpy Generator); "
    "one random stream per sample derived from (seed, sha256(sample id)), so a sample's "
    "rarefied counts do not depend on the other samples in the table"
)
CURVE_METHOD = "expected observed features at depth n (Hurlbert 1971; vegan rarefy)"


class DiversityError(SoilbiomeError):
    """A diversity computation cannot be carried out with the given data and parameters."""

    exit_code = 2


# --------------------------------------------------------------------------------------
# Input
# --------------------------------------------------------------------------------------


def clean_rank_label(label: object) -> str:
    """Strip a greengenes/SILVA style rank prefix (``p__``, ``D_1__``) and whitespace.

    Parameters
    ----------
    label : object
        One taxonomy string (or None).

    Returns
    -------
    str
        The bare taxon name; ``""`` when unassigned (empty, None, or a bare prefix).
    """
    if label is None:
        return ""
    text = str(label).strip()
    if "__" in text:
        head, _, tail = text.partition("__")
        if len(head) <= 4 and head.replace("_", "").isalnum():
            text = tail.strip()
    return text


@dataclass(frozen=True)
class CountTable:
    """A feature table as the diversity and report code use it.

    Attributes
    ----------
    counts : pandas.DataFrame
        Samples (rows) x features (columns), float64 (integers where the BIOM holds counts).
    sample_metadata : pandas.DataFrame
        One row per sample (same order as ``counts``), possibly without columns.
    taxonomy : pandas.DataFrame
        One row per feature, columns :data:`RANKS`, prefixes stripped, ``""`` = unassigned.
    source : str
        Where the table came from (path), for the record.
    """

    counts: pd.DataFrame
    sample_metadata: pd.DataFrame
    taxonomy: pd.DataFrame
    source: str = ""


def load_table(path: str | Path) -> CountTable:
    """Load a BIOM (2.1 HDF5 or 1.0 JSON) table with ``biom.load_table``.

    Parameters
    ----------
    path : str or Path
        The BIOM file.

    Returns
    -------
    CountTable
        Counts as samples x features, sample metadata and cleaned taxonomy.

    Raises
    ------
    InputError
        The file is missing, unreadable, or has duplicate / no sample IDs.
    """
    import biom

    path = Path(path)
    if not path.is_file():
        raise InputError("BIOM table not found", location=str(path))
    try:
        table = biom.load_table(str(path))
    except Exception as exc:  # biom raises many types (TypeError, OSError, KeyError, ...)
        raise InputError(f"cannot read BIOM table ({exc})", location=str(path)) from None
    samples = [str(s) for s in table.ids(axis="sample")]
    features = [str(f) for f in table.ids(axis="observation")]
    for axis, ids in (("sample", samples), ("observation", features)):
        dup = sorted({i for i in ids if ids.count(i) > 1}) if len(set(ids)) != len(ids) else []
        if dup:
            raise InputError(f"duplicate {axis} IDs: {', '.join(dup[:5])}", location=str(path))
    if not samples:
        raise InputError("table has no samples", location=str(path))
    data = table.matrix_data.T.toarray().astype(np.float64)  # samples x features
    counts = pd.DataFrame(data, index=pd.Index(samples, name="sample"), columns=features)
    if not np.isfinite(data).all() or (data < 0).any():
        raise InputError("table holds negative or non-finite values", location=str(path))

    rows = []
    for sid in samples:
        md = table.metadata(sid, axis="sample") or {}
        rows.append({k: v for k, v in dict(md).items()})
    sample_md = pd.DataFrame(rows, index=counts.index)

    tax_rows = []
    for fid in features:
        md = table.metadata(fid, axis="observation") or {}
        lineage = md.get("taxonomy") if hasattr(md, "get") else None
        if isinstance(lineage, str):
            lineage = [p for p in lineage.replace(",", ";").split(";")]
        lineage = [clean_rank_label(x) for x in (list(lineage) if lineage is not None else [])]
        lineage = (lineage + [""] * len(RANKS))[: len(RANKS)]
        tax_rows.append(lineage)
    taxonomy = pd.DataFrame(tax_rows, index=pd.Index(features, name="feature"), columns=RANKS)
    return CountTable(counts, sample_md, taxonomy, str(path))


def is_integer_table(counts: pd.DataFrame) -> bool:
    """Whether every value is a whole number (counts rather than relative abundances)."""
    values = np.asarray(counts, dtype=np.float64)
    return bool(np.all(values == np.round(values)))


def _as_counts(counts: pd.DataFrame) -> pd.DataFrame:
    if not isinstance(counts, pd.DataFrame):
        raise TypeError("counts must be a samples x features pandas DataFrame")
    if counts.index.has_duplicates:
        raise DiversityError("duplicate sample IDs in the count table")
    values = counts.to_numpy(dtype=np.float64)
    if values.size and (not np.isfinite(values).all() or (values < 0).any()):
        raise DiversityError("counts must be finite and non-negative")
    return pd.DataFrame(values, index=counts.index.astype(str), columns=counts.columns.astype(str))


# --------------------------------------------------------------------------------------
# Rarefaction
# --------------------------------------------------------------------------------------


@dataclass
class Rarefied:
    """Result of :func:`rarefy`.

    Attributes
    ----------
    table : pandas.DataFrame
        Rarefied counts (samples x features) of the samples that reached ``depth``.
    depth : int
        The depth every kept sample now sums to.
    seed : int
        The seed the draws derive from.
    excluded : dict of str to str
        Samples below ``depth`` and why (never silently dropped).
    """

    table: pd.DataFrame
    depth: int
    seed: int
    excluded: dict[str, str] = field(default_factory=dict)


def _sample_rng(seed: int, sample: str) -> np.random.Generator:
    """A random stream for one sample: independent of the table's other samples and order."""
    digest = hashlib.sha256(sample.encode("utf-8")).digest()
    words = np.frombuffer(digest[:16], dtype="<u4").tolist()
    return np.random.default_rng(np.random.SeedSequence([int(seed), *words]))


def rarefy(counts: pd.DataFrame, depth: int, seed: int = 42) -> Rarefied:
    """Subsample every sample to ``depth`` reads without replacement, reproducibly.

    Parameters
    ----------
    counts : pandas.DataFrame
        Integer counts, samples x features.
    depth : int
        Target depth (> 0).
    seed : int, default 42
        Non-negative seed; with the sample ID it determines each sample's draw.

    Returns
    -------
    Rarefied
        The rarefied table and the samples excluded (total below ``depth``).

    Raises
    ------
    DiversityError
        ``depth`` is not positive, the seed is negative, or counts are not integers.

    Notes
    -----
    Equivalent in distribution to scikit-bio ``subsample_counts(replace=False)`` and vegan
    ``rrarefy``; the draw uses :meth:`numpy.random.Generator.multivariate_hypergeometric`.
    """
    counts = _as_counts(counts)
    if int(depth) != depth or depth <= 0:
        raise DiversityError(f"rarefaction depth must be a positive integer, got {depth}")
    if int(seed) != seed or seed < 0:
        raise DiversityError(f"seed must be a non-negative integer, got {seed}")
    if not is_integer_table(counts):
        raise DiversityError(
            "cannot rarefy non-integer values (relative abundances?); use --no-rarefaction"
        )
    depth = int(depth)
    totals = counts.sum(axis=1)
    keep, excluded = [], {}
    for sample, total in totals.items():
        if total == 0:
            excluded[sample] = f"empty sample (0 reads) is below the rarefaction depth {depth}"
        elif total < depth:
            excluded[sample] = f"{int(total)} reads, below the rarefaction depth {depth}"
        else:
            keep.append(sample)
    out = np.zeros((len(keep), counts.shape[1]), dtype=np.int64)
    for i, sample in enumerate(keep):
        row = counts.loc[sample].to_numpy().astype(np.int64)
        out[i] = _sample_rng(seed, sample).multivariate_hypergeometric(row, depth)
    table = pd.DataFrame(
        out.astype(np.float64), index=pd.Index(keep, name=counts.index.name), columns=counts.columns
    )
    return Rarefied(table, depth, int(seed), excluded)


def rarefaction_curve(
    counts: pd.DataFrame, depths: Sequence[int] | None = None, steps: int = 20
) -> pd.DataFrame:
    """Expected observed features at several depths per sample (rarefaction curve).

    Uses the exact expectation of Hurlbert (1971),
    ``E[S_n] = sum_i 1 - C(N - N_i, n) / C(N, n)``, as vegan ``rarefy`` does, so the
    curve needs no random seed.

    Parameters
    ----------
    counts : pandas.DataFrame
        Integer counts, samples x features.
    depths : sequence of int, optional
        Depths to evaluate; default ``steps`` evenly spaced depths from 1 to the largest
        sample total. Each sample is evaluated at the depths up to its own total, plus at
        its total (where the value is its observed richness).
    steps : int, default 20
        Number of default depths.

    Returns
    -------
    pandas.DataFrame
        Long table with columns ``sample``, ``depth``, ``observed_features``. Empty samples
        get one row at depth 0 with 0 features, so they still appear.
    """
    counts = _as_counts(counts)
    if not is_integer_table(counts):
        raise DiversityError("rarefaction curves need integer counts")
    totals = counts.sum(axis=1).astype(np.int64)
    if depths is None:
        top = int(totals.max()) if len(totals) else 0
        grid = sorted({int(round(d)) for d in np.linspace(1, max(top, 1), steps)})
    else:
        grid = sorted({int(d) for d in depths if int(d) > 0})
    records = []
    for sample, total in totals.items():
        row = counts.loc[sample].to_numpy()
        row = row[row > 0]
        if total == 0:
            records.append((sample, 0, 0.0))
            continue
        sample_depths = sorted({d for d in grid if d <= total} | {int(total)})
        lchoose_total = _lchoose(total, np.array(sample_depths))
        for n, lc_total in zip(sample_depths, lchoose_total, strict=True):
            rest = total - row  # N - N_i
            present = np.ones_like(rest, dtype=np.float64)
            can = rest >= n
            present[can] = 1.0 - np.exp(_lchoose(rest[can], n) - lc_total)
            records.append((sample, int(n), float(present.sum())))
    return pd.DataFrame(records, columns=["sample", "depth", "observed_features"])


def _lchoose(n: np.ndarray | int, k: np.ndarray | int) -> np.ndarray:
    n = np.asarray(n, dtype=np.float64)
    k = np.asarray(k, dtype=np.float64)
    return gammaln(n + 1) - gammaln(k + 1) - gammaln(n - k + 1)


# --------------------------------------------------------------------------------------
# Alpha diversity
# --------------------------------------------------------------------------------------


def alpha_diversity(counts: pd.DataFrame, shannon_base: str | float = "e") -> pd.DataFrame:
    """Observed features, Shannon, Gini-Simpson, Chao1 and Pielou's evenness per sample.

    Parameters
    ----------
    counts : pandas.DataFrame
        Samples x features; integer counts, or relative abundances (then Chao1 is NaN).
    shannon_base : {"e", "2"} or float, default "e"
        Logarithm base of Shannon (and so of Pielou's ``H / log S``, which does not depend on
        it). Recorded in column ``shannon_base``.

    Returns
    -------
    pandas.DataFrame
        Indexed by sample, columns ``total``, :data:`ALPHA_METRICS`, ``shannon_base`` and
        ``note`` (why a value is NaN; empty when all are defined). Every input sample has a
        row.

    Notes
    -----
    Formulas follow vegan ``diversity``/``specnumber``/``estimateR`` and scikit-bio
    ``skbio.diversity.alpha``; they are evaluated here in vectorised numpy so that
    relative abundances, empty samples and single-feature samples are handled explicitly
    rather than by library defaults (scikit-bio's ``pielou_e`` returns 1.0 for one feature
    and its ``chao1`` returns richness on relative abundances; both are NaN here).
    """
    counts = _as_counts(counts)
    base_label, base = _shannon_base(shannon_base)
    x = counts.to_numpy()
    total = x.sum(axis=1)
    present = x > 0
    observed = present.sum(axis=1).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = x / total[:, None]
        plogp = np.where(present, p * np.log(np.where(present, p, 1.0)), 0.0)
        shannon = -plogp.sum(axis=1) / math.log(base)
        simpson = 1.0 - (p * p).sum(axis=1)
        pielou = shannon * math.log(base) / np.log(observed)
    integer = is_integer_table(counts)
    f1 = (x == 1).sum(axis=1)
    f2 = (x == 2).sum(axis=1)
    chao1 = observed + f1 * (f1 - 1) / (2.0 * (f2 + 1))

    notes: list[list[str]] = [[] for _ in range(len(x))]
    empty = total == 0
    for i in np.flatnonzero(empty):
        notes[i].append(
            "empty sample (0 reads): shannon, simpson, chao1, pielou_evenness undefined"
        )
    shannon[empty] = np.nan
    simpson[empty] = np.nan
    pielou[empty] = np.nan
    single = observed == 1
    for i in np.flatnonzero(single):
        notes[i].append("one feature: pielou_evenness undefined (H / log 1 = 0/0)")
    pielou[single] = np.nan
    if integer:
        chao1[empty] = np.nan
    else:
        chao1[:] = np.nan
        for i in range(len(x)):
            notes[i].append("non-integer values (relative abundances?): chao1 needs counts")

    out = pd.DataFrame(
        {
            "total": total,
            "observed_features": observed,
            "shannon": shannon,
            "shannon_base": base_label,
            "simpson": simpson,
            "chao1": chao1,
            "pielou_evenness": pielou,
            "note": ["; ".join(n) for n in notes],
        },
        index=pd.Index(counts.index, name="sample"),
    )
    return out


def _shannon_base(value: str | float) -> tuple[str, float]:
    if isinstance(value, str):
        if value not in SHANNON_BASES:
            raise DiversityError(f"Shannon base must be one of {sorted(SHANNON_BASES)}: {value}")
        return value, SHANNON_BASES[value]
    base = float(value)
    if base <= 0 or base == 1:
        raise DiversityError(f"invalid logarithm base {value}")
    return ("e" if base == math.e else f"{base:g}"), base


# --------------------------------------------------------------------------------------
# Beta diversity, ordination, tests
# --------------------------------------------------------------------------------------


def beta_diversity(
    counts: pd.DataFrame,
    metric: str,
    tree: object | None = None,
) -> tuple[object, dict[str, str]]:
    """Pairwise dissimilarities between the non-empty samples with scikit-bio.

    Parameters
    ----------
    counts : pandas.DataFrame
        Samples x features.
    metric : {"braycurtis", "jaccard", "weighted_unifrac", "unweighted_unifrac"}
        Jaccard is computed on presence/absence (vegan ``vegdist(binary=TRUE)``).
    tree : skbio.TreeNode, optional
        Rooted tree whose tips are the feature IDs; required for UniFrac.

    Returns
    -------
    skbio.DistanceMatrix
        Between the non-empty samples.
    dict of str to str
        Samples left out and why (empty samples: distances to them are not informative,
        e.g. Bray-Curtis is 1 to every sample and 0/0 between two empty samples).

    Notes
    -----
    The counts go to ``skbio.diversity.beta_diversity`` as a C-ordered ndarray: on a
    ``biom.Table`` it is about 8x slower, and scipy.sparse input is refused.
    """
    from skbio.diversity import beta_diversity as skbio_beta

    counts = _as_counts(counts)
    if metric not in BETA_METRICS + PHYLO_METRICS:
        raise DiversityError(f"unknown beta metric {metric!r}")
    totals = counts.sum(axis=1)
    excluded = {
        s: "empty sample (0 reads): dissimilarities to it are undefined or uninformative"
        for s in counts.index[totals == 0]
    }
    kept = counts.loc[totals > 0]
    if len(kept) < 2:
        raise DiversityError(
            f"{metric} needs at least 2 non-empty samples; got {len(kept)}"
        )
    ids = list(kept.index)
    x = np.ascontiguousarray(kept.to_numpy())
    if metric == "jaccard":
        x = np.ascontiguousarray((x > 0).astype(np.int64))
        dm = skbio_beta("jaccard", x, ids=ids)
    elif metric == "braycurtis":
        dm = skbio_beta("braycurtis", x, ids=ids)
    else:
        if tree is None:
            raise DiversityError(f"{metric} needs a phylogenetic tree (--tree)")
        if not is_integer_table(kept):
            raise DiversityError(f"{metric} needs integer counts")
        tips = {t.name for t in tree.tips()}
        missing = [f for f in kept.columns if f not in tips]
        if missing:
            raise DiversityError(
                f"{len(missing)} feature(s) are not tips of the tree, e.g. {missing[0]}"
            )
        dm = skbio_beta(
            metric,
            np.ascontiguousarray(x.astype(np.int64)),
            ids=ids,
            taxa=list(kept.columns),
            tree=tree,
        )
    return dm, excluded


def pcoa(distance_matrix: object) -> tuple[pd.DataFrame, pd.Series, list[str]]:
    """Principal coordinates of a distance matrix (scikit-bio ``pcoa``, eigh method).

    Parameters
    ----------
    distance_matrix : skbio.DistanceMatrix
        At least three samples.

    Returns
    -------
    pandas.DataFrame
        Coordinates, samples x ``PC1..PCk``.
    pandas.Series
        Proportion of variance explained per axis.
    list of str
        Warnings scikit-bio raised (e.g. negative eigenvalues of a non-Euclidean metric).
    """
    from skbio.stats.ordination import pcoa as skbio_pcoa

    if distance_matrix.shape[0] < 3:
        raise DiversityError("PCoA needs at least 3 non-empty samples")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = skbio_pcoa(distance_matrix)
    coords = result.samples.copy()
    coords.index = pd.Index([str(i) for i in coords.index], name="sample")
    proportion = result.proportion_explained.copy()
    messages = sorted({str(w.message) for w in caught})
    return coords, proportion, messages


def permanova(
    distance_matrix: object,
    grouping: pd.Series,
    permutations: int = 999,
    seed: int = 42,
) -> dict:
    """PERMANOVA of a distance matrix by a sample grouping (scikit-bio ``permanova``).

    Parameters
    ----------
    distance_matrix : skbio.DistanceMatrix
        Dissimilarities between samples.
    grouping : pandas.Series
        Group per sample ID; samples missing from it or with a missing value are left out
        and reported.
    permutations : int, default 999
        Number of permutations.
    seed : int, default 42
        Seed for the permutations.

    Returns
    -------
    dict
        ``test_statistic`` (pseudo-F), ``p_value``, ``sample_size``, ``number_of_groups``,
        ``permutations``, ``excluded`` (sample -> reason); or ``skipped`` with a reason when
        the test cannot run (fewer than two groups, or every sample in its own group).
    """
    from skbio.stats.distance import permanova as skbio_permanova

    ids = list(distance_matrix.ids)
    group = grouping.reindex(ids)
    missing = group.isna() | (group.astype(str).str.strip() == "")
    excluded = {s: f"no value for '{grouping.name}'" for s in group.index[missing]}
    keep = [s for s in ids if not missing[s]]
    out: dict = {"group_by": str(grouping.name), "excluded": excluded}
    groups = group[keep].astype(str)
    n_groups = groups.nunique()
    if len(keep) < 3 or n_groups < 2 or n_groups == len(keep):
        out["skipped"] = (
            f"needs >= 2 groups with replicates; got {len(keep)} samples in {n_groups} group(s)"
        )
        return out
    dm = distance_matrix.filter(keep)
    # skbio wants a named Series or a list for the grouping (see design.md)
    res = skbio_permanova(
        dm, pd.Series(groups.to_numpy(), index=keep, name=str(grouping.name)),
        permutations=permutations, seed=seed,
    )
    out.update(
        method=str(res["method name"]),
        test_statistic=float(res["test statistic"]),
        test_statistic_name=str(res["test statistic name"]),
        p_value=float(res["p-value"]) if permutations > 0 else None,
        sample_size=int(res["sample size"]),
        number_of_groups=int(res["number of groups"]),
        permutations=int(res["number of permutations"]),
        seed=int(seed),
    )
    return out


# --------------------------------------------------------------------------------------
# The command: run everything and write the outputs
# --------------------------------------------------------------------------------------


def versions() -> dict[str, str]:
    """Versions of the libraries whose numbers end up in the outputs."""
    out = {}
    for dist in ("soilbiome", "scikit-bio", "numpy", "scipy", "pandas", "biom-format"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = "unknown"
    return out


def _write_tsv(df: pd.DataFrame, path: Path, index: bool = True) -> None:
    with atomic_write(path) as fh:
        df.to_csv(fh, sep="\t", index=index, na_rep="NaN", lineterminator="\n")


def _dm_frame(dm: object) -> pd.DataFrame:
    ids = [str(i) for i in dm.ids]
    return pd.DataFrame(dm.data, index=pd.Index(ids, name="sample"), columns=ids)


def run_diversity(
    table: CountTable,
    outdir: str | Path,
    *,
    rarefaction_depth: int | None = None,
    rarefaction: bool = True,
    seed: int = 42,
    tree_path: str | Path | None = None,
    group_by: str | None = None,
    shannon_base: str = "e",
    permutations: int = 999,
    curve_depths: Iterable[int] | None = None,
) -> dict:
    """Compute every diversity output for one table and write them into ``outdir``.

    Parameters
    ----------
    table : CountTable
        From :func:`load_table`.
    outdir : str or Path
        Output folder (created).
    rarefaction_depth : int, optional
        Depth to rarefy to. Default (with ``rarefaction=True``): the smallest total of the
        non-empty samples, so that no non-empty sample is excluded.
    rarefaction : bool, default True
        ``False`` computes everything on the counts as given.
    seed : int, default 42
        Seed of the rarefaction draws and the PERMANOVA permutations.
    tree_path : str or Path, optional
        Newick tree (tips = feature IDs) for weighted/unweighted UniFrac.
    group_by : str, optional
        Sample metadata column for PERMANOVA.
    shannon_base : {"e", "2"}, default "e"
        Logarithm base of Shannon.
    permutations : int, default 999
        PERMANOVA permutations.
    curve_depths : iterable of int, optional
        Depths of the rarefaction curve (default 20 steps up to the largest total).

    Returns
    -------
    dict
        The content of ``diversity.json``.
    """
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    written: set[str] = set()

    def write(df: pd.DataFrame, path: Path, index: bool = True) -> None:
        _write_tsv(df, path, index=index)
        written.add(path.name)

    counts = _as_counts(table.counts)
    _shannon_base(shannon_base)
    integer = is_integer_table(counts)
    totals = counts.sum(axis=1)
    empty = [str(s) for s in counts.index[totals == 0]]
    excluded: list[dict] = []

    if group_by is not None and group_by not in table.sample_metadata.columns:
        cols = ", ".join(map(str, table.sample_metadata.columns)) or "none"
        raise InputError(f"--group-by '{group_by}' is not a sample metadata column ({cols})")
    tree = None
    if tree_path is not None:
        from skbio import TreeNode

        try:
            tree = TreeNode.read(str(tree_path), format="newick")
        except Exception as exc:
            raise InputError(f"cannot read Newick tree ({exc})", location=str(tree_path)) from None

    # -- rarefaction ------------------------------------------------------------------
    if rarefaction and not integer:
        if rarefaction_depth is not None:
            raise DiversityError(
                "table holds non-integer values (relative abundances?): cannot rarefy; "
                "use --no-rarefaction"
            )
        rarefaction = False
        rare_mode = "none (non-integer table)"
    elif not rarefaction:
        rare_mode = "none"
    elif rarefaction_depth is None and not (totals > 0).any():
        rarefaction = False
        rare_mode = "none (every sample is empty)"
    elif rarefaction_depth is None:
        rarefaction_depth = int(totals[totals > 0].min())
        rare_mode = "auto (smallest non-empty sample total)"
    else:
        rare_mode = "fixed"
    if rarefaction:
        rare = rarefy(counts, int(rarefaction_depth), seed)
        for s, why in rare.excluded.items():
            excluded.append({"sample": s, "stage": "rarefaction", "reason": why})
        work = rare.table
        depth: int | None = rare.depth
    else:
        work = counts
        depth = None

    # -- alpha ---------------------------------------------------------------------------
    alpha = alpha_diversity(work, shannon_base).drop(columns="total").reindex(counts.index)
    alpha.insert(0, "reads", totals.astype(np.int64) if integer else totals)
    alpha.insert(1, "depth", pd.Series(depth if depth is not None else totals, index=alpha.index))
    if integer:
        alpha["depth"] = alpha["depth"].astype("Int64")
        alpha["observed_features"] = alpha["observed_features"].astype("Int64")
    alpha["rarefied"] = depth is not None
    for s, note in alpha["note"].items():
        if isinstance(note, str) and note:
            excluded.append({"sample": s, "stage": "alpha", "reason": note})
    if depth is not None:
        for s, why in rare.excluded.items():
            alpha.loc[s, "depth"] = pd.NA
            alpha.loc[s, "shannon_base"] = shannon_base
            alpha.loc[s, "note"] = f"excluded by rarefaction: {why}"
    write(alpha, outdir / "alpha_diversity.tsv")

    # -- rarefaction curve --------------------------------------------------------------
    curve_info: dict = {"file": "rarefaction_curve.tsv", "method": CURVE_METHOD}
    if integer:
        curve = rarefaction_curve(counts, list(curve_depths) if curve_depths else None)
        if depth is not None and curve_depths is None:
            extra = rarefaction_curve(counts, [depth])
            curve = (
                pd.concat([curve, extra])
                .drop_duplicates(["sample", "depth"])
                .sort_values(["sample", "depth"], kind="stable")
            )
        write(curve, outdir / "rarefaction_curve.tsv", index=False)
    else:
        curve_info = {"skipped": "non-integer table: no rarefaction curve"}
        write(
            pd.DataFrame(columns=["sample", "depth", "observed_features"]),
            outdir / "rarefaction_curve.tsv", index=False,
        )

    # -- beta, PCoA, PERMANOVA ---------------------------------------------------------
    metrics = list(BETA_METRICS) + (list(PHYLO_METRICS) if tree is not None else [])
    beta_info: dict = {}
    pcoa_info: dict = {}
    perm_info: dict = {}
    for metric in metrics:
        try:
            dm, beta_excl = beta_diversity(work, metric, tree=tree)
        except DiversityError as exc:
            if "at least 2 non-empty" not in str(exc):
                raise
            beta_info[metric] = {"skipped": str(exc)}
            pcoa_info[metric] = {"skipped": str(exc)}
            if group_by is not None:
                perm_info[metric] = {"group_by": group_by, "skipped": str(exc), "excluded": {}}
            write(pd.DataFrame(index=pd.Index([], name="sample")),
                       outdir / f"beta_{metric}.tsv")
            continue
        for s, why in beta_excl.items():
            excluded.append({"sample": s, "stage": f"beta:{metric}", "reason": why})
        name = f"beta_{metric}.tsv"
        write(_dm_frame(dm), outdir / name)
        beta_info[metric] = {"file": name, "samples": len(dm.ids)}
        if metric == "jaccard":
            beta_info[metric]["definition"] = "presence/absence (vegdist binary=TRUE)"
        if metric == "weighted_unifrac":
            beta_info[metric]["normalized"] = False
        try:
            coords, prop, pwarn = pcoa(dm)
        except DiversityError as exc:
            pcoa_info[metric] = {"skipped": str(exc)}
        else:
            pname = f"pcoa_{metric}.tsv"
            write(coords, outdir / pname)
            pcoa_info[metric] = {
                "file": pname,
                "proportion_explained": {k: float(v) for k, v in prop.items()},
                "warnings": pwarn,
            }
        if group_by is not None:
            grouping = table.sample_metadata[group_by].reindex(counts.index)
            grouping.name = group_by
            res = permanova(dm, grouping, permutations=permutations, seed=seed)
            for s, why in res.get("excluded", {}).items():
                excluded.append({"sample": s, "stage": f"permanova:{metric}", "reason": why})
            perm_info[metric] = res
    if perm_info:
        rows = [
            {"metric": m, **{k: v for k, v in r.items() if k != "excluded"}}
            for m, r in perm_info.items()
        ]
        write(pd.DataFrame(rows), outdir / "permanova.tsv", index=False)

    summary = {
        "created": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
        "input": {
            "path": table.source,
            "sha256": (sha256_file(table.source)
                       if table.source and Path(table.source).is_file() else None),
            "samples": int(counts.shape[0]),
            "features": int(counts.shape[1]),
            "integer_counts": integer,
        },
        "parameters": {
            "rarefaction": {
                "mode": rare_mode,
                "depth": depth,
                "seed": int(seed),
                "method": RAREFACTION_METHOD if depth is not None else None,
            },
            "shannon_log_base": shannon_base,
            "simpson": SIMPSON_DEFINITION,
            "chao1": CHAO1_DEFINITION,
            "pielou_evenness": "H / ln(S_obs) (independent of the log base); NaN for S_obs = 1",
            "tree": str(tree_path) if tree_path else None,
            "group_by": group_by,
            "permutations": int(permutations) if group_by else None,
        },
        "samples": {
            "all": [str(s) for s in counts.index],
            "empty": empty,
            "totals": {str(k): float(v) for k, v in totals.items()},
        },
        "excluded": excluded,
        "outputs": {
            "alpha": "alpha_diversity.tsv",
            "beta": beta_info,
            "rarefaction_curve": curve_info,
            "permanova": "permanova.tsv" if perm_info else None,
        },
        "pcoa": pcoa_info,
        "permanova": perm_info,
        "versions": versions(),
    }
    # outputs of an earlier run into the same folder that this run did not produce would be
    # read as current (e.g. by the report): remove them
    for metric in BETA_METRICS + PHYLO_METRICS:
        for name in (f"beta_{metric}.tsv", f"pcoa_{metric}.tsv"):
            if name not in written:
                (outdir / name).unlink(missing_ok=True)
    if "permanova.tsv" not in written:
        (outdir / "permanova.tsv").unlink(missing_ok=True)
    with atomic_write(outdir / "diversity.json") as fh:
        json.dump(summary, fh, indent=2, default=_json_default)
        fh.write("\n")
    return summary


def _json_default(obj: object) -> object:
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return None if np.isnan(obj) else float(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    return str(obj)
