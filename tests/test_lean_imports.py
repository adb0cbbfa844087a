"""soilbiome.lean_imports: scipy's first import without numpy.f2py and numpy.testing, numpy
unchanged afterwards."""

from __future__ import annotations

import subprocess
import sys


def _run(script: str) -> str:
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def test_scipy_imports_without_numpy_developer_tools_and_numpy_is_unchanged() -> None:
    out = _run(
        "import sys\n"
        "import numpy\n"
        "before = (list(numpy.__all__), dir(numpy))\n"
        "from soilbiome import lean_imports\n"
        "lean_imports.install()\n"
        "lean_imports.install()  # once\n"
        "assert sum(isinstance(f, lean_imports._Finder) for f in sys.meta_path) == 1\n"
        "import scipy.sparse\n"
        "from scipy import sparse\n"
        "m = sparse.csr_matrix(numpy.eye(3))\n"
        "assert (m @ m).sum() == 3\n"
        "print(sorted(m for m in ('numpy.f2py', 'numpy.testing', 'numpy.polynomial')\n"
        "             if m in sys.modules))\n"
        "assert not any(isinstance(f, lean_imports._Finder) for f in sys.meta_path)\n"
        "assert (list(numpy.__all__), dir(numpy)) == before\n"
        "import numpy.testing\n"
        "numpy.testing.assert_array_equal(numpy.arange(3), [0, 1, 2])\n"
        "layer = sys.modules[lean_imports.LAYER]\n"
        "assert layer.asarray is not None and layer.linalg is not None\n"
        "assert not hasattr(layer, 'f2py')\n")
    assert out == "[]"


def test_without_the_finder_the_same_import_loads_them() -> None:
    """The control: what the finder saves is real on this numpy and scipy."""
    out = _run("import sys, scipy.sparse\n"
               "print(all(m in sys.modules for m in ('numpy.f2py', 'numpy.testing')))\n")
    assert out == "True"


def test_install_after_scipy_is_imported_does_nothing() -> None:
    out = _run("import sys, scipy.sparse\n"
               "from soilbiome import lean_imports\n"
               "lean_imports.install()\n"
               "print(any(isinstance(f, lean_imports._Finder) for f in sys.meta_path))\n")
    assert out == "False"
