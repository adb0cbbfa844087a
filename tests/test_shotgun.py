"""--mode shotgun end to end (-profile test_shotgun) and host-read removal, real tools.

The demo reads name their source (``s__Bacteroides_dorei_read...``, ``unclassified_read...``):
the truth is counted from the read names here, never written into the test.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import random
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from conftest import (
    KRAKEN2_DEMO,
    MAIN,
    ROOT,
    TESTDATA,
    nextflow_warnings,
    read_tsv,
    run_nextflow,
    trace_rows,
)
from soilbiome.io.biom import validate_biom
from soilbiome.io.biom_reader import read_table

DEMO = TESTDATA / "shotgun" / "humann_demo.fastq.gz"
DEMO_DB_SHEET = KRAKEN2_DEMO / "refdb.csv"
DORIE, VULGATUS = "Bacteroides_dorei", "Bacteroides_vulgatus"

pytestmark = [pytest.mark.nextflow, pytest.mark.usefixtures("kraken2_demo")]


def truth_from_read_names(fastq: Path) -> Counter:
    """Reads per source, from names such as ``@s__Bacteroides_dorei_read000001``."""
    counts: Counter = Counter()
    with gzip.open(fastq, "rt") as handle:
        for number, line in enumerate(handle):
            if number % 4 == 0:
                source = line[1:].split("_read", 1)[0]
                counts[source.removeprefix("s__")] += 1
    return counts


@pytest.fixture(scope="session")
def shotgun_run(tmp_path_factory):
    """One real run of ``-profile test_shotgun`` with both profilers (sylph first: its table
    gets the diversity; Kraken2's is shown beside it)."""
    launch = tmp_path_factory.mktemp("nf_test_shotgun")
    outdir = launch / "results"
    proc = run_nextflow("run", str(MAIN), "-profile", "test_shotgun", "--outdir", str(outdir),
                        "--kraken2_save_reads", "true", "--shotgun_profiler", "sylph,kraken2",
                        cwd=launch)
    return outdir, proc


def _species_share(table, species: str, other: str) -> float:
    totals = dict(zip(table.taxonomy["species"], table.counts.toarray()[0], strict=True))
    return totals[species] / (totals[species] + totals[other])


def test_test_shotgun_profile_runs(shotgun_run):
    outdir, proc = shotgun_run
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert (outdir / "biom" / "taxon_table.biom").is_file()
    assert (outdir / "soilbiome_report.html").is_file()
    assert nextflow_warnings(proc) == []


def test_dorei_share_matches_the_truth(shotgun_run):
    outdir, _ = shotgun_run
    truth = truth_from_read_names(DEMO)
    assert truth == Counter({DORIE: 10848, VULGATUS: 9152, "unclassified": 1000})
    expected = truth[DORIE] / (truth[DORIE] + truth[VULGATUS])
    table = read_table(outdir / "biom" / "taxon_table.biom")
    share = _species_share(table, DORIE, VULGATUS)
    assert abs(share - expected) <= 0.02, (share, expected)
    # the re-estimation moved the genus-level reads: Kraken2 alone is further off
    report = {r[4]: int(r[2]) for r in csv.reader(
        (outdir / "kraken2" / "humann_demo.kraken2.report.txt").open(), delimiter="\t")}
    kraken_share = report["357276"] / (report["357276"] + report["821"])
    assert abs(share - expected) < abs(kraken_share - expected)


def test_unclassified_reads_are_kept_and_reported(shotgun_run):
    outdir, _ = shotgun_run
    truth = truth_from_read_names(DEMO)
    # every truly unclassified read reached Kraken2 and was left unclassified
    with gzip.open(outdir / "kraken2" / "humann_demo.kraken2.output.txt.gz", "rt") as handle:
        calls = [line.split("\t")[:2] for line in handle]
    unclassified_calls = Counter(status for status, name in calls
                                 if name.startswith("unclassified_read"))
    assert unclassified_calls == Counter({"U": truth["unclassified"]})
    qc = read_tsv(outdir / "qc" / "shotgun_summary.tsv")[0]
    after_qc = int(qc["reads_after_qc"])
    assert int(qc["reads_in"]) == sum(truth.values()) and after_qc == len(calls)
    table = read_table(outdir / "biom" / "taxon_table.biom")
    counts = dict(zip(table.feature_ids, table.counts.toarray()[0], strict=True))
    # every read that reached Kraken2 is in the table, the unclassified ones as 'unclassified'
    assert table.sample_totals()[0] == after_qc
    assert counts["unclassified"] == sum(1 for status, _ in calls if status == "U")
    assert counts["unclassified"] >= truth["unclassified"]
    assert table.taxonomy.loc["unclassified"].eq("").all()
    md = table.sample_metadata.loc["humann_demo"]
    classified = int(md["reads_classified"])
    assert classified + int(md["reads_unclassified"]) == after_qc
    assert float(md["classified_fraction"]) == pytest.approx(classified / after_qc, abs=1e-4)
    assert qc["classified_fraction"] == md["classified_fraction"]
    assert int(qc["reads_unclassified"]) == counts["unclassified"]
    html = (outdir / "soilbiome_report.html").read_text()
    first_screen = html.split('<section id="overview">', 1)[1].split("</section>", 1)[0]
    assert "profiled reads" in first_screen  # of the first profiler's (sylph's) table
    side = html.split('<section id="profilers">', 1)[1].split("</section>", 1)[0]
    assert f"{float(md['classified_fraction']):.1%}" in side  # Kraken2's, side by side
    assert f"{float(md['unexplained_fraction']):.1%}" in side


def test_shotgun_biom_contract(shotgun_run):
    outdir, _ = shotgun_run
    biom = outdir / "biom" / "taxon_table.biom"
    assert validate_biom(biom) == []
    table = read_table(biom)
    assert table.marker == "shotgun" and table.value_kind == "counts"
    assert set(table.feature_ids) >= {"ncbi:357276", "ncbi:821", "unclassified"}
    assert (outdir / "abundance" / "humann_demo.bracken.tsv").is_file()
    assert (outdir / "diversity" / "alpha_diversity.tsv").is_file()


def test_sylph_table_beside_kraken2(shotgun_run):
    outdir, _ = shotgun_run
    biom = outdir / "biom" / "sylph_taxon_table.biom"
    assert validate_biom(biom) == []
    table = read_table(biom)
    context = table.context
    assert (table.marker, table.value_kind) == ("shotgun", "relative")
    assert (context.method, context.taxonomy_system) == ("sylph", "GTDB")
    assert context.method_version.startswith("pysylph ")
    sheet = {r["name"]: r for r in csv.DictReader(
        (KRAKEN2_DEMO.parent / "sylph_demo" / "refdb.csv").open())}
    assert context.reference_sha256 == sheet["humann_demo_sylph"]["sha256"]
    # GTDB names kept; per-genome figures in sylph's own TSV layout
    assert "gtdb:s__Phocaeicola_dorei" in table.feature_ids
    rows = read_tsv(outdir / "sylph" / "humann_demo.sylph.tsv")
    assert rows and {"Taxonomic_abundance", "Sequence_abundance", "True_cov",
                     "Adjusted_ANI"} <= set(rows[0])
    # Contig_name as sylph writes it (sylph-tax looks genomes up by it): the genome's first
    # contig header where the database kept it (a database built before that: the genome)
    from soilbiome.shotgun.sylph import first_contigs

    contigs = first_contigs(KRAKEN2_DEMO.parent / "sylph_demo" / "db")
    for row in rows:
        assert row["Contig_name"] == contigs.get(row["Genome_file"], row["Genome_file"])
        assert row["Contig_name"] not in ("", "NA")
    summary = read_tsv(outdir / "qc" / "sylph_summary.tsv")[0]
    explained = sum(float(r["Sequence_abundance"]) for r in rows) / 100
    assert float(summary["profiled_fraction"]) == pytest.approx(explained, abs=1e-3)
    assert float(summary["profiled_fraction"]) + float(summary["unexplained_fraction"]) == \
        pytest.approx(1.0, abs=1e-3)
    counts = dict(zip(table.feature_ids, table.counts.toarray()[0], strict=True))
    assert counts.get("unclassified", 0.0) == pytest.approx(1 - explained, abs=1e-3)
    # diversity is computed on the profiled part only, and says so
    import json

    div = json.loads((outdir / "diversity" / "diversity.json").read_text())
    assert div["parameters"]["profiled_part_only"]["feature_left_out"] == "unclassified"
    html = (outdir / "soilbiome_report.html").read_text()
    assert "Profiled part only" in html
    # the report's table is sylph's shares: no reads, no per-sample Chao1 flag, no primers;
    # the run's shotgun options are listed (both profilers ran), DADA2's are not
    assert "reads in table" not in html and "sum of shares" in html
    assert "Chao1 is not computed for any sample" in html and "primer summary" not in html
    parameters = html[html.index("<h3>Parameters</h3>"):html.index("<h3>Licence stamp</h3>")]
    for name in ("shotgun_profiler", "sylph_db", "kraken2_confidence", "bracken_read_length"):
        assert name in parameters, name
    assert "dada2_" not in parameters and "primer_fwd" not in parameters
    proc = subprocess.run(
        [sys.executable, "-m", "soilbiome", "verify", str(biom),
         "--agreement", str(outdir / "sharing" / "agreement.yaml")],
        capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_stamped_shotgun_table_verifies(shotgun_run):
    outdir, _ = shotgun_run
    proc = subprocess.run(
        [sys.executable, "-m", "soilbiome", "verify", str(outdir / "biom" / "taxon_table.biom"),
         "--agreement", str(outdir / "sharing" / "agreement.yaml")],
        capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


# --------------------------------------------------------------------------- host removal

def _random_genome(length: int, rng: random.Random) -> str:
    return "".join(rng.choice("ACGT") for _ in range(length))


def _revcomp(seq: str) -> str:
    return seq[::-1].translate(str.maketrans("ACGT", "TGCA"))


N_HOST, N_DEMO = 400, 3000
N_ALL_N = 20  # reads of sample 'all_n': every base N, so none survives fastp


@pytest.fixture(scope="session")
def host_run(tmp_path_factory):
    """A real run with a tiny host genome made here: sample ``host_spiked`` = 3,000 demo reads
    + 400 host reads, sample ``demo_part2`` = the next 3,000 demo reads (no host), and sample
    ``all_n`` = 20 reads of N only (empty after QC: it must flow through, not fail the batch)."""
    tmp_path = tmp_path_factory.mktemp("nf_shotgun_host")
    rng = random.Random(20261121)
    host = _random_genome(30_000, rng)
    fasta = tmp_path / "host.fa"
    fasta.write_text(">host_chr1 synthetic host genome\n"
                     + "\n".join(host[i:i + 80] for i in range(0, len(host), 80)) + "\n")
    spiked, part2 = tmp_path / "host_spiked.fastq.gz", tmp_path / "demo_part2.fastq.gz"
    with gzip.open(DEMO, "rt") as demo:
        with gzip.open(spiked, "wt") as out:
            for _ in range(N_DEMO):
                out.write("".join(next(demo) for _ in range(4)))
            for i in range(N_HOST):
                start = rng.randrange(0, len(host) - 100)
                seq = host[start:start + 100]
                seq = _revcomp(seq) if i % 2 else seq
                out.write(f"@host_read{i:04d}\n{seq}\n+\n{'I' * 100}\n")
        with gzip.open(part2, "wt") as out:
            for _ in range(N_DEMO):
                out.write("".join(next(demo) for _ in range(4)))
    all_n = tmp_path / "all_n.fastq.gz"
    with gzip.open(all_n, "wt") as out:
        for i in range(N_ALL_N):
            out.write(f"@all_n_read{i:02d}\n{'N' * 100}\n+\n{'#' * 100}\n")
    with (ROOT / "assets" / "samplesheets" / "shotgun_demo.csv").open() as handle:
        reader = csv.DictReader(handle)
        header, row = reader.fieldnames, next(reader)
    sheet = tmp_path / "samplesheet.csv"
    with sheet.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=header)
        writer.writeheader()
        writer.writerow({**row, "sample": "host_spiked", "fastq_1": str(spiked)})
        writer.writerow({**row, "sample": "demo_part2", "fastq_1": str(part2)})
        writer.writerow({**row, "sample": "all_n", "fastq_1": str(all_n)})
    db_sheet = tmp_path / "databases.csv"
    with DEMO_DB_SHEET.open() as handle:
        rows = list(csv.DictReader(handle))
    rows[0]["path"] = str(DEMO_DB_SHEET.parent)
    rows.append({"name": "tiny_host", "version": "test", "marker": "host",
                 "format": "host_fasta", "licence": "CC0-1.0",
                 "citation": "synthetic random genome made by the test", "path": str(fasta),
                 "sha256": hashlib.sha256(fasta.read_bytes()).hexdigest()})
    with db_sheet.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    outdir = tmp_path / "results"
    # the non-default QC options: fastp's filtered reads written plain (into bowtie2, then
    # Kraken2; the all-N sample's zero-byte file included) and its duplication estimate on
    proc = run_nextflow("run", str(MAIN), "-profile", "test_shotgun", "--input", str(sheet),
                        "--refdb_sheet", str(db_sheet), "--host_db", "tiny_host",
                        "--kraken2_save_reads", "true", "--qc_compression", "0",
                        "--qc_duplication", "true", "--outdir", str(outdir), cwd=tmp_path)
    return outdir, proc


def test_host_spiked_sample_loses_its_host_reads(host_run):
    outdir, proc = host_run
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    summary = {r["sample"]: r for r in read_tsv(outdir / "qc" / "shotgun_summary.tsv")}
    spiked = summary["host_spiked"]
    # fastp drops a few demo reads (> 5 N); every host read passes QC and is removed
    assert int(spiked["reads_in"]) == N_HOST + N_DEMO
    assert int(spiked["reads_host"]) == N_HOST
    profiled = int(spiked["reads_profiled"])
    assert profiled == int(spiked["reads_after_qc"]) - N_HOST > 0.95 * N_DEMO
    assert int(summary["demo_part2"]["reads_host"]) == 0
    # no host read reached Kraken2 or the table
    with gzip.open(outdir / "kraken2" / "host_spiked.kraken2.output.txt.gz", "rt") as handle:
        names = [line.split("\t")[1] for line in handle]
    assert len(names) == profiled and not any(n.startswith("host_") for n in names)
    table = read_table(outdir / "biom" / "taxon_table.biom")
    totals = dict(zip(table.sample_ids, table.sample_totals(), strict=True))
    assert totals["host_spiked"] == profiled
    md = table.sample_metadata.loc["host_spiked"]
    assert int(md["reads_host"]) == N_HOST
    assert float(md["host_fraction"]) == pytest.approx(
        N_HOST / int(spiked["reads_after_qc"]), abs=1e-4)


def test_duplication_is_estimated_only_on_request(shotgun_run, host_run):
    for (outdir, proc), wanted in ((shotgun_run, False), (host_run, True)):
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
        rows = [r for r in read_tsv(outdir / "qc" / "qc_summary.tsv") if r["status"] == "ok"]
        assert rows
        for row in rows:
            if wanted:
                assert 0.0 <= float(row["duplication_rate"]) <= 1.0
            else:
                assert row["duplication_rate"] == "NA"


def test_plain_filtered_reads_stay_in_the_work_folder(host_run):
    outdir, _ = host_run
    plain = list((outdir.parent / "work").glob("*/*/*.fastp.fastq"))
    assert {p.name for p in plain} == {"host_spiked.fastp.fastq", "demo_part2.fastp.fastq",
                                        "all_n.fastp.fastq"}
    assert not list((outdir.parent / "work").glob("*/*/*.fastp.fastq.gz"))
    assert not list(outdir.rglob("*.fastq")) and not list(outdir.rglob("*.fastp.fastq.gz"))


def test_an_all_n_sample_flows_through_with_zero_counts(host_run):
    outdir, proc = host_run
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    qc = {r["sample"]: r for r in read_tsv(outdir / "qc" / "qc_summary.tsv")}
    assert (int(qc["all_n"]["reads_in"]), int(qc["all_n"]["reads_out"])) == (N_ALL_N, 0)
    assert qc["all_n"]["status"] != "ok"  # reported, not silently dropped
    summary = {r["sample"]: r for r in read_tsv(outdir / "qc" / "shotgun_summary.tsv")}
    row = summary["all_n"]
    assert (int(row["reads_in"]), int(row["reads_after_qc"]), int(row["reads_profiled"]),
            int(row["reads_classified"])) == (N_ALL_N, 0, 0, 0)
    table = read_table(outdir / "biom" / "taxon_table.biom")
    totals = dict(zip(table.sample_ids, table.sample_totals(), strict=True))
    assert set(totals) == {"host_spiked", "demo_part2", "all_n"}
    assert totals["all_n"] == 0 and totals["host_spiked"] > 0 and totals["demo_part2"] > 0
    abundance = read_tsv(outdir / "abundance" / "all_n.bracken.tsv")
    assert abundance == []  # Bracken-format file with its header and no taxa
    alpha = {r["sample"]: r for r in read_tsv(outdir / "diversity" / "alpha_diversity.tsv")}
    assert alpha["all_n"]["reads"] == "0" and "empty sample" in alpha["all_n"]["note"]
    assert alpha["demo_part2"]["observed_features"] not in ("", "NaN")
    assert "all_n" in (outdir / "soilbiome_report.html").read_text()


def test_shotgun_table_records_the_manifest_digest_of_the_database(host_run, tmp_path):
    from soilbiome.refdb import kraken2_digest

    outdir, proc = host_run
    assert proc.returncode == 0, proc.stderr[-2000:]
    context = read_table(outdir / "biom" / "taxon_table.biom").context
    assert context.reference_sha256 == kraken2_digest(KRAKEN2_DEMO)
    import json

    recorded = json.loads((outdir / "pipeline_info" / "reference_database.json").read_text())
    assert recorded["sha256"] == context.reference_sha256


@pytest.mark.skipif(shutil.which("Rscript") is None, reason="Rscript not found")
def test_shotgun_biom_loads_in_phyloseq(host_run, tmp_path):
    # (R's biomformat cannot read a one-sample HDF5 table at all -- docs/shotgun.md -- so this
    # reads the three-sample table of the host run, one sample empty)
    outdir, proc = host_run
    assert proc.returncode == 0, proc.stderr[-2000:]
    biom = outdir / "biom" / "taxon_table.biom"
    script = tmp_path / "load.R"
    script.write_text(
        "suppressPackageStartupMessages({library(phyloseq); library(rhdf5)})\n"
        "args <- commandArgs(trailingOnly = TRUE)\n"
        "ps <- import_biom(args[1], parseFunction = parse_taxonomy_greengenes)\n"
        "tax <- as(tax_table(ps), 'matrix')\n"
        "cat(ntaxa(ps), nsamples(ps), sum(otu_table(ps)), '\\n')\n"
        "cat(tax['ncbi:357276', ncol(tax)], '\\n')\n")
    proc = subprocess.run(["Rscript", str(script), str(biom)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    first, second = proc.stdout.strip().splitlines()[-2:]
    table = read_table(biom)
    assert first.split() == [str(len(table.feature_ids)), "3",
                             str(int(table.sample_totals().sum()))]
    assert second.strip() == DORIE


def _nextflow_bytes(text: str) -> int:
    """Bytes of a trace's memory column (``2 GB``: Nextflow's units are powers of 1024)."""
    value, unit = text.split()
    return round(float(value) * 1024 ** ("B KB MB GB TB".split().index(unit)))


def test_database_tasks_ask_for_what_their_database_needs(shotgun_run):
    """Kraken2's and sylph's tasks ask the scheduler for the loaded files plus headroom
    (soilbiome.refdb.memory), not process_low's 4 GB; the other tasks keep their label's."""
    import json

    from soilbiome.refdb.memory import database_memory

    outdir, _ = shotgun_run
    info = outdir / "pipeline_info"
    need = {}
    for record in ("reference_database.json", "sylph_database.json"):
        entry = json.loads((info / record).read_text())
        need[entry["format"]] = database_memory(entry["format"], entry["path"])
    asked = {row["process"].split(":")[-1]: _nextflow_bytes(row["memory"])
             for row in trace_rows(outdir)}
    assert asked["KRAKEN2"] == need["kraken2"] and asked["SYLPH_PROFILE"] == need["sylph"]
    assert need["kraken2"] != need["sylph"]  # each task got its own database's figure
    assert asked["SHOTGUN_TABLE"] == 1 << 30  # process_single


def test_sylph_alone_streams_fastp_into_its_sketcher(shotgun_run, tmp_path):
    """--shotgun_profiler sylph with fastp: no FASTQ_QC task and no filtered reads written;
    the same sylph profile and QC record as the run where FASTQ_QC wrote them (shotgun_run)."""
    outdir, _ = shotgun_run
    alone = tmp_path / "results"
    proc = run_nextflow("run", str(MAIN), "-profile", "test_shotgun", "--outdir", str(alone),
                        "--shotgun_profiler", "sylph", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert nextflow_warnings(proc) == []
    processes = [r["process"].split(":")[-1] for r in trace_rows(alone)]
    assert "FASTQ_QC" not in processes and processes.count("SYLPH_PROFILE") == 1, processes
    assert not list((tmp_path / "work").rglob("*.fastp.fastq*"))
    for name in ("sylph/humann_demo.sylph.tsv", "qc/fastp/humann_demo.qc.json"):
        assert (alone / name).read_text() == (outdir / name).read_text(), name
    for name in ("humann_demo.fastp.json", "humann_demo.fastp.html"):
        assert (alone / "qc" / "fastp" / name).is_file()
    versions = (alone / "pipeline_info" / "software_versions.yml").read_text()
    assert "SYLPH_PROFILE" in versions and "fastp" in versions.split("SYLPH_PROFILE", 1)[1]
