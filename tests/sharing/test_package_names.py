"""soilbiome.sharing imports its names on first use: the start-up check stays light.

`soilbiome preflight` (every run's start-up gate) reads the agreement; importing the whole
sharing package used to load the BIOM reader, pandas and h5py (0.8 s of each run's start).
"""

from __future__ import annotations

import subprocess
import sys

import soilbiome.sharing as sharing


def test_every_public_name_resolves_from_its_module() -> None:
    for name in sharing.__all__:
        value = getattr(sharing, name)
        assert getattr(value, "__name__", name) == name
        assert value.__module__.startswith("soilbiome.sharing.")


def test_reading_an_agreement_loads_no_table_library() -> None:
    code = ("import sys; import soilbiome.run.preflight, soilbiome.sharing.agreement, "
            "soilbiome.sharing.keys, soilbiome.sharing.rules_agreement; "
            "print(sorted(m for m in ('pandas', 'h5py', 'soilbiome.io.biom_reader') "
            "if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert proc.stdout.strip() == "[]"
