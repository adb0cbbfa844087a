"""No statistic without its meaning: test statuses, permutation resolution, strict JSON."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from scipy.spatial.distance import pdist, squareform
from test_diversity import write_biom

from conftest import assert_strict_json_tree, assert_test_tsvs_explained
from soilbiome.cli import main
from soilbiome.diversity.beta import Distances
from soilbiome.diversity.stats import permanova, permdisp
from soilbiome.io.jsonfile import dumps, loads, write_json
from soilbiome.soil import stats

needs_r = pytest.mark.skipif(shutil.which("Rscript") is None, reason="Rscript not found")


def _distances(n: int, seed: int = 1) -> Distances:
    x = np.random.default_rng(seed).random((n, 4))
    return Distances(tuple(f"s{i}" for i in range(n)), pdist(x, "euclidean"))


def _groups(dm: Distances, labels: str) -> pd.Series:
    return pd.Series(list(labels), index=list(dm.ids), name="site")


# ------------------------------------------------------------------------ PERMANOVA, PERMDISP


def test_permdisp_with_one_sample_groups_is_not_computable() -> None:
    dm = _distances(5)
    # before statuses: F = inf and p = 0.001 (groups B, C, D of one sample each)
    res = permdisp(dm, _groups(dm, "AABCD"), permutations=999)
    assert res["status"] == "not computable"
    assert res["reason"] == "a group has fewer than 2 samples (B: 1, C: 1, D: 1)"
    assert res["test_statistic"] is None and res["p_value"] is None
    assert res["p_value_parametric"] is None and res["p_min"] is None
    # the distances to the centroids are still given (descriptive): 0 for a lone sample
    assert res["distances"]["s2"] == 0.0 and res["distances"]["s0"] > 0
    every = permdisp(dm, _groups(dm, "ABCDE"))
    assert every["status"] == "not computable"
    assert every["reason"].startswith("no group has more than 1 sample")


def test_permdisp_with_two_sample_groups_is_not_computable() -> None:
    # two samples are equally far from their centroid: no variation within any group, and
    # the F was 1.6e+32 or inf before
    dm = _distances(6)
    res = permdisp(dm, _groups(dm, "AABBCC"), permutations=99)
    assert res["status"] == "not computable"
    assert "do not vary within any group" in res["reason"]
    assert res["test_statistic"] is None and res["p_value"] is None


def test_permanova_statuses_and_resolution() -> None:
    dm = _distances(6)
    res = permanova(dm, _groups(dm, "AAABBB"), permutations=99, seed=3)
    assert res["status"] == "computed" and res["reason"] is None
    assert res["permutations"] == 99 and res["p_min"] == pytest.approx(0.01)
    assert res["p_min"] <= res["p_value"] <= 1 and math.isfinite(res["test_statistic"])
    # identical samples within each group: no residual variation, infinite pseudo-F
    same = Distances(dm.ids, squareform(np.array(
        [[0, 0, 0, 1, 1, 1], [0, 0, 0, 1, 1, 1], [0, 0, 0, 1, 1, 1],
         [1, 1, 1, 0, 0, 0], [1, 1, 1, 0, 0, 0], [1, 1, 1, 0, 0, 0]], dtype=float)))
    inf = permanova(same, _groups(dm, "AAABBB"), permutations=99)
    assert inf["status"] == "not computable" and "no variation within the groups" in \
        inf["reason"]
    assert inf["test_statistic"] is None and inf["p_value"] is None
    one = permanova(dm, _groups(dm, "AAAAAA"))
    assert one["status"] == "not computable" and one["reason"].startswith(
        "fewer than 2 groups")
    assert permanova(dm, _groups(dm, "AAABBB"), permutations=0)["p_min"] is None


# --------------------------------------------------------------------- Mantel, envfit, dbRDA


def test_mantel_on_constant_distances_is_not_computable() -> None:
    n = 6
    community = np.ones((n, n)) - np.eye(n)  # every community distance is 1.0
    env = stats.env_distance(np.arange(n, dtype=float))
    for method in ("pearson", "spearman"):
        res = stats.mantel(community, env, method=method, permutations=999)
        # before statuses: statistic NaN, p = 0.001 (no permuted statistic is >= NaN)
        assert res.status == "not computable"
        assert res.reason == "constant distances (every community distance is 1)"
        assert res.statistic is None and res.p_value is None and res.p_min is None
    few = stats.mantel(community[:2, :2], env[:2, :2])
    assert few.status == "not computable" and few.reason == "fewer than 3 samples (2)"
    ok = stats.mantel(squareform(pdist(np.random.default_rng(2).random((n, 3)))), env,
                      permutations=99)
    assert ok.status == "computed" and ok.p_min == pytest.approx(0.01)
    assert ok.p_min <= ok.p_value <= 1


def test_envfit_of_a_constant_variable_is_not_computable() -> None:
    scores = np.random.default_rng(4).random((6, 2))
    res = stats.envfit_vectors(scores, np.full(6, 7.0), "ph", permutations=99)
    assert res.status == "not computable" and res.reason == "ph is constant over the samples"
    assert res.r2 is None and res.p_value is None and res.direction is None
    few = stats.envfit_vectors(scores[:3], np.arange(3.0), "ph")
    assert few.status == "not computable" and few.reason.startswith("fewer than 4 samples")


# ------------------------------------------------------------------------------- Spearman


def test_spearman_with_three_samples_is_not_computable_and_skipped_by_q() -> None:
    # before statuses: rho = 1, p = 0, q = 0
    res = stats.spearman(np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 3.0]), "shannon", "ph")
    assert res.status == "not computable" and res.reason == "fewer than 4 samples (3)"
    assert res.rho is None and res.p_value is None
    flat = stats.spearman(np.arange(6.0), np.full(6, 2.0), "shannon", "ph")
    assert flat.status == "not computable"
    assert flat.reason == "constant input (ph has the same value in every sample)"
    # q-values over the computable tests only: two p-values corrected as two, not three
    q = stats.benjamini_hochberg([0.01, None, 0.04, float("nan")])
    assert q[0] == pytest.approx(0.02) and q[2] == pytest.approx(0.04)
    assert math.isnan(q[1]) and math.isnan(q[3])


@needs_r
def test_perfect_rank_correlation_gets_the_exact_p_of_r(tmp_path: Path) -> None:
    a = np.array([0.3, 1.2, 2.5, 2.6, 4.0])
    b = np.array([10.0, 11.0, 15.0, 19.0, 30.0])
    res = stats.spearman(a, b, "shannon", "ph")
    assert res.status == "computed" and res.rho == pytest.approx(1.0)
    out = subprocess.run(
        ["Rscript", "-e", "cat(sprintf('%.17g', cor.test(c(0.3, 1.2, 2.5, 2.6, 4), "
         "c(10, 11, 15, 19, 30), method = 'spearman', exact = TRUE)$p.value))"],
        capture_output=True, text=True, check=True, cwd=tmp_path).stdout
    assert res.p_value == pytest.approx(float(out), rel=1e-12)  # not the t-approximation's 0
    assert "exact" in res.p_method


# ----------------------------------------------------------------------------- strict JSON


def test_write_json_is_strict_and_atomic(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    write_json(path, {"f": np.float64("inf"), "n": float("nan"), "i": np.int64(3),
                      "a": np.array([1.5, -np.inf]), "p": tmp_path})
    text = path.read_text()
    assert text.endswith("\n") and "Infinity" not in text and "NaN" not in text
    assert loads(text) == {"f": None, "n": None, "i": 3, "a": [1.5, None], "p": str(tmp_path)}
    assert list(tmp_path.iterdir()) == [path]  # no temp file left
    with pytest.raises(ValueError, match="NaN is not JSON"):
        loads('{"x": NaN}')
    with pytest.raises(TypeError):
        dumps({"x": object()})


def _small_survey(tmp_path: Path) -> Path:
    """Six soil cores of three sites, two cores each, no taxon shared between cores (every
    Bray-Curtis distance is 1.0); pH measured in three cores only."""
    counts = pd.DataFrame(np.kron(np.eye(6), np.ones((1, 3))) * 10,
                          index=[f"core{i}" for i in range(6)],
                          columns=[f"asv{j}" for j in range(18)])
    ph = [5.1, 6.2, math.nan, 7.3, math.nan, math.nan]
    md = {s: {"site": "AABBCC"[i], "ph": ph[i], "humdepth": 1.0 + i}
          for i, s in enumerate(counts.index)}
    return write_biom(counts, tmp_path / "survey.biom", sample_md=md)


def test_diversity_outputs_say_why_and_are_strict_json(tmp_path: Path) -> None:
    out = tmp_path / "div"
    res = CliRunner().invoke(main, ["diversity", str(_small_survey(tmp_path)), "--outdir",
                                    str(out), "--group-by", "site", "--env", "ph,humdepth",
                                    "--permutations", "99"])
    assert res.exit_code == 0, res.output
    files = {p.name for p in assert_strict_json_tree(out)}
    assert files == {"diversity.json", "soil_context.json"}
    summary = json.loads((out / "diversity.json").read_text())
    disp = summary["permdisp"]["braycurtis"]
    assert disp["status"] == "not computable" and disp["test_statistic"] is None
    assert disp["p_value"] is None and "do not vary within any group" in disp["reason"]
    perm = summary["permanova"]["braycurtis"]
    assert perm["status"] == "computed" and perm["p_min"] == pytest.approx(0.01)
    tsvs = {p.name for p in assert_test_tsvs_explained(out)}
    assert tsvs == {"permanova.tsv", "permdisp.tsv", "soil_mantel.tsv", "soil_envfit.tsv",
                    "soil_dbrda.tsv", "soil_alpha_spearman.tsv"}
    mantel = pd.read_csv(out / "soil_mantel.tsv", sep="\t")
    assert (mantel["status"] == "not computable").all()
    assert mantel["reason"].str.startswith("constant distances").all()
    assert mantel["p_value"].isna().all()
    rho = pd.read_csv(out / "soil_alpha_spearman.tsv", sep="\t")
    assert set(rho.loc[rho["variable"] == "ph", "reason"]) == {"fewer than 4 samples (3)"}
    assert rho["q_value"].isna().all()  # no computable correlation: no q-value at all
    soil = json.loads((out / "soil_context.json").read_text())
    assert soil["dbrda"]["dbrda"] == {"status": "not computable",
                                      "reason": "fewer than 4 samples (3) for 2 variable(s)"}

    from soilbiome.report import build_report

    page = tmp_path / "report.html"
    build_report(tmp_path / "survey.biom", out, page, group_by="site")
    html = page.read_text()
    assert "PERMDISP by site: not computable: the distances to the group centroids" in html
    assert "PERMANOVA by site: pseudo-F 1, R² 0.4, p = 1 (99 permutations; smallest " \
           "possible p 0.01)" in html
    assert "Spearman shannon vs ph: fewer than 4 samples (3)" in html
    assert "rho not computable" in html
