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

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING

import numpy as np

from soilbiome.diversity.common import workers
from soilbiome.io.atomic import atomic_write
from soilbiome.io.textfile import safe_cell, safe_frame

if TYPE_CHECKING:  # pandas is imported by the callers that pass frames
    import pandas as pd

#: Values of a distance matrix formatted per call: whole rows, at least one. Each call holds
#: about 45 bytes a value (the doubles, the room for their text, the text; with Arrow about 30:
#: the doubles, their text, the joined lines), two calls a thread at a time: memory is bounded.
#: Measured with Arrow on 1,000 and 4,000 samples (docs/diversity.md): 256 rows a call
#: (256,000 values at 1,000 samples) touched 100 MB more and took 0.15-0.47 s to write the
#: 1,000-sample matrix, against 0.09-0.13 s with 65,536 values.
VALUES_PER_CHUNK = 65536


def rows_per_chunk(n: int) -> int:
    """Rows of an ``n``-column matrix formatted per call (:data:`VALUES_PER_CHUNK`)."""
    return max(1, VALUES_PER_CHUNK // max(1, n))


def write_tsv(df: pd.DataFrame, path: Path, index: bool = True) -> None:
    """A frame as TSV (``NaN`` for missing), atomically."""
    with atomic_write(path) as fh:
        safe_frame(df).to_csv(fh, sep="\t", index=index, na_rep="NaN", lineterminator="\n")


def _bad_id(ids: tuple[str, ...]) -> str | None:
    for s in ids:
        if "\t" in s or "\n" in s or "\r" in s or s != s.strip():
            return s
    return None


def lsmat_rows(ids: list[str] | tuple[str, ...], rows: np.ndarray) -> bytes:
    """Lines ``id<TAB>v1<TAB>...<TAB>vn`` of an lsmat matrix, as UTF-8 bytes.

    Every value is written in its shortest round-trip form: the digits of Python's ``repr``,
    with ``0``/``1`` for whole numbers and exponents such as ``1e-7`` (the layout of Arrow's
    float-to-string cast, which formatted these files first); ``float()``, pandas, R and
    ``skbio.DistanceMatrix.read`` read back the exact double. The C formatter of
    :mod:`soilbiome.io.float_text` writes them; without it, Arrow's C++ cast does (the same
    bytes). No value goes through Python formatting.
    """
    from soilbiome.io.float_text import lsmat_rows as native_rows

    text = native_rows(ids, rows)
    return text if text is not None else _arrow_rows(ids, rows)


def _arrow_rows(ids: list[str] | tuple[str, ...], rows: np.ndarray) -> bytes:
    import pyarrow as pa
    import pyarrow.compute as pc

    r, n = rows.shape
    if r == 0:
        return b""
    # Arrow arrays made from the buffers themselves: pa.array() would import pandas (0.2 s)
    values = np.ascontiguousarray(rows, dtype=np.float64).ravel()
    text = pc.cast(pa.Array.from_buffers(pa.float64(), r * n, [None, pa.py_buffer(values)]),
                   pa.large_string())
    tab, newline = _strings(["\t", "\n"])  # pa.scalar() would import pandas too
    lines = pc.binary_join(pa.LargeListArray.from_arrays(_int64s(np.arange(0, r * n + 1, n)),
                                                         text), tab)
    lines = pc.binary_join_element_wise(_strings(ids), lines, tab)
    one = pc.binary_join(pa.LargeListArray.from_arrays(_int64s(np.array([0, r])), lines), newline)
    return one[0].as_py().encode() + b"\n"


def _int64s(a: np.ndarray) -> object:
    import pyarrow as pa

    a = np.ascontiguousarray(a, dtype=np.int64)
    return pa.Array.from_buffers(pa.int64(), a.size, [None, pa.py_buffer(a)])


def _strings(texts: list[str] | tuple[str, ...]) -> object:
    """A large_string Arrow array of ``texts`` (UTF-8 bytes and their offsets)."""
    import pyarrow as pa

    encoded = [t.encode() for t in texts]
    offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
    np.cumsum([len(b) for b in encoded], out=offsets[1:])
    return pa.Array.from_buffers(pa.large_string(), len(encoded),
                                 [None, pa.py_buffer(offsets), pa.py_buffer(b"".join(encoded))])


def in_order(make: Callable[[int], bytes], starts: Sequence[int],
             threads: int) -> Iterator[bytes]:
    """``make(start)`` for every start, in order, up to ``2 x threads`` at a time in threads
    (the C formatter, like Arrow's cast, runs without the GIL): formatting runs on every core
    while memory stays a few chunks, whatever the matrix size."""
    if threads <= 1 or len(starts) <= 1:
        yield from (make(s) for s in starts)
        return
    from collections import deque
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(threads) as pool:
        pending: deque = deque()
        for start in starts:
            pending.append(pool.submit(make, start))
            if len(pending) >= 2 * threads:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def write_lsmat(dm: object, path: Path, chunk: int | None = None) -> None:
    """A :class:`~soilbiome.diversity.beta.Distances` as an lsmat TSV, rows in chunks.

    Parameters
    ----------
    dm : Distances
    path : Path
    chunk : int, optional
        Rows built (from the condensed triangle) and formatted per call of
        :func:`lsmat_rows` (default :func:`rows_per_chunk`): memory is a few ``chunk x n``
        values, whatever ``n``; chunks are formatted side by side on the task's cores
        (:func:`in_order`).
    """
    ids = tuple(dm.ids)
    bad = _bad_id(ids)
    if bad is not None:
        raise ValueError(f"sample ID {bad!r} cannot be written to a distance matrix TSV")
    ids = tuple(str(safe_cell(s)) for s in ids)
    n = len(ids)
    chunk = rows_per_chunk(n) if chunk is None else chunk

    def text(start: int) -> bytes:
        stop = min(n, start + chunk)
        return lsmat_rows(ids[start:stop], np.stack([dm.row(i) for i in range(start, stop)]))

    with atomic_write(path, "wb") as fh:
        write_lsmat_lines(fh, ids, text, range(0, n, chunk))


def write_lsmat_lines(fh: IO[bytes], ids: Sequence[str], text: Callable[[int], bytes],
                      starts: Sequence[int]) -> None:
    """The lsmat header row of ``ids``, then the rows ``text(start)`` gives for each start,
    in order, formatted side by side on the task's cores (:func:`in_order`)."""
    fh.write(("\t" + "\t".join(ids) + "\n").encode())
    for part in in_order(text, starts, workers()):
        fh.write(part)


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
