"""Loading the package's optional C libraries with :mod:`ctypes`.

``setup.py`` compiles each as an optional extension when the package is installed: the C
kernels of unweighted UniFrac (``diversity/_unifrac_native.c``) and the Newick reader
(``io/_newick_native.c``). They are plain shared libraries, not Python modules. Where one was
not built (no C compiler) or ``SOILBIOME_NATIVE=0`` is set, :func:`load` returns None and the
caller runs its Python (or numba) code instead, which gives the same results.
"""

from __future__ import annotations

import ctypes
import importlib.machinery
import os
from pathlib import Path


def load(folder: Path, stem: str, signatures: dict[str, tuple[list, object]]) -> ctypes.CDLL | None:
    """The library ``stem`` (e.g. ``_newick_native``) built into ``folder``, with each
    function of ``signatures`` (name -> (argument types, return type)) declared; None when
    it is not there, cannot be loaded or ``SOILBIOME_NATIVE=0``."""
    if os.environ.get("SOILBIOME_NATIVE", "1") == "0":
        return None
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        path = folder / f"{stem}{suffix}"
        if path.is_file():
            break
    else:
        return None
    try:
        lib = ctypes.CDLL(str(path))
    except OSError:
        return None
    for name, (args, result) in signatures.items():
        fn = getattr(lib, name)
        fn.argtypes, fn.restype = args, result
    return lib
