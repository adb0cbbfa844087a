"""Write a :class:`biom.Table` as a BIOM 2.1 (HDF5) file: atomically, validated, R-safe.

:func:`write_biom` writes to a temp file, pads all-zero samples for R's biomformat
(:func:`pad_empty_samples`), checks the file with
:func:`~soilbiome.io.biom_validate.validate_biom` and only then renames it into place.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import h5py
import numpy as np
from scipy import sparse

from soilbiome import __version__
from soilbiome.io.atomic import atomic_path
from soilbiome.io.biom_layout import BiomError
from soilbiome.io.biom_tree import write_tree
from soilbiome.io.biom_validate import validate_biom
from soilbiome.model.context import CONTEXT_ATTR, ProcessingContext
from soilbiome.model.table import MARKER_ATTR, REGION_ATTR, VALUE_KIND_ATTR


def write_biom(  # noqa: ANN001
    table, out: str | Path, *, creation_date: dt.datetime | None = None,
    attributes: dict[str, str] | None = None, context: ProcessingContext | None = None,
    tree: str | None = None,
) -> Path:
    """Write ``table`` as BIOM 2.1 HDF5, atomically, after validating the written file.

    The file is written to a temp file beside ``out``, checked with :func:`validate_biom`, and
    only then renamed into place; on any problem nothing is left at ``out``.

    Parameters
    ----------
    table : biom.Table
    out : str or Path
    creation_date : datetime, optional
        Naive timestamp (default: now, to the second). A timezone is rejected.
    attributes : dict, optional
        Extra root attributes (e.g. ``soilbiome:sample-units``).
    context : ProcessingContext, optional
        How the table was made (:mod:`soilbiome.model.context`); written as
        ``soilbiome:processing-context`` with this soilbiome's version, and its marker, region
        and value kind also as the older ``soilbiome:marker`` / ``region`` / ``value-kind``.
    tree : str, optional
        Newick tree of the features, stored at ``/soilbiome/phylogeny``
        (:func:`soilbiome.io.biom_tree.write_tree`), where biom-format does not trip on it.

    Returns
    -------
    Path
    """
    out = Path(out)
    attributes = dict(attributes or {})
    if context is not None:
        context = context.with_values(soilbiome_version=__version__)
        attributes[CONTEXT_ATTR] = context.to_json()
        attributes.setdefault(MARKER_ATTR, context.marker)
        attributes.setdefault(REGION_ATTR, context.region)
        if context.value_kind:
            attributes.setdefault(VALUE_KIND_ATTR, context.value_kind)
    stamp = creation_date or dt.datetime.now().replace(microsecond=0)
    if stamp.tzinfo is not None:
        raise BiomError("creation-date must not carry a timezone (biom-format rejects it)")
    with atomic_path(out) as tmp:
        with hdf5_in_memory(tmp) as handle:
            table.to_hdf5(handle, f"soilbiome {__version__}", compress=True, creation_date=stamp)
            pad_empty_samples(handle)
            for key, value in attributes.items():
                handle.attrs[key] = value
            if tree is not None:
                write_tree(handle, tree)
        problems = validate_biom(tmp)
        if problems:
            raise BiomError(
                "the written table failed validation (nothing written):\n  "
                + "\n  ".join(problems),
                location=str(out),
            )
    return out


@contextmanager
def hdf5_in_memory(path: str | Path) -> Iterator[h5py.File]:
    """A new HDF5 file built in memory, written to ``path`` with plain file writes on success.

    HDF5 cannot survive a failed write (a full disk or ``ulimit -f`` leaves its library in a
    state that crashes the interpreter at exit, and biom-format's writer ends in SIGSEGV);
    built in memory, the file reaches the disk through Python, whose ``OSError`` the caller's
    :func:`~soilbiome.io.atomic.atomic_path` turns into one "disk full" line. For tables that
    are in memory anyway (the file, compressed, is smaller than the table object).
    """
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as handle:
        yield handle
    with open(path, "wb") as fh:
        fh.write(buffer.getbuffer())


def _replace_dataset(handle: h5py.File, name: str, values: np.ndarray) -> None:
    old = handle[name]
    dtype, compression = old.dtype, old.compression
    del handle[name]
    handle.create_dataset(name, data=values.astype(dtype), compression=compression)


def pad_empty_samples(handle: h5py.File) -> int:
    """Store one explicit zero in every all-zero sample column; return how many were padded.

    R's ``biomformat`` (1.26, used by ``phyloseq::import_biom``) rebuilds columns from the
    sample-major matrix with ``indptr[i-1]:(indptr[i]-1)``, which for an empty column is a
    *descending* range of two positions: the last sample fails to load, and an empty sample in
    the middle silently gets its neighbours' counts. An explicit zero is a valid sparse entry
    (BIOM 2.1 allows stored zeros), keeps every count unchanged, and makes that range empty-safe.
    Both the sample (CSC) and observation (CSR) matrices get the entry, so they stay the same
    matrix and ``nnz`` stays their stored length.
    """
    n_obs = len(handle["observation/ids"])
    indptr = handle["sample/matrix/indptr"][()].astype(np.int64)
    empty = np.flatnonzero(np.diff(indptr) == 0)
    if n_obs == 0 or len(empty) == 0:
        return 0
    n_samples = len(indptr) - 1
    csc = sparse.csc_matrix(
        (handle["sample/matrix/data"][()], handle["sample/matrix/indices"][()], indptr),
        shape=(n_obs, n_samples),
    )
    rows = np.concatenate([csc.tocoo().row, np.zeros(len(empty), dtype=np.int64)])
    cols = np.concatenate([csc.tocoo().col, empty])
    data = np.concatenate([csc.tocoo().data, np.zeros(len(empty))])
    # build the compressed forms by hand: scipy's converters would drop the explicit zeros
    for axis, major, minor, n_major in (("sample", cols, rows, n_samples),
                                        ("observation", rows, cols, n_obs)):
        order = np.lexsort((minor, major))
        counts = np.bincount(major, minlength=n_major)
        new_indptr = np.concatenate([[0], np.cumsum(counts)])
        _replace_dataset(handle, f"{axis}/matrix/data", data[order])
        _replace_dataset(handle, f"{axis}/matrix/indices", minor[order])
        _replace_dataset(handle, f"{axis}/matrix/indptr", new_indptr)
    handle.attrs["nnz"] = len(data)
    return len(empty)
