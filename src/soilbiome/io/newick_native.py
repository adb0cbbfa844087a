"""The Newick reader in C (``_newick_native.c``), loaded with :func:`soilbiome.clib.load`.

:func:`parse_flat` gives the :class:`~soilbiome.io.newick.FlatTree` that
:func:`soilbiome.io.newick.parse_flat` gives, or None when the C reader declines the text:
anything but printable ASCII, tabs and line ends, a branch length that is not a plain decimal
(``inf``, ``1_0``), or a tree that is not Newick. The Python reader then reads it, and names
the problem when there is one; so both give the same trees and the same refusals. On a
200,000-tip tree (10 MB) the C reader takes about 0.1 s, the Python one 0.8 s
(docs/diversity.md, "A large reference tree").
"""

from __future__ import annotations

import ctypes
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from soilbiome.clib import load

if TYPE_CHECKING:
    from soilbiome.io.newick import FlatTree

_I64 = ctypes.c_int64
_PTR = ctypes.c_void_p

_SIGNATURES: dict[str, tuple[list, object]] = {
    "sb_newick_parse": ([ctypes.c_char_p, _I64, _I64, ctypes.c_int, _PTR, _PTR, _PTR, _PTR,
                         _PTR], _I64),
}
#: sb_newick_parse's results other than a node count
_DECLINED, _NO_MEMORY = -1, -2
#: its node flags
_HAS_LENGTH, _HAS_NAME = 1, 2


@cache
def library() -> ctypes.CDLL | None:
    """The compiled reader, or None (not built, or ``SOILBIOME_NATIVE=0``)."""
    return load(Path(__file__).parent, "_newick_native", _SIGNATURES)


def parse_flat(text: str, *, underscores_as_spaces: bool = False) -> FlatTree | None:
    """The tree of ``text`` as :func:`soilbiome.io.newick.parse_flat` reads it, as postorder
    arrays (:attr:`FlatTree.arrays`; its lists are made from them when first read); None when
    the C reader is not built or declines the text (see the module)."""
    lib = library()
    if lib is None or not text.isascii():
        return None
    import numpy as np

    from soilbiome.io.newick import FlatTree

    raw = text.encode("ascii")
    cap = raw.count(b"(") + raw.count(b",") + 1  # at least the number of nodes
    parent = np.empty(cap, dtype=np.int64)
    length = np.empty(cap, dtype=np.float64)
    flags = np.empty(cap, dtype=np.uint8)
    labels = np.empty(len(raw) + cap, dtype=np.uint8)
    size = _I64(0)
    n = lib.sb_newick_parse(raw, len(raw), cap, int(underscores_as_spaces), parent.ctypes.data,
                            length.ctypes.data, flags.ctypes.data, labels.ctypes.data,
                            ctypes.addressof(size))
    if n == _NO_MEMORY:
        raise MemoryError("no memory to read the Newick tree")
    if n < 0:
        return None
    parent, length, flags = parent[:n], length[:n], flags[:n]
    names = np.full(n, None, dtype=object)
    if size.value:
        names[np.flatnonzero(flags & _HAS_NAME)] = (
            labels[:size.value].tobytes().decode("ascii").split("\0")[:-1])
    tip = np.ones(n, dtype=bool)
    tip[parent[parent >= 0]] = False
    return FlatTree(None, names.tolist(), None,
                    arrays=(parent, length, tip, (flags & _HAS_LENGTH) != 0))
