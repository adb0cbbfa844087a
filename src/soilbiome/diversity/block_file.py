"""The distance block file (``.npz``): one writer, one validated reader.

A block says where it came from, so that :func:`soilbiome.diversity.blocks.assemble` can
refuse one that belongs to another table, another rarefaction draw, another metric or another
plan, or whose values were edited:

``format``
    ``soilbiome-beta-block/1``.
``table_sha256``
    SHA-256 of the BIOM file the block was computed from.
``prepared_sha256``
    Digest of the samples the matrix is computed on after rarefaction
    (:func:`prepared_digest`): a block drawn with another depth or seed differs here.
``metric``, ``rows``, ``cols``
    The metric and the index ranges ``(start, stop)`` of the prepared samples.
``values``, ``values_sha256``
    The distances (float64, ``rows x cols``) and the SHA-256 of their bytes.
``tree_sha256`` (UniFrac blocks)
    SHA-256 of the Newick tree the block was computed on (absent: no tree).
``branch_lengths`` (UniFrac blocks with ``single``)
    ``single`` when the tree's branch lengths were read in single precision, as Striped
    UniFrac reads them (:func:`soilbiome.diversity.unifrac.at_precision`); absent: ``double``.

Files are read with ``allow_pickle=False``: an object array is refused, never unpickled.
"""

from __future__ import annotations

import hashlib
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from soilbiome.diversity.unifrac import BRANCH_LENGTHS
from soilbiome.errors import InputError
from soilbiome.io.atomic import atomic_path

FORMAT = "soilbiome-beta-block/1"
_KEYS = ("format", "table_sha256", "prepared_sha256", "metric", "rows", "cols", "values",
         "values_sha256")
_OPTIONAL = ("tree_sha256", "branch_lengths")


@dataclass(frozen=True)
class Block:
    """One block as read from its file (see the module docstring for the fields)."""

    path: Path
    table_sha256: str
    prepared_sha256: str
    metric: str
    rows: tuple[int, int]
    cols: tuple[int, int]
    values: np.ndarray
    tree_sha256: str = ""
    branch_lengths: str = "double"


def prepared_digest(matrix: object, sample_ids: tuple[str, ...]) -> str:
    """SHA-256 of prepared (rarefied) counts: sample IDs, then the CSR arrays."""
    h = hashlib.sha256()
    h.update("\0".join(sample_ids).encode())
    csr = matrix.tocsr()  # type: ignore[attr-defined]
    h.update(np.asarray(csr.shape, dtype="<i8").tobytes())
    for part in (csr.indptr, csr.indices):
        h.update(np.ascontiguousarray(part, dtype="<i8").tobytes())
    h.update(np.ascontiguousarray(csr.data, dtype="<f8").tobytes())
    return h.hexdigest()


def values_digest(values: np.ndarray) -> str:
    """SHA-256 of a block's values as C-ordered little-endian float64."""
    return hashlib.sha256(np.ascontiguousarray(values, dtype="<f8").tobytes()).hexdigest()


def write_block(out: Path, values: np.ndarray, *, table_sha256: str, prepared_sha256: str,
                metric: str, rows: tuple[int, int], cols: tuple[int, int],
                tree_sha256: str = "", branch_lengths: str = "double") -> Path:
    """Write one block with its origin (atomically)."""
    values = np.ascontiguousarray(values, dtype="<f8")
    extra = {"tree_sha256": np.str_(tree_sha256)} if tree_sha256 else {}
    if branch_lengths != "double":
        extra["branch_lengths"] = np.str_(branch_lengths)
    with atomic_path(out) as tmp:
        with open(tmp, "wb") as fh:
            np.savez(fh, format=np.str_(FORMAT), table_sha256=np.str_(table_sha256),
                     prepared_sha256=np.str_(prepared_sha256), metric=np.str_(metric),
                     rows=np.array(rows, dtype="<i8"), cols=np.array(cols, dtype="<i8"),
                     values=values, values_sha256=np.str_(values_digest(values)), **extra)
    return out


#: A member may expand at most this much (deflate's limit is ~1030) unless it is small.
_MAX_EXPANSION, _SMALL_BYTES = 1100, 64 << 20


def _check_members(path: Path) -> None:
    """Refuse an archive whose arrays declare more bytes than they store (a 300 GB array in
    a few bytes of header) or expand implausibly (a deflate bomb), before anything is loaded."""
    where = str(path)
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            if (info.file_size > _SMALL_BYTES
                    and info.file_size > _MAX_EXPANSION * max(info.compress_size, 1)):
                raise InputError(f"'{info.filename}' expands from {info.compress_size} to "
                                 f"{info.file_size} bytes (not a block file)", location=where)
            if not info.filename.endswith(".npy"):
                continue
            with archive.open(info) as member:
                version = np.lib.format.read_magic(member)
                if version == (1, 0):
                    shape, _, dtype = np.lib.format.read_array_header_1_0(member)
                else:
                    shape, _, dtype = np.lib.format.read_array_header_2_0(member)
                declared = int(np.prod(shape, dtype=object)) * dtype.itemsize
                if declared > info.file_size:
                    raise InputError(f"'{info.filename}' declares {declared} bytes of {dtype} "
                                     f"{shape} but stores {info.file_size} (not a block file)",
                                     location=where)


def read_block(path: Path) -> Block:
    """Read and check one block file on its own (origin is checked by the caller).

    Raises
    ------
    InputError
        Naming ``path``: not a block file, a field missing or malformed, values edited
        after writing (digest), or values impossible for a distance of the metric.
    """
    where = str(path)
    try:
        with open(path, "rb") as fh:
            magic = fh.read(6)
        if not magic.startswith(b"PK\x03\x04") and magic != b"\x93NUMPY":
            raise InputError("not a block file (not an .npz archive)", location=where)
        if magic.startswith(b"PK\x03\x04"):
            _check_members(path)
        z = np.load(path, allow_pickle=False)
        if not isinstance(z, np.lib.npyio.NpzFile):
            raise InputError("not a block file (a single array, not .npz)", location=where)
        with z:
            missing = [k for k in _KEYS if k not in z.files]
            if missing:
                raise InputError(f"not a soilbiome block file (no {', '.join(missing)}; "
                                 "blocks from before this version must be recomputed)",
                                 location=where)
            fields = {k: z[k] for k in _KEYS}
            for k in _OPTIONAL:
                if k in z.files:
                    fields[k] = z[k]
    except InputError:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, MemoryError) as exc:
        raise InputError(f"unreadable block file ({exc})", location=where) from None
    text = {}
    for k in ("format", "table_sha256", "prepared_sha256", "metric", "values_sha256",
              *_OPTIONAL):
        if k not in fields:
            text[k] = ""
            continue
        if fields[k].shape != () or fields[k].dtype.kind != "U":
            raise InputError(f"block field '{k}' is not a text value", location=where)
        text[k] = str(fields[k])
    if text["format"] != FORMAT:
        raise InputError(f"block format '{text['format']}' is not {FORMAT}", location=where)
    lengths = text["branch_lengths"] or "double"
    if lengths not in BRANCH_LENGTHS:
        raise InputError(f"block field 'branch_lengths' is '{lengths}', not "
                         f"{' or '.join(BRANCH_LENGTHS)}", location=where)
    rc = []
    for k in ("rows", "cols"):
        a = fields[k]
        if a.shape != (2,) or a.dtype.kind not in "iu" or not 0 <= a[0] < a[1]:
            raise InputError(f"block field '{k}' is not a range start:stop", location=where)
        rc.append((int(a[0]), int(a[1])))
    values = fields["values"]
    (r0, r1), (c0, c1) = rc
    if values.dtype.kind != "f" or values.shape != (r1 - r0, c1 - c0):
        raise InputError(f"block values are not a {r1 - r0} x {c1 - c0} float matrix "
                         f"(got {values.dtype} {values.shape})", location=where)
    if values_digest(values) != text["values_sha256"]:
        raise InputError("block values do not match their recorded digest (edited after "
                         "they were computed)", location=where)
    block = Block(Path(path), text["table_sha256"], text["prepared_sha256"], text["metric"],
                  rc[0], rc[1], values, text["tree_sha256"], lengths)
    check_values(block)
    return block


def check_values(block: Block) -> None:
    """Refuse values no distance of the block's metric can take.

    Every value finite and within ``[0, 1]`` (unnormalised weighted UniFrac: non-negative); a
    block on the diagonal (same row and column range) has zeros on its diagonal and equals
    its transpose.
    """
    v, where = block.values, str(block.path)
    bad = ~np.isfinite(v)
    if bad.any():
        raise InputError(f"{int(bad.sum())} block value(s) are NaN or infinite", location=where)
    bounded = block.metric != "weighted_unifrac"
    for mask, what in ((v < 0, "negative"),
                       (v > 1 if bounded else np.zeros_like(v, dtype=bool),
                        f"above 1 (impossible for {block.metric})")):
        if mask.any():
            i, j = (int(x) for x in np.argwhere(mask)[0])
            raise InputError(f"{int(mask.sum())} block value(s) {what}, e.g. "
                             f"[{block.rows[0] + i}, {block.cols[0] + j}] = {float(v[i, j])!r}",
                             location=where)
    if block.rows == block.cols:
        diag = np.diagonal(v)
        if (diag != 0).any():
            k = int(np.flatnonzero(diag != 0)[0])
            raise InputError(f"diagonal value [{block.rows[0] + k}, {block.rows[0] + k}] = "
                             f"{float(diag[k])!r}; a sample's distance to itself is 0",
                             location=where)
        asym = v != v.T
        if asym.any():
            i, j = (int(x) for x in np.argwhere(asym)[0])
            raise InputError(f"block is not symmetric: [{block.rows[0] + i}, "
                             f"{block.cols[0] + j}] = {float(v[i, j])!r} but [{block.cols[0] + j}, "
                             f"{block.rows[0] + i}] = {float(v[j, i])!r}", location=where)
