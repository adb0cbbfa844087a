"""Shared pieces of the diversity package: the error, metric names and the count-table input."""

from __future__ import annotations

import math
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from scipy import sparse

from soilbiome.errors import SoilbiomeError
from soilbiome.taxonomy.lineage import RANKS

if TYPE_CHECKING:
    import pandas as pd

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
PHYLO_METRICS: tuple[str, ...] = ("weighted_unifrac", "unweighted_unifrac",
                                   "weighted_normalized_unifrac")

SIMPSON_DEFINITION = "Gini-Simpson 1 - sum(p_i^2) (vegan diversity 'simpson', skbio simpson)"
CHAO1_DEFINITION = (
    "bias-corrected Chao1 S_obs + F1*(F1-1)/(2*(F2+1)) (vegan estimateR S.chao1, "
    "skbio chao1 bias_corrected=True); integer counts only"
)


class DiversityError(SoilbiomeError):
    """A diversity computation cannot be carried out with the given data and parameters."""

    exit_code = 2


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
    """Read a BIOM table through the one validated reader and give the report's dense view.

    A thin adapter over :func:`soilbiome.io.biom_reader.read_table` (which refuses corrupt,
    JSON 1.0, empty, duplicate-ID, negative or NaN tables with one message) for the report
    code, which still works on a samples x features DataFrame.

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
    BiomError
        The table fails the reader's checks.
    """
    import pandas as pd

    from soilbiome.io.biom_reader import read_table

    table = read_table(path)
    counts = pd.DataFrame(table.counts.toarray(), index=pd.Index(table.sample_ids, name="sample"),
                          columns=list(table.feature_ids))
    taxonomy = table.taxonomy.reindex(columns=list(RANKS)).fillna("")
    return CountTable(counts, table.sample_metadata.copy(), taxonomy, str(path))


def is_frame(obj: object) -> bool:
    """Whether ``obj`` is a pandas DataFrame, without importing pandas (0.2 s): a caller that
    passes one has imported it already."""
    pandas = sys.modules.get("pandas")
    return pandas is not None and isinstance(obj, pandas.DataFrame)


def workers() -> int:
    """Threads of the compiled kernels and of the matrix formatting: the task's cores
    (``NUMBA_NUM_THREADS``, which the pipeline sets to them), else the cores this process may
    run on (a SLURM job's CPU set), as numba counts them."""
    try:
        given = int(os.environ.get("NUMBA_NUM_THREADS", "") or 0)
    except ValueError:
        given = 0
    if given > 0:
        return given
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # no CPU sets on this platform
        return os.cpu_count() or 1


def is_integer_table(counts: pd.DataFrame) -> bool:
    """Whether every value is a whole number (counts rather than relative abundances)."""
    values = np.asarray(counts, dtype=np.float64)
    return bool(np.all(values == np.round(values)))


@dataclass(frozen=True)
class SparseCounts:
    """Samples x features values as the engine uses them: CSR, float64, canonical.

    Attributes
    ----------
    matrix : scipy.sparse.csr_matrix
        Shape ``(n_samples, n_features)``; sorted indices, no stored zeros.
    sample_ids : tuple of str
    feature_ids : tuple of str
    integer : bool
        Whether every value is a whole number (read counts).
    """

    matrix: sparse.csr_matrix
    sample_ids: tuple[str, ...]
    feature_ids: tuple[str, ...]
    integer: bool

    @property
    def totals(self) -> np.ndarray:
        """Sum of each sample's values."""
        return np.asarray(self.matrix.sum(axis=1)).ravel()

    def rows(self, keep: np.ndarray) -> SparseCounts:
        """The samples selected by a boolean mask or index array, in that order."""
        idx = np.flatnonzero(keep) if np.asarray(keep).dtype == bool else np.asarray(keep)
        return SparseCounts(self.matrix[idx], tuple(self.sample_ids[i] for i in idx),
                            self.feature_ids, self.integer)

    def to_frame(self) -> pd.DataFrame:
        """Dense samples x features frame (small tables and tests only)."""
        import pandas as pd

        return pd.DataFrame(self.matrix.toarray(), index=pd.Index(self.sample_ids, name="sample"),
                            columns=list(self.feature_ids))


def as_sparse(counts: object) -> SparseCounts:
    """Bring a table into the engine's form without densifying it.

    Parameters
    ----------
    counts : FeatureTable, SparseCounts, CountTable, pandas.DataFrame or scipy.sparse matrix
        A :class:`~soilbiome.model.table.FeatureTable` from
        :func:`soilbiome.io.biom_reader.read_table` (sparse, the normal case), a samples x
        features frame (library callers and tests) or a bare sparse matrix (IDs ``S0..``,
        ``F0..``).

    Returns
    -------
    SparseCounts

    Raises
    ------
    DiversityError
        Duplicate sample IDs, negative or non-finite values.
    """
    from soilbiome.model.table import FeatureTable

    if isinstance(counts, SparseCounts):
        return counts
    if isinstance(counts, FeatureTable):
        matrix = sparse.csr_matrix(counts.counts, dtype=np.float64)
        samples, features = counts.sample_ids, counts.feature_ids
    elif sparse.issparse(counts):
        matrix = sparse.csr_matrix(counts, dtype=np.float64, copy=True)
        samples = tuple(f"S{i}" for i in range(matrix.shape[0]))
        features = tuple(f"F{j}" for j in range(matrix.shape[1]))
    else:
        if isinstance(counts, CountTable):
            counts = counts.counts
        if not is_frame(counts):
            raise TypeError("counts must be a FeatureTable or a samples x features DataFrame")
        if counts.index.has_duplicates:
            raise DiversityError("duplicate sample IDs in the count table")
        matrix = sparse.csr_matrix(counts.to_numpy(dtype=np.float64))
        samples = tuple(str(s) for s in counts.index)
        features = tuple(str(f) for f in counts.columns)
    matrix.eliminate_zeros()
    matrix.sort_indices()
    data = matrix.data
    if data.size and (not np.isfinite(data).all() or (data < 0).any()):
        raise DiversityError("counts must be finite and non-negative")
    integer = bool(np.array_equal(data, np.round(data)))
    if isinstance(counts, FeatureTable) and not counts.is_counts:
        integer = False  # marked relative (soilbiome:value-kind): never counts, even if 0/1
    return SparseCounts(matrix, tuple(samples), tuple(features), integer)
