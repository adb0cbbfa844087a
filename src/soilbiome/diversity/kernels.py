"""Compiled (numba) kernels of the sparse beta-diversity engine.

Bray-Curtis and Jaccard between samples only need, for every pair of samples, the sum over
shared features of ``min(x_ik, x_jk)`` (Bray-Curtis) or the number of shared features
(Jaccard). Both are computed with an inverted index (feature -> samples holding it, i.e. the
CSC form of the samples x features table): for sample ``i`` every feature ``k`` it holds is
visited once and its column is scattered into a dense accumulator of length ``n_samples``.
The work is ``sum_i sum_{k in i} nnz(column k)`` and the memory one accumulator per thread;
no dense samples x features matrix is ever built. This is the sparse "inverted index" way of
computing all-pairs similarities (e.g. Bayardo, Ma & Srikant 2007, *Scaling up all pairs
similarity search*, WWW '07).

Every kernel adds the contributions of a pair ``(i, j)`` in the order of sample ``i``'s
features, so a value does not depend on how the matrix is cut into blocks: the blockwise and
the one-pass results are bit-identical.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

BRAYCURTIS = 0
JACCARD = 1
#: ``M`` itself (the sum of minima: the shared parts of UniFrac, :mod:`soilbiome.diversity.
#: unweighted` and :mod:`soilbiome.diversity.weighted`)
RAW_SUM = 5


@njit(cache=True, inline="always")
def _finish(kind: int, shared: float, size_i: float, size_j: float) -> float:
    if kind == BRAYCURTIS:
        denom = size_i + size_j
        if denom == 0.0:
            return np.nan
        return 1.0 - 2.0 * shared / denom
    if kind == RAW_SUM:
        return shared
    union = size_i + size_j - shared
    if union == 0.0:
        return np.nan
    d = 1.0 - shared / union
    return d if d > 0.0 else 0.0


@njit(cache=True, inline="always")
def _scatter(kind: int, i: int, r_indptr, r_indices, r_data, c_indptr, c_indices, c_data,
             slot, dense, acc, lo: int) -> None:
    """Add row ``i``'s overlaps with the column samples ``lo..`` into ``acc``.

    A feature held by many column samples (``slot[k] >= 0``) is read from its dense copy
    (``dense[slot[k]]``, zeros where absent) in one contiguous, vectorised pass; adding the
    ``min(x, 0) = 0`` of the absent samples leaves every sum bit for bit as the sparse pass.
    """
    for p in range(r_indptr[i], r_indptr[i + 1]):
        _add_feature(kind, r_indices[p], r_data[p], lo, c_indptr, c_indices, c_data, slot,
                     dense, acc)


@njit(cache=True, inline="always")
def _add_feature(kind: int, k: int, x: float, lo: int, c_indptr, c_indices, c_data, slot,
                 dense, acc) -> None:
    """Add one row feature ``k`` (value ``x``) overlapped with every column sample ``lo..``
    into ``acc``: from its dense copy when it has one, else from its sparse column."""
    if kind == JACCARD:
        x = 1.0
    s = slot[k]
    if s >= 0:
        col = dense[s]
        for q in range(lo, acc.shape[0]):
            y = col[q]
            acc[q] += x if x < y else y
        return
    start = c_indptr[k]
    stop = c_indptr[k + 1]
    # the column's samples are sorted: skip those before lo (binary search)
    a, b = start, stop
    while a < b:
        mid = (a + b) // 2
        if c_indices[mid] < lo:
            a = mid + 1
        else:
            b = mid
    if kind == JACCARD:
        for q in range(a, stop):
            acc[c_indices[q]] += 1.0
    else:
        for q in range(a, stop):
            y = c_data[q]
            acc[c_indices[q]] += x if x < y else y


@njit(cache=True, parallel=True)
def condensed(kind: int, indptr, indices, data, c_indptr, c_indices, c_data, sizes, slot,
              dense):
    """All pairs ``i < j`` of one table, in scipy's condensed order.

    Parameters
    ----------
    kind : int
        :data:`BRAYCURTIS`, :data:`JACCARD` or :data:`RAW_SUM`.
    indptr, indices, data : ndarray
        CSR of the samples x features table (sorted indices).
    c_indptr, c_indices, c_data : ndarray
        CSC of the same table (sorted indices).
    sizes : ndarray
        Per-sample totals (Bray-Curtis) or numbers of features (Jaccard).
    slot, dense : ndarray
        Row of ``dense`` (features x samples, 1 for Jaccard) holding feature ``k``'s column
        densely, or -1 (see :func:`_scatter`).

    Returns
    -------
    ndarray
        ``n (n - 1) / 2`` distances, ``d[i, j]`` at ``n i - i (i + 1) / 2 + j - i - 1``.
    """
    n = indptr.shape[0] - 1
    out = np.empty(n * (n - 1) // 2, dtype=np.float64)
    half = (n + 1) // 2
    # pair row t with row n - 1 - t so that both threads get as much of the triangle
    for t in prange(half):
        acc = np.zeros(n, dtype=np.float64)
        tt = np.int64(t)
        for s in range(2):
            i = tt if s == 0 else n - 1 - tt
            if s == 1 and i == tt:
                continue
            _scatter(kind, i, indptr, indices, data, c_indptr, c_indices, c_data, slot, dense,
                     acc, i + 1)
            base = n * i - i * (i + 1) // 2 - i - 1
            for j in range(i + 1, n):
                out[base + j] = _finish(kind, acc[j], sizes[i], sizes[j])
                acc[j] = 0.0
    return out


@njit(cache=True, parallel=True)
def rectangle(kind: int, indptr, indices, data, sizes_r, c_indptr, c_indices, c_data, sizes_c,
              slot, dense, upper: bool):
    """Distances between the samples of one table (rows) and those of another (columns).

    With ``upper`` (rows and columns are the same samples) only ``j > i`` is computed and the
    lower triangle is mirrored, so that the block equals the one-pass :func:`condensed`.
    """
    m = indptr.shape[0] - 1
    n = sizes_c.shape[0]
    out = np.zeros((m, n), dtype=np.float64)
    # with upper, pair row t with row m - 1 - t so that both threads get as much of the triangle
    steps = (m + 1) // 2 if upper else m
    for tt in prange(steps):
        t = np.int64(tt)
        acc = np.zeros(n, dtype=np.float64)
        for s in range(2 if upper else 1):
            i = t if s == 0 else m - 1 - t
            if s == 1 and i == t:
                continue
            lo = i + 1 if upper else np.int64(0)
            _scatter(kind, i, indptr, indices, data, c_indptr, c_indices, c_data, slot, dense,
                     acc, lo)
            for j in range(lo, n):
                out[i, j] = _finish(kind, acc[j], sizes_r[i], sizes_c[j])
                acc[j] = 0.0
    if upper:
        for i in range(m):
            for j in range(i):
                out[i, j] = out[j, i]
    return out


@njit(cache=True, parallel=True)
def permanova_ssw(d2, labels, inv_sizes, perms):
    """Within-group sums of squares for the observed and permuted groupings.

    Parameters
    ----------
    d2 : ndarray
        Squared distances, square ``n x n``.
    labels : ndarray of int64
        Group index of each sample.
    inv_sizes : ndarray
        ``1 / n_g`` per group.
    perms : ndarray of int64
        ``P x n`` permutations of the sample positions (row 0 may be the identity).

    Returns
    -------
    ndarray
        ``SS_W`` per permutation: ``sum_g 1/n_g sum_{i<j in g} d_ij^2``.
    """
    n_perm = perms.shape[0]
    n = d2.shape[0]
    g = inv_sizes.shape[0]
    out = np.empty(n_perm, dtype=np.float64)
    for pp in prange(n_perm):
        p = np.int64(pp)
        # members of each group under this permutation, ascending (counting sort): only the
        # n^2 / (2 g) within-group pairs are visited, without a branch per pair
        counts = np.zeros(g + 1, dtype=np.int64)
        lab = np.empty(n, dtype=np.int64)
        for i in range(n):
            lab[i] = labels[perms[p, i]]
            counts[lab[i] + 1] += 1
        for k in range(g):
            counts[k + 1] += counts[k]
        fill = counts[:g].copy()
        members = np.empty(n, dtype=np.int64)
        for i in range(n):
            members[fill[lab[i]]] = i
            fill[lab[i]] += 1
        total = 0.0
        for k in range(g):
            s = 0.0
            a, b = counts[k], counts[k + 1]
            for x in range(a, b):
                row = d2[members[x]]
                for y in range(x + 1, b):
                    s += row[members[y]]
            total += s * inv_sizes[k]
        out[p] = total
    return out
