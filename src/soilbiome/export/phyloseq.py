"""A phyloseq object (``.rds``) of a table, made by R's phyloseq (``phyloseq_export.R``).

Like nf-core/ampliseq's ``phyloseq.rds``: ``otu_table`` (taxa are rows; md5 feature IDs and
sample IDs unchanged, empty samples kept), ``tax_table`` with the columns ``Domain Kingdom
Phylum Class Order Family Genus Species`` (``NA`` where unassigned), ``sample_data`` with every
sample metadata column under its own name, and ``refseq`` with the ASV sequences.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from importlib import resources
from pathlib import Path

import h5py

from soilbiome.errors import ToolError
from soilbiome.io.biom import pad_empty_samples
from soilbiome.io.biom_reader import read_table


def write_phyloseq(biom: str | Path, out: str | Path) -> Path:
    """Make ``out`` (.rds) from the BIOM table with R's phyloseq.

    The table is first read and validated with :func:`~soilbiome.io.biom_reader.read_table`.

    Raises
    ------
    ToolError
        Rscript is missing or the R script failed (its message is included).
    """
    read_table(biom)  # validated before R sees it
    rscript = shutil.which("Rscript")
    if rscript is None:
        raise ToolError("Rscript not found (install r-bioc-phyloseq, r-bioc-rhdf5)")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    script = resources.files("soilbiome").joinpath("data", "phyloseq_export.R")
    with tempfile.TemporaryDirectory() as tmp, resources.as_file(script) as path:
        # R's biomformat misreads empty samples unless padded (docs/biom.md): pad a copy
        copy = Path(tmp) / "table.biom"
        shutil.copyfile(biom, copy)
        with h5py.File(copy, "r+") as handle:
            pad_empty_samples(handle)
        proc = subprocess.run([rscript, "--vanilla", str(path), str(copy), str(out)],
                              capture_output=True, text=True)
    if proc.returncode != 0 or not out.is_file():
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        raise ToolError(f"phyloseq export failed: {' '.join(tail)}", location=str(biom))
    return out
