"""The C kernels of unweighted UniFrac (``_unifrac_native.c``), loaded with :mod:`ctypes`.

The extension is compiled when the package is installed (``setup.py``, marked optional)
and loaded by :func:`soilbiome.clib.load`.
Where it was not built (no C compiler) or ``SOILBIOME_NATIVE=0`` is set, :func:`kernels`
returns the numba kernels of :mod:`soilbiome.diversity.unweighted_jit` instead: both compute
the same values to the bit.

The functions below take and return the same arrays as the numba ones, so that
:mod:`soilbiome.diversity.unweighted` calls either without knowing which it has. Loading the
library takes milliseconds; importing numba and loading its cached kernels took about 0.35 s
of a 1.4 s ``soilbiome beta matrix`` on 1,000 samples (docs/diversity.md, "Speed").
"""

from __future__ import annotations

import ctypes
from functools import cache
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from soilbiome.clib import load
from soilbiome.diversity.common import workers

_I64 = ctypes.c_int64
_PTR = ctypes.c_void_p
_INT = ctypes.c_int

#: argument and return types of each exported C function
_SIGNATURES: dict[str, tuple[list, object]] = {
    "sb_presence": ([_I64, _PTR, _PTR, _PTR, _PTR, _I64, _PTR], None),
    "sb_counts": ([_PTR, _I64, _I64, _I64, _PTR, _PTR, _PTR, _INT], None),
    "sb_columns_ptr": ([_PTR, _I64, _PTR, _I64, _PTR, _I64, _PTR], _I64),
    "sb_columns_fill": ([_PTR, _I64, _PTR, _I64, _PTR, _I64, _PTR, _PTR, _PTR, _PTR], None),
    "sb_unpack": ([_PTR, _I64, _PTR, _I64, _PTR, _I64, _PTR, _PTR, _INT], None),
    "sb_raw_rectangle": ([_I64, _PTR, _PTR, _PTR, _I64, _PTR, _PTR, _PTR, _INT, _PTR, _INT],
                         _INT),
}


@cache
def library() -> ctypes.CDLL | None:
    """The compiled library, or None (not built, or ``SOILBIOME_NATIVE=0``)."""
    return load(Path(__file__).parent, "_unifrac_native", _SIGNATURES)


def _c(a: np.ndarray, dtype: type) -> np.ndarray:
    return np.ascontiguousarray(a, dtype=dtype)


def presence(indptr: np.ndarray, indices: np.ndarray, tip_of: np.ndarray,
             parent: np.ndarray, n_nodes: int) -> np.ndarray:
    """Bit sets ``bits[node, word]`` of the samples of a CSR table (see unweighted_jit)."""
    n = indptr.shape[0] - 1
    bits = np.empty((n_nodes, (n + 63) // 64), dtype=np.uint64)
    indptr, indices = _c(indptr, np.int64), _c(indices, np.int64)
    tip_of, parent = _c(tip_of, np.int64), _c(parent, np.int64)
    library().sb_presence(n, indptr.ctypes.data, indices.ctypes.data, tip_of.ctypes.data,
                          parent.ctypes.data, int(n_nodes), bits.ctypes.data)
    return bits


def counts(bits: np.ndarray, n: int, length: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Samples holding each node, and the length each sample spans."""
    bits, length = _c(bits, np.uint64), _c(length, np.float64)
    occ = np.empty(bits.shape[0], dtype=np.int64)
    span = np.empty(int(n), dtype=np.float64)
    library().sb_counts(bits.ctypes.data, bits.shape[0], bits.shape[1], int(n),
                        length.ctypes.data, occ.ctypes.data, span.ctypes.data, workers())
    return occ, span


def columns(bits: np.ndarray, nodes: np.ndarray, values: np.ndarray, lacking: np.ndarray,
            n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """CSC arrays of the sparse part (see unweighted_jit.columns)."""
    lib = library()
    bits, nodes = _c(bits, np.uint64), _c(nodes, np.int64)
    values, lacking = _c(values, np.float64), _c(lacking, np.uint8)
    m = nodes.shape[0]
    ptr = np.empty(m + 1, dtype=np.int64)
    total = lib.sb_columns_ptr(bits.ctypes.data, bits.shape[1], nodes.ctypes.data, m,
                               lacking.ctypes.data, int(n), ptr.ctypes.data)
    idx = np.empty(total, dtype=np.int64)
    val = np.empty(total, dtype=np.float64)
    lib.sb_columns_fill(bits.ctypes.data, bits.shape[1], nodes.ctypes.data, m,
                        lacking.ctypes.data, int(n), values.ctypes.data, ptr.ctypes.data,
                        idx.ctypes.data, val.ctypes.data)
    return ptr, idx, val


def unpack(bits: np.ndarray, nodes: np.ndarray, values: np.ndarray, a: np.ndarray,
           b: np.ndarray) -> None:
    """``a[c, i] = values[c]``, ``b[c, i] = 1`` where sample ``i`` holds ``nodes[c]``, in
    place (``a`` and ``b`` C-contiguous float64)."""
    if not (a.flags.c_contiguous and b.flags.c_contiguous and a.dtype == b.dtype == np.float64):
        raise ValueError("unpack writes into C-contiguous float64 arrays")
    bits, nodes, values = _c(bits, np.uint64), _c(nodes, np.int64), _c(values, np.float64)
    library().sb_unpack(bits.ctypes.data, bits.shape[1], nodes.ctypes.data, nodes.shape[0],
                        values.ctypes.data, a.shape[1], a.ctypes.data, b.ctypes.data, workers())


def raw_rectangle(indptr: np.ndarray, indices: np.ndarray, data: np.ndarray,
                  c_indptr: np.ndarray, c_indices: np.ndarray, c_data: np.ndarray, n: int,
                  upper: bool) -> np.ndarray:
    """Sums of minima between CSR rows and the ``n`` samples of a CSC table (the sparse
    kernel's ``RAW_SUM`` without dense columns, :func:`soilbiome.diversity.kernels.rectangle`).
    """
    m = indptr.shape[0] - 1
    arrays = [_c(indptr, np.int64), _c(indices, np.int64), _c(data, np.float64),
              _c(c_indptr, np.int64), _c(c_indices, np.int64), _c(c_data, np.float64)]
    out = np.empty((m, int(n)), dtype=np.float64)
    p = [a.ctypes.data for a in arrays]
    if library().sb_raw_rectangle(m, p[0], p[1], p[2], int(n), p[3], p[4], p[5], int(upper),
                                  out.ctypes.data, workers()) != 0:
        raise MemoryError("unweighted UniFrac: no memory for a thread's accumulator")
    return out


def _jit_raw_rectangle(indptr: np.ndarray, indices: np.ndarray, data: np.ndarray,
                       c_indptr: np.ndarray, c_indices: np.ndarray, c_data: np.ndarray,
                       n: int, upper: bool) -> np.ndarray:
    from soilbiome.diversity import kernels as jit

    m = c_indptr.shape[0] - 1
    return jit.rectangle(jit.RAW_SUM, indptr, indices, data, np.zeros(indptr.shape[0] - 1),
                         c_indptr, c_indices, c_data, np.zeros(int(n)),
                         np.full(m, -1, dtype=np.int64), np.zeros((0, int(n))), upper)


def kernels(engine: str | None = None) -> SimpleNamespace:
    """The unweighted UniFrac kernels: ``engine`` ``"c"`` or ``"numba"``, or by default the C
    ones when built, else numba's (``name`` says which)."""
    if engine not in (None, "c", "numba"):
        raise ValueError(f"unknown kernel engine {engine!r}")
    if engine == "c" and library() is None:
        raise RuntimeError("the C kernels are not built (or SOILBIOME_NATIVE=0)")
    if engine != "numba" and library() is not None:
        return SimpleNamespace(name="c", presence=presence, counts=counts, columns=columns,
                               unpack=unpack, raw_rectangle=raw_rectangle)
    from soilbiome.diversity import unweighted_jit as jit

    return SimpleNamespace(name="numba", presence=jit.presence, counts=jit.counts,
                           columns=jit.columns, unpack=jit.unpack,
                           raw_rectangle=_jit_raw_rectangle)
