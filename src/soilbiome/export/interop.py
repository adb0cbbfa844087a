"""The table for QIIME 2 and for R/phyloseq at once (the pipeline's INTEROP step).

One read of the table serves both exports: R starts loading phyloseq first
(:func:`soilbiome.export.phyloseq.write_phyloseq`), and the QIIME 2 files
(:func:`soilbiome.export.qiime2.write_qiime2`) are written meanwhile into a hidden folder that
takes the name ``qiime2`` only once the phyloseq object is written too: a failure leaves
neither export behind.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from soilbiome.export.phyloseq import write_phyloseq

if TYPE_CHECKING:
    from soilbiome.model.table import FeatureTable


def write_interop(biom: str | Path, outdir: str | Path) -> dict[str, Path]:
    """Write ``qiime2/taxonomy.tsv``, ``qiime2/dna-sequences.fasta`` (with ASV sequences) and
    ``phyloseq/phyloseq.rds`` into ``outdir``; return what was written."""
    outdir = Path(outdir)  # made by the phyloseq export's atomic outputs, once the table passed
    staged = outdir / f".qiime2.{os.getpid()}.tmp"
    written: dict[str, Path] = {}

    def qiime2_files(table: FeatureTable) -> None:
        # imported here, not at the top: R starts loading phyloseq before the table reader
        # and its libraries are imported
        from soilbiome.export.qiime2 import write_qiime2

        written.update(write_qiime2(biom, staged, table=table))

    try:
        rds = write_phyloseq(biom, outdir / "phyloseq" / "phyloseq.rds", meanwhile=qiime2_files)
        final = outdir / "qiime2"
        final.mkdir(exist_ok=True)
        for what, path in list(written.items()):
            written[what] = path.replace(final / path.name)
    finally:
        shutil.rmtree(staged, ignore_errors=True)
    return {**written, "phyloseq": rds}
