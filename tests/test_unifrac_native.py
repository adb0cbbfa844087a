"""The C kernels of unweighted UniFrac against the numba ones they replace, bit for bit."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import sparse
from skbio import TreeNode
from test_diversity import random_counts, write_biom
from test_unifrac import random_tree

from soilbiome.diversity import native, unweighted, unweighted_jit
from soilbiome.diversity.unifrac import Phylogeny
from soilbiome.diversity.unweighted import unweighted_condensed, unweighted_rectangle

SOILBIOME = Path(sys.executable).parent / "soilbiome"


def _random(n: int, p: int, density: float, seed: int) -> sparse.csr_matrix:
    """Seeded counts with an empty sample, a feature every sample holds and one none does."""
    rng = np.random.default_rng(seed)
    m = sparse.random(n, p, density=density, random_state=rng, format="lil",
                      data_rvs=lambda k: rng.integers(1, 50, k).astype(float))
    for i in range(n):
        m[i, 0] = 1.0
        m[i, p - 1] = 0.0
    m[n // 2, :] = 0.0
    return m.tocsr()


def test_the_c_kernels_are_built() -> None:
    """make setup compiles them (a C compiler is on every machine the suite runs on)."""
    assert native.library() is not None
    assert native.kernels().name == "c"
    assert native.kernels("numba").name == "numba"


@pytest.mark.parametrize(("n", "p", "density"), [(5, 12, 0.4), (70, 90, 0.08),
                                                  (130, 200, 0.3), (200, 60, 0.85)])
def test_c_and_numba_kernels_give_the_same_bits(n: int, p: int, density: float) -> None:
    """Every kernel alone on the same inputs, then whole matrices and blocks (rows not a
    multiple of 64, rare, dense and nearly universal branches, an empty sample)."""
    m = _random(n, p, density, seed=n + p)
    features = [f"F{j}" for j in range(p)]
    phylo = Phylogeny.of(TreeNode.read(io.StringIO(random_tree(features, n, extra=5))),
                         features)
    c, jit = native.kernels("c"), native.kernels("numba")
    tree = phylo.tree
    args = (m.indptr.astype(np.int64), m.indices.astype(np.int64), phylo.tip_of, tree.parent,
            tree.parent.shape[0])
    bits = c.presence(*args)
    assert np.array_equal(bits, jit.presence(*args))
    length = np.where(tree.parent >= 0, np.round(tree.length * 2 ** 40), 0.0)
    for got, want in zip(c.counts(bits, n, length), jit.counts(bits, n, length), strict=True):
        assert np.array_equal(got, want)
    nodes = np.arange(0, tree.parent.shape[0], 2, dtype=np.int64)
    lacking = (nodes % 3) == 0
    for got, want in zip(c.columns(bits, nodes, length[nodes], lacking, n),
                         jit.columns(bits, nodes, length[nodes], lacking, n), strict=True):
        assert np.array_equal(got, want)
    a1, b1 = np.empty((nodes.shape[0], n)), np.empty((nodes.shape[0], n))
    a2, b2 = np.empty_like(a1), np.empty_like(b1)
    c.unpack(bits, nodes, length[nodes], a1, b1)
    jit.unpack(bits, nodes, length[nodes], a2, b2)
    assert np.array_equal(a1, a2) and np.array_equal(b1, b2)
    assert jit.presence is unweighted_jit.presence
    rows = sparse.csr_matrix(a1.T)  # samples x nodes
    cols = rows[n // 4:].tocsc()
    for upper, r, q in ((True, rows, rows.tocsc()), (False, rows[:n // 4], cols)):
        q.sort_indices()
        raw = [r.indptr.astype(np.int64), r.indices.astype(np.int64), r.data,
               q.indptr.astype(np.int64), q.indices.astype(np.int64), q.data, q.shape[0], upper]
        assert c.raw_rectangle(*raw).tobytes() == jit.raw_rectangle(*raw).tobytes()

    whole = unweighted_condensed(m, phylo, "c")
    assert whole.tobytes() == unweighted_condensed(m, phylo, "numba").tobytes()
    cut = n // 3
    for upper, rows, cols in ((True, m[:cut], m[:cut]), (False, m[:cut], m[cut:]),
                              (False, m[cut:], m[:cut])):
        got = unweighted_rectangle(rows, cols, phylo, upper, "c")
        assert got.tobytes() == unweighted_rectangle(rows, cols, phylo, upper,
                                                     "numba").tobytes()


def test_unpack_refuses_arrays_it_cannot_write_into() -> None:
    bits = np.zeros((2, 1), dtype=np.uint64)
    nodes = np.array([0, 1], dtype=np.int64)
    a = np.empty((4, 2))[::2]  # not contiguous
    with pytest.raises(ValueError, match="C-contiguous"):
        native.unpack(bits, nodes, np.ones(2), a, np.empty((2, 2)))


def test_kernel_engine_names_are_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValueError, match="unknown kernel engine"):
        native.kernels("fortran")
    monkeypatch.setattr(native, "library", lambda: None)
    assert native.kernels().name == "numba"
    with pytest.raises(RuntimeError, match="not built"):
        native.kernels("c")


def test_beta_matrix_without_the_c_kernels_writes_the_same_file(tmp_path: Path) -> None:
    """SOILBIOME_NATIVE=0 (what an install without a C compiler runs) gives the same bytes,
    one pass and in blocks of several threads' rows."""
    counts = random_counts(11)
    table = write_biom(counts, tmp_path / "t.biom")
    (tmp_path / "tree.nwk").write_text(random_tree(list(counts.columns), 8))
    outputs = []
    for flag in ("1", "0"):
        out = tmp_path / f"native{flag}.tsv"
        proc = subprocess.run(
            [str(SOILBIOME), "beta", "matrix", str(table), "--metric", "unweighted_unifrac",
             "--tree", str(tmp_path / "tree.nwk"), "--no-rarefaction", "--out", str(out)],
            capture_output=True, text=True,
            env=dict(os.environ, SOILBIOME_NATIVE=flag, NUMBA_NUM_THREADS="2"))
        assert proc.returncode == 0, proc.stderr
        outputs.append(out.read_bytes())
    held = int((counts.sum(axis=1) > 0).sum())  # the empty sample is left out
    assert outputs[0] == outputs[1] and outputs[0].count(b"\n") == held + 1


def test_square_chunks_match_the_one_square(monkeypatch: pytest.MonkeyPatch) -> None:
    """Above SQUARE_UP_TO samples the matrix is computed in row chunks (non-upper
    rectangles of the C kernel): the same bits as one square."""
    m = _random(150, 80, 0.2, seed=3)
    features = [f"F{j}" for j in range(80)]
    phylo = Phylogeny.of(TreeNode.read(io.StringIO(random_tree(features, 5))), features)
    one = unweighted_condensed(m, phylo)
    monkeypatch.setattr(unweighted, "SQUARE_UP_TO", 64)
    assert unweighted_condensed(m, phylo).tobytes() == one.tobytes()


def test_two_empty_samples_are_nan_with_either_engine() -> None:
    """A pair that spans no branch (two empty samples) has no UniFrac: NaN, not 0 or 1;
    an empty sample against a non-empty one is 1."""
    m = sparse.csr_matrix(np.array([[1, 0, 2], [0, 0, 0], [0, 0, 0], [0, 3, 1.0]]))
    phylo = Phylogeny.of(TreeNode.read(io.StringIO("((A:0.1,B:0.2):0.3,C:0.4);")),
                         ["A", "B", "C"])
    for engine in ("c", "numba"):
        d = unweighted_condensed(m, phylo, engine)
        assert np.isnan(d[3]) and np.isnan(d).sum() == 1  # the pair (1, 2)
        assert d[0] == d[1] == d[4] == d[5] == 1.0
        block = unweighted_rectangle(m[1:3], m[1:3], phylo, True, engine)
        assert np.isnan(block[0, 1]) and np.isnan(block[1, 0]) and block[0, 0] == 0.0
