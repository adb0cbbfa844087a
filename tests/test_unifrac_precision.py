"""``--branch-lengths single``: UniFrac and Faith's PD on branch lengths read as Striped UniFrac
reads them (``std::stof``), so that values equal ``ssu`` and ``faithpd`` (QIIME 2's) on a
lab's own tree, whose lengths are decimals that single precision cannot hold exactly."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_diversity import write_biom
from test_unifrac import _dense_table, _run, _ssu_matrices, random_tree

from soilbiome.diversity.block_file import read_block, write_block
from soilbiome.diversity.common import DiversityError
from soilbiome.diversity.unifrac import UNIFRAC_METRICS, TreeArrays, at_precision, tree_arrays
from soilbiome.errors import InputError
from soilbiome.io.newick import parse_flat


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A table and a tree with 9-decimal lengths; ssu's matrices and faithpd's values on
    them; `soilbiome diversity` with double (default) and single branch lengths."""
    where = tmp_path_factory.mktemp("precision")
    ssu, faithpd = shutil.which("ssu"), shutil.which("faithpd")
    assert ssu and faithpd, "ssu/faithpd missing: apt-get install unifrac-tools"
    counts = _dense_table(31, n=24, p=120, density=0.2)
    counts.iloc[:, 0] += 1  # no empty sample
    table = write_biom(counts, where / "t.biom")
    tree = where / "tree.nwk"
    tree.write_text(random_tree(list(counts.columns), 8, extra=5))
    proc = subprocess.run([faithpd, "-i", str(table), "-t", str(tree), "-o",
                           str(where / "faith.tsv")], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    made = {"where": where, "table": table, "tree": tree,
            "ssu": _ssu_matrices(ssu, table, tree, where),
            "faithpd": pd.read_csv(where / "faith.tsv", sep="\t", index_col=0).iloc[:, 0]}
    for lengths in ("double", "single"):
        res = _run("diversity", table, "--tree", tree, "--outdir", where / lengths,
                   "--no-rarefaction", "--unifrac", "--branch-lengths", lengths)
        assert res.exit_code == 0, res.output
    return made


def _apart(lab: dict, folder: str) -> dict[str, float]:
    """Largest difference from ssu per UniFrac metric, and from faithpd for Faith's PD."""
    out = {}
    for metric in UNIFRAC_METRICS:
        ours = pd.read_csv(lab["where"] / folder / f"beta_{metric}.tsv", sep="\t",
                           index_col=0)
        ref = lab["ssu"][metric].loc[ours.index, ours.columns].to_numpy()
        out[metric] = float(np.abs(ours.to_numpy() - ref).max())
    alpha = pd.read_csv(lab["where"] / folder / "alpha_diversity.tsv", sep="\t", index_col=0)
    faith = lab["faithpd"]
    out["faith_pd"] = float(np.abs(alpha["faith_pd"].loc[faith.index] - faith).max())
    return out


def test_single_branch_lengths_reproduce_striped_unifrac_and_faithpd(lab: dict) -> None:
    double, single = _apart(lab, "double"), _apart(lab, "single")
    # as written, the lengths are not single-precision values: ssu's are apart from ours
    assert max(double.values()) > 1e-10, double
    assert max(single.values()) < 1e-12, single
    recorded = json.loads((lab["where"] / "single" / "diversity.json").read_text())
    assert recorded["parameters"]["tree"]["branch_lengths"] == "single"
    recorded = json.loads((lab["where"] / "double" / "diversity.json").read_text())
    assert recorded["parameters"]["tree"]["branch_lengths"] == "double"
    # and the report says so
    for lengths in ("double", "single"):
        html = lab["where"] / f"{lengths}.html"
        res = _run("report", "--biom", lab["table"], "--diversity", lab["where"] / lengths,
                   "--out", html)
        assert res.exit_code == 0, res.output
        said = "branch lengths were read in single precision" in html.read_text()
        assert said == (lengths == "single")
    # one metric alone gives the same file as `diversity` with the same lengths
    for lengths in ("double", "single"):
        alone = lab["where"] / f"alone_{lengths}.tsv"
        res = _run("beta", "matrix", lab["table"], "--metric", "weighted_unifrac", "--tree",
                   lab["tree"], "--no-rarefaction", "--branch-lengths", lengths, "--out", alone)
        assert res.exit_code == 0, res.output
        assert alone.read_bytes() == (
            lab["where"] / lengths / "beta_weighted_unifrac.tsv").read_bytes()


def test_single_branch_lengths_in_blocks(lab: dict, tmp_path: Path) -> None:
    table, tree = lab["table"], lab["tree"]
    settings = lab["where"] / "single" / "diversity.json"
    res = _run("beta", "plan", table, "--blocks", 2, "--settings", settings,
               "--out", tmp_path / "plan.csv")
    assert res.exit_code == 0, res.output
    metric = "unweighted_unifrac"
    blocks = []
    for row in csv.DictReader((tmp_path / "plan.csv").open()):
        out = tmp_path / f"{row['block']}.npz"
        # the settings of the single-process run carry its branch lengths
        res = _run("beta", "block", table, "--metric", metric, "--rows", row["rows"],
                   "--cols", row["cols"], "--tree", tree, "--settings", settings, "--out", out)
        assert res.exit_code == 0, res.output
        assert read_block(out).branch_lengths == "single"
        blocks.append(out)
    h5, tsv = tmp_path / "m.h5", tmp_path / "m.tsv"
    res = _run("beta", "assemble", table, *blocks, "--metric", metric, "--tree", tree,
               "--no-rarefaction", "--branch-lengths", "single", "--out", h5, "--tsv", tsv)
    assert res.exit_code == 0, res.output
    assert tsv.read_bytes() == (lab["where"] / "single" / f"beta_{metric}.tsv").read_bytes()
    # blocks of single lengths are not assembled as double ones, and nothing is written
    bad = tmp_path / "bad.h5"
    res = _run("beta", "assemble", table, *blocks, "--metric", metric, "--tree", tree,
               "--no-rarefaction", "--out", bad)
    assert res.exit_code == 2 and not bad.exists(), res.output
    assert "single-precision branch lengths, this assembly uses double" in res.output
    assert len(res.output.strip().splitlines()) == 1
    # an option that contradicts the settings is refused before anything is computed
    res = _run("beta", "block", table, "--metric", metric, "--rows", "0:2", "--cols", "0:2",
               "--tree", tree, "--settings", settings, "--branch-lengths", "double",
               "--out", tmp_path / "x.npz")
    assert res.exit_code == 2 and "contradicts --settings" in res.output, res.output
    assert not (tmp_path / "x.npz").exists()


def test_settings_of_a_run_without_a_tree_leave_the_precision_to_the_option(
        lab: dict, tmp_path: Path) -> None:
    """A comparison's settings (its run read no tree) record no precision: UniFrac blocks
    computed with them take --branch-lengths as given (the pipeline's --branch_lengths), or
    double without it."""
    table, tree = lab["table"], lab["tree"]
    res = _run("diversity", table, "--outdir", tmp_path / "notree", "--no-rarefaction")
    assert res.exit_code == 0, res.output
    settings = tmp_path / "notree" / "diversity.json"
    assert json.loads(settings.read_text())["parameters"]["tree"] is None
    made = {}
    for given in ("single", "double", None):
        out = tmp_path / f"{given}.npz"
        res = _run("beta", "block", table, "--metric", "weighted_unifrac", "--rows", "0:24",
                   "--cols", "0:24", "--tree", tree, "--settings", settings, "--out", out,
                   *(("--branch-lengths", given) if given else ()))
        assert res.exit_code == 0, res.output
        made[given] = read_block(out)
    assert [made[g].branch_lengths for g in made] == ["single", "double", "double"]
    assert np.array_equal(made[None].values, made["double"].values)
    assert not np.array_equal(made["single"].values, made["double"].values)


def test_rounding_and_its_refusals(tmp_path: Path) -> None:
    tree = tree_arrays(parse_flat("((a:0.1,b:1e39):0.2,c:0.3);"))
    with pytest.raises(DiversityError, match="too large for single precision"):
        at_precision(tree, "single")
    with pytest.raises(DiversityError, match="one of double, single"):
        at_precision(tree, "half")
    small = tree_arrays(parse_flat("((a:0.1,b:0.7):0.2,c:0.3);"))
    assert at_precision(small, "double") is small
    single = at_precision(small, "single").length
    assert np.array_equal(single, small.length.astype(np.float32).astype(np.float64))
    assert (single != small.length).any()
    # a block file saying another precision is refused by the reader
    path = write_block(tmp_path / "b.npz", np.zeros((1, 1)), table_sha256="t",
                       prepared_sha256="p", metric="unweighted_unifrac", rows=(0, 1),
                       cols=(0, 1), tree_sha256="x", branch_lengths="half")
    with pytest.raises(InputError, match="'branch_lengths' is 'half'"):
        read_block(path)


def test_rounding_equals_what_c_strtof_reads_from_the_text() -> None:
    """ssu reads each length with ``std::stof`` (C's ``strtof``): rounding the double we read
    gives the same single-precision value for 20,000 random decimals of 1-9 digits, written
    as a Newick writer may (fixed or exponent form)."""
    import ctypes

    libc = ctypes.CDLL(None)
    libc.strtof.restype = ctypes.c_float
    libc.strtof.argtypes = [ctypes.c_char_p, ctypes.c_void_p]
    rng = np.random.default_rng(12)
    texts = []
    for _ in range(20_000):
        digits, exponent = int(rng.integers(1, 10)), int(rng.integers(-6, 3))
        mantissa = int(rng.integers(10 ** (digits - 1), 10 ** digits))
        shift = exponent - digits + 1
        texts.append(f"{mantissa}e{shift}" if rng.random() < 0.3
                     else f"{mantissa * 10.0 ** shift:.{max(0, -shift)}f}")
    lengths = np.array([float(t) for t in texts])
    tree = TreeArrays(np.full(len(texts), -1, dtype=np.int64), lengths, {})
    rounded = at_precision(tree, "single").length
    from_c = np.array([libc.strtof(t.encode(), None) for t in texts], dtype=np.float32)
    assert (rounded != lengths).sum() > len(texts) // 2  # most decimals do move
    assert np.array_equal(rounded, from_c.astype(np.float64))
