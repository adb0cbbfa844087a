"""The numba kernels of unweighted UniFrac (:mod:`soilbiome.diversity.unweighted`).

They are used where the C kernels of :mod:`soilbiome.diversity.native` are not built (an
install without a C compiler); both compute the same values, in the same order, to the bit.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange


@njit(cache=True)
def presence(indptr, indices, tip_of, parent, n_nodes):
    """Bit sets ``bits[node, w]`` (bit ``i & 63`` of word ``i >> 6``: sample ``i`` holds a
    feature below the node) of the samples of a CSR table, nodes in postorder."""
    n = indptr.shape[0] - 1
    words = (n + 63) // 64
    bits = np.zeros((n_nodes, words), dtype=np.uint64)
    for i in range(n):
        w = i >> 6
        b = np.uint64(1) << np.uint64(i & 63)
        for p in range(indptr[i], indptr[i + 1]):
            bits[tip_of[indices[p]], w] |= b
    for node in range(n_nodes):  # children before their parent
        up = parent[node]
        if up >= 0:
            for w in range(words):
                bits[up, w] |= bits[node, w]
    return bits


@njit(cache=True, parallel=True)
def counts(bits, n, length):
    """Samples holding each node, and the length each sample spans (``S``, exact)."""
    n_nodes, words = bits.shape
    occ = np.zeros(n_nodes, dtype=np.int64)
    for k in prange(n_nodes):
        c = 0
        for w in range(words):
            x = bits[k, w]
            while x:
                x &= x - np.uint64(1)
                c += 1
        occ[k] = c
    span = np.zeros(n)
    for w in prange(words):
        for k in range(n_nodes):
            x = bits[k, w]
            if x == 0 or length[k] == 0.0:
                continue
            for b in range(64):
                if (x >> np.uint64(b)) & np.uint64(1):
                    span[w * 64 + b] += length[k]
    return occ, span


@njit(cache=True)
def _word(bits, k, w, lacking, n):
    """Word ``w`` of node ``k``'s bit set, inverted (within the ``n`` samples) if ``lacking``."""
    x = bits[k, w]
    if lacking:
        x = ~x
        last = n - 64 * w
        if last < 64:
            x &= (np.uint64(1) << np.uint64(last)) - np.uint64(1)
    return x


@njit(cache=True)
def columns(bits, nodes, values, lacking, n):
    """CSC arrays (samples x ``len(nodes)``) of the sparse part: column ``c`` holds
    ``values[c]`` for the samples holding node ``nodes[c]`` (``lacking[c]``: not holding)."""
    m = nodes.shape[0]
    words = bits.shape[1]
    ptr = np.zeros(m + 1, dtype=np.int64)
    for c in range(m):
        t = 0
        for w in range(words):
            x = _word(bits, nodes[c], w, lacking[c], n)
            while x:
                x &= x - np.uint64(1)
                t += 1
        ptr[c + 1] = ptr[c] + t
    idx = np.empty(ptr[m], dtype=np.int64)
    val = np.empty(ptr[m], dtype=np.float64)
    for c in range(m):
        q = ptr[c]
        for w in range(words):
            x = _word(bits, nodes[c], w, lacking[c], n)
            if x == 0:
                continue
            for b in range(64):
                if (x >> np.uint64(b)) & np.uint64(1):
                    idx[q] = 64 * w + b
                    val[q] = values[c]
                    q += 1
    return ptr, idx, val


@njit(cache=True, parallel=True)
def unpack(bits, nodes, values, a, b):
    """``a[c, i] = values[c]``, ``b[c, i] = 1`` where sample ``i`` holds node ``nodes[c]``."""
    n = a.shape[1]
    for cc in prange(nodes.shape[0]):
        c = np.int64(cc)
        k = nodes[c]
        v = values[c]
        for i in range(n):
            if (bits[k, i >> 6] >> np.uint64(i & 63)) & np.uint64(1):
                a[c, i] = v
                b[c, i] = 1.0
            else:
                a[c, i] = 0.0
                b[c, i] = 0.0
