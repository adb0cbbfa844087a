"""The sparse diversity engine: against scikit-bio and vegan, blocks, file formats, group tests."""

from __future__ import annotations

import subprocess
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from scipy import sparse
from scipy.spatial.distance import squareform
from test_diversity import atacama_counts, needs_vegan, random_counts, write_biom

from soilbiome.cli import main
from soilbiome.diversity import (
    as_sparse,
    beta_block,
    beta_diversity,
    pcoa_result,
    permanova,
    permdisp,
    sparse_beta,
)
from soilbiome.diversity.beta import Distances

TOL = 1e-9


@pytest.fixture(scope="module")
def atacama() -> pd.DataFrame:
    return atacama_counts()[0]


def _random_sparse(n: int, p: int, density: float, seed: int) -> sparse.csr_matrix:
    rng = np.random.default_rng(seed)
    x = sparse.random(n, p, density=density, random_state=seed, format="csr",
                      data_rvs=lambda k: rng.integers(1, 60, k).astype(float))
    return x


@pytest.mark.parametrize("metric", ["braycurtis", "jaccard"])
def test_engine_equals_scikit_bio(metric: str, atacama: pd.DataFrame) -> None:
    from skbio.diversity import beta_diversity as skbio_beta

    counts = pd.concat([atacama.loc[atacama.sum(axis=1) > 0], random_counts().iloc[:0]])
    for frame in (counts, random_counts()):
        frame = frame.loc[frame.sum(axis=1) > 0].fillna(0)
        ours, _ = beta_diversity(frame, metric)
        x = frame.to_numpy()
        if metric == "jaccard":
            x = (x > 0).astype(np.int64)
        ref = skbio_beta(metric, np.ascontiguousarray(x), ids=list(frame.index))
        assert list(ours.ids) == list(ref.ids)
        assert np.max(np.abs(ours.condensed - ref.condensed_form())) <= TOL


@pytest.mark.parametrize("metric", ["braycurtis", "jaccard"])
def test_blocks_are_bit_identical_to_one_pass(metric: str) -> None:
    x = _random_sparse(157, 300, 0.04, seed=3)
    x = x[np.asarray(x.sum(axis=1)).ravel() > 0]
    n = x.shape[0]
    whole = squareform(sparse_beta(x, metric), checks=False)
    np.fill_diagonal(whole, 0.0)
    cuts = [0, 40, 41, 100, n]  # uneven, one block of a single sample
    assembled = np.full((n, n), -1.0)
    for a in range(len(cuts) - 1):
        for b in range(len(cuts) - 1):
            r, c = (cuts[a], cuts[a + 1]), (cuts[b], cuts[b + 1])
            assembled[r[0]:r[1], c[0]:c[1]] = beta_block(x, r, c, metric)
    assert np.array_equal(assembled, whole)


def test_distance_matrix_and_ordination_files_read_by_scikit_bio(
    tmp_path: Path, atacama: pd.DataFrame
) -> None:
    from skbio import DistanceMatrix, OrdinationResults

    table = write_biom(atacama, tmp_path / "t.biom")
    out = tmp_path / "out"
    res = CliRunner().invoke(main, ["diversity", str(table), "--outdir", str(out),
                                    "--no-rarefaction", "--pcoa-axes", "3"])
    assert res.exit_code == 0, res.output
    for metric in ("braycurtis", "jaccard"):
        dm = DistanceMatrix.read(str(out / f"beta_{metric}.tsv"))
        ours, _ = beta_diversity(atacama, metric)
        assert list(dm.ids) == list(ours.ids)
        assert np.array_equal(dm.condensed_form(), ours.condensed)  # repr round-trips exactly
        ordn = OrdinationResults.read(str(out / f"pcoa_{metric}.ordination.txt"))
        assert ordn.samples.shape == (len(ours.ids), 3)
        coords = pd.read_csv(out / f"pcoa_{metric}.tsv", sep="\t", index_col="sample")
        assert list(coords.columns) == ["PC1", "PC2", "PC3"]


def test_pcoa_equals_scikit_bio_on_the_kept_axes(atacama: pd.DataFrame) -> None:
    from skbio.stats.ordination import pcoa as skbio_pcoa

    dm, _ = beta_diversity(atacama, "braycurtis")
    ours = pcoa_result(dm, axes=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # negative eigenvalues of a non-Euclidean metric
        ref = skbio_pcoa(dm.to_skbio())
    for k in range(3):
        assert abs(ours.eigvals.iloc[k] - ref.eigvals.iloc[k]) <= TOL
        assert abs(ours.proportion_explained.iloc[k] - ref.proportion_explained.iloc[k]) <= TOL
        a, b = ours.samples.iloc[:, k].to_numpy(), ref.samples.iloc[:, k].to_numpy()
        sign = np.sign(a @ b)  # eigenvector signs are arbitrary
        assert np.max(np.abs(a - sign * b)) <= TOL


def test_pcoa_axes_equal_dense_eigh_on_both_paths() -> None:
    """The tridiagonal path (all eigenvalues, k vectors) and the randomized path (above
    FULL_SPECTRUM_UP_TO samples) give the leading axes of a full dense eigendecomposition."""
    from scipy.linalg import eigh
    from scipy.spatial.distance import pdist

    from soilbiome.diversity.ordination import _randomized, _tridiagonal, gower_centred

    rng = np.random.default_rng(3)
    n = 600
    x = rng.poisson(2.0, size=(n, 40)).astype(float) + 1.0
    dm = Distances(tuple(f"S{i}" for i in range(n)), pdist(x, "braycurtis"))
    vals, vecs = eigh(gower_centred(dm))
    every, tri_vals, tri_vecs = _tridiagonal(gower_centred(dm), 5)
    assert np.max(np.abs(np.sort(every) - vals)) <= TOL  # every eigenvalue, negative ones too
    rnd_vals, rnd_vecs = _randomized(gower_centred(dm), 5)
    vals, vecs = vals[::-1][:5], vecs[:, ::-1][:, :5]
    for got_vals, got_vecs in ((tri_vals[::-1], tri_vecs[:, ::-1]), (rnd_vals, rnd_vecs)):
        assert np.max(np.abs(got_vals - vals)) <= TOL
        for k in range(5):
            a, b = got_vecs[:, k], vecs[:, k]
            assert np.max(np.abs(a - np.sign(a @ b) * b)) * np.sqrt(vals[k]) <= TOL


def test_pcoa_proportions_equal_scikit_bio_with_negative_eigenvalues() -> None:
    """scikit-bio divides by the sum of the positive eigenvalues (negative ones dropped)."""
    from skbio.stats.ordination import pcoa as skbio_pcoa

    x = _random_sparse(150, 300, 0.05, seed=4)
    x = x[np.asarray(x.sum(axis=1)).ravel() > 0]
    dm = Distances(tuple(f"S{i}" for i in range(x.shape[0])), sparse_beta(x, "braycurtis"))
    ours = pcoa_result(dm, axes=8)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # negative eigenvalues of a non-Euclidean metric
        ref = skbio_pcoa(dm.to_skbio())
    full = np.linalg.eigvalsh(_gower(dm))
    negative = full[full < -1e-8]
    assert negative.sum() < -1e-3 * full[full > 0].sum()  # they weigh in this table
    assert ours.denominator.startswith("sum of the positive eigenvalues")
    got = ours.proportion_explained.to_numpy()
    assert np.max(np.abs(got - ref.proportion_explained.to_numpy()[:8])) <= 1e-12
    assert np.max(np.abs(ours.eigvals.to_numpy() - ref.eigvals.to_numpy()[:8])) <= TOL
    # the trace (every eigenvalue) would give other proportions
    assert np.max(np.abs(got - ours.eigvals.to_numpy() / full.sum())) > 1e-6


def _gower(dm: Distances) -> np.ndarray:
    from soilbiome.diversity.ordination import gower_centred

    return gower_centred(dm)


VEGAN_GROUP_TESTS = r"""
suppressMessages(library(vegan))
args <- commandArgs(trailingOnly = TRUE)
d <- as.dist(as.matrix(read.delim(args[1], row.names = 1, check.names = FALSE)))
g <- read.delim(args[2], colClasses = "character")
grp <- factor(g$group[match(labels(d), g$sample)])
a <- adonis2(d ~ grp, permutations = 99)
bd <- betadisper(d, grp, type = "centroid")
av <- anova(bd)
cat(sprintf("%.17g", c(a$R2[1], a$F[1], a$SumOfSqs[1], a$SumOfSqs[2], a$SumOfSqs[3],
                       av$`F value`[1], av$`Pr(>F)`[1], bd$distances)), sep = "\n")
"""


@needs_vegan
@pytest.mark.parametrize("metric", ["braycurtis", "jaccard"])
def test_permanova_and_permdisp_equal_vegan(tmp_path: Path, atacama: pd.DataFrame,
                                            metric: str) -> None:
    from soilbiome.diversity.writers import write_lsmat

    def vegan(dm: Distances, groups: pd.Series) -> list[float]:
        write_lsmat(dm, tmp_path / "d.tsv")
        pd.DataFrame({"sample": groups.index, "group": groups.values}).to_csv(
            tmp_path / "g.tsv", sep="\t", index=False)
        (tmp_path / "t.R").write_text(VEGAN_GROUP_TESTS)
        proc = subprocess.run(["Rscript", str(tmp_path / "t.R"), str(tmp_path / "d.tsv"),
                               str(tmp_path / "g.tsv")], capture_output=True, text=True,
                              check=True)
        return [float(x) for x in proc.stdout.split()]

    dm, _ = beta_diversity(atacama, metric)  # the real Atacama soil reads, by site
    groups = pd.Series({s: s[:3] for s in dm.ids}, name="site")  # BAQ 5, YUN 4, PAP 1
    v = vegan(dm, groups)
    perm = permanova(dm, groups, permutations=199, seed=5)
    assert perm["status"] == "computed" and perm["reason"] is None
    assert abs(perm["r_squared"] - v[0]) <= TOL
    assert abs(perm["test_statistic"] - v[1]) <= TOL
    for ours, theirs in zip((perm["ss_model"], perm["ss_residual"], perm["ss_total"]), v[2:5],
                            strict=True):
        assert abs(ours - theirs) <= TOL
    assert 1 / 200 <= perm["p_value"] <= 1 and perm["p_min"] == 1 / 200
    # a group of one sample has a distance 0 to its own centroid, by construction: vegan
    # computes an F with it; here the test is not computable, and the distances stay
    single = permdisp(dm, groups, permutations=199, seed=5)
    assert single["status"] == "not computable"
    assert single["reason"] == "a group has fewer than 2 samples (PAP: 1)"
    assert single["test_statistic"] is None and single["p_value"] is None
    assert single["p_value_parametric"] is None and single["p_min"] is None
    assert np.max(np.abs(np.array([single["distances"][s] for s in dm.ids])
                         - np.array(v[7:]))) <= TOL
    # without the lone PAP sample: F, parametric p and distances equal vegan's
    two = dm.filter([s for s in dm.ids if groups[s] != "PAP"])
    groups = groups[list(two.ids)]
    v = vegan(two, groups)
    disp = permdisp(two, groups, permutations=199, seed=5)
    assert disp["status"] == "computed"
    assert abs(disp["test_statistic"] - v[5]) <= TOL
    assert abs(disp["p_value_parametric"] - v[6]) <= TOL
    ours_z = np.array([disp["distances"][s] for s in two.ids])
    assert np.max(np.abs(ours_z - np.array(v[7:]))) <= TOL
    assert 1 / 200 <= disp["p_value"] <= 1 and disp["p_min"] == 1 / 200


def test_permanova_agrees_with_scikit_bio_pseudo_f(atacama: pd.DataFrame) -> None:
    from skbio.stats.distance import permanova as skbio_permanova

    dm, _ = beta_diversity(atacama, "jaccard")
    groups = pd.Series({s: s[:3] for s in dm.ids}, name="site")
    ours = permanova(dm, groups, permutations=0)
    ref = skbio_permanova(dm.to_skbio(), groups.reindex(list(dm.ids)), permutations=0)
    assert abs(ours["test_statistic"] - ref["test statistic"]) <= TOL
    assert ours["p_value"] is None


def test_feature_table_stays_sparse(tmp_path: Path, atacama: pd.DataFrame) -> None:
    from soilbiome.io.biom_reader import read_table

    table = read_table(write_biom(atacama, tmp_path / "t.biom"))
    sc = as_sparse(table)
    assert sparse.issparse(sc.matrix) and sc.matrix.nnz == table.counts.nnz
    assert sc.integer and sc.sample_ids == table.sample_ids


def test_block_commands_assemble_the_single_process_matrix(tmp_path: Path,
                                                           atacama: pd.DataFrame) -> None:
    import csv

    table = write_biom(atacama, tmp_path / "t.biom")
    runner = CliRunner()
    res = runner.invoke(main, ["diversity", str(table), "--outdir", str(tmp_path / "one"),
                               "--rarefaction-depth", "97", "--seed", "3"])
    assert res.exit_code == 0, res.output
    rare = ["--rarefaction-depth", "97", "--seed", "3"]
    res = runner.invoke(main, ["beta", "plan", str(table), "--blocks", "3",
                               "--out", str(tmp_path / "plan.csv"), *rare])
    assert res.exit_code == 0, res.output
    rows = list(csv.DictReader((tmp_path / "plan.csv").open()))
    assert len(rows) == 6
    for metric in ("braycurtis", "jaccard"):
        blocks = []
        for row in reversed(rows):  # order of arrival does not matter
            out = tmp_path / f"{metric}_{row['block']}.npz"
            res = runner.invoke(main, ["beta", "block", str(table), "--metric", metric,
                                       "--rows", row["rows"], "--cols", row["cols"],
                                       "--out", str(out), *rare])
            assert res.exit_code == 0, res.output
            blocks.append(str(out))
        tsv = tmp_path / f"beta_{metric}.tsv"
        res = runner.invoke(main, ["beta", "assemble", str(table), *blocks, "--metric", metric,
                                   "--out", str(tmp_path / f"{metric}.h5"), "--tsv", str(tsv),
                                   *rare])
        assert res.exit_code == 0, res.output
        assert tsv.read_bytes() == (tmp_path / "one" / f"beta_{metric}.tsv").read_bytes()
    res = runner.invoke(main, ["beta", "assemble", str(table), *blocks[:-1], "--metric",
                               "jaccard", "--out", str(tmp_path / "bad.h5"), *rare])
    assert res.exit_code != 0 and "cover" in res.output and not (tmp_path / "bad.h5").exists()
    # one process, one metric: the same matrix, and it says which samples it left out
    totals = atacama.sum(axis=1)
    low = int(((totals > 0) & (totals < 97)).sum())
    alone = tmp_path / "alone.tsv"
    res = runner.invoke(main, ["beta", "matrix", str(table), "--metric", "braycurtis",
                               "--out", str(alone), *rare])
    assert res.exit_code == 0, res.output
    assert alone.read_bytes() == (tmp_path / "one" / "beta_braycurtis.tsv").read_bytes()
    said = f"left out: {int((totals == 0).sum())} empty, {low} below the rarefaction depth"
    assert low and said in res.stderr, res.stderr
    res = runner.invoke(main, ["beta", "matrix", str(table), "--metric", "weighted_unifrac",
                               "--out", str(tmp_path / "w.tsv"), *rare])
    assert res.exit_code == 2 and "tree" in res.output and not (tmp_path / "w.tsv").exists()


def test_pcoa_randomized_path_equals_the_full_spectrum_path(monkeypatch) -> None:
    import soilbiome.diversity.ordination as ordination
    from soilbiome.diversity import Distances

    x = _random_sparse(520, 900, 0.05, seed=11)
    x = x[np.asarray(x.sum(axis=1)).ravel() > 0]
    dm = Distances(tuple(f"S{i}" for i in range(x.shape[0])), sparse_beta(x, "braycurtis"))
    full = pcoa_result(dm, axes=5)
    monkeypatch.setattr(ordination, "FULL_SPECTRUM_UP_TO", 100)
    rnd = pcoa_result(dm, axes=5)
    assert rnd.samples.equals(pcoa_result(dm, axes=5).samples)  # seeded: identical reruns
    assert rnd.denominator.startswith("trace")
    assert np.max(np.abs(rnd.eigvals.to_numpy() - full.eigvals.to_numpy())) <= TOL
    for k in range(5):
        a, b = rnd.samples.iloc[:, k].to_numpy(), full.samples.iloc[:, k].to_numpy()
        assert np.max(np.abs(a - b)) <= TOL  # same sign convention on both paths


def test_ordination_file_round_trips_through_scikit_bio(tmp_path: Path,
                                                        atacama: pd.DataFrame) -> None:
    from skbio import OrdinationResults

    from soilbiome.diversity.writers import write_ordination

    dm, _ = beta_diversity(atacama, "jaccard")
    ours = pcoa_result(dm, axes=4)
    write_ordination(ours, tmp_path / "o.txt")
    back = OrdinationResults.read(str(tmp_path / "o.txt"))
    assert list(back.samples.index) == list(dm.ids)
    assert np.array_equal(back.samples.to_numpy(), ours.samples.to_numpy())
    assert np.array_equal(back.eigvals.to_numpy(), ours.eigvals.to_numpy())
    assert np.array_equal(back.proportion_explained.to_numpy(),
                          ours.proportion_explained.to_numpy())


def test_lsmat_rows_round_trip_every_double_and_any_sample_id() -> None:
    """Rows are formatted in C (Arrow without it) from the arrays' own buffers: every value
    reads back as the same double (NaN as NaN), and IDs keep their characters (UTF-8)."""
    from soilbiome.diversity.writers import lsmat_rows

    rng = np.random.default_rng(4)
    rows = rng.random((3, 5)) * 10.0 ** rng.integers(-12, 12, (3, 5))
    rows[0, 0], rows[1, 1], rows[2, 2] = 0.0, 1.0, np.nan
    ids = ["Sité-1", "échantillon_2", "S3"]
    lines = lsmat_rows(ids, rows).decode().split("\n")
    assert lines[-1] == "" and len(lines) == 4
    for line, sample, want in zip(lines[:3], ids, rows, strict=True):
        cells = line.split("\t")
        assert cells[0] == sample
        got = np.array([float(x) for x in cells[1:]])
        assert np.array_equal(got, want, equal_nan=True)
    assert lsmat_rows([], np.zeros((0, 5))) == b""
