"""Diversity metrics: values against vegan itself, rarefaction, empty samples, the CLI."""

from __future__ import annotations

import collections
import gzip
import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import biom
import h5py
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from conftest import ATACAMA
from soilbiome.cli import main
from soilbiome.diversity import (
    DiversityError,
    alpha_diversity,
    beta_diversity,
    clean_rank_label,
    load_table,
    pcoa,
    permanova,
    rarefaction_curve,
    rarefy,
)

TOL = 1e-9


def _has_vegan() -> bool:
    if shutil.which("Rscript") is None:
        return False
    proc = subprocess.run(
        ["Rscript", "-e", "suppressMessages(library(vegan))"], capture_output=True
    )
    return proc.returncode == 0


needs_vegan = pytest.mark.skipif(not _has_vegan(), reason="Rscript with r-cran-vegan needed")


# --------------------------------------------------------------------------------------
# Test tables
# --------------------------------------------------------------------------------------


def write_biom(
    counts: pd.DataFrame, path: Path, taxonomy: dict[str, list[str]] | None = None,
    sample_md: dict[str, dict] | None = None, sequences: dict[str, str] | None = None,
) -> Path:
    """Write a samples x features frame as BIOM 2.1 HDF5, the way our tables look."""
    obs_ids = [str(c) for c in counts.columns]
    obs_md = [
        {
            "taxonomy": (taxonomy or {}).get(f, [""] * 7),
            "sequence": (sequences or {}).get(f, ""),
        }
        for f in obs_ids
    ]
    smd = [(sample_md or {}).get(s, {"site": "unknown"}) for s in counts.index]
    table = biom.Table(
        counts.to_numpy().T, obs_ids, [str(s) for s in counts.index], obs_md, smd,
        type="OTU table",
    )
    with h5py.File(path, "w") as fh:
        table.to_hdf5(fh, "soilbiome tests")
    return path


def atacama_counts() -> tuple[pd.DataFrame, dict[str, str]]:
    """Per-sample unique sequences of the real Atacama soil reads (R1, first 100 nt).

    Reads with an N or more than one expected error in the first 100 nt are dropped, so
    sample depths differ (96-100); ``BLANK`` has no reads and stays an all-zero row.
    This is what ``vsearch --fastx_uniques`` per sample gives on the truncated reads.
    """
    per: dict[str, collections.Counter] = {}
    for fq in sorted(ATACAMA.glob("*_R1_001.fastq.gz")):
        sample = fq.name.split("_")[0]
        lines = gzip.open(fq, "rt").read().splitlines()
        tally: collections.Counter = collections.Counter()
        for seq, qual in zip(lines[1::4], lines[3::4], strict=True):
            seq, qual = seq[:100], qual[:100]
            if len(seq) < 100 or "N" in seq:
                continue
            if sum(10 ** (-(ord(q) - 33) / 10) for q in qual) <= 1.0:
                tally[seq] += 1
        per[sample] = tally
    seqs = sorted({s for t in per.values() for s in t})
    ids = {s: hashlib.md5(s.encode()).hexdigest() for s in seqs}
    frame = pd.DataFrame(
        [[per[sample][s] for s in seqs] for sample in per],
        index=list(per), columns=[ids[s] for s in seqs], dtype=float,
    )
    return frame, {ids[s]: s for s in seqs}


def random_counts(seed: int = 7) -> pd.DataFrame:
    """Seeded over-dispersed counts with an empty sample, a zero feature and digit-led IDs."""
    rng = np.random.default_rng(seed)
    n_samples, n_features = 14, 60
    mu = rng.lognormal(mean=1.5, sigma=1.2, size=n_features)
    x = rng.negative_binomial(n=0.8, p=0.8 / (0.8 + mu), size=(n_samples, n_features))
    x[:, 5] = 0  # a feature absent everywhere
    x[3] = 0  # an empty sample
    x[7, :] = 0
    x[7, 2] = 9  # a single-feature sample (Pielou undefined)
    samples = [f"{i}S{i:02d}" if i % 3 == 0 else f"S{i:02d}" for i in range(n_samples)]
    samples[3] = "BLANK"
    features = [hashlib.md5(f"f{j}".encode()).hexdigest() for j in range(n_features)]
    return pd.DataFrame(x.astype(float), index=samples, columns=features)


@pytest.fixture(scope="module")
def atacama() -> pd.DataFrame:
    return atacama_counts()[0]


@pytest.fixture(scope="module")
def atacama_biom(tmp_path_factory: pytest.TempPathFactory, atacama: pd.DataFrame) -> Path:
    path = tmp_path_factory.mktemp("atacama") / "atacama.biom"
    md = {
        s: {"site": "control" if s == "BLANK" else s[:3], "run": "run1",
            "env_broad_scale": "desert biome [ENVO:01001357]", "env_medium": "soil [ENVO:00001998]"}
        for s in atacama.index
    }
    tax = {f: ["k__Bacteria", f"p__Phylum{i % 4}", "", "", "", "", ""]
           for i, f in enumerate(atacama.columns)}
    return write_biom(atacama, path, taxonomy=tax, sample_md=md)


# --------------------------------------------------------------------------------------
# vegan
# --------------------------------------------------------------------------------------

VEGAN_SCRIPT = r"""
suppressMessages(library(vegan))
args <- commandArgs(trailingOnly = TRUE)
x <- as.matrix(read.delim(args[1], row.names = 1, check.names = FALSE))
out <- args[2]
depths <- as.integer(strsplit(args[3], ",")[[1]])
S <- specnumber(x)
H <- diversity(x, "shannon")
alpha <- data.frame(
  sample = rownames(x), observed_features = S, shannon = H,
  shannon2 = diversity(x, "shannon", base = 2), simpson = diversity(x, "simpson"),
  chao1 = estimateR(x)["S.chao1", ], pielou_evenness = H / log(S), check.names = FALSE)
write.table(alpha, file.path(out, "alpha.tsv"), sep = "\t", quote = FALSE, row.names = FALSE)
write.table(as.matrix(vegdist(x, "bray")), file.path(out, "bray.tsv"), sep = "\t",
            quote = FALSE, col.names = NA)
write.table(as.matrix(vegdist(x, "jaccard", binary = TRUE)), file.path(out, "jaccard.tsv"),
            sep = "\t", quote = FALSE, col.names = NA)
curve <- do.call(rbind, lapply(rownames(x), function(s) {
  n <- depths[depths <= sum(x[s, ])]
  data.frame(sample = s, depth = n, observed_features = as.numeric(rarefy(x[s, ], n)))
}))
write.table(curve, file.path(out, "curve.tsv"), sep = "\t", quote = FALSE, row.names = FALSE)
"""


def run_vegan(counts: pd.DataFrame, workdir: Path, depths: list[int]) -> dict[str, pd.DataFrame]:
    """Run vegan on the non-empty samples of ``counts``; return its tables."""
    workdir.mkdir(parents=True, exist_ok=True)
    nonempty = counts.loc[counts.sum(axis=1) > 0]
    nonempty.astype(np.int64).to_csv(workdir / "counts.tsv", sep="\t", index_label="sample")
    (workdir / "vegan.R").write_text(VEGAN_SCRIPT)
    subprocess.run(
        ["Rscript", str(workdir / "vegan.R"), str(workdir / "counts.tsv"), str(workdir),
         ",".join(map(str, depths))],
        check=True, capture_output=True, text=True,
    )
    read = dict(sep="\t", dtype={"sample": str})
    return {
        "alpha": pd.read_csv(workdir / "alpha.tsv", **read).set_index("sample"),
        "bray": pd.read_csv(workdir / "bray.tsv", sep="\t", index_col=0).rename(index=str),
        "jaccard": pd.read_csv(workdir / "jaccard.tsv", sep="\t", index_col=0).rename(index=str),
        "curve": pd.read_csv(workdir / "curve.tsv", **read),
    }


def max_diff(a: pd.DataFrame | pd.Series, b: pd.DataFrame | pd.Series) -> float:
    a = a.astype(float)
    b = b.astype(float).reindex_like(a)
    assert not b.isna().to_numpy().any(), "vegan output lacks rows/columns"
    return float(np.nanmax(np.abs(a.to_numpy() - b.to_numpy())))


def compare_with_vegan(outdir: Path, vegan: dict, curve: bool = True) -> dict[str, float]:
    """Max |ours - vegan| per metric, from the files the CLI wrote."""
    alpha = pd.read_csv(outdir / "alpha_diversity.tsv", sep="\t", index_col="sample")
    alpha.index = alpha.index.astype(str)
    v = vegan["alpha"]
    ours = alpha.loc[v.index]
    diffs = {m: max_diff(ours[m], v[m]) for m in
             ("observed_features", "shannon", "simpson", "chao1")}
    defined = v["pielou_evenness"].notna()  # vegan: NaN (0/0) for a single feature, as ours
    assert ours.loc[~defined, "pielou_evenness"].isna().all()
    diffs["pielou_evenness"] = max_diff(ours.loc[defined, "pielou_evenness"],
                                        v.loc[defined, "pielou_evenness"])
    for ours_name, vegan_name in (("braycurtis", "bray"), ("jaccard", "jaccard")):
        dm = pd.read_csv(outdir / f"beta_{ours_name}.tsv", sep="\t", index_col=0)
        dm.index = dm.index.astype(str)
        dm.columns = dm.columns.astype(str)
        assert list(dm.index) == list(vegan[vegan_name].index)
        diffs[ours_name] = max_diff(dm, vegan[vegan_name])
    if not curve:
        return diffs
    ours_curve = pd.read_csv(outdir / "rarefaction_curve.tsv", sep="\t", dtype={"sample": str})
    merged = ours_curve.merge(vegan["curve"], on=["sample", "depth"], suffixes=("", "_vegan"))
    assert len(merged) == len(vegan["curve"]) > 0
    diffs["rarefaction_curve"] = float(
        np.max(np.abs(merged["observed_features"] - merged["observed_features_vegan"]))
    )
    return diffs


@needs_vegan
@pytest.mark.parametrize("which", ["atacama", "random"])
def test_cli_matches_vegan(
    which: str, tmp_path: Path, atacama: pd.DataFrame, capsys: pytest.CaptureFixture
) -> None:
    counts = atacama if which == "atacama" else random_counts()
    table = write_biom(counts, tmp_path / "t.biom")
    res = CliRunner().invoke(
        main, ["diversity", str(table), "--outdir", str(tmp_path / "out"), "--no-rarefaction"]
    )
    assert res.exit_code == 0, res.output
    depths = [1, 2, 5, 10, 25, 50, 80]
    vegan = run_vegan(counts, tmp_path / "vegan", depths)
    diffs = compare_with_vegan(tmp_path / "out", vegan, curve=False)
    # the CLI's curve has its own depths: evaluate the library at vegan's
    curve = rarefaction_curve(counts, depths)
    merged = curve.merge(vegan["curve"], on=["sample", "depth"], suffixes=("", "_v"))
    assert len(merged) == len(vegan["curve"]) > 0
    diffs["rarefaction_curve"] = float(
        np.max(np.abs(merged["observed_features"] - merged["observed_features_v"]))
    )
    with capsys.disabled():
        print(f"\nvegan max |diff| ({which}):",
              json.dumps({k: float(f"{v:.3g}") for k, v in diffs.items()}))
    assert all(d <= TOL for d in diffs.values()), diffs


@needs_vegan
def test_rarefied_alpha_matches_vegan_on_the_rarefied_table(tmp_path: Path) -> None:
    counts = random_counts()
    depth = 40
    table = write_biom(counts, tmp_path / "t.biom")
    out = tmp_path / "out"
    res = CliRunner().invoke(
        main, ["diversity", str(table), "--outdir", str(out), "--rarefaction-depth", str(depth),
               "--seed", "11"],
    )
    assert res.exit_code == 0, res.output
    rare = rarefy(counts, depth, seed=11).table
    vegan = run_vegan(rare, tmp_path / "vegan", [1, 10, 40])
    diffs = compare_with_vegan(out, vegan, curve=False)  # the CLI's curve is on raw counts
    assert all(d <= TOL for d in diffs.values()), diffs


# --------------------------------------------------------------------------------------
# Rarefaction
# --------------------------------------------------------------------------------------


def test_rarefy_is_seeded_exact_and_reports_exclusions(atacama: pd.DataFrame) -> None:
    depth = 97
    a = rarefy(atacama, depth, seed=42)
    b = rarefy(atacama, depth, seed=42)
    c = rarefy(atacama, depth, seed=43)
    pd.testing.assert_frame_equal(a.table, b.table)
    assert not a.table.equals(c.table)
    assert (a.table.sum(axis=1) == depth).all()
    assert (a.table <= atacama.loc[a.table.index]).all().all()  # without replacement
    totals = atacama.sum(axis=1)
    assert set(a.excluded) == set(totals.index[totals < depth])
    assert "BLANK" in a.excluded and "empty" in a.excluded["BLANK"]
    assert set(a.table.index) | set(a.excluded) == set(atacama.index)
    # a sample's draw does not depend on the rest of the table
    alone = rarefy(atacama.iloc[[0]], depth, seed=42).table
    pd.testing.assert_frame_equal(alone, a.table.iloc[[0]])


def test_rarefy_refuses_relative_abundances() -> None:
    counts = random_counts()
    rel = counts.div(counts.sum(axis=1).replace(0, 1), axis=0)
    with pytest.raises(DiversityError, match="non-integer"):
        rarefy(rel, 10)


def test_cli_rarefied_runs_are_deterministic(tmp_path: Path, atacama_biom: Path) -> None:
    outs = []
    for name in ("a", "b"):
        out = tmp_path / name
        res = CliRunner().invoke(
            main, ["diversity", str(atacama_biom), "--outdir", str(out),
                   "--rarefaction-depth", "97", "--seed", "42"],
        )
        assert res.exit_code == 0, res.output
        outs.append(out)
    for f in ("alpha_diversity.tsv", "beta_braycurtis.tsv", "beta_jaccard.tsv",
              "pcoa_braycurtis.tsv", "rarefaction_curve.tsv"):
        assert (outs[0] / f).read_bytes() == (outs[1] / f).read_bytes(), f
    alpha = pd.read_csv(outs[0] / "alpha_diversity.tsv", sep="\t", index_col="sample")
    kept = alpha[alpha["note"].isna() | ~alpha["note"].astype(str).str.startswith("excluded")]
    assert (kept["depth"] == 97).all()
    summary = json.loads((outs[0] / "diversity.json").read_text())
    assert summary["parameters"]["rarefaction"] | {"method": None} == {
        "mode": "fixed", "depth": 97, "seed": 42, "method": None}
    excluded = {e["sample"] for e in summary["excluded"] if e["stage"] == "rarefaction"}
    assert "BLANK" in excluded and excluded == set(alpha.index[alpha["depth"].isna()])


# --------------------------------------------------------------------------------------
# Empty samples, relative abundances, edge cases
# --------------------------------------------------------------------------------------


def test_empty_sample_is_reported_not_dropped(tmp_path: Path, atacama_biom: Path) -> None:
    out = tmp_path / "out"
    res = CliRunner().invoke(
        main, ["diversity", str(atacama_biom), "--outdir", str(out), "--no-rarefaction",
               "--group-by", "site", "--permutations", "99"],
    )
    assert res.exit_code == 0, res.output
    alpha = pd.read_csv(out / "alpha_diversity.tsv", sep="\t", index_col="sample")
    assert "BLANK" in alpha.index
    blank = alpha.loc["BLANK"]
    assert blank["reads"] == 0 and blank["observed_features"] == 0
    assert np.isnan(blank["shannon"]) and np.isnan(blank["chao1"])
    assert "empty sample" in blank["note"]
    summary = json.loads((out / "diversity.json").read_text())
    assert summary["samples"]["empty"] == ["BLANK"]
    stages = {e["stage"] for e in summary["excluded"] if e["sample"] == "BLANK"}
    assert {"alpha", "beta:braycurtis", "beta:jaccard"} <= stages
    bray = pd.read_csv(out / "beta_braycurtis.tsv", sep="\t", index_col=0)
    assert "BLANK" not in bray.index
    assert summary["permanova"]["braycurtis"]["number_of_groups"] == 3
    assert summary["versions"]["scikit-bio"] and summary["versions"]["numpy"]
    assert summary["parameters"]["shannon_log_base"] == "e"
    assert (out / "permanova.tsv").is_file()
    assert set(pd.read_csv(out / "pcoa_jaccard.tsv", sep="\t", index_col=0).index) == set(
        bray.index)


def test_chao1_refused_on_relative_abundances() -> None:
    counts = random_counts()
    rel = counts.div(counts.sum(axis=1).replace(0, 1), axis=0)
    a = alpha_diversity(rel)
    assert a["chao1"].isna().all()
    assert a["note"].str.contains("chao1 needs counts").all()
    b = alpha_diversity(counts)
    np.testing.assert_allclose(a["shannon"], b["shannon"], atol=1e-12)
    assert b.loc["S07", "observed_features"] == 1 and np.isnan(b.loc["S07", "pielou_evenness"])


def test_relative_abundance_table_through_the_cli(tmp_path: Path) -> None:
    counts = random_counts()
    rel = counts.div(counts.sum(axis=1).replace(0, 1), axis=0)
    table = write_biom(rel, tmp_path / "rel.biom")
    res = CliRunner().invoke(
        main, ["diversity", str(table), "--outdir", str(tmp_path / "o"),
               "--rarefaction-depth", "10"])
    assert res.exit_code == 2 and "non-integer" in res.output
    res = CliRunner().invoke(main, ["diversity", str(table), "--outdir", str(tmp_path / "o")])
    assert res.exit_code == 0, res.output
    summary = json.loads((tmp_path / "o" / "diversity.json").read_text())
    assert summary["parameters"]["rarefaction"]["mode"] == "none (non-integer table)"
    assert summary["input"]["integer_counts"] is False


def test_shannon_base_two_is_recorded(tmp_path: Path) -> None:
    counts = random_counts()
    e = alpha_diversity(counts, "e")
    two = alpha_diversity(counts, "2")
    assert (two["shannon_base"] == "2").all() and (e["shannon_base"] == "e").all()
    np.testing.assert_allclose(two["shannon"], e["shannon"] / np.log(2))
    np.testing.assert_allclose(two["pielou_evenness"], e["pielou_evenness"])


def test_a_depth_above_every_sample_is_refused_and_earlier_results_stay(tmp_path: Path) -> None:
    """As QIIME 2 refuses a sampling depth no sample reaches: a table of excluded samples is
    not a result, and the outputs of an earlier run stay as they were."""
    counts = random_counts()
    table = write_biom(counts, tmp_path / "t.biom")
    out = tmp_path / "out"
    res = CliRunner().invoke(main, ["diversity", str(table), "--outdir", str(out)])
    assert res.exit_code == 0, res.output
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    most = int(counts.sum(axis=1).max())
    res = CliRunner().invoke(main, ["diversity", str(table), "--outdir", str(out),
                                    "--rarefaction-depth", str(most + 1)])
    assert res.exit_code == 2, res.output
    assert f"--rarefaction-depth {most + 1} is above every sample's reads" in res.output
    assert f"give a depth of at most {most}" in res.output
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    res = CliRunner().invoke(main, ["diversity", str(table), "--outdir", str(tmp_path / "o2"),
                                    "--rarefaction-depth", str(most)])
    assert res.exit_code == 0, res.output  # the largest sample itself is kept


def test_mutually_exclusive_rarefaction_options(tmp_path: Path, atacama_biom: Path) -> None:
    res = CliRunner().invoke(
        main, ["diversity", str(atacama_biom), "--outdir", str(tmp_path),
               "--no-rarefaction", "--rarefaction-depth", "5"])
    assert res.exit_code == 2 and "mutually exclusive" in res.output


def test_unifrac_with_a_tree(tmp_path: Path) -> None:
    from scipy.cluster.hierarchy import linkage
    from skbio import TreeNode

    counts = random_counts()
    rng = np.random.default_rng(1)
    link = linkage(rng.normal(size=(counts.shape[1], 3)), "average")
    tree = TreeNode.from_linkage_matrix(link, list(counts.columns))
    for node in tree.traverse():
        if node.length is None and not node.is_root():
            node.length = 0.1
    newick = tmp_path / "tree.nwk"
    tree.write(str(newick), format="newick")
    table = write_biom(counts, tmp_path / "t.biom")
    out = tmp_path / "out"
    res = CliRunner().invoke(
        main, ["diversity", str(table), "--outdir", str(out), "--tree", str(newick),
               "--rarefaction-depth", "20"])
    assert res.exit_code == 0, res.output
    for metric in ("weighted_unifrac", "unweighted_unifrac"):
        dm = pd.read_csv(out / f"beta_{metric}.tsv", sep="\t", index_col=0).to_numpy()
        assert np.allclose(dm, dm.T) and np.allclose(np.diag(dm), 0) and (dm >= 0).all()
        assert (out / f"pcoa_{metric}.tsv").is_file()
    uu = pd.read_csv(out / "beta_unweighted_unifrac.tsv", sep="\t", index_col=0).to_numpy()
    assert (uu <= 1 + 1e-12).all()


def test_pcoa_and_permanova_library_api(atacama: pd.DataFrame) -> None:
    dm, excluded = beta_diversity(atacama, "braycurtis")
    assert excluded.keys() == {"BLANK"}
    coords, prop, _ = pcoa(dm)
    assert list(coords.index) == list(dm.ids)
    assert abs(prop.sum() - 1) < 1e-9
    groups = pd.Series({s: s[:3] for s in atacama.index}, name="site")
    groups["PAP130.2"] = None  # missing value: reported, not used
    res = permanova(dm, groups, permutations=99, seed=1)
    assert res["excluded"] == {"PAP130.2": "no value for 'site'"}
    assert res["number_of_groups"] == 2 and 0 < res["p_value"] <= 1
    one = permanova(dm, pd.Series("x", index=atacama.index, name="site"), permutations=9)
    assert one["status"] == "not computable" and one["reason"].startswith("fewer than 2 groups")
    assert one["test_statistic"] is None and one["p_value"] is None


@pytest.mark.parametrize(
    ("raw", "clean"),
    [("p__Firmicutes", "Firmicutes"), ("k__", ""), ("D_1__Proteobacteria", "Proteobacteria"),
     ("", ""), (None, ""), ("Bacillus subtilis", "Bacillus subtilis")],
)
def test_clean_rank_label(raw: str | None, clean: str) -> None:
    assert clean_rank_label(raw) == clean


def test_load_table_taxonomy_and_metadata(atacama_biom: Path) -> None:
    t = load_table(atacama_biom)
    assert t.counts.loc["BLANK"].sum() == 0
    assert set(t.taxonomy["domain"]) == {"Bacteria"}
    assert t.taxonomy["phylum"].str.startswith("Phylum").all()
    assert t.sample_metadata.loc["BLANK", "site"] == "control"


@pytest.mark.parametrize(
    ("rows", "ids"),
    [([[0, 0, 0], [0, 0, 0]], ["BLANK", "B2"]),
     ([[1, 2, 0], [0, 0, 0]], ["A", "BLANK"]),
     ([[1, 2, 0], [3, 0, 1], [0, 0, 0]], ["A", "B", "BLANK"])],
)
def test_tiny_and_all_empty_tables_do_not_crash(
    rows: list[list[int]], ids: list[str], tmp_path: Path
) -> None:
    counts = pd.DataFrame(np.array(rows, dtype=float), index=ids, columns=["f0", "f1", "f2"])
    sites = {s: {"site": "x" if s != "BLANK" else "control"} for s in ids}
    table = write_biom(counts, tmp_path / "t.biom", sample_md=sites)
    out = tmp_path / "out"
    (out).mkdir()
    (out / "pcoa_braycurtis.tsv").write_text("stale\n")  # from an earlier, larger run
    res = CliRunner().invoke(main, ["diversity", str(table), "--outdir", str(out),
                                    "--group-by", "site", "--permutations", "9"])
    assert res.exit_code == 0, res.output
    alpha = pd.read_csv(out / "alpha_diversity.tsv", sep="\t", index_col="sample")
    assert list(alpha.index) == ids
    summary = json.loads((out / "diversity.json").read_text())
    assert "skipped" in summary["pcoa"]["braycurtis"]
    assert not (out / "pcoa_braycurtis.tsv").exists()
    assert "BLANK" in {e["sample"] for e in summary["excluded"]}
    assert "BLANK" in summary["samples"]["empty"]
