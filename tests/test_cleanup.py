"""Clean-up of the ASV table: decontam's prevalence method and 16S non-target ASVs."""

from __future__ import annotations

import csv
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import sparse

from soilbiome.amplicon.cleanup.decontam import prevalence_contaminants, prevalence_score
from soilbiome.amplicon.cleanup.nontarget import nontarget_category
from soilbiome.taxonomy.lineage import RANKS, Lineage, feature_id_for

SOILBIOME = str(Path(sys.executable).parent / "soilbiome")


# --- decontam prevalence, hand-computed -------------------------------------------------------

def test_fisher_mid_p_when_expected_counts_are_small():
    # 3 controls, 5 samples; ASV in all 3 controls and 1 sample: table [[3, 0], [1, 4]].
    # Expected counts under the pooled prevalence 4/8 are 1.5 and 2.5 (< 5): R's prop.test
    # warns, so decontam uses Fisher's mid-p. X ~ hypergeometric(8 tables, 4 present, 3 drawn):
    # P(X = 3) = C(4,3) C(4,0) / C(8,3) = 4/56 = P(X >= 3); mid-p = 4/56 - (4/56)/2 = 1/28.
    assert prevalence_score(3, 3, 1, 5) == pytest.approx(1 / 28, abs=1e-12)
    # Absent from the controls, in 4 of 5 samples: P(X >= 0) = 1, P(X = 0) = C(4,3)/56 = 4/56.
    assert prevalence_score(0, 3, 4, 5) == pytest.approx(1 - 2 / 56, abs=1e-12)
    # [[2, 0], [1, 1]]: P(X = 2) = C(3,2)/C(4,2) = 1/2 = P(X >= 2); mid-p = 1/2 - 1/4.
    assert prevalence_score(2, 2, 1, 2) == pytest.approx(0.25, abs=1e-12)


def test_yates_corrected_chi_square_when_expected_counts_are_large():
    # 20 controls, 20 samples; ASV in 15 controls and 5 samples. Pooled prevalence 1/2, so all
    # expected counts are 10; difference in proportions 0.75 - 0.25 = 0.5 and Yates' correction
    # min(0.5, 0.5 / (1/20 + 1/20)) = 0.5. Statistic: 4 * (|15 - 10| - 0.5)^2 / 10 = 8.1;
    # one-sided p = 1 - Phi(sqrt(8.1)) = 1 - Phi(2.846050) = 0.0022130.
    assert prevalence_score(15, 20, 5, 20) == pytest.approx(0.0022130, abs=5e-7)


def test_no_score_cases():
    assert prevalence_score(4, 4, 6, 6) == 0.5  # present in every sample
    assert math.isnan(prevalence_score(1, 3, 0, 5))  # in one sample only
    assert math.isnan(prevalence_score(0, 0, 3, 5))  # no controls


def test_table_scores_drop_empty_samples_and_flag_below_threshold():
    # rows: 3 controls, 5 samples, 1 empty control (left out, as decontam does)
    dense = np.array([
        # contaminant, real, singleton
        [5, 0, 0],
        [7, 0, 0],
        [2, 0, 1],
        [1, 9, 0],
        [0, 8, 0],
        [0, 3, 0],
        [0, 5, 0],
        [0, 6, 0],
        [0, 0, 0],
    ])
    negative = [True, True, True, False, False, False, False, False, True]
    res = prevalence_contaminants(sparse.csr_matrix(dense), negative, ["c", "r", "s"])
    assert (res.n_controls, res.n_samples) == (3, 5)
    assert res.p[0] == pytest.approx(1 / 28)
    # "real": in all 5 samples, no control: [[0, 3], [5, 0]]; P(X = 0) = C(3,3) / C(8,3) = 1/56
    assert res.p[1] == pytest.approx(1 - 1 / 112) and math.isnan(res.p[2])
    assert res.contaminant.tolist() == [True, False, False]
    assert res.prevalence.tolist() == [4, 5, 1] and res.prevalence_controls.tolist() == [3, 0, 1]
    # freq: mean relative abundance over the 8 non-empty samples
    rel = dense[:8] / dense[:8].sum(axis=1, keepdims=True)
    assert np.allclose(res.freq, rel.mean(axis=0))
    strict = prevalence_contaminants(sparse.csr_matrix(dense), negative, ["c", "r", "s"],
                                     threshold=1 / 28)
    assert not strict.contaminant[0]  # strictly below the threshold


# --- non-target lineages ----------------------------------------------------------------------

def _lineage(seq: str, names: dict[str, str]) -> Lineage:
    names = tuple(names.get(rank, "") for rank in RANKS)
    return Lineage(feature_id_for(seq), tuple(names), (None,) * len(RANKS), "test", "test")


def test_nontarget_by_rank_name():
    silva_chl = _lineage("A", {"domain": "Bacteria", "phylum": "Cyanobacteria",
                               "class": "Cyanobacteriia", "order": "Chloroplast"})
    silva_mito = _lineage("C", {"domain": "Bacteria", "phylum": "Proteobacteria",
                                "order": "Rickettsiales", "family": "Mitochondria"})
    rdp_cyano = _lineage("G", {"domain": "Bacteria", "phylum": "Cyanobacteria/Chloroplast",
                               "class": "Cyanobacteria"})
    assert nontarget_category(silva_chl) == "chloroplast"
    assert nontarget_category(silva_mito) == "mitochondria"
    assert nontarget_category(rdp_cyano) is None
    assert nontarget_category(None) is None


def _write(path: Path, rows: list[list[object]], delimiter: str = "\t") -> Path:
    with path.open("w", newline="") as handle:
        csv.writer(handle, delimiter=delimiter, lineterminator="\n").writerows(rows)
    return path


def _tsv(path: Path) -> list[dict]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


@pytest.fixture
def cleanup_inputs(tmp_path):
    seqs = {"chl": "ACGTACGTAA", "mito": "ACGTACGTCC", "cont": "ACGTACGTGG", "real": "ACGTACGTTT"}
    ids = {k: feature_id_for(s) for k, s in seqs.items()}
    samples = ["neg1", "neg2", "neg3", "s1", "s2", "s3", "s4", "s5"]
    counts = {"chl": [0, 0, 0, 10, 0, 0, 0, 5], "mito": [0, 0, 0, 0, 4, 0, 0, 0],
              "cont": [5, 7, 2, 1, 0, 0, 0, 0], "real": [0, 0, 0, 9, 8, 3, 5, 6]}
    _write(tmp_path / "asv_counts.tsv", [["feature_id", "sequence", *samples]] + [
        [ids[k], seqs[k], *counts[k]] for k in seqs])
    from soilbiome.taxonomy.lineage import LINEAGE_COLUMNS
    names = {"chl": {"domain": "Bacteria", "phylum": "Cyanobacteria", "order": "Chloroplast"},
             "mito": {"domain": "Bacteria", "order": "Rickettsiales", "family": "Mitochondria"},
             "cont": {"domain": "Bacteria", "phylum": "Firmicutes"},
             "real": {"domain": "Bacteria", "phylum": "Actinobacteriota"}}
    lineage_rows = [list(LINEAGE_COLUMNS)]
    for k in seqs:
        row = dict.fromkeys(LINEAGE_COLUMNS, "")
        row["feature_id"] = ids[k]
        row.update(names[k])
        row.update({c: "test" for c in ("classifier", "reference") if c in row})
        lineage_rows.append([row[c] for c in LINEAGE_COLUMNS])
    _write(tmp_path / "lineage.tsv", lineage_rows)
    from soilbiome.model.samplesheet import MIXS_REQUIRED
    header = ["sample", "fastq_1", "fastq_2", "single_end", "sample_type", *MIXS_REQUIRED]
    sheet = [header] + [[s, f"/x/{s}_1.fq.gz", "", "true",
                         "negative_control" if s.startswith("neg") else "sample",
                         *(["not collected"] * len(MIXS_REQUIRED))] for s in samples]
    _write(tmp_path / "sheet.csv", sheet, delimiter=",")
    return tmp_path, ids


def test_cleanup_command_moves_nontarget_and_flags_contaminants(cleanup_inputs):
    base, ids = cleanup_inputs
    out = base / "clean"
    args = [SOILBIOME, "cleanup", "--counts", str(base / "asv_counts.tsv"),
            "--lineage", str(base / "lineage.tsv"), "--samplesheet", str(base / "sheet.csv")]
    proc = subprocess.run([*args, "--outdir", str(out)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "1 chloroplast, 1 mitochondria" in proc.stdout and "1 contaminant" in proc.stdout
    kept = {r["feature_id"] for r in _tsv(out / "asv_counts.tsv")}
    assert kept == {ids["cont"], ids["real"]}  # flagged, not removed unless asked
    nontarget = {r["feature_id"] for r in _tsv(out / "nontarget_counts.tsv")}
    assert nontarget == {ids["chl"], ids["mito"]}
    summary = {r["sample"]: r for r in _tsv(out / "nontarget_summary.tsv")}
    assert summary["s1"]["chloroplast_reads"] == "10" and summary["s1"]["reads"] == "20"
    assert summary["s1"]["chloroplast_fraction"] == "0.5" and summary["s1"]["reads_kept"] == "10"
    assert summary["s2"]["mitochondria_reads"] == "4" and summary["neg1"]["reads_kept"] == "5"
    cont = {r["feature_id"]: r for r in _tsv(out / "contaminants.tsv")}
    assert cont[ids["cont"]]["contaminant"] == "TRUE" and cont[ids["cont"]]["removed"] == "FALSE"
    assert float(cont[ids["cont"]]["p_prev"]) == pytest.approx(1 / 28, rel=1e-5)
    assert cont[ids["real"]]["contaminant"] == "FALSE"

    out2 = base / "clean2"
    proc = subprocess.run([*args, "--outdir", str(out2), "--remove-contaminants"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert {r["feature_id"] for r in _tsv(out2 / "asv_counts.tsv")} == {ids["real"]}


def test_cleanup_its_keeps_every_asv_and_bad_threshold_is_one_line(cleanup_inputs):
    base, _ = cleanup_inputs
    args = [SOILBIOME, "cleanup", "--counts", str(base / "asv_counts.tsv"),
            "--lineage", str(base / "lineage.tsv"), "--samplesheet", str(base / "sheet.csv")]
    proc = subprocess.run([*args, "--outdir", str(base / "its"), "--marker", "ITS"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert len(_tsv(base / "its" / "asv_counts.tsv")) == 4
    proc = subprocess.run([*args, "--outdir", str(base / "bad"), "--contaminant-threshold", "2"],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and proc.stderr.startswith("soilbiome: error:")
    assert "threshold" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert not (base / "bad").exists()


def test_cleanup_refuses_asvs_without_a_lineage_row(cleanup_inputs):
    """An ASV the lineage file does not cover would pass as 'not a chloroplast': refused, as
    biom build refuses it, before any output."""
    base, ids = cleanup_inputs
    lines = (base / "lineage.tsv").read_text().splitlines(keepends=True)
    short = base / "lineage_short.tsv"
    short.write_text("".join(line for line in lines if ids["chl"] not in line))
    proc = subprocess.run([SOILBIOME, "cleanup", "--counts", str(base / "asv_counts.tsv"),
                           "--lineage", str(short), "--samplesheet", str(base / "sheet.csv"),
                           "--outdir", str(base / "out")], capture_output=True, text=True)
    assert proc.returncode == 2, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr
    assert f"{short}: no lineage row for 1 feature(s)" in proc.stderr and ids["chl"] in proc.stderr
    assert not (base / "out").exists()
