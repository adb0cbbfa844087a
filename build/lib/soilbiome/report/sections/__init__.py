"""Report sections, one module per concern; every module here is imported by the report.

Add a section by adding a module with a function decorated by
:func:`soilbiome.report.context.section` (see that module for the API and the positions).
"""

from __future__ import annotations

import importlib
import pkgutil


def load_all() -> None:
    """Import every section module (registering its sections)."""
    for info in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{info.name}")
