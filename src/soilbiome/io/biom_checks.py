"""Structural checks of a BIOM 2.1 HDF5 file that both the reader and the validator run.

Every dataset is read through :func:`read_dataset`, which refuses implausible declared sizes
(an HDF5 file can declare a terabyte dataset in a few bytes) and turns a corrupt chunk
(a failed decompression or checksum) into one problem naming the dataset. Values are read
in slices of :data:`CHUNK` entries, so checking ``indices``/``data`` never needs more than
one slice beyond the arrays that are kept.
"""

from __future__ import annotations

import datetime as dt
import os
from collections import Counter
from dataclasses import dataclass

import h5py
import numpy as np
from scipy import sparse

from soilbiome.io.biom_layout import attr_text, decode, name_some
from soilbiome.model.table import MAX_VALUE

#: Entries read per slice when streaming a large dataset.
CHUNK = 1 << 20
#: Entries per slice when checking a matrix's indices and values (whole rows, see
#: :func:`check_matrix`): its working arrays then take about 25 MB.
CHECK_CHUNK = 1 << 18
#: A dataset may declare at most this many bytes per stored byte (gzip's limit is ~1030) ...
MAX_EXPANSION = 1100
#: ... unless it declares less than this many bytes in total.
SMALL_BYTES = 64 << 20


class DatasetProblem(Exception):
    """A dataset is missing, of the wrong kind, implausibly large or unreadable."""


def dataset(handle: h5py.File, name: str, ndim: int | None = 1) -> h5py.Dataset:
    """The dataset ``name``, checked to be of plausible size (and ``ndim``-D unless None).

    Raises
    ------
    DatasetProblem
    """
    obj = handle.get(name)
    if obj is None:
        raise DatasetProblem(f"dataset '{name}' is missing")
    if not isinstance(obj, h5py.Dataset):
        raise DatasetProblem(f"'{name}' is not a dataset")
    if obj.shape is None or (ndim is not None and obj.ndim != ndim):
        raise DatasetProblem(f"dataset '{name}' has shape {obj.shape}, expected {ndim}-D")
    if obj.dtype.kind == "V" or obj.dtype.itemsize == 0:
        raise DatasetProblem(f"dataset '{name}' holds {obj.dtype} values")
    declared = obj.size * obj.dtype.itemsize
    if declared > SMALL_BYTES:
        stored = obj.id.get_storage_size()
        if declared > MAX_EXPANSION * max(stored, 1):
            raise DatasetProblem(
                f"dataset '{name}' declares {obj.size} entries ({declared} bytes) but stores "
                f"only {stored} bytes (not a real table, or a decompression bomb)"
            )
    return obj


def read_dataset(handle: h5py.File, name: str, ndim: int | None = 1) -> np.ndarray:
    """Read a whole dataset in slices; a corrupt chunk names the dataset and position.

    Raises
    ------
    DatasetProblem
    """
    obj = dataset(handle, name, ndim)
    if obj.ndim == 0:
        return _read_slice(obj, name, 0, 0)
    n = obj.shape[0]
    if n <= CHUNK:
        return _read_slice(obj, name, 0, n)
    parts = [_read_slice(obj, name, start, min(start + CHUNK, n)) for start in range(0, n, CHUNK)]
    return np.concatenate(parts)


def _read_slice(obj: h5py.Dataset, name: str, start: int, stop: int) -> np.ndarray:
    try:
        return obj[start:stop] if stop > start else obj[()]
    except (OSError, ValueError, TypeError, RuntimeError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DatasetProblem(
            f"dataset '{name}' is unreadable near entry {start} (corrupt HDF5 data: {reason})"
        ) from None


def check_creation_date(value: object) -> str | None:
    """A problem with the ``creation-date`` attribute, or ``None``."""
    text = attr_text(value).strip()
    if not text:
        return "attribute 'creation-date' is empty"
    try:
        stamp = dt.datetime.fromisoformat(text)
    except ValueError:
        return f"attribute 'creation-date' '{text}' is not an ISO 8601 date-time"
    if stamp.tzinfo is not None:
        return (
            f"attribute 'creation-date' '{text}' has a timezone; BIOM 2.1 readers "
            "(biom-format) expect a naive ISO 8601 timestamp"
        )
    return None


def check_ids(handle: h5py.File, axis: str) -> tuple[list[str] | None, list[str]]:
    """The IDs of ``axis`` (``sample`` or ``observation``) and the problems found in them."""
    name = f"{axis}/ids"
    try:
        raw = read_dataset(handle, name)
    except DatasetProblem as exc:
        return None, [str(exc)]
    if len(raw) == 0:
        return [], []  # biom-format writes an empty ID list as float64
    if raw.dtype.kind not in "SOU":
        return None, [f"dataset '{name}' holds {raw.dtype} values, not strings"]
    try:
        ids = decode(raw)
    except ValueError:
        return None, [f"dataset '{name}' holds text that is not UTF-8"]
    problems: list[str] = []
    blank = sum(1 for i in ids if not i.strip())
    if blank:
        problems.append(f"{axis} IDs: {blank} empty ID(s)")
    dupes = [i for i, n in Counter(ids).items() if n > 1]
    if dupes:
        problems.append(f"duplicate {axis} ID(s): {name_some(dupes)}")
    return ids, problems


@dataclass(frozen=True)
class MatrixSummary:
    """What :func:`check_matrix` returns with ``keep=False``: the checked matrix's shape, a
    keyed fingerprint of its non-zero cells and whether every value is a whole number."""

    shape: tuple[int, int]
    fingerprint: tuple[int, int]
    integral: bool


def fingerprint_key() -> np.ndarray:
    """A fresh random key for :func:`check_matrix`'s cell fingerprints (3 odd 64-bit words)."""
    return np.frombuffer(os.urandom(24), dtype=np.uint64) | np.uint64(1)


_M1, _M2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)


def _mix(z: np.ndarray) -> np.ndarray:
    """The splitmix64 finaliser (Steele, Lea & Flood 2014), element-wise, wrapping."""
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


def _cell_hashes(feature: np.ndarray, sample: np.ndarray, value: np.ndarray,
                 key: np.ndarray) -> tuple[int, int]:
    """A keyed 64-bit sum over the cells (feature, sample, value), and their number.

    A sum over cells does not depend on their order, so the two stored orientations of one
    matrix give the same sum; each cell's position (feature and sample, packed exactly into
    64 bits) and value bits go through the splitmix64 bijection with a random key per check,
    so two different matrices give the same sum with a chance of about 2**-64. Zeros are left
    out, as in :func:`orientation_problems`.
    """
    keep = value != 0
    cell = (feature[keep].astype(np.uint64) << np.uint64(32)) | sample[keep].astype(np.uint64)
    bits = np.ascontiguousarray(value[keep], dtype=np.float64).view(np.uint64)
    h = _mix(_mix(cell ^ key[0]) ^ (bits * key[1] + key[2]))
    return int(h.sum(dtype=np.uint64)), int(keep.sum())


def _row_bounds(indptr: np.ndarray, start: int, n_stored: int) -> int:
    """End of the next slice from ``start``: about :data:`CHECK_CHUNK` entries, whole rows."""
    want = min(start + CHECK_CHUNK, n_stored)
    row = int(np.searchsorted(indptr, want, side="right")) - 1
    stop = int(indptr[row])
    if stop <= start:  # one row longer than CHUNK: take that whole row
        row = int(np.searchsorted(indptr, start, side="right"))
        stop = int(indptr[min(row, len(indptr) - 1)])
    return max(stop, min(start + 1, n_stored))


def check_matrix(
    handle: h5py.File, axis: str, n_major: int, n_minor: int, nnz: int | None,
    *, keep: bool = True, key: np.ndarray | None = None,
) -> tuple[sparse.csr_matrix | MatrixSummary | None, list[str]]:
    """Check one compressed matrix (observation = CSR, sample = CSC); return it if sound.

    The returned matrix is ``n_major x n_minor`` CSR with sorted indices (the sample group
    gives samples x features). Checked: the three datasets exist, are 1-D and numeric;
    ``indptr`` has ``n_major + 1`` entries, starts at 0, never decreases and ends at the number
    of stored values; ``data`` and ``indices`` have that length (= attribute ``nnz``);
    ``indices`` lie in ``0..n_minor-1`` and never repeat within one row; values are finite,
    non-negative and at most :data:`~soilbiome.model.table.MAX_VALUE` (1e12, more reads than
    any sequencing run gives: sums over the table then stay finite).

    ``indices`` and ``data`` are read in slices of whole rows (about :data:`CHECK_CHUNK`
    values).
    With ``keep=False`` they are not kept: a :class:`MatrixSummary` is returned instead (its
    fingerprint keyed with ``key``, see :func:`fingerprint_key`), so checking a table needs
    memory for its ``indptr`` and one slice, whatever the number of stored values.
    """
    kind = "CSR" if axis == "observation" else "CSC"
    other = "sample" if axis == "observation" else "observation"
    base = f"{axis}/matrix"
    label = f"{base} ({kind})"
    try:
        indptr_ds = dataset(handle, f"{base}/indptr")
        indices_ds = dataset(handle, f"{base}/indices")
        data_ds = dataset(handle, f"{base}/data")
    except DatasetProblem as exc:
        return None, [str(exc)]
    problems: list[str] = []
    for ds, what, kinds in ((indptr_ds, "indptr", "iu"), (indices_ds, "indices", "iu"),
                            (data_ds, "data", "iuf")):
        if ds.dtype.kind not in kinds:
            problems.append(f"{label}: {what} holds {ds.dtype} values, not numbers")
    if problems:
        return None, problems
    n_stored = data_ds.shape[0]
    if indices_ds.shape[0] != n_stored:
        problems.append(f"{label}: {n_stored} data values but {indices_ds.shape[0]} indices")
    if nnz is not None and n_stored != nnz:
        problems.append(f"{label}: {n_stored} stored values but attribute nnz = {nnz}")
    if n_stored > n_major * n_minor:
        problems.append(f"{label}: {n_stored} stored values for a {n_major} x {n_minor} matrix")
    if indptr_ds.shape[0] != n_major + 1:
        problems.append(
            f"{label}: indptr has {indptr_ds.shape[0]} entries, expected {n_major + 1} "
            f"({n_major} {axis}s + 1)"
        )
    if problems:
        return None, problems
    try:
        indptr = read_dataset(handle, f"{base}/indptr").astype(np.int64)
    except DatasetProblem as exc:
        return None, [str(exc)]
    if len(indptr) and indptr[0] != 0:
        problems.append(f"{label}: indptr starts at {indptr[0]}, expected 0")
    steps = np.diff(indptr)
    if len(steps) and (steps < 0).any():
        where = int(np.argmax(steps < 0))
        problems.append(f"{label}: indptr is not monotone (decreases after position {where})")
    if len(indptr) and indptr[-1] != n_stored:
        problems.append(
            f"{label}: indptr ends at {indptr[-1]} but there are {n_stored} stored values"
        )
    if problems:
        return None, problems
    del steps
    indices = np.empty(n_stored if keep else 0, dtype=np.int64)
    data = np.empty(n_stored if keep else 0, dtype=np.float64)
    key = fingerprint_key() if key is None else key
    fingerprint, integral = (0, 0), True
    start = 0
    try:
        while start < n_stored:
            stop = _row_bounds(indptr, start, n_stored)
            idx = _read_slice(indices_ds, f"{base}/indices", start, stop).astype(np.int64)
            val = _read_slice(data_ds, f"{base}/data", start, stop).astype(np.float64)
            if len(idx) and (idx.min() < 0 or idx.max() >= n_minor):
                bad = int(np.argmax((idx < 0) | (idx >= n_minor)))
                return None, [f"{label}: indices out of range 0..{n_minor - 1} ({other}s): "
                              f"entry {start + bad} is {idx[bad]}"]
            if not np.isfinite(val).all():
                bad = int(np.argmax(~np.isfinite(val)))
                return None, [f"{label}: data has a non-finite value ({val[bad]}) at entry "
                              f"{start + bad}"]
            if (val < 0).any():
                bad = int(np.argmax(val < 0))
                return None, [f"{label}: data has a negative value ({val[bad]}) at entry "
                              f"{start + bad}"]
            if len(val) and val.max() > MAX_VALUE:
                bad = int(np.argmax(val > MAX_VALUE))
                return None, [f"{label}: data has an implausible value ({val[bad]:g}, more than "
                              f"{MAX_VALUE:.0e} reads) at entry {start + bad}"]
            # the rows of this slice: an index stored twice within one row is refused
            r0 = int(np.searchsorted(indptr, start, side="right")) - 1
            r1 = int(np.searchsorted(indptr, stop, side="left"))
            row = np.repeat(np.arange(r0, r1), np.diff(indptr[r0:r1 + 1]))
            new_row = row[1:] != row[:-1]
            if not ((idx[1:] > idx[:-1]) | new_row).all():  # not strictly sorted: look closer
                order = np.lexsort((idx, row))
                same = (idx[order][1:] == idx[order][:-1]) & (row[order][1:] == row[order][:-1])
                if same.any():
                    where = int(row[order][1:][int(np.argmax(same))])
                    return None, [f"{label}: {axis} {where} stores the same {other} index "
                                  "twice"]
            if keep:
                indices[start:stop] = idx
                data[start:stop] = val
            else:
                integral = integral and bool(np.array_equal(val, np.round(val)))
                feature, sample = (row, idx) if axis == "observation" else (idx, row)
                h, n = _cell_hashes(feature, sample, val, key)
                fingerprint = ((fingerprint[0] + h) % (1 << 64), fingerprint[1] + n)
            start = stop
    except DatasetProblem as exc:
        return None, [str(exc)]
    if not keep:
        return MatrixSummary((n_major, n_minor), fingerprint, integral), []
    matrix = sparse.csr_matrix((data, indices, indptr), shape=(n_major, n_minor))
    matrix.sort_indices()
    return matrix, []


def summary_problems(by_sample: MatrixSummary, by_feature: MatrixSummary) -> list[str]:
    """:func:`orientation_problems` for two :class:`MatrixSummary` (fingerprints compared)."""
    if by_sample.shape != by_feature.shape[::-1]:
        return [f"observation/matrix is {by_feature.shape[0]} x {by_feature.shape[1]} but "
                f"sample/matrix is {by_sample.shape[1]} x {by_sample.shape[0]}"]
    if by_sample.fingerprint != by_feature.fingerprint:
        return ["observation/matrix and sample/matrix: the stored matrices disagree "
                f"({by_feature.fingerprint[1]} vs {by_sample.fingerprint[1]} non-zero cells, "
                "different values); BIOM 2.1 stores one matrix in two orientations"]
    return []


def orientation_problems(by_sample: sparse.csr_matrix, by_feature: sparse.csr_matrix) -> list[str]:
    """Whether the two stored orientations hold the same matrix (empty list if so).

    ``by_sample`` is samples x features (from ``sample/matrix``), ``by_feature`` features x
    samples (from ``observation/matrix``), both as :func:`check_matrix` returns them. Compared
    sparse, in O(stored values): transposing a CSR matrix gives the CSC form of the other
    orientation, whose sorted ``indptr``/``indices``/``data`` must equal the other's.
    """
    left = by_sample.copy()
    right = by_feature.T.tocsr()
    for m in (left, right):
        m.eliminate_zeros()
        m.sort_indices()
    if (left.shape == right.shape and np.array_equal(left.indptr, right.indptr)
            and np.array_equal(left.indices, right.indices)
            and np.array_equal(left.data, right.data)):
        return []
    if left.shape != right.shape:
        return [f"observation/matrix is {right.shape[1]} x {right.shape[0]} but sample/matrix "
                f"is {left.shape[1]} x {left.shape[0]}"]
    diff = (left != right).tocoo()
    sample, feature = int(diff.row[0]), int(diff.col[0])
    return [f"observation/matrix and sample/matrix: the stored matrices disagree in {diff.nnz} "
            f"cell(s) (first: "
            f"sample {sample}, observation {feature}: {right[sample, feature]:g} vs "
            f"{left[sample, feature]:g}); BIOM 2.1 stores one matrix in two orientations"]
