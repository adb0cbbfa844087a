"""The one validated BIOM 2.1 reader: every command that reads a table goes through here.

:func:`read_table` opens the HDF5 file with h5py, checks structure and values before anything
is used (unique non-empty IDs; both stored matrices' ``indptr``/``indices``/``data``
lengths, ranges and values, and that they hold the same matrix; finite, non-negative values
of plausible size; plausible dataset sizes; readable chunks) and returns a sparse
:class:`~soilbiome.model.table.FeatureTable`, with the features' tree when the table
stores one (:mod:`soilbiome.io.biom_tree`). It never builds a dense samples x features
matrix and never goes through ``biom.load_table`` (whose parser
crashes on corrupt pointers). Any problem raises :class:`BiomError` naming the file and
every problem found; JSON BIOM 1.0 is refused with the command that converts it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import h5py
import numpy as np

from soilbiome.io.biom_checks import (
    DatasetProblem,
    check_ids,
    check_matrix,
    fingerprint_key,
    orientation_problems,
    read_dataset,
    summary_problems,
)
from soilbiome.io.biom_layout import BiomError, attr_text, decode
from soilbiome.io.biom_tree import read_stored_tree
from soilbiome.model.context import ProcessingContext
from soilbiome.model.table import COUNTS, RELATIVE, VALUE_KIND_ATTR, FeatureTable, FrameField
from soilbiome.model.tree import FeatureTree
from soilbiome.taxonomy.lineage import RANKS
from soilbiome.taxonomy.names import names_from_taxonomy

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["BiomError", "TableOutline", "check_table", "clean_rank_label", "read_table", "sniff"]


@dataclass(frozen=True)
class TableOutline:
    """What :func:`check_table` returns: a table checked like :func:`read_table` does, without
    its values (IDs, value kind, attributes, tree, sample metadata)."""

    sample_ids: tuple[str, ...]
    feature_ids: tuple[str, ...]
    value_kind: str
    attributes: dict[str, str]
    path: Path
    tree: FeatureTree | None = None
    sample_metadata: pd.DataFrame = FrameField()

    @property
    def context(self) -> ProcessingContext:
        """How the table was made (the *unknown* context when it does not say)."""
        return ProcessingContext.from_attributes(self.attributes)


def clean_rank_label(label: object) -> str:
    """Strip a Greengenes/SILVA-style rank prefix (``p__``, ``D_1__``) and whitespace.

    Returns ``""`` for an unassigned rank (empty, None, or a bare prefix).
    """
    if label is None:
        return ""
    text = label.decode("utf-8", "replace") if isinstance(label, bytes) else str(label)
    text = text.strip()
    if "__" in text:
        head, _, tail = text.partition("__")
        if len(head) <= 4 and head.replace("_", "").isalnum():
            text = tail.strip()
    return text


def sniff(path: str | Path) -> None:
    """Refuse what is not an HDF5 file, naming what it is (missing, folder, empty, JSON BIOM).

    Raises
    ------
    BiomError
    """
    path = Path(path)
    if not path.exists():
        raise BiomError("BIOM table not found", location=str(path))
    if not path.is_file():
        raise BiomError("not a file", location=str(path))
    try:
        with path.open("rb") as handle:
            head = handle.read(512)
    except OSError as exc:
        raise BiomError(f"cannot read file ({exc.strerror})", location=str(path)) from None
    if not head:
        raise BiomError("empty file, not a BIOM table", location=str(path))
    if h5py.is_hdf5(path):
        return
    if head.lstrip().startswith(b"{"):
        raise BiomError(
            "JSON BIOM (format 1.0) is not accepted; convert it with "
            "'biom convert -i IN.biom -o OUT.biom --to-hdf5' and re-run",
            location=str(path),
        )
    raise BiomError("not an HDF5 file (BIOM 2.1 tables are HDF5)", location=str(path))


def _frame(columns: dict[str, list] | list[list[str]], ids: list[str], index_name: str,
           names: list[str] | None = None) -> Callable[[], pd.DataFrame]:
    """A function building the frame of values already read and checked: pandas is imported
    only by a command that reads the taxonomy or the sample metadata (:class:`FrameField`)."""

    def build() -> pd.DataFrame:
        import pandas as pd

        index = pd.Index(ids, name=index_name)
        if names is None:
            return pd.DataFrame(columns, index=index)
        return pd.DataFrame(columns, index=index, columns=names, dtype=object)

    return build


def _taxonomy(handle: h5py.File, feature_ids: list[str]) -> Callable[[], pd.DataFrame]:
    rows: list[list[str]] = []
    name = "observation/metadata/taxonomy"
    raw = None
    if name in handle and isinstance(handle[name], h5py.Dataset):
        raw = read_dataset(handle, name, ndim=None)
        if raw.ndim == 0 or len(raw) != len(feature_ids):
            raw = None
    if raw is not None:
        for entry in raw:
            values = [entry] if np.ndim(entry) == 0 else list(entry)
            if len(values) == 1:
                text = attr_text(values[0])
                values = text.replace(",", ";").split(";")
            texts = [v.decode() if isinstance(v, bytes) else str(v) for v in values]
            # by prefix letter (d k p c o f g s); older 7-rank tables (k__Bacteria) and
            # unprefixed lists are placed by soilbiome.taxonomy.lineage's top-rank rules
            rows.append(list(names_from_taxonomy(texts)))
    else:
        rows = [[""] * len(RANKS) for _ in feature_ids]
    return _frame(rows, feature_ids, "feature", list(RANKS))


def _metadata_columns(handle: h5py.File, axis: str, n: int, skip: set[str]) -> dict[str, list]:
    group = handle.get(f"{axis}/metadata")
    out: dict[str, list] = {}
    if not isinstance(group, h5py.Group):
        return out
    for name in sorted(group.keys()):
        if name in skip or not isinstance(group[name], h5py.Dataset):
            continue
        values = read_dataset(handle, f"{axis}/metadata/{name}", ndim=None)
        if np.ndim(values) != 1 or len(values) != n:
            raise BiomError(
                f"{axis} metadata '{name}' has shape {np.shape(values)} for {n} {axis}s"
            )
        if values.dtype.kind in "SOU":
            try:
                out[name] = decode(values)
            except ValueError:
                raise BiomError(f"{axis} metadata '{name}' holds text that is not UTF-8") from None
        else:
            out[name] = values.tolist()
    return out


def read_table(path: str | Path) -> FeatureTable:
    """Read and validate a BIOM 2.1 (HDF5) table.

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    FeatureTable
        A table with at least one sample (it may have no features: a run without ASVs).

    Raises
    ------
    BiomError
        Missing, empty, not HDF5 (JSON BIOM 1.0 is named as such), unreadable or corrupt
        chunks, implausible dataset sizes, duplicate or empty IDs, corrupt matrix pointers,
        the observation and sample matrices disagreeing, negative, non-finite or absurdly large
        (> 1e12) values, no samples. The message names the file and every
        structural problem found.
    """
    return _open(Path(path), outline=False)


def check_table(path: str | Path) -> TableOutline:
    """Check a BIOM 2.1 table exactly as :func:`read_table` does, streaming its values.

    The stored values are read in slices and not kept: memory is bounded by the IDs, the
    metadata and ``indptr``, whatever the number of stored values (``soilbiome stamp`` on a
    large table). The two stored orientations are compared through a keyed fingerprint of
    their cells (:func:`~soilbiome.io.biom_checks.summary_problems`) instead of cell by cell.

    Raises
    ------
    BiomError
        As :func:`read_table`.
    """
    return _open(Path(path), outline=True)


def _open(path: Path, *, outline: bool):  # noqa: ANN202
    sniff(path)
    try:
        with h5py.File(path, "r") as handle:
            return _read(handle, path, outline=outline)
    except BiomError as exc:
        if exc.location is None:
            raise BiomError(str(exc), location=str(path), problems=exc.problems) from None
        raise
    except DatasetProblem as exc:
        raise BiomError(str(exc), location=str(path)) from None
    except (OSError, KeyError, ValueError, TypeError, RuntimeError, OverflowError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise BiomError(f"cannot read BIOM table ({reason})", location=str(path)) from None


def _read(handle: h5py.File, path: Path, *, outline: bool = False):  # noqa: ANN202
    where = str(path)
    problems: list[str] = []
    feature_ids, found = check_ids(handle, "observation")
    problems += found
    sample_ids, found = check_ids(handle, "sample")
    problems += found
    if feature_ids is None or sample_ids is None:
        raise BiomError("; ".join(problems), location=where, problems=problems)
    nnz = None
    if "nnz" in handle.attrs:
        try:
            nnz = int(np.asarray(handle.attrs["nnz"]).item())
        except (TypeError, ValueError):
            problems.append(f"attribute nnz is {attr_text(handle.attrs['nnz'])!r}, not a number")
    # the sample-major group is CSC over samples = CSR samples x features
    key = fingerprint_key()
    counts, found = check_matrix(handle, "sample", len(sample_ids), len(feature_ids), nnz,
                                 keep=not outline, key=key)
    problems += found
    # BIOM 2.1 stores the matrix twice; tools differ in which one they read, so both must be
    # sound and equal (a value changed in one only would pass one tool and fool another)
    by_feature, found = check_matrix(handle, "observation", len(feature_ids), len(sample_ids),
                                     nnz, keep=not outline, key=key)
    problems += found
    if counts is not None and by_feature is not None:
        if not outline:
            found = orientation_problems(counts, by_feature)
        elif found := summary_problems(counts, by_feature):
            # they differ: load both (the table is refused anyway) to name the first cell
            exact_s, _ = check_matrix(handle, "sample", len(sample_ids), len(feature_ids), nnz)
            exact_f, _ = check_matrix(handle, "observation", len(feature_ids),
                                      len(sample_ids), nnz)
            if exact_s is not None and exact_f is not None:
                found = orientation_problems(exact_s, exact_f) or found
        problems += found
    if problems:
        raise BiomError("; ".join(problems), location=where, problems=problems)
    if not sample_ids:
        raise BiomError("table has no samples", location=where)
    if outline:
        integral = counts.integral
    else:
        counts.eliminate_zeros()
        counts.sort_indices()
        integral = np.array_equal(counts.data, np.round(counts.data))
    attributes = {str(k): attr_text(v) for k, v in handle.attrs.items()}
    kind = attributes.get(VALUE_KIND_ATTR, "")
    if kind not in ("", COUNTS, RELATIVE):
        raise BiomError(f"attribute {VALUE_KIND_ATTR} is '{kind}', expected counts or relative",
                        location=where)
    if not kind:
        kind = COUNTS if integral else RELATIVE
    elif kind == COUNTS and not integral:
        raise BiomError("table says it holds counts but has non-integer values", location=where)
    taxonomy = _taxonomy(handle, feature_ids)
    obs_md = _metadata_columns(handle, "observation", len(feature_ids), {"taxonomy"})
    sample_md = _frame(_metadata_columns(handle, "sample", len(sample_ids), set()),
                       sample_ids, "sample")
    if outline:
        return TableOutline(sample_ids=tuple(sample_ids), feature_ids=tuple(feature_ids),
                            value_kind=kind, attributes=attributes, path=path,
                            tree=read_stored_tree(handle), sample_metadata=sample_md)
    return FeatureTable(
        sample_ids=tuple(sample_ids),
        feature_ids=tuple(feature_ids),
        counts=counts,
        value_kind=kind,
        taxonomy=taxonomy,
        sample_metadata=sample_md,
        observation_metadata=obs_md,
        attributes=attributes,
        path=path,
        tree=read_stored_tree(handle),  # text only; soilbiome.io.biom_tree.feature_tree parses
    )
