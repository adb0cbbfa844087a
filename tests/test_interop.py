"""Exports for QIIME 2 (taxonomy TSV, ASV FASTA) and phyloseq (.rds made by R's phyloseq)."""

from __future__ import annotations

import csv
import hashlib
import shutil
import subprocess
from pathlib import Path

import biom
import h5py
import numpy as np
import pytest
from click.testing import CliRunner

from soilbiome.cli import main

needs_r = pytest.mark.skipif(shutil.which("Rscript") is None, reason="R not installed")

SEQS = ["TACGTAGGGTGCAAGCGTTAATCGGAATTACTGGGCGTAAAGCGCACGCAGG",
        "AACGTAGGTCACAAGCGTTGTCCGGATTTATTGGGTTTAAAGGGTGCGTAGG",
        "GATGAAGAACGCAGCGAAATGCGATACGTAATGTGAATTGCAGAATTCAGTG",
        "TTTTTAGGGTGCAAGCGTTAATCGGAATTACTGGGCGTAAAGCGCACGCAGG"]
TAXA = [
    (["d__Bacteria", "k__", "p__Firmicutes", "c__Bacilli", "o__", "f__", "g__", "s__"],
     {"domain": "1", "phylum": "0.97", "class": "0.91", "order": "0.6"}),
    (["d__Bacteria", "k__", "p__", "c__", "o__", "f__", "g__", "s__"], {"domain": "0.99"}),
    (["d__Eukaryota", "k__Fungi", "p__Ascomycota", "c__Sordariomycetes", "o__Hypocreales",
      "f__Nectriaceae", "g__Fusarium", "s__Fusarium.oxysporum"],
     {"kingdom": "1", "species": "0.88"}),
    (["d__", "k__", "p__", "c__", "o__", "f__", "g__", "s__"], {}),
]
RANKS = ["domain", "kingdom", "phylum", "class", "order", "family", "genus", "species"]


@pytest.fixture(scope="module")
def table(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("interop") / "t.biom"
    ids = [hashlib.md5(s.encode()).hexdigest() for s in SEQS]
    obs = []
    for seq, (tax, conf) in zip(SEQS, TAXA, strict=True):
        md = {"taxonomy": tax, "sequence": seq}
        md.update({f"confidence_{r}": conf.get(r, "") for r in RANKS})
        obs.append(md)
    counts = np.array([[5, 0, 3], [0, 0, 7], [2, 0, 4], [1, 0, 0]], dtype=float)
    samples = ["S1", "BLANK", "16s.S3"]
    smd = [{"site": s, "16s_primer": "515F"} for s in samples]
    with h5py.File(path, "w") as handle:
        biom.Table(counts, ids, samples, obs, smd, type="OTU table").to_hdf5(handle, "tests")
    return path


def test_qiime2_taxonomy_and_sequences(table: Path, tmp_path: Path) -> None:
    res = CliRunner().invoke(main, ["export", "qiime2", str(table), "--out", str(tmp_path)])
    assert res.exit_code == 0, res.output
    with (tmp_path / "taxonomy.tsv").open(newline="") as handle:
        rows = list(csv.reader(handle, delimiter="\t"))
    assert rows[0] == ["Feature ID", "Taxon", "Confidence"]
    ids = [hashlib.md5(s.encode()).hexdigest() for s in SEQS]
    assert [r[0] for r in rows[1:]] == ids
    # down to the deepest named rank, with the confidence at that rank
    assert rows[1][1:] == ["d__Bacteria; k__; p__Firmicutes; c__Bacilli", "0.91"]
    assert rows[2][1:] == ["d__Bacteria", "0.99"]
    assert rows[3][1] == ("d__Eukaryota; k__Fungi; p__Ascomycota; c__Sordariomycetes; "
                          "o__Hypocreales; f__Nectriaceae; g__Fusarium; s__Fusarium.oxysporum")
    assert rows[3][2] == "0.88"
    assert rows[4][1:] == ["Unassigned", ""]
    fasta = (tmp_path / "dna-sequences.fasta").read_text().splitlines()
    assert fasta[0::2] == [f">{i}" for i in ids] and fasta[1::2] == SEQS


@needs_r
def test_phyloseq_rds_made_with_phyloseq(table: Path, tmp_path: Path) -> None:
    out = tmp_path / "ps.rds"
    res = CliRunner().invoke(main, ["export", "phyloseq", str(table), "--out", str(out)])
    assert res.exit_code == 0, res.output
    script = """
    suppressPackageStartupMessages(library(phyloseq))
    ps <- readRDS(commandArgs(trailingOnly = TRUE)[1])
    cat(class(ps), "\\n")
    cat(paste(rank_names(ps), collapse = ","), "\\n")
    cat(paste(sample_names(ps), collapse = ","), "\\n")
    cat(paste(colnames(sample_data(ps)), collapse = ","), "\\n")
    cat(paste(sample_sums(ps), collapse = ","), "\\n")
    tt <- as(tax_table(ps), "matrix")
    cat(tt[3, "Domain"], tt[3, "Kingdom"], tt[3, "Species"], is.na(tt[1, "Kingdom"]), "\\n")
    cat(as.character(refseq(ps))[[3]], taxa_names(ps)[3], "\\n")
    """
    proc = subprocess.run(["Rscript", "-e", script, str(out)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    lines = [line.strip() for line in proc.stdout.splitlines()]
    assert lines[0] == "phyloseq"
    assert lines[1] == "Domain,Kingdom,Phylum,Class,Order,Family,Genus,Species"
    assert lines[2] == "S1,BLANK,16s.S3"  # IDs kept, the empty sample too
    assert set(lines[3].split(",")) == {"site", "16s_primer"}  # not X16s_primer
    assert lines[4] == "8,0,14"
    assert lines[5] == "Eukaryota Fungi Fusarium.oxysporum TRUE"
    assert lines[6] == f"{SEQS[2]} {hashlib.md5(SEQS[2].encode()).hexdigest()}"


@pytest.mark.parametrize(("command", "option", "target"), [
    ("phyloseq", "--out", "x.rds"),
    ("interop", "--outdir", "out"),  # the folder is not made before the table passed
])
def test_exports_refuse_a_broken_table(tmp_path: Path, command: str, option: str,
                                       target: str) -> None:
    bad = tmp_path / "bad.biom"
    bad.write_text("not a table")
    res = CliRunner().invoke(main, ["export", command, str(bad), option,
                                    str(tmp_path / target)])
    assert res.exit_code == 2 and "not an HDF5 file" in res.output
    assert not (tmp_path / target).exists()


@needs_r
def test_phyloseq_rds_of_a_one_sample_table(tmp_path: Path) -> None:
    """R's biomformat cannot read a one-sample HDF5 table; the export must not depend on it."""
    path = tmp_path / "one.biom"
    ids = [hashlib.md5(s.encode()).hexdigest() for s in SEQS[:2]]
    obs = [{"taxonomy": tax, "sequence": seq} for seq, (tax, _) in zip(SEQS[:2], TAXA[:2],
                                                                        strict=True)]
    with h5py.File(path, "w") as handle:
        biom.Table(np.array([[4.0], [9.0]]), ids, ["MSITS3"], obs, [{"site": "a"}],
                   type="OTU table").to_hdf5(handle, "tests")
    out = tmp_path / "one.rds"
    res = CliRunner().invoke(main, ["export", "phyloseq", str(path), "--out", str(out)])
    assert res.exit_code == 0, res.output
    proc = subprocess.run(
        ["Rscript", "-e", "suppressPackageStartupMessages(library(phyloseq)); "
         "ps <- readRDS(commandArgs(trailingOnly = TRUE)[1]); "
         "cat(sample_names(ps), taxa_sums(ps), '\\n')", str(out)],
        capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["MSITS3", "4", "9"]


@needs_r
def test_interop_writes_both_exports_from_one_read(table: Path, tmp_path: Path) -> None:
    """`export interop` (the pipeline's INTEROP step) gives the very files of the two exports."""
    res = CliRunner().invoke(main, ["export", "interop", str(table), "--outdir",
                                    str(tmp_path / "both")])
    assert res.exit_code == 0, res.output
    CliRunner().invoke(main, ["export", "qiime2", str(table), "--out", str(tmp_path / "q2")])
    for name in ("taxonomy.tsv", "dna-sequences.fasta"):
        assert (tmp_path / "both" / "qiime2" / name).read_bytes() == \
            (tmp_path / "q2" / name).read_bytes()
    script = ("suppressPackageStartupMessages(library(phyloseq)); "
              "a <- readRDS(commandArgs(trailingOnly = TRUE)[1]); "
              "cat(taxa_names(a), sample_sums(a), rank_names(a), '\\n')")
    proc = subprocess.run(["Rscript", "-e", script, str(tmp_path / "both" / "phyloseq" /
                                                         "phyloseq.rds")],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    ids = [hashlib.md5(s.encode()).hexdigest() for s in SEQS]
    assert proc.stdout.split()[:4] == ids and proc.stdout.split()[4:7] == ["8", "0", "14"]
    assert sorted(p.name for p in (tmp_path / "both").iterdir()) == ["phyloseq", "qiime2"]


@needs_r
def test_interop_leaves_nothing_when_one_export_fails(table: Path, tmp_path: Path) -> None:
    """An ASV without its sequence fails the QIIME 2 files: no phyloseq object either."""
    bad = tmp_path / "noseq.biom"
    shutil.copy(table, bad)
    with h5py.File(bad, "r+") as handle:
        seqs = handle["observation/metadata/sequence"]
        values = [s.decode() if isinstance(s, bytes) else s for s in seqs[()]]
        values[1] = ""
        del handle["observation/metadata/sequence"]
        handle.create_dataset("observation/metadata/sequence", data=values,
                              dtype=h5py.string_dtype())
    out = tmp_path / "out"
    res = CliRunner().invoke(main, ["export", "interop", str(bad), "--outdir", str(out)])
    assert res.exit_code != 0
    assert "without a sequence" in res.output and "Traceback" not in res.output
    assert [p for p in out.rglob("*") if not p.is_dir()] == []  # no file, hidden or not
