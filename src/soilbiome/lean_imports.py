"""Command start-up: scipy without the numpy developer tools it does not use.

scipy (1.17 here) copies numpy's namespace into its vendored array-API layer
(``scipy._lib.array_api_compat.numpy``) the first time any of its modules is imported. The copy
runs ``from numpy import *`` and ``hasattr`` over ``dir(numpy)``, and numpy lists its
lazily loaded subpackages there, so the copy imports ``numpy.f2py`` (the Fortran wrapper
generator), ``numpy.testing`` and ``numpy.polynomial``: 0.07-0.1 s of every command that
reads a table, measured with ``python -X importtime`` on ``soilbiome beta
matrix`` (numpy 2.4, scipy 1.17), for modules that scipy's own code never reaches through that
layer (only its CuPy and PyTorch test helpers use ``xp.testing``).

:func:`install` puts a finder on :data:`sys.meta_path` that, for the one import of that layer,
hides those names from numpy's ``__all__`` and ``__dir__`` while the layer's module runs,
then puts them back, and removes itself. numpy itself is unchanged afterwards:
``numpy.testing`` and the others still import when something asks for them. Where scipy has no
such module, or it was imported already, the finder does nothing. Only commands install it
(:mod:`soilbiome.cli`); importing :mod:`soilbiome` as a library changes nothing.
"""

from __future__ import annotations

import sys
from importlib.abc import Loader, MetaPathFinder
from importlib.machinery import ModuleSpec
from types import ModuleType

#: The module whose import copies numpy's namespace.
LAYER = "scipy._lib.array_api_compat.numpy"

#: numpy subpackages the copy would import and nothing in scipy's layer uses.
HIDDEN = frozenset({"f2py", "testing", "polynomial"})


class _Narrowed(Loader):
    """The layer's own loader, run with numpy's public names narrowed."""

    def __init__(self, inner: Loader) -> None:
        self.inner = inner

    def create_module(self, spec: ModuleSpec) -> ModuleType | None:
        return self.inner.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        import numpy

        names = numpy.__dict__
        saved = {k: names[k] for k in ("__all__", "__dir__") if k in names}
        if "__all__" in saved:
            numpy.__all__ = [n for n in saved["__all__"] if n not in HIDDEN]
        if callable(saved.get("__dir__")):
            listed = saved["__dir__"]
            numpy.__dir__ = lambda: [n for n in listed() if n not in HIDDEN]
        try:
            self.inner.exec_module(module)
        finally:
            names.update(saved)


class _Finder(MetaPathFinder):
    """Finds nothing itself: wraps the loader the other finders give for :data:`LAYER`."""

    def find_spec(self, name: str, path: object = None,
                  target: ModuleType | None = None) -> ModuleSpec | None:
        if name != LAYER:
            return None
        remove()
        for finder in sys.meta_path:
            find = getattr(finder, "find_spec", None)
            spec = find(name, path, target) if find is not None else None
            if spec is not None:
                if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                    spec.loader = _Narrowed(spec.loader)
                return spec
        return None


def install() -> None:
    """Narrow the first import of :data:`LAYER` in this process (once; no-op if imported)."""
    if LAYER in sys.modules or any(isinstance(f, _Finder) for f in sys.meta_path):
        return
    sys.meta_path.insert(0, _Finder())


def remove() -> None:
    """Take the finder off :data:`sys.meta_path` (if there)."""
    sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, _Finder)]
