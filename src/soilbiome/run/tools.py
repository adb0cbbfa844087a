"""Which executables a run calls, and where its tasks find them.

Tasks never rely on the caller's shell: ``pipeline/nextflow.config`` puts the project's
``.venv/bin`` and ``bin/`` first on every task's ``PATH`` (:func:`task_path` is the same list,
for the start-up check). The start-up gate asks :func:`missing_tools` for the executables the
chosen mode and options will call, and refuses the run before any task, naming each missing one
and the step that needs it.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from soilbiome.run import PROJECT_ROOT

#: executable -> (Debian package or pip package that provides it, what needs it)
_PROVIDERS = {
    "bash": "bash",
    "soilbiome": "this repository (bin/soilbiome)",
    "fastp": "Debian package fastp",
    "cutadapt": "Debian package cutadapt",
    "Rscript": "Debian packages r-base-core, r-bioc-dada2, r-bioc-phyloseq",
    "vsearch": "Debian package vsearch",
    "mafft": "Debian package mafft",
    "fasttree": "Debian package fasttree",
    "itsxpress": "PyPI package itsxpress (in .venv)",
    "hmmsearch": "Debian package hmmer",
    "multiqc": "PyPI package multiqc (in .venv)",
    "kraken2": "Debian package kraken2",
    "bowtie2": "Debian package bowtie2",
    "bowtie2-build": "Debian package bowtie2",
    "samtools": "Debian package samtools",
}


def task_path(root: Path = PROJECT_ROOT, base: str | None = None) -> str:
    """The ``PATH`` a host task runs with: ``.venv/bin``, ``bin/``, then the caller's."""
    base = os.environ.get("PATH", "") if base is None else base
    return os.pathsep.join([str(root / ".venv" / "bin"), str(root / "bin"), base])


def required_tools(mode: str, *, reference_format: str = "", marker: str = "",
                   primers: bool = False, phylogeny: bool = True, its_region: str = "auto",
                   host: bool = False, profilers: tuple[str, ...] = ("kraken2",)
                   ) -> dict[str, str]:
    """Executables a run in ``mode`` will call, each with the step that calls it (sylph is
    linked into the soilbiome package through pysylph: no executable)."""
    need: dict[str, str] = {"soilbiome": "every step", "bash": "every task"}
    if mode == "compare":
        return need
    need["fastp"] = "FASTQ_QC"
    if mode == "shotgun":
        if "kraken2" in profilers:
            need["kraken2"] = "KRAKEN2"
        if host:
            need.update({"bowtie2": "HOST_REMOVAL", "bowtie2-build": "HOST_REMOVAL"})
        return need
    its = marker.upper().startswith("ITS")
    need["Rscript"] = "DADA2 and the phyloseq export"
    need["multiqc"] = "MULTIQC"
    if primers:
        need["cutadapt"] = "CUTADAPT"
    if reference_format == "sintax":
        need["vsearch"] = "VSEARCH_SINTAX"
    if its_region != "none" and (its_region != "auto" or its):
        need.update({"itsxpress": "ITS_EXTRACT", "hmmsearch": "ITS_EXTRACT (ITSxpress)",
                     "vsearch": "ITS_EXTRACT (ITSxpress)"})
    if phylogeny and not its:
        need.update({"mafft": "PHYLOGENY", "fasttree": "PHYLOGENY"})
    return need


def missing_tools(needed: dict[str, str], path: str | None = None) -> list[str]:
    """One line per executable of ``needed`` that is not on ``path`` (default: task PATH)."""
    path = task_path() if path is None else path
    return [f"'{exe}' not found on the tasks' PATH (needed by {step}; provided by "
            f"{_PROVIDERS.get(exe, 'its package')})"
            for exe, step in needed.items() if shutil.which(exe, path=path) is None]
