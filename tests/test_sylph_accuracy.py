"""Accuracy where the truth is known: a synthetic community profiled by sylph and Kraken2.

Five genomes in known shares (coverage 8, 4, 2, 1, 1) plus a sixth organism that is *not* in
the database: a relative at 85 % ANI of a database genome (G6) that is itself absent from the
sample, as most soil organisms are absent from genome catalogues but have relatives in them.
Paired 150 nt reads with falling Phred qualities and errors drawn from them
(tests/metagenome_sim.py, seeded). Truth is computed from the simulation's own numbers, never
written in: taxonomic share = coverage / total coverage of the database genomes present; the
unexplained share = the unknown organism's bases / all bases.

sylph must give every genome's taxonomic share within +/- 0.02, report nothing for G6, and
leave the unknown organism's reads unexplained. Kraken2 runs on the same reads against a
Kraken2 database of the same six genomes, for the side-by-side (printed with ``pytest -s``).
"""

from __future__ import annotations

import subprocess

import numpy as np
import pytest
from metagenome_sim import neighbour, random_genome, simulate_pairs, write_fasta
from test_profiles import soilbiome

from soilbiome.io.profiles.kraken2 import read_kraken2
from soilbiome.io.profiles.sylph import read_sylph_samples
from soilbiome.taxonomy.taxdump import read_taxdump

KNOWN = {"G1": 8.0, "G2": 4.0, "G3": 2.0, "G4": 1.0, "G5": 1.0}
UNKNOWN_COVERAGE = 4.0
GENOME_LENGTH = 400_000


@pytest.fixture(scope="module")
def community(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("sylph_accuracy")
    rng = np.random.default_rng(7)
    genomes = {f"G{i}": random_genome(GENOME_LENGTH + 20_000 * i, rng) for i in range(1, 7)}
    unknown = neighbour(genomes["G6"], 0.85, rng)
    files = []
    for name, seq in genomes.items():
        path = tmp / f"{name}.fna.gz"
        write_fasta(seq, name, path)
        files.append(path)
    r1, r2 = tmp / "soil_R1.fastq.gz", tmp / "soil_R2.fastq.gz"
    sample = {**{k: genomes[k] for k in KNOWN}, "U": unknown}
    simulate_pairs(sample, {**KNOWN, "U": UNKNOWN_COVERAGE}, r1, r2, seed=11)
    bases = {k: KNOWN[k] * len(genomes[k]) for k in KNOWN}
    bases["U"] = UNKNOWN_COVERAGE * len(unknown)
    truth = {
        "taxonomic": {k: v / sum(KNOWN.values()) for k, v in KNOWN.items()},
        "reads": {k: b / sum(bases.values()) for k, b in bases.items()},
    }
    return tmp, genomes, files, (r1, r2), truth


@pytest.fixture(scope="module")
def sylph_result(community):
    tmp, genomes, files, reads, _ = community
    lineages = tmp / "lineages.tsv"
    lineages.write_text("".join(
        f"{n}.fna.gz\td__Bacteria;p__Synthetica;c__Synthetia;o__Synthales;f__Synthaceae;"
        f"g__Gen{n[1:]};s__Gen{n[1:]} synthetica\n" for n in genomes))
    db = tmp / "sylph_db"
    soilbiome("refdb", "build-sylph", *files, "--lineages", lineages, "--out", db, check=True)
    out = tmp / "soil.sylph.tsv"
    soilbiome("shotgun", "sylph-profile", *reads, "--db", db, "--sample", "soil", "--out", out,
              check=True)
    rows = {}
    for line in out.read_text().splitlines()[1:]:
        fields = line.split("\t")
        rows[fields[1].split(".")[0]] = fields
    return rows, read_sylph_samples(out)[0]


@pytest.fixture(scope="module")
def kraken2_result(community, sylph_result):
    """Kraken2 on the same reads, its database built by ``refdb build-kraken2`` from the same
    genome files and lineage file as the sylph database."""
    tmp, genomes, files, reads, _ = community
    db = tmp / "kraken2_db"
    soilbiome("refdb", "build-kraken2", *files, "--lineages", tmp / "lineages.tsv", "--out", db,
              "--read-length", "150", "--threads", "2", check=True)
    report = tmp / "soil.kraken2.report.txt"
    subprocess.run(["kraken2", "--db", str(db), "--paired", "--threads", "2", "--report",
                    str(report), "--output", "/dev/null", *map(str, reads)], check=True,
                   capture_output=True)
    profile = read_kraken2(report, "soil")
    taxonomy = read_taxdump(db)
    taxid = {name: t for t, name in taxonomy.name.items()}
    by_name = {n: profile.values.get(taxid[f"s__Gen{n[1:]} synthetica"], 0.0) for n in genomes}
    return by_name, profile


def test_sylph_taxonomic_shares_within_two_points(sylph_result, community):
    rows, _ = sylph_result
    truth = community[4]["taxonomic"]
    shares = {g: float(rows[g][2]) / 100 for g in KNOWN if g in rows}
    assert set(shares) == set(KNOWN), f"genomes detected: {sorted(rows)}"
    for genome, expected in truth.items():
        assert shares[genome] == pytest.approx(expected, abs=0.02), (genome, shares)


def test_contig_name_is_the_first_contig_as_sylph_writes_it(sylph_result):
    """Contig_name is never empty or NA: sylph-tax looks genomes up by it (and pandas reads
    'NA' as a missing value, on which sylph-tax 1.9 fails)."""
    rows, _ = sylph_result
    for genome, fields in rows.items():
        assert fields[14] == f"{genome}_contig1"


def test_sylph_does_not_give_the_unknown_organism_to_its_relative(sylph_result):
    rows, _ = sylph_result
    assert set(rows) == set(KNOWN)  # G6 (the unknown's 85 % ANI relative) not reported


def test_sylph_reports_the_unknown_share_as_unexplained(sylph_result, community):
    _, profile = sylph_result
    truth = community[4]["reads"]["U"]
    assert profile.unclassified == pytest.approx(truth, abs=0.04)
    # per genome, the sequence (read) share is near the truth too
    for genome in KNOWN:
        key = next(k for k in profile.values if k.startswith(genome + "."))
        assert profile.values[key] == pytest.approx(community[4]["reads"][genome], abs=0.03)


def test_side_by_side_with_kraken2_on_the_same_reads(sylph_result, kraken2_result, community):
    rows, sylph_profile = sylph_result
    kraken, k_profile = kraken2_result
    truth = community[4]
    total = k_profile.total
    lines = [f"{'genome':8}{'truth tax':>10}{'sylph tax':>10}{'truth reads':>12}"
             f"{'sylph reads':>12}{'kraken2 reads':>14}"]
    for genome in [*KNOWN, "G6", "U"]:
        lines.append(
            f"{genome:8}{truth['taxonomic'].get(genome, 0):>10.3f}"
            f"{float(rows[genome][2]) / 100 if genome in rows else 0:>10.3f}"
            f"{truth['reads'].get(genome, 0):>12.3f}"
            f"{float(rows[genome][3]) / 100 if genome in rows else 0:>12.3f}"
            f"{(kraken.get(genome, 0) / total) if genome != 'U' else 0:>14.3f}")
    lines.append(f"{'unexplained / unclassified':30}{sylph_profile.unclassified:>10.3f}"
                 f"{k_profile.unclassified / total:>14.3f}  (truth {truth['reads']['U']:.3f})")
    print("\n" + "\n".join(lines))
    # Kraken2 on the same reads: its read shares of the genomes present are near the truth
    for genome in KNOWN:
        assert kraken[genome] / total == pytest.approx(truth["reads"][genome], abs=0.03)


def test_batch_profiles_every_sample_against_the_database_loaded_once(sylph_result, community):
    """The pipeline's form: one call for the batch gives each sample the TSV a call of its own
    gives (byte for byte), single-end and paired samples mixed."""
    tmp, _, _, (r1, r2), _ = community
    db, outdir = tmp / "sylph_db", tmp / "batch"
    manifest = tmp / "batch.tsv"
    manifest.write_text(f"soil\t{r1}\t{r2}\nsoil_r1\t{r1}\n")
    soilbiome("shotgun", "sylph-profile", "--batch", manifest, "--db", db, "--outdir", outdir,
              "--threads", "1", check=True)
    assert sorted(p.name for p in outdir.iterdir()) == ["soil.sylph.tsv", "soil_r1.sylph.tsv"]
    assert (outdir / "soil.sylph.tsv").read_bytes() == (tmp / "soil.sylph.tsv").read_bytes()
    single = tmp / "soil_r1.single.tsv"
    soilbiome("shotgun", "sylph-profile", r1, "--db", db, "--sample", "soil_r1", "--out", single,
              check=True)
    assert (outdir / "soil_r1.sylph.tsv").read_bytes() == single.read_bytes()
    # two samples sketched side by side (forked workers sharing the loaded database) give the
    # same files as one after the other
    side_by_side = tmp / "batch_two_workers"
    soilbiome("shotgun", "sylph-profile", "--batch", manifest, "--db", db, "--outdir",
              side_by_side, "--threads", "2", check=True)
    for name in ("soil.sylph.tsv", "soil_r1.sylph.tsv"):
        assert (side_by_side / name).read_bytes() == (outdir / name).read_bytes()


def test_batch_with_a_missing_reads_file_names_the_line_and_writes_nothing(sylph_result,
                                                                           community):
    tmp, _, _, (r1, r2), _ = community
    outdir = tmp / "bad_batch"
    manifest = tmp / "bad_batch.tsv"
    manifest.write_text(f"soil\t{r1}\t{r2}\nlost\t{tmp / 'lost_R1.fastq.gz'}\n")
    res = soilbiome("shotgun", "sylph-profile", "--batch", manifest, "--db", tmp / "sylph_db",
                    "--outdir", outdir)
    assert res.returncode == 2
    assert f"{manifest}:2" in res.stderr and "lost_R1.fastq.gz" in res.stderr
    assert "Traceback" not in res.stderr
    assert not outdir.exists() or not any(outdir.iterdir())


def test_a_genome_too_small_for_sylph_is_named_when_built_and_never_reported(tmp_path):
    """A 6 kb genome (a plasmid, a small virus) has fewer than 50 sampled k-mers at one in
    200: build-sylph keeps it but warns by name, and reads from it alone at 60x are left
    unexplained by sylph profile (its --min-number-kmers 50), not given to it."""
    rng = np.random.default_rng(5)
    small, large = random_genome(6_000, rng), random_genome(300_000, rng)
    files = []
    for name, seq in (("small", small), ("large", large)):
        write_fasta(seq, name, tmp_path / f"{name}.fna.gz")
        files.append(tmp_path / f"{name}.fna.gz")
    lineages = tmp_path / "lineages.tsv"
    lineages.write_text("".join(f"{n}.fna.gz\td__Bacteria;p__P;c__C;o__O;f__F;g__G;s__G {n}\n"
                                for n in ("small", "large")))
    db = tmp_path / "db"
    built = soilbiome("refdb", "build-sylph", *files, "--lineages", lineages, "--out", db)
    assert built.returncode == 0, built.stderr
    warning, = [line for line in built.stderr.splitlines() if "warning" in line]
    assert "1 genome(s) have fewer than 50 sampled k-mers" in warning
    assert warning.endswith(": small.fna.gz")
    r1, r2 = tmp_path / "r_R1.fastq.gz", tmp_path / "r_R2.fastq.gz"
    simulate_pairs({"small": small}, {"small": 60.0}, r1, r2, seed=3)
    out = tmp_path / "r.sylph.tsv"
    soilbiome("shotgun", "sylph-profile", r1, r2, "--db", db, "--sample", "r", "--out", out,
              check=True)
    assert out.read_text().splitlines()[1:] == []  # header only: nothing reported
