"""Soil measurements and diversity against soil properties, checked against vegan run for real.

The community and soil data are vegan's own ``varespec`` / ``varechem`` (Väre et al. 1995:
lichen pastures in Finland, 24 sites x 44 species, with soil chemistry), exported by R in the
test. Statistics must equal vegan's within 1e-9; permutation p-values within Monte Carlo error.
"""

from __future__ import annotations

import csv
import json
import math
import shutil
import subprocess
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from scipy.spatial.distance import pdist, squareform

from conftest import read_tsv, write_sheet
from soilbiome.cli import main
from soilbiome.errors import SamplesheetError
from soilbiome.io.biom_reader import read_table
from soilbiome.model.samplesheet import MIXS_REQUIRED, load_samplesheet
from soilbiome.model.soil import parse_value, typed_metadata
from soilbiome.soil import stats
from soilbiome.taxonomy import RANKS, feature_id_for

needs_r = pytest.mark.skipif(shutil.which("Rscript") is None, reason="Rscript not found")
PERMUTATIONS = 999
ENV = ["N", "P", "K", "pH", "Humdepth"]


def _p_close(ours: float, theirs: float, n: int = PERMUTATIONS) -> bool:
    """Two permutation p-values agree within Monte Carlo error (4 standard errors + 2/N)."""
    p = max(min((ours + theirs) / 2, 1 - 1 / n), 1 / n)
    return abs(ours - theirs) <= 4 * math.sqrt(p * (1 - p) / n) + 2 / (n + 1)


def _rscript(script: str, cwd: Path) -> str:
    proc = subprocess.run(["Rscript", "-e", script], cwd=cwd, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


# ------------------------------------------------------------------------- samplesheet fields


def _sheet_with(tmp_path: Path, atacama_rows, values: dict[int, dict[str, str]]) -> Path:
    header, rows = atacama_rows
    extra = sorted({c for v in values.values() for c in v})
    for i, row in enumerate(rows):
        for column in extra:
            row[column] = values.get(i, {}).get(column, "")
    return write_sheet(tmp_path / "sheet.csv", header + extra, rows)


def _problems(path: Path) -> list[str]:
    with pytest.raises(SamplesheetError) as info:
        load_samplesheet(path)
    return info.value.problems


def test_ph_15_is_refused_naming_row_and_column(tmp_path, atacama_rows):
    sheet = _sheet_with(tmp_path, atacama_rows, {2: {"ph": "15"}, 0: {"ph": "6.8"}})
    problems = _problems(sheet)
    assert len(problems) == 1, problems
    sample = atacama_rows[1][2]["sample"]
    assert problems[0].startswith(f"line 4, sample '{sample}', column 'ph': '15'"), problems
    assert "0-14" in problems[0]
    result = CliRunner().invoke(main, ["validate", str(sheet), "--out", str(tmp_path / "v.csv")])
    assert result.exit_code != 0
    assert "column 'ph'" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "v.csv").exists()


@pytest.mark.parametrize(
    ("column", "value", "expected"),
    [
        ("tot_org_carb", "abc", "is not '<number> <unit>'"),
        ("tot_org_carb", "12", "has no unit"),
        ("tot_org_carb", "12 kg/ha", "unit 'kg/ha' not accepted"),
        ("tot_org_carb", "120 %", "outside the possible range"),
        ("tot_nitro", "-1 g/kg", "outside the possible range"),
        ("ph", "6.5 pH", "is not a number"),
        ("water_content", "1.5 cm3/cm3", "more than 1 cm3/cm3"),
        ("cur_land_use", "parking lot", "not a MIxS cur_land_use term"),
        ("soil_type", "plinthosol", "is not 'term label [ENVO:00000000]'"),
        ("texture", "40% sand, 40% silt, 30% clay", "= 110 %"),
        ("texture", "gritty", "not a USDA textural class"),
    ],
)
def test_bad_soil_values_name_row_column_and_reason(tmp_path, atacama_rows, column, value,
                                                    expected):
    problems = _problems(_sheet_with(tmp_path, atacama_rows, {0: {column: value}}))
    sample = atacama_rows[1][0]["sample"]
    assert len(problems) == 1, problems
    assert problems[0].startswith(f"line 2, sample '{sample}', column '{column}'"), problems
    assert expected in problems[0], problems


def test_water_content_basis_must_not_change_within_a_sheet(tmp_path, atacama_rows):
    sheet = _sheet_with(tmp_path, atacama_rows, {0: {"water_content": "0.2 g/g"},
                                                 3: {"water_content": "25 % v/v"}})
    assert _problems(sheet) == [
        "line 5, column 'water_content': cm3/cm3 (volumetric/gravimetric) differs from g/g on "
        "line 2; use one basis for the whole sheet"
    ]


def test_good_soil_values_are_parsed_to_canonical_units():
    assert parse_value("ph", "6.8").number == 6.8
    assert parse_value("tot_org_carb", "1.2 %").number == pytest.approx(12.0)
    assert parse_value("tot_org_carb", "12 g/kg").unit == "g/kg"
    assert parse_value("tot_nitro", "850 mg/kg").number == pytest.approx(0.85)
    assert parse_value("water_content", "21 % w/w").number == pytest.approx(0.21)
    assert math.isnan(parse_value("ph", "not collected").number)
    assert parse_value("cur_land_use", "Pastureland (grasslands used for livestock grazing)"
                       ).text == "pastureland"
    row = typed_metadata({"texture": "40% sand, 45% silt, 15% clay, loam", "site": "x"})
    assert row == {"texture": "loam", "sand": 40.0, "silt": 45.0, "clay": 15.0, "site": "x"}


# ------------------------------------------------------------------- a BIOM with soil values


def _varespec(tmp_path: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    _rscript('suppressMessages(library(vegan)); data(varespec); data(varechem); '
             'write.csv(varespec, "varespec.csv"); write.csv(varechem, "varechem.csv")', tmp_path)
    spec = pd.read_csv(tmp_path / "varespec.csv", index_col=0)
    chem = pd.read_csv(tmp_path / "varechem.csv", index_col=0)
    spec.index = chem.index = [f"site{i}" for i in spec.index]
    return spec, chem


def _sequence(index: int) -> str:
    """A distinct DNA string per species (an identifier: varespec has no sequences)."""
    digits = "".join("ACGT"[(index >> (2 * k)) & 3] for k in range(6))
    return "ACGTTGCA" + digits + "TTAGGC"


@pytest.fixture(scope="module")
def vare(tmp_path_factory) -> dict:
    """varespec cover x 100 as integer counts in a BIOM built by ``biom build``; varechem as
    MIxS soil fields (pH -> ph, N -> tot_nitro mg/kg) and a plain column (humdepth, cm).
    Site 'site2' has pH 'not collected'; sample 'blank' has soil values but no reads."""
    if shutil.which("Rscript") is None:
        pytest.skip("Rscript not found")
    work = tmp_path_factory.mktemp("vare")
    spec, chem = _varespec(work)
    counts = np.rint(spec.to_numpy() * 100).astype(np.int64)
    seqs = [_sequence(i) for i in range(spec.shape[1])]
    with (work / "asv_counts.tsv").open("w") as handle:
        handle.write("\t".join(["feature_id", "sequence", *spec.index, "blank"]) + "\n")
        for j, seq in enumerate(seqs):
            handle.write("\t".join([feature_id_for(seq), seq, *map(str, counts[:, j]), "0"])
                         + "\n")
    from soilbiome.taxonomy.lineage import LINEAGE_COLUMNS

    with (work / "lineage.tsv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(LINEAGE_COLUMNS), delimiter="\t",
                                lineterminator="\n")
        writer.writeheader()
        for seq in seqs:
            row = dict.fromkeys(LINEAGE_COLUMNS, "")
            row.update(feature_id=feature_id_for(seq), classifier="none", reference="none")
            row[RANKS[0]] = "Eukaryota"
            writer.writerow(row)
    header = ["sample", "fastq_1", "fastq_2", *MIXS_REQUIRED, "ph", "tot_nitro", "humdepth",
              "cur_land_use"]
    rows = []
    for sample, rec in chem.iterrows():
        row = dict.fromkeys(header, "not collected")
        row.update(sample=sample, fastq_1="", fastq_2="", ph=str(rec["pH"]),
                   tot_nitro=f"{rec['N']} mg/kg", humdepth=str(rec["Humdepth"]),
                   cur_land_use="pastureland")
        rows.append(row)
    next(r for r in rows if r["sample"] == "site2")["ph"] = "not collected"
    rows.append({**rows[0], "sample": "blank"})
    write_sheet(work / "sheet.csv", header, rows)
    out = work / "vare.biom"
    result = CliRunner().invoke(main, [
        "biom", "build", "--counts", str(work / "asv_counts.tsv"), "--lineage",
        str(work / "lineage.tsv"), "--samplesheet", str(work / "sheet.csv"), "--out", str(out)])
    assert result.exit_code == 0, result.output
    return {"work": work, "biom": out, "counts": pd.DataFrame(counts, index=spec.index),
            "chem": chem}


def test_soil_values_are_typed_in_the_biom(vare):
    with h5py.File(vare["biom"], "r") as handle:
        ph = handle["sample/metadata/ph"]
        assert ph.dtype == np.float64
        assert json.loads(handle.attrs["soilbiome:sample-units"]) == {"ph": "", "tot_nitro":
                                                                      "g/kg"}
    table = read_table(vare["biom"])
    md = table.sample_metadata
    chem = vare["chem"]
    assert md.loc["site18", "ph"] == chem.loc["site18", "pH"]
    assert md.loc["site18", "tot_nitro"] == pytest.approx(chem.loc["site18", "N"] / 1000)
    assert math.isnan(md.loc["site2", "ph"])
    assert md.loc["site18", "humdepth"] == str(chem.loc["site18", "Humdepth"])


@needs_r
def test_typed_soil_values_load_in_phyloseq(vare, tmp_path):
    script = ("suppressPackageStartupMessages({library(phyloseq); library(rhdf5)}); "
              f"ps <- import_biom('{vare['biom']}'); s <- as(sample_data(ps), 'data.frame'); "
              "cat(sprintf('%s=%s', rownames(s), as.numeric(s$ph)), sep='\\n')")
    out = _rscript(script, tmp_path)
    values = dict(line.split("=") for line in out.split())
    assert float(values["site18"]) == vare["chem"].loc["site18", "pH"]
    assert values["site2"] == "NaN"
    assert len(values) == 25


# ------------------------------------------------------------------------ statistics vs vegan

VEGAN_SCRIPT = r"""
suppressMessages(library(vegan))
x <- read.csv("counts.csv", row.names = 1, check.names = FALSE)
env <- read.csv("env.csv", row.names = 1, check.names = FALSE)
set.seed(1)
d <- vegdist(x, "bray")
out <- list()
m1 <- mantel(d, dist(scale(env)), method = "pearson", permutations = 999)
m2 <- mantel(d, dist(scale(env)), method = "spearman", permutations = 999)
out$mantel <- c(m1$statistic, m1$signif, m2$statistic, m2$signif)
if (file.exists("pcoa.csv")) {
  pc <- read.csv("pcoa.csv", row.names = 1, check.names = FALSE)
  ef <- envfit(pc[rownames(env), 1:2], env, permutations = 999)
  out$envfit_r <- unname(ef$vectors$r); out$envfit_p <- unname(ef$vectors$pvals)
  out$envfit_arrows <- unname(as.vector(t(ef$vectors$arrows)))
}
fla <- as.formula(paste("d ~", paste(colnames(env), collapse = " + ")))
for (method in c("dbrda", "capscale")) {
  mod <- if (method == "dbrda") dbrda(fla, data = env) else capscale(fla, data = env)
  r2 <- RsquareAdj(mod)
  a <- anova(mod, by = "terms", permutations = 999)
  am <- anova(mod, permutations = 999)
  out[[paste0(method, "_r2")]] <- c(r2$r.squared, r2$adj.r.squared)
  out[[paste0(method, "_ss")]] <- a$SumOfSqs
  out[[paste0(method, "_f")]] <- a$F[seq_len(ncol(env))]
  out[[paste0(method, "_p")]] <- a[["Pr(>F)"]][seq_len(ncol(env))]
  out[[paste0(method, "_model")]] <- c(am$SumOfSqs[1], am$F[1], am[["Pr(>F)"]][1])
}
for (n in names(out)) cat(n, sprintf("%.17g", out[[n]]), "\n")
"""


def _vegan(work: Path, counts: pd.DataFrame, env: pd.DataFrame,
           pcoa: pd.DataFrame | None = None) -> dict[str, list[float]]:
    counts.to_csv(work / "counts.csv")
    env.to_csv(work / "env.csv")
    if pcoa is not None:
        pcoa.to_csv(work / "pcoa.csv")
    else:
        (work / "pcoa.csv").unlink(missing_ok=True)
    out = _rscript(VEGAN_SCRIPT, work)
    return {line.split()[0]: [float(v) for v in line.split()[1:]]
            for line in out.splitlines() if line.strip()}


@needs_r
def test_statistics_equal_vegan(tmp_path):
    spec, chem = _varespec(tmp_path)
    env = chem[ENV]
    d = squareform(pdist(spec.to_numpy(), "braycurtis"))
    pcoa = pd.DataFrame(_rscript_pcoa(tmp_path), index=spec.index)
    ref = _vegan(tmp_path, spec, env, pcoa)
    e = stats.env_distance(env.to_numpy())
    for k, method in enumerate(("pearson", "spearman")):
        res = stats.mantel(d, e, method=method, permutations=PERMUTATIONS, seed=7)
        assert res.statistic == pytest.approx(ref["mantel"][2 * k], abs=1e-9)
        assert _p_close(res.p_value, ref["mantel"][2 * k + 1])
    for j, name in enumerate(ENV):
        fit = stats.envfit_vectors(pcoa.to_numpy(), env[name].to_numpy(), name,
                                   permutations=PERMUTATIONS, seed=7)
        assert fit.r2 == pytest.approx(ref["envfit_r"][j], abs=1e-9)
        assert np.allclose(fit.direction, ref["envfit_arrows"][2 * j: 2 * j + 2], atol=1e-9)
        assert _p_close(fit.p_value, ref["envfit_p"][j])
    for method in ("dbrda", "capscale"):
        res = stats.dbrda(d, env.to_numpy(), ENV, permutations=PERMUTATIONS, seed=7,
                          method=method)
        assert [res.r2, res.r2_adjusted] == pytest.approx(ref[f"{method}_r2"], abs=1e-9)
        assert [t.sum_of_squares for t in res.terms] + [res.residual_ss] == pytest.approx(
            ref[f"{method}_ss"], abs=1e-9)
        assert [t.f for t in res.terms] == pytest.approx(ref[f"{method}_f"], abs=1e-9)
        assert [res.model.sum_of_squares, res.model.f] == pytest.approx(
            ref[f"{method}_model"][:2], abs=1e-9)
        assert all(_p_close(t.p_value, p)
                   for t, p in zip(res.terms, ref[f"{method}_p"], strict=True))
        assert _p_close(res.model.p_value, ref[f"{method}_model"][2])


def _rscript_pcoa(work: Path) -> np.ndarray:
    _rscript('suppressMessages(library(vegan)); data(varespec); '
             'write.csv(cmdscale(vegdist(varespec), k = 2), "pc.csv")', work)
    return pd.read_csv(work / "pc.csv", index_col=0).to_numpy()


def test_collinear_and_too_few_samples_are_not_computable():
    rng = np.random.default_rng(1)
    d = squareform(pdist(rng.random((6, 4)), "braycurtis"))
    x = rng.random((6, 1))
    collinear = stats.dbrda(d, np.hstack([x, 2 * x]), ["a", "b"])
    assert collinear.status == "not computable" and "collinear" in collinear.reason
    assert collinear.model is None and collinear.r2 is None and collinear.p_min is None
    few = stats.dbrda(d[:3, :3], rng.random((3, 2)), ["a", "b"])
    assert few.status == "not computable"
    assert few.reason == "fewer than 4 samples (3) for 2 variable(s)"
    with pytest.raises(stats.SoilStatsError, match="constant"):
        stats.env_distance(np.ones((5, 1)))


# ------------------------------------------------------------------ soilbiome diversity --env


@pytest.fixture(scope="module")
def env_run(vare) -> dict:
    outdir = vare["work"] / "div"
    result = CliRunner().invoke(main, [
        "diversity", str(vare["biom"]), "--outdir", str(outdir), "--no-rarefaction",
        "--env", "ph,tot_nitro,humdepth", "--permutations", str(PERMUTATIONS)])
    assert result.exit_code == 0, result.output
    assert "samples lacking a variable: ph: site2" in result.output
    return {"outdir": outdir, **vare}


@needs_r
def test_diversity_env_equals_vegan_and_reports_missing(env_run):
    outdir, counts, chem = env_run["outdir"], env_run["counts"], env_run["chem"]
    complete = [s for s in counts.index if s != "site2"]
    env = chem.loc[complete, ["pH", "N", "Humdepth"]]
    pcoa = pd.read_csv(outdir / "pcoa_braycurtis.tsv", sep="\t", index_col=0).iloc[:, :2]
    ref = _vegan(env_run["work"], counts.loc[complete], env, pcoa.loc[complete])

    mantel = read_tsv(outdir / "soil_mantel.tsv")
    joint = {r["method"]: r for r in mantel if r["variables"] == "ph+tot_nitro+humdepth"}
    assert int(joint["pearson"]["n_samples"]) == 23
    assert float(joint["pearson"]["statistic"]) == pytest.approx(ref["mantel"][0], abs=1e-9)
    assert float(joint["spearman"]["statistic"]) == pytest.approx(ref["mantel"][2], abs=1e-9)
    assert _p_close(float(joint["pearson"]["p_value"]), ref["mantel"][1])
    single_n = {r["variables"]: int(r["n_samples"]) for r in mantel if r["method"] == "pearson"}
    assert single_n == {"ph+tot_nitro+humdepth": 23, "ph": 23, "tot_nitro": 24, "humdepth": 24}

    envfit = {r["variable"]: r for r in read_tsv(outdir / "soil_envfit.tsv")}
    # the ph vector uses the 23 samples with a pH; the others all 24 (vegan on the same rows)
    assert float(envfit["ph"]["r2"]) == pytest.approx(ref["envfit_r"][0], abs=1e-9)
    assert int(envfit["tot_nitro"]["n_samples"]) == 24

    rows = read_tsv(outdir / "soil_dbrda.tsv")
    summary = json.loads((outdir / "soil_context.json").read_text())
    for method in ("dbrda", "capscale"):
        dbrda = [r for r in rows if r["method"] == method]
        assert [float(r["sum_of_squares"]) for r in dbrda if r["term"] != "model"] == \
            pytest.approx(ref[f"{method}_ss"], abs=1e-9)
        assert [float(r["f"]) for r in dbrda[:3]] == pytest.approx(ref[f"{method}_f"], abs=1e-9)
        assert all(_p_close(float(r["p_value"]), p)
                   for r, p in zip(dbrda[:3], ref[f"{method}_p"], strict=True))
        info = summary["dbrda"][method]
        assert [info["r2"], info["r2_adjusted"]] == pytest.approx(ref[f"{method}_r2"],
                                                                  abs=1e-9)
    assert summary["missing"] == {"ph": ["site2"], "tot_nitro": [], "humdepth": []}
    assert summary["units"]["tot_nitro"] == "g/kg"

    excluded = read_tsv(outdir / "soil_excluded.tsv")
    blank = [r for r in excluded if r["sample"] == "blank"]
    assert all(r["reason"] == "empty sample (0 reads)" for r in blank)
    assert len(blank) == 4 + 3 + 1 + 5 * 3  # every Mantel, envfit, the dbRDA, every alpha test
    excluded = [r for r in excluded if r["sample"] != "blank"]
    assert {(r["test"], r["sample"]) for r in excluded} == {
        ("mantel:ph+tot_nitro+humdepth", "site2"), ("mantel:ph", "site2"),
        ("envfit:ph", "site2"), ("dbrda", "site2"),
        *{(f"alpha:{i}:ph", "site2") for i in ("observed_features", "shannon", "simpson",
                                               "chao1", "pielou_evenness")},
    }
    assert all(r["reason"] == "no value for ph" for r in excluded)


@needs_r
def test_alpha_spearman_equals_r(env_run):
    outdir, chem = env_run["outdir"], env_run["chem"]
    alpha = pd.read_csv(outdir / "alpha_diversity.tsv", sep="\t", index_col=0)
    rows = read_tsv(outdir / "soil_alpha_spearman.tsv")
    row = next(r for r in rows if r["index"] == "shannon" and r["variable"] == "humdepth")
    pd.DataFrame({"a": alpha["shannon"], "b": chem["Humdepth"]}).to_csv(
        env_run["work"] / "ab.csv")
    out = _rscript('x <- read.csv("ab.csv"); t <- cor.test(x$a, x$b, method = "spearman", '
                   'exact = FALSE); cat(sprintf("%.17g %.17g", t$estimate, t$p.value))',
                   env_run["work"])
    rho, p = map(float, out.split())
    assert float(row["rho"]) == pytest.approx(rho, abs=1e-9)
    assert float(row["p_value"]) == pytest.approx(p, rel=1e-6)
    assert int(row["n_samples"]) == 24
    assert {r["variable"] for r in rows} == {"ph", "tot_nitro", "humdepth"}
    assert all(0 <= float(r["q_value"]) <= 1 for r in rows)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ("ph,nope", "--env 'nope' is not a sample metadata column"),
        ("ph,cur_land_use", "--env 'cur_land_use' is not a numeric variable"),
        ("geo_loc_name", "--env 'geo_loc_name' has no value in any sample"),
        ("ph,,humdepth", "has an empty variable name"),
    ],
)
def test_bad_env_is_one_line_and_writes_nothing(vare, tmp_path, env, message):
    outdir = tmp_path / "out"
    result = CliRunner().invoke(main, ["diversity", str(vare["biom"]), "--outdir", str(outdir),
                                       "--env", env])
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert result.output.count("\n") == 1 and "Traceback" not in result.output
    assert not outdir.exists() or not list(outdir.iterdir())
    if "nope" in env:  # the numeric columns it could have meant: MIxS fields and plain ones
        listed = result.output.split("numeric columns: ")[1].rstrip(")\n").split(", ")
        assert {"ph", "tot_nitro", "humdepth"} <= set(listed), listed
        assert "cur_land_use" not in listed and "geo_loc_name" not in listed, listed



def test_report_has_a_soil_context_section(env_run, tmp_path):
    from soilbiome.report import build_report

    out = tmp_path / "report.html"
    build_report(env_run["biom"], env_run["outdir"], out, group_by=None)
    page = out.read_text()
    assert 'id="soil"' in page and "Soil context" in page
    assert 'id="fig-soil-envfit"' in page and 'id="fig-soil-alpha"' in page
    envfit = {r["variable"]: r for r in read_tsv(env_run["outdir"] / "soil_envfit.tsv")}
    assert f"ph (r\\u00b2 {float(envfit['ph']['r2']):.2f}" in page  # arrow label (plotly JSON)
    assert "tot_nitro (g/kg)" in page
    assert "site2" in page  # left out of the pH tests, and said so


# ------------------------------------------------------------ start-up check and the pipeline


def test_validate_env_checks_the_chosen_soil_variables(tmp_path, atacama_rows):
    sheet = _sheet_with(tmp_path, atacama_rows, {
        i: {"ph": str(6 + i / 10), "note": "x", "cur_land_use": "rangeland"} for i in range(11)})
    ok = CliRunner().invoke(main, ["validate", str(sheet), "--env", "ph"])
    assert ok.exit_code == 0, ok.output
    bad = CliRunner().invoke(main, ["validate", str(sheet), "--env", "ph,nope,note"])
    assert bad.exit_code == 2
    assert "--env 'nope': no such samplesheet column" in bad.output
    assert "line 2, column 'note': 'x' is not a number" in bad.output
    cat = CliRunner().invoke(main, ["validate", str(sheet), "--env", "cur_land_use"])
    assert cat.exit_code == 2 and "categorical" in cat.output


@pytest.mark.nextflow
def test_pipeline_diversity_step_runs_the_soil_context(vare, tmp_path):
    from conftest import run_diversity_step

    proc = run_diversity_step(tmp_path, {"biom": vare["biom"], "soil_env": "ph,humdepth"})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    div = tmp_path / "results" / "diversity"
    summary = json.loads((div / "soil_context.json").read_text())
    assert summary["variables"] == ["ph", "humdepth"]
    assert summary["missing"]["ph"] == ["site2"]
    assert (div / "soil_dbrda.tsv").is_file()


@pytest.mark.nextflow
def test_pipeline_refuses_unknown_soil_variable_at_start_up(tmp_path):
    from conftest import MAIN, run_nextflow

    proc = run_nextflow("run", str(MAIN), "-profile", "test", "--outdir", "results",
                        "--soil_env", "ph", cwd=tmp_path)
    assert proc.returncode != 0
    assert "--env 'ph': no such samplesheet column" in proc.stdout + proc.stderr
    assert not list((tmp_path / "work").glob("*/*/.command.sh"))  # no task ran


def test_biom_build_from_an_unvalidated_sheet_names_the_bad_soil_value(vare, tmp_path):
    header, rows = _read_sheet(vare["work"] / "sheet.csv")
    rows[3]["ph"] = "15"
    write_sheet(tmp_path / "sheet.csv", header, rows)
    out = tmp_path / "t.biom"
    result = CliRunner().invoke(main, [
        "biom", "build", "--counts", str(vare["work"] / "asv_counts.tsv"), "--lineage",
        str(vare["work"] / "lineage.tsv"), "--samplesheet", str(tmp_path / "sheet.csv"),
        "--out", str(out)])
    assert result.exit_code == 2
    assert f"sample '{rows[3]['sample']}', column 'ph': '15' is outside" in result.output
    assert "Traceback" not in result.output and not out.exists()


def _read_sheet(path: Path) -> tuple[list[str], list[dict]]:
    with path.open(newline="") as handle:
        reader = csv.DictReader(handle)
        return list(reader.fieldnames or []), list(reader)
