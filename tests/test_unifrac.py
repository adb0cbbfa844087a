"""UniFrac on the sparse engine: equal to scikit-bio and to Striped UniFrac (``ssu``), blocks
bit-identical to the one-pass matrix, and ``beta block|assemble`` with a tree."""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from scipy import sparse
from scipy.spatial.distance import squareform
from skbio import TreeNode
from skbio.diversity import beta_diversity as skbio_beta
from test_diversity import random_counts, write_biom

from soilbiome.cli import main
from soilbiome.diversity.beta import Distances, beta_block, beta_diversity, sparse_beta
from soilbiome.diversity.blocks import plan
from soilbiome.diversity.unifrac import UNIFRAC_METRICS, Phylogeny

SSU_METHOD = {"unweighted_unifrac": "unweighted_fp64",
              "weighted_unifrac": "weighted_unnormalized_fp64",
              "weighted_normalized_unifrac": "weighted_normalized_fp64"}


def random_tree(tips: list[str], seed: int, float32_lengths: bool = False,
                extra: int = 0) -> str:
    """Newick of a random rooted binary tree over ``tips`` (+ ``extra`` tips of no feature).

    Some branches have length 0 and the root a single-child chain, as real trees do.
    ``float32_lengths``: lengths exactly representable in single precision (see
    :func:`test_equal_to_striped_unifrac`).
    """
    rng = np.random.default_rng(seed)

    def length() -> str:
        x = 0.0 if rng.random() < 0.05 else rng.uniform(0.001, 0.6)
        return repr(float(np.float32(x))) if float32_lengths else f"{x:.9f}"

    lineages = [f"{t}:{length()}" for t in tips + [f"unused{k}" for k in range(extra)]]
    while len(lineages) > 1:
        i, j = sorted(rng.choice(len(lineages), 2, replace=False))
        b, a = lineages.pop(j), lineages.pop(i)
        lineages.append(f"({a},{b}):{length()}")
    return f"({lineages[0]});"


def _table(seed: int = 7) -> pd.DataFrame:
    counts = random_counts(seed)
    return counts.loc[counts.sum(axis=1) > 0]


@pytest.mark.parametrize("extra", [0, 9])
def test_equal_to_scikit_bio(extra: int) -> None:
    counts = _table()
    tree = TreeNode.read(io.StringIO(random_tree(list(counts.columns), 3, extra=extra)))
    ints = counts.to_numpy().astype(np.int64)
    for metric, kw in (("unweighted_unifrac", {}), ("weighted_unifrac", {}),
                       ("weighted_normalized_unifrac", {"normalized": True})):
        ours, excluded = beta_diversity(counts, metric, tree=tree)
        assert excluded == {}
        ref = skbio_beta(metric.replace("_normalized", ""), ints, ids=list(counts.index),
                         taxa=list(counts.columns), tree=tree, **kw)
        assert list(ours.ids) == list(ref.ids)
        diff = np.abs(ours.data - ref.data).max()
        assert diff < 1e-12, (metric, diff)
        assert ours.data.max() > 0.1  # not trivially zero


def _dense_table(seed: int, n: int = 80, p: int = 150, density: float = 0.5) -> pd.DataFrame:
    """A table where most branches are held by most samples (the dense min-product's case)."""
    rng = np.random.default_rng(seed)
    x = rng.integers(1, 100, (n, p)) * (rng.random((n, p)) < density)
    return pd.DataFrame(x.astype(float), index=[f"S{i}" for i in range(n)],
                        columns=[f"f{j}" for j in range(p)])


@pytest.mark.parametrize("dense", [False, True])
def test_equal_to_striped_unifrac(tmp_path: Path, dense: bool) -> None:
    """ssu (libssu 1.2, Debian unifrac-tools) is the implementation QIIME 2 uses.

    ssu reads branch lengths in single precision: with lengths of 9 decimals its values differ
    from scikit-bio's and ours by up to ~1e-8 (tests/test_unifrac_precision.py), so the
    comparison uses lengths exactly representable in float32, where all three agree to
    rounding. ``dense``: a 50% non-zero table, where
    weighted UniFrac runs nearly every branch through the dense min-product."""
    ssu = shutil.which("ssu")
    assert ssu, "ssu missing: apt-get install unifrac-tools (runtime/packages.txt)"
    counts = _dense_table(12) if dense else _table(11)
    newick = random_tree(list(counts.columns), 5, float32_lengths=True, extra=4)
    (tmp_path / "tree.nwk").write_text(newick)
    table = write_biom(counts, tmp_path / "t.biom")
    tree = TreeNode.read(io.StringIO(newick))
    for metric, method in SSU_METHOD.items():
        out = tmp_path / f"{metric}.h5"
        proc = subprocess.run([ssu, "-i", str(table), "-t", str(tmp_path / "tree.nwk"), "-m",
                               method, "-o", str(out), "--pcoa", "0", "-r", "hdf5_fp64"],
                              capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
        with h5py.File(out, "r") as f:
            order = [x.decode() if isinstance(x, bytes) else str(x) for x in f["order"][()]]
            ref = pd.DataFrame(f["matrix"][()], index=order, columns=order)
        ours, _ = beta_diversity(counts, metric, tree=tree)
        ref = ref.loc[list(ours.ids), list(ours.ids)].to_numpy()
        diff = np.abs(ours.data - ref).max()
        assert diff < 1e-12, (metric, diff)


def _own_tree(tips: list[str], seed: int) -> str:
    """Newick as labs' own trees come: polytomies, support values on internal nodes, lengths
    of 0 and missing lengths, tips that are not features, a root with a length."""
    rng = np.random.default_rng(seed)
    nodes = [*tips, *(f"outgroup_{k}" for k in range(6))]
    rng.shuffle(nodes)

    def length() -> str:
        r = rng.random()
        return "" if r < 0.04 else ":0" if r < 0.1 else f":{rng.integers(1, 64) / 64}"

    while len(nodes) > 1:
        picked = [nodes.pop(rng.integers(len(nodes))) for _ in
                  range(min(len(nodes), int(rng.choice([2, 2, 3, 4]))))]
        support = f"{rng.random():.3f}" if rng.random() < 0.7 else ""
        nodes.append("(" + ",".join(f"{c}{length()}" for c in picked) + ")" + support)
    return nodes[0] + ":0.0;\n"


def _ssu_matrices(ssu: str, table: Path, tree: Path, where: Path) -> dict[str, pd.DataFrame]:
    out = {}
    for metric, method in SSU_METHOD.items():
        h5 = where / f"ssu_{metric}.h5"
        proc = subprocess.run([ssu, "-i", str(table), "-t", str(tree), "-m", method, "-o",
                               str(h5), "--pcoa", "0", "-r", "hdf5_fp64"],
                              capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
        with h5py.File(h5, "r") as f:
            order = [x.decode() if isinstance(x, bytes) else str(x) for x in f["order"][()]]
            out[metric] = pd.DataFrame(f["matrix"][()], index=order, columns=order)
    return out


def test_own_table_and_tree_from_the_command_line_equal_striped_unifrac(tmp_path: Path) -> None:
    """``soilbiome diversity TABLE --tree FILE`` on a lab's own IDs (``ASV_1``: unquoted
    underscores, which ssu and ape keep and the Newick standard reads as spaces) and a tree
    as labs make them: every UniFrac equals ssu's on the same two files. The same tree as
    scikit-bio writes it for IDs with spaces (``ASV 1`` -> ``ASV_1``) serves a table of those
    IDs; a tree naming neither is refused with one line."""
    ssu = shutil.which("ssu")
    assert ssu, "ssu missing: apt-get install unifrac-tools (runtime/packages.txt)"
    counts = _dense_table(21, n=24, p=120, density=0.2)
    counts.columns = [f"ASV_{j}" for j in range(counts.shape[1])]
    counts.iloc[:, 0] += 1  # no empty sample
    table = write_biom(counts, tmp_path / "own.biom")
    tree = tmp_path / "own.nwk"
    tree.write_text(_own_tree(list(counts.columns), 3))
    assert "ASV_7" in tree.read_text() and ")0." in tree.read_text()
    ref = _ssu_matrices(ssu, table, tree, tmp_path)
    res = _run("diversity", table, "--tree", tree, "--outdir", tmp_path / "div",
               "--no-rarefaction", "--unifrac")
    assert res.exit_code == 0, res.output
    spaced = counts.rename(columns=lambda c: c.replace("_", " "))
    spaced_table = write_biom(spaced, tmp_path / "spaced.biom")
    res = _run("diversity", spaced_table, "--tree", tree, "--outdir", tmp_path / "spaced",
               "--no-rarefaction", "--unifrac")
    assert res.exit_code == 0, res.output
    for metric in UNIFRAC_METRICS:
        for folder in ("div", "spaced"):
            ours = pd.read_csv(tmp_path / folder / f"beta_{metric}.tsv", sep="\t", index_col=0)
            expected = ref[metric].loc[ours.index, ours.columns].to_numpy()
            assert np.abs(ours.to_numpy() - expected).max() < 1e-12, (metric, folder)
            assert ours.to_numpy().max() > 0
        # one metric alone, as `ssu -m` computes it: the same file `diversity` wrote
        alone = tmp_path / f"{metric}.tsv"
        res = _run("beta", "matrix", table, "--metric", metric, "--tree", tree,
                   "--no-rarefaction", "--out", alone)
        assert res.exit_code == 0, res.output
        assert alone.read_bytes() == (tmp_path / "div" / f"beta_{metric}.tsv").read_bytes()
    other = tmp_path / "other.nwk"
    other.write_text(tree.read_text().replace("ASV_", "OTU_"))
    res = _run("diversity", table, "--tree", other, "--outdir", tmp_path / "no",
               "--no-rarefaction", "--unifrac")
    assert res.exit_code == 2 and "120 feature(s) are not tips of the tree" in res.output
    assert len(res.output.strip().splitlines()) == 1 and not (tmp_path / "no").exists()


def test_a_reference_tree_is_sheared_to_the_features_bit_for_bit() -> None:
    """Most tips of a reference tree (fragment insertion) are not features: UniFrac runs on
    the nodes with a feature below them, and every value equals the one computed on the
    whole tree to the bit (the fixed-point scale stays the whole tree's)."""
    from soilbiome.diversity.unifrac import tree_arrays

    counts = _table(17)
    tree = TreeNode.read(io.StringIO(random_tree(list(counts.columns), 5, extra=2000)))
    arrays = tree_arrays(tree)
    features = list(counts.columns)
    sheared = Phylogeny.of(arrays, features)
    whole = Phylogeny(arrays, arrays.tip_index(features), arrays)
    assert sheared.tree.parent.shape[0] < arrays.parent.shape[0] / 5
    assert sheared.tree.parent[-1] == -1 and (sheared.tree.parent[:-1] >= 0).all()
    matrix = sparse.csr_matrix(counts.to_numpy())
    for metric in UNIFRAC_METRICS:
        one = sparse_beta(matrix, metric, sheared)
        assert np.array_equal(one, sparse_beta(matrix, metric, whole)), metric
        block = beta_block(matrix, (0, 7), (7, matrix.shape[0]), metric, sheared)
        assert np.array_equal(block, beta_block(matrix, (0, 7), (7, matrix.shape[0]), metric,
                                                whole)), metric


def test_chains_of_single_child_nodes_count_once_bit_for_bit(monkeypatch) -> None:
    """Unweighted UniFrac moves each chain's lengths onto its lowest node (a sheared
    reference tree is mostly chains): the same bits as summing every node, in one pass and
    in blocks, on both kernel engines."""
    from soilbiome.diversity import unweighted
    from soilbiome.diversity.unifrac import tree_arrays

    # postorder a, b, c (one child: b), d (a, c), root e (one child: d)
    parent = np.array([3, 2, 3, 4, -1])
    moved = unweighted.chain_lengths(parent, np.array([1.0, 2.0, 3.0, 4.0, 0.0]))
    assert moved.tolist() == [1.0, 5.0, 0.0, 4.0, 0.0]
    counts = _table(19)
    features = list(counts.columns)
    tree = tree_arrays(TreeNode.read(io.StringIO(random_tree(features, 6, extra=3000))))
    sheared = Phylogeny.of(tree, features)
    parent = sheared.tree.parent
    assert (np.bincount(parent[parent >= 0], minlength=parent.shape[0]) == 1).sum() > 50
    matrix = sparse.csr_matrix(counts.to_numpy())
    for engine in ("c", "numba"):
        moved = [unweighted.unweighted_condensed(matrix, sheared, engine),
                 unweighted.unweighted_rectangle(matrix[:6], matrix[6:], sheared, False, engine)]
        with monkeypatch.context() as patch:
            patch.setattr(unweighted, "chain_lengths", lambda parent, length: length)
            summed = [unweighted.unweighted_condensed(matrix, sheared, engine),
                      unweighted.unweighted_rectangle(matrix[:6], matrix[6:], sheared, False,
                                                      engine)]
        for a, b in zip(moved, summed, strict=True):
            assert np.array_equal(a, b, equal_nan=True), engine


def test_blocks_equal_the_one_pass_matrix() -> None:
    counts = _table(13)
    tree = TreeNode.read(io.StringIO(random_tree(list(counts.columns), 8)))
    phylo = Phylogeny.of(tree, list(counts.columns))
    matrix = sparse.csr_matrix(counts.to_numpy())
    n = matrix.shape[0]
    for metric in UNIFRAC_METRICS:
        one = Distances(tuple(counts.index), sparse_beta(matrix, metric, phylo)).data
        assembled = np.full((n, n), np.nan)
        for _, _, r0, r1, c0, c1 in plan(n, 3):
            block = beta_block(matrix, (r0, r1), (c0, c1), metric, phylo)
            assembled[r0:r1, c0:c1] = block
            assembled[c0:c1, r0:r1] = block.T
            # a block below the diagonal is the mirror of the one above, bit for bit
            below = beta_block(matrix, (c0, c1), (r0, r1), metric, phylo)
            assert np.array_equal(below, block.T)
        assert np.array_equal(assembled, one), metric


@pytest.mark.parametrize("split", [(2.0, 2.0), (0.0, 1.0), (0.0, 0.0), (0.3, 0.6)])
def test_unweighted_parts_add_up_exactly(monkeypatch: pytest.MonkeyPatch,
                                         split: tuple[float, float]) -> None:
    """Unweighted UniFrac sums exact whole numbers: every branch through the sparse kernel,
    every one through the dense product, every one as what the samples lack, or a mix, give
    the same matrix bit for bit (so blocks that split the branches differently agree)."""
    from soilbiome.diversity import unweighted

    rng = np.random.default_rng(4)
    features = [f"f{j}" for j in range(300)]
    dense = rng.integers(1, 50, (70, 300)) * (rng.random((70, 300)) < 0.2)
    dense[:, :40] = 0  # features held by nobody
    dense[:, 40] = 1  # ... and one held by every sample
    counts = sparse.csr_matrix(dense.astype(float))
    phylo = Phylogeny.of(TreeNode.read(io.StringIO(random_tree(features, 6))), features)
    mixed = sparse_beta(counts, "unweighted_unifrac", phylo)
    monkeypatch.setattr(unweighted, "DENSE_FROM", split[0])
    monkeypatch.setattr(unweighted, "DENSE_TO", split[1])
    monkeypatch.setattr(unweighted, "DENSE_TILE", 16)  # several tiles
    assert np.array_equal(sparse_beta(counts, "unweighted_unifrac", phylo), mixed)
    ref = skbio_beta("unweighted_unifrac", dense, taxa=features,
                     tree=TreeNode.read(io.StringIO(random_tree(features, 6))))
    assert np.abs(squareform(mixed) - ref.data).max() < 1e-12


@pytest.mark.parametrize("split", [(2.0, 1 << 28), (0.0, 1 << 28), (0.3, 1 << 28),
                                   (0.0, 8 * 64 * 48)])
def test_weighted_parts_add_up_exactly(monkeypatch: pytest.MonkeyPatch,
                                       split: tuple[float, int]) -> None:
    """Weighted UniFrac sums exact whole numbers (fixed point): every branch through the
    sparse kernel, every one through the dense min-product (in one chunk of branches or in
    several), or a mix give the same matrix bit for bit; its blocks equal it bit for bit and
    it equals scikit-bio's. The table is dense (50% non-zero), as where the dense part runs."""
    from soilbiome.diversity import weighted

    rng = np.random.default_rng(8)
    features = [f"f{j}" for j in range(120)]
    dense = rng.integers(1, 40, (45, 120)) * (rng.random((45, 120)) < 0.5)
    counts = sparse.csr_matrix(dense)
    newick = random_tree(features, 2)
    phylo = Phylogeny.of(TreeNode.read(io.StringIO(newick)), features)
    for metric, kw in (("weighted_unifrac", {}),
                       ("weighted_normalized_unifrac", {"normalized": True})):
        mixed = squareform(sparse_beta(counts, metric, phylo))
        monkeypatch.setattr(weighted, "DENSE_FROM", split[0])
        monkeypatch.setattr(weighted, "DENSE_BYTES", split[1])
        one = squareform(sparse_beta(counts, metric, phylo))
        assert np.array_equal(one, mixed), metric
        assembled = np.zeros_like(one)
        for _, _, r0, r1, c0, c1 in plan(45, 4):
            block = beta_block(counts, (r0, r1), (c0, c1), metric, phylo)
            assembled[r0:r1, c0:c1] = block
            assembled[c0:c1, r0:r1] = block.T
        assert np.array_equal(assembled, one), metric
        ref = skbio_beta("weighted_unifrac", dense, taxa=features,
                         tree=TreeNode.read(io.StringIO(newick)), **kw)
        assert np.abs(one - ref.data).max() < 1e-12, metric
        monkeypatch.undo()


def _run(*args: object):  # noqa: ANN202
    return CliRunner().invoke(main, [str(a) for a in args])


def test_unifrac_blocks_from_the_command_line(tmp_path: Path) -> None:
    counts = random_counts(5)
    table = write_biom(counts, tmp_path / "t.biom")
    (tmp_path / "tree.nwk").write_text(random_tree(list(counts.columns), 2))
    (tmp_path / "other.nwk").write_text(random_tree(list(counts.columns), 4))
    rare = ["--rarefaction-depth", "9", "--seed", "3"]
    res = _run("diversity", table, "--outdir", tmp_path / "one", "--tree",
               tmp_path / "tree.nwk", *rare)
    assert res.exit_code == 0, res.output
    res = _run("beta", "plan", table, "--blocks", 3, "--out", tmp_path / "plan.csv", *rare)
    assert res.exit_code == 0, res.output
    rows = list(csv.DictReader((tmp_path / "plan.csv").open()))
    for metric in UNIFRAC_METRICS:
        blocks = []
        for row in rows:
            out = tmp_path / f"{metric}_{row['block']}.npz"
            res = _run("beta", "block", table, "--metric", metric, "--rows", row["rows"],
                       "--cols", row["cols"], "--tree", tmp_path / "tree.nwk", "--out", out,
                       *rare)
            assert res.exit_code == 0, res.output
            blocks.append(out)
        h5, tsv = tmp_path / f"{metric}.h5", tmp_path / f"{metric}.tsv"
        res = _run("beta", "assemble", table, *blocks, "--metric", metric, "--plan",
                   tmp_path / "plan.csv", "--tree", tmp_path / "tree.nwk", "--out", h5,
                   "--tsv", tsv, *rare)
        assert res.exit_code == 0, res.output
        assert tsv.read_bytes() == (tmp_path / "one" / f"beta_{metric}.tsv").read_bytes()
    # blocks of one tree are refused against another, and nothing is written
    bad = tmp_path / "bad.h5"
    res = _run("beta", "assemble", table, *blocks, "--metric", metric, "--plan",
               tmp_path / "plan.csv", "--tree", tmp_path / "other.nwk", "--out", bad, *rare)
    assert res.exit_code == 2 and "another tree" in res.output and not bad.exists()
    # and a UniFrac block needs a tree
    res = _run("beta", "block", table, "--metric", "unweighted_unifrac", "--rows", "0:3",
               "--cols", "0:3", "--out", tmp_path / "x.npz", *rare)
    assert res.exit_code == 2 and "tree" in res.output and not (tmp_path / "x.npz").exists()


def test_beta_commands_start_without_libraries_they_do_not_use(tmp_path: Path) -> None:
    """`beta matrix` and `beta block` are what a user times against `ssu`: scikit-bio (0.8 s),
    pandas (0.2 s), scipy.special (0.1 s) and scipy.spatial (0.05 s) stay out of their
    start-up, and so does numba (0.1-0.35 s) for unweighted UniFrac (C kernels); so do numpy's
    f2py and testing, which scipy's array-API layer would import (0.07 s; lean_imports)."""
    counts = random_counts(5)
    table = write_biom(counts, tmp_path / "t.biom")
    (tmp_path / "tree.nwk").write_text(random_tree(list(counts.columns), 2))
    script = (
        "import sys\n"
        "from soilbiome.cli import main\n"
        "try:\n"
        "    main(sys.argv[1:])\n"
        "except SystemExit as stop:\n"
        "    assert not stop.code, stop.code\n"
        "unused = ['skbio', 'pandas', 'scipy.special', 'scipy.spatial', 'numpy.f2py',\n"
        "          'numpy.testing']\n"
        "if 'unweighted_unifrac' in sys.argv:\n"
        "    unused.append('numba')\n"
        "print(' '.join(m for m in unused if m in sys.modules))\n")
    for metric in ("unweighted_unifrac", "weighted_normalized_unifrac", "braycurtis"):
        for command in (["matrix"], ["block", "--rows", "0:4", "--cols", "4:9"]):
            out = tmp_path / f"{metric}_{command[0]}.out"
            proc = subprocess.run(
                [sys.executable, "-c", script, "beta", *command, str(table), "--metric", metric,
                 "--tree", str(tmp_path / "tree.nwk"), "--no-rarefaction", "--out", str(out)],
                capture_output=True, text=True)
            assert proc.returncode == 0, proc.stderr
            assert out.stat().st_size > 0
            assert proc.stdout.strip() == "", (metric, command[0], proc.stdout)


@pytest.mark.slurm
def test_unifrac_blocks_as_slurm_jobs(tmp_path: Path) -> None:
    """Each block a SLURM job on the throwaway cluster; the assembled matrix equals the
    single-process one byte for byte."""
    import sys
    import time

    from slurm_cluster import SlurmCluster, slurm_unavailable

    reason = slurm_unavailable()
    if reason:
        pytest.skip(reason)
    soilbiome = Path(sys.executable).parent / "soilbiome"
    counts = random_counts(9)
    table = write_biom(counts, tmp_path / "t.biom")
    tree = tmp_path / "tree.nwk"
    tree.write_text(random_tree(list(counts.columns), 6))
    rare = ["--rarefaction-depth", "9", "--seed", "2"]
    metric = "weighted_normalized_unifrac"
    res = _run("diversity", table, "--outdir", tmp_path / "one", "--tree", tree, *rare)
    assert res.exit_code == 0, res.output
    res = _run("beta", "plan", table, "--blocks", 3, "--out", tmp_path / "plan.csv", *rare)
    assert res.exit_code == 0, res.output
    rows = list(csv.DictReader((tmp_path / "plan.csv").open()))
    c = SlurmCluster()
    try:
        c.start()
        jobs, blocks = [], []
        for row in rows:
            out = tmp_path / f"{metric}_{row['block']}.npz"
            cmd = " ".join([str(soilbiome), "beta", "block", str(table), "--metric", metric,
                            "--rows", row["rows"], "--cols", row["cols"], "--tree", str(tree),
                            "--out", str(out), *rare])
            proc = subprocess.run(["sbatch", "--parsable", "-p", c.partition, "-c", "1",
                                   "-o", str(tmp_path / f"job_{row['block']}.log"),
                                   "--chdir", str(tmp_path), "--wrap", cmd],
                                  env=c.env(), capture_output=True, text=True)
            assert proc.returncode == 0, proc.stderr
            jobs.append(proc.stdout.strip().split(";")[0])
            blocks.append(out)
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and not set(jobs) <= set(c.completed_jobs()):
            time.sleep(1)
        finished = c.completed_jobs()
        assert all(finished.get(j, {}).get("JobState") == "COMPLETED" for j in jobs), \
            c.logs()
    finally:
        c.stop()
        c.cleanup(keep_logs_in=tmp_path / "slurm_logs")
    tsv = tmp_path / "slurm.tsv"
    res = _run("beta", "assemble", table, *blocks, "--metric", metric, "--plan",
               tmp_path / "plan.csv", "--tree", tree, "--out", tmp_path / "slurm.h5",
               "--tsv", tsv, *rare)
    assert res.exit_code == 0, res.output
    assert tsv.read_bytes() == (tmp_path / "one" / f"beta_{metric}.tsv").read_bytes()


def test_weighted_fixed_point_on_a_deep_tree() -> None:
    """A caterpillar tree (tips up to ~60 from the root) and a sample whose counts all sit on
    the deepest tip, where ``S_i`` reaches the fixed point's bound: the sums stay within
    ``2^52`` (exact) and the values equal scikit-bio's to rounding."""
    from soilbiome.diversity.weighted import _embedded

    rng = np.random.default_rng(5)
    features = [f"f{j}" for j in range(200)]
    newick = "(" * 199 + features[0] + ":0.3" + "".join(
        f",{f}:{rng.uniform(0.1, 0.5):.6f}):{rng.uniform(0.1, 0.5):.6f}" for f in features[1:])
    newick = newick.rsplit(":", 1)[0] + ";"
    dense = rng.integers(1, 30, (30, 200)) * (rng.random((30, 200)) < 0.3)
    dense[0] = 0
    dense[0, 0] = 7  # the deepest tip only (f0 joins first)
    counts = sparse.csr_matrix(dense)
    tree = TreeNode.read(io.StringIO(newick))
    phylo = Phylogeny.of(tree, features)
    assert 2.0 ** 51 <= _embedded(counts, phylo).sizes.max() < 2.0 ** 52
    for metric, kw in (("weighted_unifrac", {}),
                       ("weighted_normalized_unifrac", {"normalized": True})):
        ours = squareform(sparse_beta(counts, metric, phylo))
        ref = skbio_beta("weighted_unifrac", dense, taxa=features, tree=tree, **kw).data
        assert np.abs(ours - ref).max() < 1e-12 * max(1.0, ref.max()), metric
