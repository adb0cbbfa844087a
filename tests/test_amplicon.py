"""The amplicon main job on real reads: test (16S Atacama soil) and test_its (ITS2, primers on)."""

from __future__ import annotations

import csv
import re
import subprocess
import sys
from pathlib import Path

import biom
import pytest

from conftest import MAIN, ROOT, read_sheet, run_nextflow, write_sheet

pytestmark = pytest.mark.nextflow


def tsv(path: Path) -> list[dict]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


@pytest.fixture(scope="module")
def run16s(test_profile_run):
    outdir, proc = test_profile_run
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    return outdir


@pytest.fixture(scope="module")
def runits(its_profile_run):
    outdir, proc = its_profile_run
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    return outdir


def test_every_nonempty_sample_has_an_asv_and_blank_is_zero(run16s):
    table = biom.load_table(str(run16s / "biom" / "asv_table.biom"))
    samples = list(table.ids("sample"))
    assert len(samples) == 11 and "BLANK" in samples
    totals = dict(zip(samples, table.sum("sample"), strict=True))
    assert totals["BLANK"] == 0
    tracking = {r["sample"]: r for r in tsv(run16s / "dada2" / "read_tracking.tsv")}
    assert tracking["BLANK"]["input"] == "0" and tracking["BLANK"]["nonchim"] == "0"
    for sample, total in totals.items():
        if sample != "BLANK":
            assert total > 0, f"{sample} has no ASV"
            assert int(tracking[sample]["nonchim"]) == total


def test_every_asv_has_a_lineage_row(run16s):
    table = biom.load_table(str(run16s / "biom" / "asv_table.biom"))
    lineage = {r["feature_id"]: r for r in tsv(run16s / "taxonomy" / "lineage.tsv")}
    assert set(table.ids("observation")) == set(lineage)
    assert all(lineage[f]["domain"] == "Bacteria" for f in lineage if lineage[f]["domain"])
    assert sum(1 for r in lineage.values() if r["phylum"]) > 0


def test_biom_passes_biom_format_validator(run16s):
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "biom"), "validate-table", "-i",
         str(run16s / "biom" / "asv_table.biom")],
        capture_output=True, text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "The input file is a valid BIOM-formatted file." in proc.stdout


def test_biom_loads_in_phyloseq(run16s):
    script = (
        "suppressPackageStartupMessages({library(phyloseq); library(rhdf5)});"
        f"ps <- import_biom('{run16s / 'biom' / 'asv_table.biom'}');"
        "cat(nsamples(ps), ntaxa(ps), sum(otu_table(ps)), '\\n');"
        "cat(sort(sample_names(ps)), sep=',')"
    )
    proc = subprocess.run(["Rscript", "-e", script], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    first, names = proc.stdout.strip().splitlines()
    table = biom.load_table(str(run16s / "biom" / "asv_table.biom"))
    n_samples, n_taxa, total = first.split()
    assert int(n_samples) == 11 and int(n_taxa) == len(table.ids("observation"))
    assert float(total) == table.sum()
    assert names.split(",") == sorted(table.ids("sample"))


def test_report_is_self_contained(run16s):
    html = (run16s / "soilbiome_report.html").read_text()
    assert "plotly" in html.lower()
    assert re.search(r"<script[^>]*\ssrc=", html) is None  # plotly.js is inline
    assert re.search(r"<link[^>]*href=[\"']https?:", html) is None
    for sample in ("BAQ2420.2", "YUN3153.3", "BLANK"):
        assert sample in html
    # how the table was made, as the table records it
    context = html[html.index("<h3>Processing context</h3>"):][:3000]
    assert "ten16s_sintax" in context and "DADA2" in context and "V4" in context


def test_versions_cover_the_tools_used(run16s):
    import yaml

    tools = yaml.safe_load((run16s / "pipeline_info" / "software_versions.yml").read_text())
    assert {"dada2", "vsearch", "fastp", "nextflow", "soilbiome"} <= set(tools["tools"])
    # MULTIQC reads its version from the report's data file: it must be what MultiQC says
    import subprocess
    import sys
    from pathlib import Path

    multiqc = Path(sys.executable).parent / "multiqc"  # the project's, as the tasks' PATH has
    said = subprocess.run([str(multiqc), "--version"], capture_output=True, text=True,
                          check=True)
    assert str(tools["tools"]["multiqc"]) == said.stdout.split()[-1]


def test_its_profile_removes_primers_and_assigns_fungi(runits):
    primers = {r["sample"]: r for r in tsv(runits / "primers" / "primer_summary.tsv")}
    assert sorted(primers) == ["4774-1", "deadwood-ex"]
    assert float(primers["4774-1"]["fraction_with_primer"]) > 0.9
    assert primers["4774-1"]["flag"] == ""
    table = biom.load_table(str(runits / "biom" / "asv_table.biom"))
    assert table.sum("sample")[list(table.ids()).index("4774-1")] > 0
    lineage = tsv(runits / "taxonomy" / "lineage.tsv")
    # UNITE's k:Fungi is a kingdom under domain Eukaryota (docs/lineage.md)
    assert {r["kingdom"] for r in lineage if r["kingdom"]} == {"Fungi"}
    assert {r["domain"] for r in lineage if r["domain"]} == {"Eukaryota"}


def test_sample_lacking_primers_is_flagged(runits):
    """The deadwood ITS reads were made with other primers: most lack ITS3/ITS4."""
    flags = {r["sample"]: r["flag"] for r in tsv(runits / "primers" / "primer_summary.tsv")}
    assert flags["deadwood-ex"].startswith("most reads lack the primer")
    html = (runits / "soilbiome_report.html").read_text()
    assert "deadwood-ex" in html and "most reads lack the primer" in html


def test_its_profile_cuts_asvs_to_their_its2_region(runits):
    """ITS3/ITS4 amplicons: every ASV cut to ITS2 (ITSxpress), the 5.8S and 28S flanks gone."""
    cut = tsv(runits / "its" / "its_extraction.tsv")
    dada2 = tsv(runits / "dada2" / "asv_counts.tsv")
    assert {r["asv_id"] for r in cut} == {r["feature_id"] for r in dada2}
    assert {r["region"] for r in cut} == {"ITS2"}
    from soilbiome.io.biom_reader import read_table

    context = read_table(runits / "biom" / "asv_table.biom").context
    assert (context.marker, context.region) == ("ITS", "ITS2")  # from the ITS3/ITS4 primers
    assert (context.primer_fwd, context.reference) == ("GCATCGATGAAGAACGCAGC", "unite_mini_sintax")
    assert context.taxonomy_system == "UNITE"
    extracted = [r for r in cut if r["status"] == "extracted"]
    assert extracted and all(int(r["its_length"]) < int(r["asv_length"]) for r in extracted)
    table = biom.load_table(str(runits / "biom" / "asv_table.biom"))
    its_ids = {r["feature_id"]: r["sequence"] for r in tsv(runits / "its" / "asv_counts.tsv")}
    assert set(table.ids("observation")) == set(its_ids)
    full = {r["feature_id"]: r["sequence"] for r in dada2}
    for row in extracted:  # each ITS2 sequence is a stretch of its ASV, without the 5.8S start
        its = its_ids[row["its_asv_id"]]
        assert its in full[row["asv_id"]] and not full[row["asv_id"]].startswith(its)
    summary = {r["sample"]: r for r in tsv(runits / "its" / "its_summary.tsv")}
    for sample in ("4774-1", "deadwood-ex"):  # every read accounted for, per sample
        row = summary[sample]
        assert int(row["reads"]) == sum(int(r[sample]) for r in dada2)
        assert int(row["reads_its"]) + int(row["reads_no_its_region"]) == int(row["reads"])
        in_table = int(table.sum("sample")[list(table.ids()).index(sample)])
        assert int(row["reads_its"]) == in_table + sum(
            int(r[sample]) for r in tsv(runits / "cleanup" / "nontarget_counts.tsv"))


def test_wrong_reference_checksum_stops_before_any_task(tmp_path):
    sheet = tmp_path / "refdb.csv"
    header, rows = read_sheet(ROOT / "assets" / "refdb" / "test_refdb.csv")
    for row in rows:
        row["path"] = str((ROOT / "assets" / "refdb" / row["path"]).resolve())
    rows[0]["sha256"] = "0" * 64
    write_sheet(sheet, header, rows)
    outdir = tmp_path / "results"
    proc = run_nextflow("run", str(MAIN), "-profile", "test", "--refdb_sheet", str(sheet),
                        "--outdir", str(outdir), cwd=tmp_path)
    assert proc.returncode != 0
    text = proc.stdout + proc.stderr
    assert "database 'ten16s_sintax'" in text and "column 'sha256': checksum mismatch" in text
    # no task folder: only the start-up gate's staging folder may exist in work/
    work = tmp_path / "work"
    assert not work.exists() or {p.name for p in work.iterdir()} <= {"soilbiome-startup"}
    assert not outdir.exists() or not (outdir / "biom").exists()


VEGAN_R = r"""
args <- commandArgs(trailingOnly = TRUE)
suppressPackageStartupMessages(library(vegan))
x <- as.matrix(read.csv(args[1], row.names = 1, check.names = FALSE))
alpha <- data.frame(sample = rownames(x), observed = specnumber(x),
                    shannon = diversity(x, "shannon"), simpson = diversity(x, "simpson"),
                    chao1 = estimateR(x)["S.chao1", ], check.names = FALSE)
alpha$pielou <- alpha$shannon / log(alpha$observed)
write.csv(alpha, file.path(args[2], "alpha.csv"), row.names = FALSE)
write.csv(as.matrix(vegdist(x, "bray")), file.path(args[2], "bray.csv"))
write.csv(as.matrix(vegdist(x, "jaccard", binary = TRUE)), file.path(args[2], "jaccard.csv"))
"""


def test_diversity_equals_vegan_on_the_output_table(run16s, tmp_path):
    """Indices published by the pipeline equal vegan's on the published BIOM (within 1e-9)."""
    table = biom.load_table(str(run16s / "biom" / "asv_table.biom"))
    samples = [s for s, total in zip(table.ids(), table.sum("sample"), strict=True) if total > 0]
    counts = tmp_path / "counts.csv"
    with counts.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["sample", *table.ids("observation")])
        for sample in samples:
            writer.writerow([sample, *(int(v) for v in table.data(sample, dense=True))])
    (tmp_path / "vegan.R").write_text(VEGAN_R)
    proc = subprocess.run(["Rscript", str(tmp_path / "vegan.R"), str(counts), str(tmp_path)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    ours = {r["sample"]: r for r in tsv(run16s / "diversity" / "alpha_diversity.tsv")}
    assert ours["BLANK"]["reads"] == "0" and ours["BLANK"]["shannon"] == "NaN"
    with (tmp_path / "alpha.csv").open() as handle:
        vegan = list(csv.DictReader(handle))
    assert [r["sample"] for r in vegan] == samples
    for row in vegan:
        mine = ours[row["sample"]]
        assert mine["shannon_base"] == "e"
        for their, our in (("observed", "observed_features"), ("shannon", "shannon"),
                           ("simpson", "simpson"), ("chao1", "chao1"),
                           ("pielou", "pielou_evenness")):
            assert abs(float(mine[our]) - float(row[their])) < 1e-9, (row["sample"], our)
    for metric in ("bray", "jaccard"):
        name = "braycurtis" if metric == "bray" else "jaccard"
        theirs = {r[""]: r for r in csv.DictReader((tmp_path / f"{metric}.csv").open())}
        mine = {r[""]: r for r in tsv(run16s / "diversity" / f"beta_{name}.tsv")}
        assert set(mine) == set(samples)
        for a in samples:
            for b in samples:
                assert abs(float(mine[a][b]) - float(theirs[a][b])) < 1e-9, (metric, a, b)


def test_published_table_is_stamped_and_verifies(run16s):
    proc = subprocess.run(
        [sys.executable, "-m", "soilbiome", "verify", str(run16s / "biom" / "asv_table.biom"),
         "--agreement", str(run16s / "sharing" / "agreement.yaml")],
        capture_output=True, text=True,
    )
    # every rule decided (D7/D9 through the crate the stamp links to): a plain OK
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "In short: OK: 10 rule(s) passed." in proc.stdout
    assert all(re.search(rf"^passed\s+D{i}\s", proc.stdout, re.M) for i in range(1, 11))
    assert (run16s / "biom" / "asv_table.biom.sharing.dsse.json").is_file()
    published = "\n".join(p.read_text(errors="replace") for p in run16s.rglob("*") if p.is_file()
                          and p.suffix in {".json", ".yaml", ".yml", ".tsv", ".csv", ".txt"})
    assert "PRIVATE KEY" not in published
