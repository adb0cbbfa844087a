"""Diversity output files, each written atomically in one pass.

* Distance matrices in the "labelled square matrix" (lsmat) text format that
  ``skbio.DistanceMatrix.read`` and QIIME 2's ``DistanceMatrix`` import read: a header row
  whose first cell is empty followed by the sample IDs, then one row per sample. Rows are
  produced from the condensed triangle one at a time, so no square matrix is held in memory.
* PCoA coordinates as a TSV (``sample``, ``PC1..PCk``) and in scikit-bio's ordination format
  (``skbio.OrdinationResults.read``; QIIME 2 ``PCoAResults``).
* Plain TSVs (``NaN`` for missing values).

Sample IDs and other text cells that a spreadsheet would run as a formula (``=``, ``+``, ``-``,
``@`` before text) get a leading ``'`` in every file (OWASP "CSV Injection",
:func:`soilbiome.io.textfile.safe_cell`); :func:`~soilbiome.io.textfile.plain_frame` gives them
back to a program reading the files.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from soilbiome.io.atomic import atomic_write
from soilbiome.io.textfile import safe_cell, safe_frame

#: Up to this many samples the lsmat writer formats each distance once (about 70 bytes per
#: pair held as text: 140 MB at 2,000 samples); above it, row by row in constant memory.
CACHE_STRINGS_UP_TO = 3000


def write_tsv(df: pd.DataFrame, path: Path, index: bool = True) -> None:
    """A frame as TSV (``NaN`` for missing), atomically."""
    with atomic_write(path) as fh:
        safe_frame(df).to_csv(fh, sep="\t", index=index, na_rep="NaN", lineterminator="\n")


def _bad_id(ids: tuple[str, ...]) -> str | None:
    for s in ids:
        if "\t" in s or "\n" in s or "\r" in s or s != s.strip():
            return s
    return None


def write_lsmat(dm: object, path: Path, chunk: int = 256) -> None:
    """A :class:`~soilbiome.diversity.beta.Distances` as an lsmat TSV, row by row.

    Parameters
    ----------
    dm : Distances
    path : Path
    chunk : int
        Rows formatted per write.
    """
    ids = tuple(dm.ids)
    bad = _bad_id(ids)
    if bad is not None:
        raise ValueError(f"sample ID {bad!r} cannot be written to a distance matrix TSV")
    ids = tuple(str(safe_cell(s)) for s in ids)
    n = len(ids)
    cached = n <= CACHE_STRINGS_UP_TO
    if cached:
        # each value appears twice in the square matrix: format the triangle once


        strings = np.array(list(map(repr, dm.condensed.tolist())), dtype=object)
        j = np.arange(n)
        base = n * j - j * (j + 1) // 2 - j - 1
    with atomic_write(path) as fh:
        fh.write("\t" + "\t".join(ids) + "\n")
        lines: list[str] = []
        for i, sample in enumerate(ids):
            if cached:
                start = n * i - i * (i + 1) // 2
                cells = (strings[base[:i] + i].tolist() + ["0.0"]
                         + strings[start:start + n - i - 1].tolist())
            else:
                cells = list(map(repr, dm.row(i).tolist()))
            lines.append(sample + "\t" + "\t".join(cells) + "\n")
            if len(lines) >= chunk:
                fh.write("".join(lines))
                lines.clear()
        fh.write("".join(lines))


def write_ordination(result: object, path: Path) -> None:
    """A :class:`~soilbiome.diversity.ordination.PCoAResult` in scikit-bio's ordination format.

    The format (``skbio.io.format.ordination``): sections ``Eigvals``, ``Proportion
    explained``, ``Species``, ``Site``, ``Biplot``, ``Site constraints``, each a header line
    with its shape, separated by blank lines; written here directly (no scikit-bio import).
    """
    eig = [repr(float(v)) for v in result.eigvals.to_numpy()]
    prop = [repr(float(v)) for v in result.proportion_explained.to_numpy()]
    coords = result.samples
    bad = _bad_id(tuple(str(i) for i in coords.index))
    if bad is not None:
        raise ValueError(f"sample ID {bad!r} cannot be written to an ordination file")
    with atomic_write(path) as fh:
        fh.write(f"Eigvals\t{len(eig)}\n" + "\t".join(eig) + "\n\n")
        fh.write(f"Proportion explained\t{len(prop)}\n" + "\t".join(prop) + "\n\n")
        fh.write("Species\t0\t0\n\n")
        fh.write(f"Site\t{coords.shape[0]}\t{coords.shape[1]}\n")
        for sample, row in zip(coords.index, coords.to_numpy().tolist(), strict=True):
            fh.write(f"{safe_cell(str(sample))}\t" + "\t".join(map(repr, row)) + "\n")
        fh.write("\nBiplot\t0\t0\n\nSite constraints\t0\t0\n")
