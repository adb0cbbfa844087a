"""``soilbiome refdb build-kraken2``: a lab's own genomes (with GTDB lineages, one a MAG of a new
species) as a Kraken2 database, through real ``kraken2-build`` and ``kraken2`` and the shotgun
table step; the same genomes and lineage file as ``build-sylph``."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from metagenome_sim import random_genome, simulate_pairs, write_fasta

from soilbiome.cli import main
from soilbiome.io.biom_reader import read_table
from soilbiome.refdb.build_kraken2 import lineage_taxonomy
from soilbiome.refdb.sheet import load_refdb
from soilbiome.shotgun.run import build_shotgun_table

LINEAGE = "d__Bacteria;p__Acidobacteriota;c__Terriglobia;o__Terriglobales;f__Acidobacteriaceae"
#: genome -> (last ranks of its lineage, coverage in the sample)
GENOMES = {"MAG1": (";g__Soilia;s__Soilia alpha", 6.0), "MAG2": (";g__Soilia;s__Soilia beta", 3.0),
           "MAG3": (";g__Soilia;s__", 3.0), "MAG4": (";g__Terra;s__Terra gamma", 1.5)}


def soilbiome(*args: object):  # noqa: ANN202
    """The CLI in-process: a click Result (exit_code, stdout, stderr)."""
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


SHEET_HEADER = ("sample,fastq_1,fastq_2,site,run,collection_date,geo_loc_name,lat_lon,"
                "env_broad_scale,env_local_scale,env_medium,depth,elev\n")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict:
    tmp = tmp_path_factory.mktemp("build_kraken2")
    rng = np.random.default_rng(23)
    seqs = {}
    for i, name in enumerate(GENOMES):
        seqs[name] = random_genome(150_000 + 20_000 * i, rng)
        write_fasta(seqs[name], "contig_1", tmp / f"{name}.fna.gz")  # same contig names
    lineages = tmp / "lineages.tsv"
    lineages.write_text("genome\tlineage\n" + "".join(
        f"{name}.fna.gz\t{LINEAGE}{rest}\n" for name, (rest, _) in GENOMES.items()))
    sheet = tmp / "refdb.csv"
    res = soilbiome("refdb", "build-kraken2", *sorted(tmp.glob("MAG*.fna.gz")), "--lineages",
                    lineages, "--out", tmp / "k2db", "--read-length", 150, "--threads", 2,
                    "--sheet", sheet, "--licence", "CC-BY-4.0", "--citation", "our soil MAGs")
    assert res.exit_code == 0, res.stderr
    r1, r2 = tmp / "soil_R1.fastq.gz", tmp / "soil_R2.fastq.gz"
    pairs = simulate_pairs(seqs, {k: v[1] for k, v in GENOMES.items()}, r1, r2, seed=5)
    report = tmp / "soil.kraken2.report.txt"
    subprocess.run(["kraken2", "--db", str(tmp / "k2db"), "--paired", "--threads", "2",
                    "--report", str(report), "--output", "/dev/null", str(r1), str(r2)],
                   check=True, capture_output=True)
    samplesheet = tmp / "samplesheet.csv"
    samplesheet.write_text(SHEET_HEADER + f"soil,{r1},{r2},plot1,run1" + ",not provided" * 8
                           + "\n")
    return {"tmp": tmp, "sheet": sheet, "row": res.stdout, "report": report, "pairs": pairs,
            "samplesheet": samplesheet, "lineages": lineages}


def test_the_database_is_listed_and_verified(built: dict) -> None:
    db = built["tmp"] / "k2db"
    entry = load_refdb(built["sheet"], "k2db")  # verifies the manifest digest
    assert entry.format == "kraken2" and entry.taxonomy == "GTDB"
    assert entry.sha256 in built["row"] and built["row"].startswith("name,version,")
    for name in ("hash.k2d", "opts.k2d", "taxo.k2d", "database150mers.kmer_distrib",
                 "taxonomy/names.dmp", "taxonomy/nodes.dmp", "seqid2taxid.map"):
        assert (db / name).is_file(), name
    assert not [p for p in built["tmp"].iterdir() if p.name.startswith(".k2db")]  # no leftovers
    # contigs named alike in every MAG get one sequence ID each
    seqids = [line.split("\t")[0] for line in (db / "seqid2taxid.map").read_text().splitlines()]
    assert len(set(seqids)) == len(GENOMES)


def test_reads_are_profiled_to_the_lineages_given(built: dict) -> None:
    out = built["tmp"] / "taxon_table.biom"
    db = built["tmp"] / "k2db"
    build_shotgun_table([built["report"]], db, built["samplesheet"], out,
                        distribution=db / "database150mers.kmer_distrib", reference="own MAGs")
    table = read_table(out)
    counts = dict(zip(table.feature_ids, table.counts.toarray()[0], strict=True))
    total = sum(built["pairs"].values())
    assert table.sample_totals()[0] == total                      # every read pair, none lost
    expected = {"gtdb:s__Soilia_alpha": "MAG1", "gtdb:s__Soilia_beta": "MAG2",
                "gtdb:s__Terra_gamma": "MAG4", "gtdb:g__Soilia": "MAG3"}  # new species: genus
    print("\nKraken2 on own MAGs:", {f: f"{counts.get(f, 0) / total:.4f} (truth "
          f"{built['pairs'][g] / total:.4f})" for f, g in expected.items()})
    for feature, genome in expected.items():
        assert counts.get(feature, 0) / total == pytest.approx(
            built["pairs"][genome] / total, abs=0.02), (feature, counts)
    lineage = table.taxonomy.loc["gtdb:s__Soilia_alpha"]
    assert lineage["genus"] == "Soilia" and lineage["domain"] == "Bacteria"


def test_bad_input_is_refused_before_anything_is_written(built: dict, tmp_path: Path) -> None:
    genomes = sorted(built["tmp"].glob("MAG*.fna.gz"))
    short = tmp_path / "short.tsv"
    short.write_text("".join(line + "\n" for line in
                             built["lineages"].read_text().splitlines()[:-1]))
    res = soilbiome("refdb", "build-kraken2", *genomes, "--lineages", short, "--out",
                    tmp_path / "db")
    assert res.exit_code == 2 and "1 genome(s) have no lineage: MAG4.fna.gz" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1 and not list(tmp_path.glob("*db*"))
    res = soilbiome("refdb", "build-kraken2", *genomes, "--lineages", built["lineages"],
                    "--out", built["tmp"] / "k2db")
    assert res.exit_code == 2 and "exists already" in res.stderr
    bad = tmp_path / "bad.fna"
    bad.write_text("ACGT\n")
    res = soilbiome("refdb", "build-kraken2", bad, "--lineages", tmp_path / "bad.tsv",
                    "--out", tmp_path / "db2")
    assert res.exit_code == 2  # (the lineage file does not exist: click names it)
    (tmp_path / "bad.tsv").write_text(f"bad.fna\t{LINEAGE};g__X;s__X y\n")
    res = soilbiome("refdb", "build-kraken2", bad, "--lineages", tmp_path / "bad.tsv",
                    "--out", tmp_path / "db2")
    assert res.exit_code == 2 and "not FASTA" in res.stderr and str(bad) in res.stderr
    assert not list(tmp_path.glob("*db2*"))


def test_lineages_that_disagree_are_refused() -> None:
    tax = lineage_taxonomy({"a": f"{LINEAGE};g__A;s__A a", "b": f"{LINEAGE};g__A;s__A b"}, "x")
    assert tax.taxid["a"] != tax.taxid["b"] and tax.nodes_dmp.count("\tspecies\t") == 2
    with pytest.raises(Exception, match="'g__A' is placed under 'f__Acidobacteriaceae'"):
        lineage_taxonomy({"a": f"{LINEAGE};g__A", "b": "d__Bacteria;p__Other;g__A"}, "x")
