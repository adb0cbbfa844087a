"""Doubles as their shortest round-trip text, in C (``io/_float_text_native.c``).

The lsmat writer's formatter: each value in the fewest digits that read back as the same
double (the digits of Python's ``repr``), laid out as Arrow's float-to-string cast lays them
out (``0``, ``0.5``, ``0.000001``, ``1e-7``, ``1.5e+10``; see the C file), without importing
Arrow (0.06-0.09 s) and about twice as fast per value. The digits are found by the Ryu method
(Adams 2018, doi:10.1145/3192366.3192369), whose two tables of powers of five are computed
here, exactly, with Python integers.

:func:`lsmat_rows` returns None where the library was not built or ``SOILBIOME_NATIVE=0``;
:mod:`soilbiome.diversity.writers` then formats with Arrow (the same bytes, tested).
"""

from __future__ import annotations

import ctypes
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from soilbiome import clib

_LIB: list = []  # [library or None], loaded once
_LOADING = threading.Lock()  # the lsmat writer's threads may ask first at the same time
_INV_COUNT, _POW_COUNT, _BITS = 342, 326, 125  # as in the C file


def _tables() -> tuple[np.ndarray, np.ndarray]:
    """2^k / 5^q rounded up (q < 342) and 5^i cut to its top 125 bits (i < 326), as
    (low word, high word) pairs: the multipliers of Ryu's double-precision step."""
    mask = (1 << 64) - 1
    inv, pos = [], []
    for q in range(_INV_COUNT):
        p = 5 ** q
        v = (1 << (p.bit_length() - 1 + _BITS)) // p + 1
        inv += [v & mask, v >> 64]
    for i in range(_POW_COUNT):
        p = 5 ** i
        shift = p.bit_length() - _BITS
        v = p >> shift if shift >= 0 else p << -shift
        pos += [v & mask, v >> 64]
    return np.array(inv, dtype=np.uint64), np.array(pos, dtype=np.uint64)


def library() -> ctypes.CDLL | None:
    """The loaded formatter with its tables set, or None."""
    if _LIB:
        return _LIB[0]
    with _LOADING:
        if not _LIB:
            _LIB.append(_load())
    return _LIB[0]


def _load() -> ctypes.CDLL | None:
    ptr, i64 = ctypes.c_void_p, ctypes.c_int64
    lib = clib.load(Path(__file__).parent, "_float_text_native", {
        "sb_float_tables": ([ptr, ptr], ctypes.c_int),
        "sb_value_max": ([], i64),
        "sb_lsmat_rows": ([ptr, i64, i64, ptr, ptr, ptr], i64),
        "sb_format_doubles": ([ptr, i64, ctypes.c_char, ptr], i64),
    })
    if lib is None:
        return None
    inv, pos = _tables()
    if lib.sb_float_tables(inv.ctypes.data, pos.ctypes.data) != _INV_COUNT * 1000 + _POW_COUNT:
        return None  # a library built from another version of the C file
    return lib


def lsmat_rows(ids: Sequence[str], rows: np.ndarray) -> bytes | None:
    """Lines ``id<TAB>v1<TAB>...<TAB>vn`` (LF-ended) of the rows of a 2-D block, or None
    without the C library."""
    lib = library()
    if lib is None:
        return None
    values = np.ascontiguousarray(rows, dtype=np.float64)
    r, n = values.shape
    encoded = [s.encode() for s in ids]
    if len(encoded) != r:
        raise ValueError(f"{len(encoded)} IDs for {r} rows")
    ends = np.cumsum([len(b) for b in encoded], dtype=np.int64) if r else np.zeros(0, np.int64)
    joined = b"".join(encoded)
    out = np.empty(len(joined) + r * (n * (lib.sb_value_max() + 1) + 1), dtype=np.uint8)
    size = lib.sb_lsmat_rows(values.ctypes.data, r, n, joined, ends.ctypes.data,
                             out.ctypes.data)
    return out[:size].tobytes()


def format_values(values: np.ndarray, sep: bytes = b"\n") -> bytes | None:
    """Every value of a 1-D array followed by ``sep`` (one byte), or None without the C
    library (for tests and other writers)."""
    lib = library()
    if lib is None:
        return None
    v = np.ascontiguousarray(values, dtype=np.float64).ravel()
    out = np.empty(v.size * (lib.sb_value_max() + 1), dtype=np.uint8)
    size = lib.sb_format_doubles(v.ctypes.data, v.size, sep, out.ctypes.data)
    return out[:size].tobytes()
