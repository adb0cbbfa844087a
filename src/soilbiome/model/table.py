"""The feature-table contract every command shares: what a validated BIOM table is in memory.

One reader (:func:`soilbiome.io.biom_reader.read_table`) produces a :class:`FeatureTable`;
``diversity``, ``stamp``, ``verify``, ``check merge``, ``compare``, ``report``, ``import`` and
``export`` consume it. Counts stay sparse end to end (samples x features CSR), never a dense
samples x features matrix.

Root attributes soilbiome writes beside the BIOM 2.1 ones (readers of other tools ignore them):

* ``soilbiome:value-kind``: ``counts`` (integer read counts) or ``relative`` (relative
  abundances, e.g. MetaPhlAn); absent on older tables, where integer-valued data means counts.
* ``soilbiome:marker``: ``16S``, ``18S``, ``ITS``, ``shotgun`` ... (what was sequenced).
* ``soilbiome:region``: amplicon region or primer pair (e.g. ``V4``, ``515F-806R``), "" if none.
* ``soilbiome:processing-context``: the whole processing context (JSON;
  :mod:`soilbiome.model.context`), of which the three above are the older part.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy import sparse

from soilbiome.model.context import ProcessingContext
from soilbiome.model.tree import FeatureTree

if TYPE_CHECKING:
    import pandas as pd

#: Root attribute naming what the values are.
VALUE_KIND_ATTR = "soilbiome:value-kind"
#: Root attribute naming the marker (16S, ITS, shotgun, ...).
MARKER_ATTR = "soilbiome:marker"
#: Root attribute naming the amplicon region / primer pair.
REGION_ATTR = "soilbiome:region"
#: Values of :data:`VALUE_KIND_ATTR`.
COUNTS = "counts"
RELATIVE = "relative"
#: Largest value accepted in one cell (reads of one feature or taxon in one sample). The
#: largest sequencing runs today give ~1e10 reads in total (a NovaSeq X 25B flow cell), so
#: 1e12 reads of one taxon in one sample is already impossible; larger values are a corrupt
#: or mistyped file. The bound also keeps sums over a whole table (at most ~1e6 features x
#: 1e12) finite and exact enough in float64 and within int64, so diversity never overflows.
MAX_VALUE = 1e12


def _empty_frame() -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame()


class FrameField:
    """A dataclass field holding a pandas DataFrame that may be given as a function making
    it: the frame is built on first read and kept. The reader gives the taxonomy and the
    sample metadata so, and a command that never reads them (``beta matrix``, ``beta block``:
    what a user times against ``ssu``) never imports pandas (0.2 s)."""

    def __set_name__(self, owner: type, name: str) -> None:
        self._slot = f"_{name}_frame"

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        if obj is None:  # the dataclass default: a maker of an empty frame
            return _empty_frame
        value = obj.__dict__[self._slot]
        if callable(value):  # a DataFrame is not callable
            value = value()
            obj.__dict__[self._slot] = value
        return value

    def __set__(self, obj: Any, value: pd.DataFrame | Callable[[], pd.DataFrame]) -> None:
        obj.__dict__[self._slot] = value


@dataclass(frozen=True)
class FeatureTable:
    """A validated feature table (BIOM 2.1), samples x features, sparse.

    Attributes
    ----------
    sample_ids : tuple of str
        Unique, non-empty, in file order.
    feature_ids : tuple of str
        Unique, non-empty, in file order (ASV md5 ids, taxon ids, ...).
    counts : scipy.sparse.csr_matrix
        Shape ``(n_samples, n_features)``, float64, finite, non-negative, canonical (sorted
        indices, no stored zeros).
    value_kind : str
        :data:`COUNTS` or :data:`RELATIVE`.
    taxonomy : pandas.DataFrame
        One row per feature (index = feature ids), one column per rank of
        :data:`soilbiome.taxonomy.lineage.RANKS`, prefixes stripped, ``""`` = unassigned.
        May be given as a function returning it (:class:`FrameField`).
    sample_metadata : pandas.DataFrame
        One row per sample (index = sample ids), string-valued columns as stored. May be
        given as a function returning it.
    observation_metadata : dict
        Other per-feature metadata columns (``sequence``, ``confidence_<rank>`` ...), each a
        list aligned with ``feature_ids``.
    attributes : dict
        Root attributes as text (``type``, ``generated-by``, ``creation-date``, the
        ``soilbiome:*`` ones ...).
    path : Path or None
        Source file, for messages.
    tree : FeatureTree or None
        The phylogenetic tree of the features stored in the table (ASV tables built with a
        tree); parse it with :func:`soilbiome.io.biom_tree.feature_tree`.
    """

    sample_ids: tuple[str, ...]
    feature_ids: tuple[str, ...]
    counts: sparse.csr_matrix
    value_kind: str = COUNTS
    taxonomy: pd.DataFrame = FrameField()
    sample_metadata: pd.DataFrame = FrameField()
    observation_metadata: dict[str, list] = field(default_factory=dict)
    attributes: dict[str, str] = field(default_factory=dict)
    path: Path | None = None
    tree: FeatureTree | None = None

    @property
    def shape(self) -> tuple[int, int]:
        """``(n_samples, n_features)``."""
        return self.counts.shape

    @property
    def is_counts(self) -> bool:
        """Whether values are integer read counts (count-based indices need this)."""
        return self.value_kind == COUNTS

    @property
    def context(self) -> ProcessingContext:
        """How the table was made (the *unknown* context when it does not say)."""
        return ProcessingContext.from_attributes(self.attributes)

    @property
    def marker(self) -> str:
        """The sequenced marker ("" when the table does not say)."""
        return self.context.marker or self.attributes.get(MARKER_ATTR, "")

    @property
    def region(self) -> str:
        """The amplicon region or primer pair ("" when the table does not say)."""
        return self.context.region or self.attributes.get(REGION_ATTR, "")

    def sample_totals(self) -> np.ndarray:
        """Sum of each sample's values (length ``n_samples``)."""
        return np.asarray(self.counts.sum(axis=1)).ravel()
