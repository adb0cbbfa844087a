"""The ASV tree inside a BIOM table: biom-format re-saves the table, soilbiome names what is lost.

One tree-carrying 16S table is made the way the pipeline makes it (real Atacama reads -> ASV
counts, vsearch SINTAX -> lineage, ``soilbiome phylogeny`` (MAFFT + FastTree) -> tree,
``soilbiome biom build --tree``, ``soilbiome stamp``); it is then re-saved with the real
biom-format CLI and API and run through ``soilbiome verify``, ``biom validate`` and
``diversity``; R's phyloseq reads the exported tree.
"""

from __future__ import annotations

import collections
import gzip
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import biom
import h5py
import numpy as np
import pytest

from conftest import write_asvs
from soilbiome.io.biom_layout import LEGACY_TREE_DATASET, TREE_DATASET
from soilbiome.io.biom_reader import read_table
from soilbiome.io.biom_tree import feature_tree
from soilbiome.model.samplesheet import load_samplesheet
from soilbiome.model.tree import newick_sha256
from soilbiome.sharing import generate_key, rewrite_trusted_keys
from soilbiome.sharing.integrity import check_integrity
from soilbiome.taxonomy import feature_id_for, harmonise, write_lineage

ROOT = Path(__file__).resolve().parents[1]
SHEET = ROOT / "assets" / "samplesheets" / "atacama_16s.csv"
SINTAX_16S = ROOT / "assets" / "test-data" / "refdb" / "16s_sintax_ten16s.fa.gz"
OPEN = ROOT / "sharing_agreements" / "examples" / "open-cc-by.yaml"
BIN = Path(sys.executable).parent
SOILBIOME, BIOM_CLI = str(BIN / "soilbiome"), str(BIN / "biom")
TODAY = "2025-06-15"

pytestmark = pytest.mark.skipif(
    any(shutil.which(t) is None for t in ("vsearch", "mafft", "FastTree")),
    reason="vsearch, mafft and FastTree are needed to make the table as the pipeline does")


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([*args], capture_output=True, text=True, cwd=cwd)


def no_traceback(proc: subprocess.CompletedProcess) -> None:
    assert "Traceback" not in proc.stdout + proc.stderr, proc.stdout + proc.stderr


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """asv_table.biom (with tree) stamped under the open agreement, plus its inputs."""
    work = tmp_path_factory.mktemp("tree_table")
    sheet = load_samplesheet(SHEET)
    valid = work / "samplesheet.valid.csv"
    sheet.write_normalised(valid)
    per_sample = {}
    for row in sheet.rows:
        with gzip.open(row.fastq_1, "rt") as handle:
            per_sample[row.sample] = collections.Counter(
                line.strip() for i, line in enumerate(handle) if i % 4 == 1)
    total = sum(per_sample.values(), collections.Counter())
    asvs = [seq for seq, _ in total.most_common(12)]
    counts, fasta = write_asvs(work, per_sample, asvs)
    sintax = work / "sintax.tsv"
    proc = run("vsearch", "--sintax", str(fasta), "--db", str(SINTAX_16S), "--tabbedout",
               str(sintax), "--sintax_cutoff", "0.8", "--randseed", "1", "--threads", "1",
               "--quiet")
    assert proc.returncode == 0, proc.stderr
    lineage = work / "lineage.tsv"
    write_lineage(harmonise("sintax", sintax, reference="ten16s TAXXI"), lineage)
    tree = work / "tree.nwk"
    proc = run(SOILBIOME, "phylogeny", "--counts", str(counts), "--out", str(tree))
    assert proc.returncode == 0, proc.stderr
    table = work / "asv_table.biom"
    proc = run(SOILBIOME, "biom", "build", "--counts", str(counts), "--lineage", str(lineage),
               "--samplesheet", str(valid), "--tree", str(tree), "--out", str(table))
    assert proc.returncode == 0, proc.stderr
    (work / "keys").mkdir()
    key = generate_key(work / "keys" / "provider.key")
    agreement = rewrite_trusted_keys(OPEN, work / "open.yaml", [(key, "provider-cl")],
                                     valid_from="2025-01-01", valid_until="2027-12-31")
    stamped = work / "stamped" / "asv_table.biom"
    proc = run(SOILBIOME, "stamp", str(table), "--agreement", str(agreement), "--key",
               str(key.private_key_path), "--output", str(stamped), "--today", TODAY)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return {"work": work, "table": table, "stamped": stamped, "tree": tree,
            "agreement": agreement, "ids": [feature_id_for(s) for s in asvs]}


def _errors(proc: subprocess.CompletedProcess) -> dict[str, str]:
    """rule -> reason of each ERROR finding of ``verify --json`` (one per rule here)."""
    report = json.loads(proc.stdout)
    return {f["rule"]: f["reason"] for f in report["findings"] if f["severity"] == "ERROR"}


def _copy_stamped(made: dict[str, Path], dest: Path) -> Path:
    shutil.copy(made["stamped"], dest)
    shutil.copy(made["stamped"].with_name(made["stamped"].name + ".sharing.dsse.json"),
                dest.with_name(dest.name + ".sharing.dsse.json"))
    return dest


def _resave(how: str, src: Path, out: Path) -> None:
    """Re-save ``src`` as ``out`` with biom-format (CLI or API), as a user of the table would."""
    if how == "convert":
        proc = run(BIOM_CLI, "convert", "-i", str(src), "-o", str(out), "--to-hdf5")
    elif how == "subset-table":
        keep = out.parent / "keep.txt"
        keep.write_text("\n".join(read_table(src).sample_ids[:6]) + "\n")
        proc = run(BIOM_CLI, "subset-table", "-i", str(src), "-a", "sample", "-s", str(keep),
                   "-o", str(out))
    else:
        table = biom.load_table(str(src))
        with h5py.File(out, "w") as handle:
            table.to_hdf5(handle, f"BIOM-Format {biom.__version__}")
        return
    assert proc.returncode == 0, proc.stdout + proc.stderr


# ---------------------------------------------------------------------------- where it is stored


def test_tree_is_in_its_own_dataset_with_the_features_as_tips(made: dict[str, Path]) -> None:
    with h5py.File(made["table"], "r") as handle:
        assert TREE_DATASET in handle
        assert "phylogeny" not in handle.get("observation/group-metadata", {})
        stored = handle[TREE_DATASET][()].decode("utf-8")
        assert handle[TREE_DATASET].attrs["sha256"] == newick_sha256(stored)
    assert stored.strip() == made["tree"].read_text().strip()
    table = read_table(made["table"])
    tree = feature_tree(table, purpose="UniFrac")
    assert sorted(t.name for t in tree.tips()) == sorted(made["ids"]) == sorted(table.feature_ids)
    proc = run(BIOM_CLI, "validate-table", "-i", str(made["table"]))
    assert proc.returncode == 0 and "is a valid BIOM-formatted file" in proc.stdout, proc.stdout
    stamp = json.loads(read_table(made["stamped"]).attributes["x-sharing-stamp"])
    assert stamp["tree"] == {"location": TREE_DATASET, "sha256": newick_sha256(stored)}


@pytest.mark.parametrize("how", ["convert", "subset-table", "to_hdf5"])
def test_biom_format_resaves_the_table(made: dict[str, Path], tmp_path: Path, how: str) -> None:
    out = tmp_path / "resaved.biom"
    _resave(how, made["stamped"], out)
    again = biom.load_table(str(out))
    original = read_table(made["stamped"])
    n = 6 if how == "subset-table" else len(original.sample_ids)
    assert list(again.ids()) == list(original.sample_ids[:n])
    dense = original.counts[:n].toarray().T
    keep = dense.sum(axis=1) > 0 if how == "subset-table" else slice(None)
    assert np.array_equal(again.matrix_data.toarray(), dense[keep])


@pytest.mark.parametrize("how", ["convert", "subset-table", "to_hdf5"])
def test_resaved_table_fails_verify_naming_the_lost_tree(
        made: dict[str, Path], tmp_path: Path, how: str) -> None:
    src = _copy_stamped(made, tmp_path / "stamped.biom")
    out = tmp_path / "resaved.biom"
    _resave(how, src, out)
    shutil.copy(src.with_name(src.name + ".sharing.dsse.json"),
                out.with_name(out.name + ".sharing.dsse.json"))
    proc = run(SOILBIOME, "verify", str(out), "--agreement", str(made["agreement"]),
               "--today", TODAY, "--json")
    no_traceback(proc)
    assert proc.returncode != 0
    errors = _errors(proc)
    assert "re-saved by BIOM-Format" in errors["D1"] and "stamp lost" in errors["D1"]
    assert "missing" in errors["D10"] and "re-saved by BIOM-Format" in errors["D10"]
    assert TREE_DATASET in errors["D10"] and "\n" not in errors["D10"]
    integrity = check_integrity(out)
    assert "D10" in {f.rule for f in integrity.report.findings if f.severity.value == "ERROR"}

    proc = run(SOILBIOME, "biom", "validate", str(out))
    no_traceback(proc)
    assert proc.returncode in (0, 2), proc.stdout + proc.stderr

    proc = run(SOILBIOME, "diversity", str(out), "--outdir", str(tmp_path / "div"),
               "--unifrac", "--no-rarefaction")
    no_traceback(proc)
    assert proc.returncode == 2
    message = proc.stderr.strip().splitlines()
    assert len(message) == 1, proc.stderr
    assert "UniFrac and Faith's PD requested, but the table carries no phylogenetic tree" \
        in message[0]
    assert "re-saved by BIOM-Format" in message[0] and str(out) in message[0]
    assert not (tmp_path / "div" / "alpha_diversity.tsv").exists()


def test_verify_passes_the_stamped_table_and_names_an_edited_tree(
        made: dict[str, Path], tmp_path: Path) -> None:
    proc = run(SOILBIOME, "verify", str(made["stamped"]), "--agreement", str(made["agreement"]),
               "--today", TODAY, "--json")
    no_traceback(proc)
    report = json.loads(proc.stdout)
    assert not [f for f in report["findings"] if f["severity"] == "ERROR"], proc.stdout
    assert "D10" in report["passed"], proc.stdout

    edited = _copy_stamped(made, tmp_path / "edited.biom")
    with h5py.File(edited, "r+") as handle:
        text = handle[TREE_DATASET][()].decode()
        del handle[TREE_DATASET]
        handle[TREE_DATASET] = text.replace(":", ":1", 1)  # one branch length changed
    proc = run(SOILBIOME, "verify", str(edited), "--agreement", str(made["agreement"]),
               "--today", TODAY, "--json")
    no_traceback(proc)
    errors = _errors(proc)
    assert set(errors) == {"D3", "D10"}, proc.stdout
    assert "edited after stamping" in errors["D10"]


def test_tree_added_after_stamping_is_named(made: dict[str, Path], tmp_path: Path) -> None:
    from soilbiome.io.biom_tree import write_tree

    plain = tmp_path / "plain.biom"
    proc = run(SOILBIOME, "biom", "build", "--counts", str(made["work"] / "asv_counts.tsv"),
               "--lineage", str(made["work"] / "lineage.tsv"), "--samplesheet",
               str(made["work"] / "samplesheet.valid.csv"), "--out", str(plain))
    assert proc.returncode == 0, proc.stderr
    key = made["work"] / "keys" / "provider.key"
    proc = run(SOILBIOME, "stamp", str(plain), "--agreement", str(made["agreement"]), "--key",
               str(key), "--today", TODAY)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert check_integrity(plain).ok
    with h5py.File(plain, "r+") as handle:
        write_tree(handle, made["tree"].read_text())
    findings = check_integrity(plain).report.findings
    d10 = [f for f in findings if f.rule == "D10" and f.severity.value == "ERROR"]
    assert len(d10) == 1 and "added after stamping" in d10[0].reason


def test_tree_of_every_asv_is_cut_to_the_counted_ones(made: dict[str, Path],
                                                     tmp_path: Path) -> None:
    """The pipeline builds the tree of every DADA2 ASV while the clean-up runs; ``biom build
    --prune-tree`` cuts it to the ASVs kept, roots it again and writes what it stored."""
    from skbio import TreeNode

    work = made["work"]
    rows = (work / "asv_counts.tsv").read_text().splitlines(keepends=True)
    kept_rows = [rows[0], *rows[1:][::2]]  # every other ASV, as if the clean-up removed the rest
    counts = tmp_path / "asv_counts.tsv"
    counts.write_text("".join(kept_rows))
    kept = {r.split("\t", 1)[0] for r in kept_rows[1:]}
    args = [SOILBIOME, "biom", "build", "--counts", str(counts), "--lineage",
            str(work / "lineage.tsv"), "--samplesheet", str(work / "samplesheet.valid.csv"),
            "--tree", str(made["tree"])]
    table, tree_out = tmp_path / "t.biom", tmp_path / "tree.nwk"
    proc = run(*args, "--out", str(table))  # without --prune-tree: refused, nothing written
    assert proc.returncode != 0 and "tree tips differ from the counted features" in proc.stderr
    assert "0 feature(s) not in the tree, " in proc.stderr
    no_traceback(proc)
    assert not table.exists()
    proc = run(*args, "--prune-tree", "--tree-out", str(tree_out), "--out", str(table),
               "--validate")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    stored = read_table(table).tree.newick
    assert tree_out.read_text() == stored.strip() + "\n"
    ours = TreeNode.read([stored])
    assert {t.name for t in ours.tips()} == kept
    full = TreeNode.read(made["tree"].read_text().splitlines())
    for a in sorted(kept):
        for b in sorted(kept):
            assert ours.find(a).distance(ours.find(b)) == pytest.approx(
                full.find(a).distance(full.find(b)), abs=1e-12)
    # a counted ASV the tree lacks is refused even with --prune-tree
    extra = tmp_path / "extra.tsv"
    extra.write_text("".join(rows))
    small = tmp_path / "small.nwk"
    small.write_text(TreeNode.read([stored]).__str__())
    other = tmp_path / "other.biom"
    proc = run(*args[:-1], str(small), "--prune-tree", "--counts", str(extra),
               "--out", str(other))
    assert proc.returncode != 0 and "not in the tree" in proc.stderr and not other.exists()
    no_traceback(proc)


# ---------------------------------------------------------------------------- readers of the tree


def test_diversity_takes_the_tree_from_the_table(made: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "div"
    proc = run(SOILBIOME, "diversity", str(made["stamped"]), "--outdir", str(out),
               "--no-rarefaction")
    assert proc.returncode == 0, proc.stderr
    assert (out / "beta_unweighted_unifrac.tsv").is_file()
    assert "faith_pd" in (out / "alpha_diversity.tsv").read_text().splitlines()[0]
    summary = json.loads((out / "diversity.json").read_text())
    tree = read_table(made["stamped"]).tree
    assert summary["parameters"]["tree"] == {
        "source": f"{made['stamped']}:/{TREE_DATASET}", "sha256": tree.sha256,
        "branch_lengths": "double"}
    html = tmp_path / "report.html"
    proc = run(SOILBIOME, "report", "--biom", str(made["stamped"]), "--diversity", str(out),
               "--out", str(html))
    assert proc.returncode == 0, proc.stderr
    assert f"use the ASV tree {made['stamped']}:/{TREE_DATASET} (SHA-256 {tree.sha256[:16]}" \
        in html.read_text()
    # the same tree given as a file gives the same distances
    out2 = tmp_path / "div2"
    proc = run(SOILBIOME, "diversity", str(made["stamped"]), "--outdir", str(out2),
               "--no-rarefaction", "--tree", str(made["tree"]))
    assert proc.returncode == 0, proc.stderr
    for name in ("beta_weighted_unifrac.tsv", "beta_unweighted_unifrac.tsv"):
        assert (out / name).read_text() == (out2 / name).read_text()
    # and --no-unifrac leaves UniFrac and Faith's PD out
    out3 = tmp_path / "div3"
    proc = run(SOILBIOME, "diversity", str(made["stamped"]), "--outdir", str(out3),
               "--no-rarefaction", "--no-unifrac")
    assert proc.returncode == 0, proc.stderr
    assert not (out3 / "beta_unweighted_unifrac.tsv").exists()


@pytest.mark.nextflow
def test_pipeline_diversity_step_reads_branch_lengths_as_asked(made: dict[str, Path],
                                                               tmp_path: Path) -> None:
    """--branch_lengths single reaches DIVERSITY: its UniFrac matrices are those of
    `soilbiome diversity --branch-lengths single` on the table's own tree (FastTree's
    decimals, not single-precision values, so they are not the double ones)."""
    from conftest import run_diversity_step

    proc = run_diversity_step(tmp_path, {"biom": made["table"], "tree": made["tree"],
                                         "branch_lengths": "single"})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    div = tmp_path / "results" / "diversity"
    recorded = json.loads((div / "diversity.json").read_text())["parameters"]["tree"]
    assert recorded["branch_lengths"] == "single"
    for lengths in ("single", "double"):
        proc = run(SOILBIOME, "diversity", str(made["table"]), "--outdir",
                   str(tmp_path / lengths), "--no-rarefaction", "--branch-lengths", lengths)
        assert proc.returncode == 0, proc.stderr
    for name in ("beta_weighted_unifrac.tsv", "beta_unweighted_unifrac.tsv"):
        made_here = (div / name).read_bytes()
        assert made_here == (tmp_path / "single" / name).read_bytes(), name
        assert made_here != (tmp_path / "double" / name).read_bytes(), name


def test_warmup_compiles_every_kernel_a_pipeline_run_uses(made: dict[str, Path],
                                                         tmp_path: Path) -> None:
    """runtime/setup.sh and the image call soilbiome.diversity.warmup so that no run compiles:
    after it, ``diversity`` as the pipeline calls it (rarefied, UniFrac from the table's tree,
    PERMANOVA by a metadata column) adds no compiled kernel to numba's cache."""
    cache = tmp_path / "numba"
    env = dict(os.environ, NUMBA_CACHE_DIR=str(cache))
    proc = subprocess.run([sys.executable, "-m", "soilbiome.diversity.warmup"],
                          capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr
    assert "diversity kernels compiled and cached" in proc.stdout

    def compiled() -> dict[str, bytes]:
        return {p.name: p.read_bytes() for p in cache.rglob("*") if p.suffix in (".nbi", ".nbc")}

    before = compiled()
    names = {name.split("-")[0] for name in before}
    assert {"kernels.condensed", "kernels.permanova_ssw", "unweighted_jit.counts",
            "weighted._depth"} <= names, sorted(names)
    for args in (["--group-by", "site"], ["--no-rarefaction", "--env-metric", "weighted_unifrac",
                                          "--env", "elev"]):
        proc = subprocess.run([SOILBIOME, "diversity", str(made["stamped"]), "--outdir",
                               str(tmp_path / args[1]), *args], capture_output=True, text=True,
                              env=env)
        assert proc.returncode == 0, proc.stderr
        assert compiled() == before, sorted(set(compiled()) ^ set(before))


def test_legacy_group_metadata_tree_is_still_read(made: dict[str, Path], tmp_path: Path) -> None:
    """Tables written before the move kept the tree as observation group metadata."""
    legacy = tmp_path / "legacy.biom"
    table = biom.load_table(str(made["table"]))
    newick = made["tree"].read_text().strip()
    old = biom.Table(table.matrix_data, table.ids("observation"), table.ids(),
                     table.metadata(axis="observation"), table.metadata(),
                     observation_group_metadata={"phylogeny": ("newick", newick)},
                     type="OTU table")
    with h5py.File(legacy, "w") as handle:
        old.to_hdf5(handle, "soilbiome 0.9")
    read = read_table(legacy)
    assert read.tree is not None and read.tree.location == LEGACY_TREE_DATASET
    assert read.tree.newick == newick
    tree = feature_tree(read, purpose="UniFrac")
    assert {t.name for t in tree.tips()} == set(made["ids"])
    out = tmp_path / "div"
    proc = run(SOILBIOME, "diversity", str(legacy), "--outdir", str(out), "--no-rarefaction",
               "--unifrac")
    assert proc.returncode == 0, proc.stderr
    assert (out / "beta_weighted_unifrac.tsv").is_file()
    proc = run(SOILBIOME, "biom", "validate", str(legacy))
    no_traceback(proc)
    assert proc.returncode == 2 and "biom-format cannot re-save" in proc.stderr


@pytest.mark.skipif(shutil.which("Rscript") is None, reason="R not installed")
def test_phyloseq_export_carries_the_tree(made: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "ps.rds"
    proc = run(SOILBIOME, "export", "phyloseq", str(made["stamped"]), "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    script = """
    suppressPackageStartupMessages({library(phyloseq); library(ape)})
    ps <- readRDS(commandArgs(trailingOnly = TRUE)[1])
    tr <- phy_tree(ps)
    cat(class(tr), is.rooted(tr), ntaxa(ps), Ntip(tr), "\\n")
    cat(sort(tr$tip.label), "\\n")
    cat(setequal(tr$tip.label, taxa_names(ps)), "\\n")
    """
    proc = run("Rscript", "-e", script, str(out))
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    n = len(made["ids"])
    assert lines[0].split() == ["phylo", "TRUE", str(n), str(n)]
    assert lines[1].split() == sorted(made["ids"])
    assert lines[2].strip() == "TRUE"


@pytest.mark.skipif(shutil.which("Rscript") is None, reason="R not installed")
def test_r_biomformat_reads_the_tree_carrying_table(made: dict[str, Path]) -> None:
    """The extra dataset does not disturb phyloseq::import_biom (R's biomformat)."""
    script = """
    suppressPackageStartupMessages({library(rhdf5); library(phyloseq)})
    a <- commandArgs(trailingOnly = TRUE)
    ps <- import_biom(a[1], treefilename = a[2])
    cat(ntaxa(ps), nsamples(ps), ape::Ntip(phy_tree(ps)), "\\n")
    """
    proc = run("Rscript", "-e", script, str(made["table"]), str(made["tree"]))
    assert proc.returncode == 0, proc.stderr
    table = read_table(made["table"])
    n = len(table.feature_ids)
    assert proc.stdout.split() == [str(n), str(len(table.sample_ids)), str(n)]
