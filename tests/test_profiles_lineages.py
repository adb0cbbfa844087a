"""soilbiome import of sylph and SingleM profiles (genomes and lineages, not taxon IDs), and
``refdb build-sylph``: real tool outputs import, broken variants are refused with file and line,
unknown species stay at the deepest rank, the unexplained share stays in the table."""

from __future__ import annotations

import csv
import shutil

import pytest
from test_profiles import soilbiome

from conftest import TESTDATA
from soilbiome.io.biom import validate_biom
from soilbiome.io.biom_reader import read_table
from soilbiome.refdb.sheet import load_refdb

OUTPUTS = TESTDATA / "profiler_outputs"
SYLPH, SINGLEM = OUTPUTS / "sylph", OUTPUTS / "singlem"
VALID = sorted([*SYLPH.glob("*.sylph.tsv"), *SYLPH.glob("*.sylphmpa"),
                *SINGLEM.glob("*.singlem.tsv")])
VALID = [p for p in VALID if "invalid" not in p.name]
INVALID = sorted(p for p in [*SYLPH.iterdir(), *SINGLEM.iterdir()] if "invalid" in p.name)
GENOMES = sorted((TESTDATA / "shotgun" / "kraken2_library").glob("*.ffn.gz"))
DEMO_LINEAGES = TESTDATA / "shotgun" / "sylph_demo_lineages.tsv"
HEADER = ("Sample_file\tGenome_file\tTaxonomic_abundance\tSequence_abundance\tAdjusted_ANI\t"
          "True_cov\tANI_5-95_percentile\tEff_lambda\tLambda_5-95_percentile\tMedian_cov\t"
          "Mean_cov_geq1\tContainment_ind\tNaive_ANI\tkmers_reassigned\tContig_name\n")


def _row(sample: str, genome: str, tax: float, seq: float) -> str:
    return (f"{sample}\t{genome}\t{tax}\t{seq}\t98.5\t1.2\tNA\t1.2\tNA\t1\t1.3\t50/200\t96.1"
            "\t0\tcontig1\n")


def test_real_outputs_of_both_tools_are_bundled():
    assert {p.parent.name for p in VALID} == {"sylph", "singlem"}
    assert len(INVALID) >= 6


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.name)
def test_valid_file_imports_to_a_valid_relative_biom(path, tmp_path):
    out = tmp_path / "t.biom"
    proc = soilbiome("import", "--profiler", path.parent.name, path, "--out", out)
    assert proc.returncode == 0, proc.stderr
    assert validate_biom(out) == []
    table = read_table(out)
    assert table.value_kind == "relative" and table.marker == "shotgun"
    assert table.context.taxonomy_system == "GTDB" and table.context.method == path.parent.name
    assert list(table.sample_totals()) == pytest.approx([1.0] * len(table.sample_ids))


@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.name)
def test_invalid_file_is_refused_with_file_line_and_problem(path, tmp_path):
    out = tmp_path / "t.biom"
    proc = soilbiome("import", "--profiler", path.parent.name, path, "--out", out)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr
    assert lines[0].startswith(f"soilbiome: error: {path}: line ")
    assert not out.exists()


def test_singlem_keeps_unknown_species_at_the_deepest_rank(tmp_path):
    out = tmp_path / "t.biom"
    soilbiome("import", "--profiler", "singlem", SINGLEM / "marine0.singlem.tsv", "--out", out,
              check=True)
    table = read_table(out)
    rows = dict(zip(table.feature_ids, table.counts.toarray()[0], strict=True))
    # coverage from the file: 3.64 archaea, 0.02 bacteria, 0.56, 0.8, 2.17 (total 7.19)
    assert rows["gtdb:d__Bacteria"] == pytest.approx(0.02 / 7.19)
    assert rows["gtdb:p__Proteobacteria"] == pytest.approx(2.17 / 7.19)
    lineage = table.taxonomy.loc["gtdb:p__Proteobacteria"]
    assert (lineage["domain"], lineage["phylum"], lineage["class"]) == ("Bacteria",
                                                                        "Proteobacteria", "")


def test_singlem_file_of_two_samples_gives_two_columns(tmp_path):
    out = tmp_path / "t.biom"
    soilbiome("import", "--profiler", "singlem", SINGLEM / "two_samples.singlem.tsv", "--out",
              out, check=True)
    assert read_table(out).sample_ids == ("anonymous_reads", "anonymous_reads2")


def test_sylph_lineages_unexplained_share_and_new_species(tmp_path):
    tsv = tmp_path / "soil.sylph.tsv"
    tsv.write_text(HEADER
                   + _row("reads/soil.fq.gz", "db/GCA_000005845.2_genomic.fna.gz", 70, 24)
                   + _row("reads/soil.fq.gz", "mags/bin.7.fa", 30, 6))
    lineages = tmp_path / "lineages.tsv"
    lineages.write_text(
        "GCA_000005845.2\td__Bacteria;p__Pseudomonadota;c__Gammaproteobacteria;"
        "o__Enterobacterales;f__Enterobacteriaceae;g__Escherichia;s__Escherichia coli\n"
        "bin.7\td__Bacteria;p__Acidobacteriota;c__Terriglobia;o__Terriglobales;"
        "f__Koribacteraceae;g__Koribacter;s__\n")
    out = tmp_path / "t.biom"
    soilbiome("import", "--profiler", "sylph", tsv, "--taxonomy", lineages, "--out", out,
              check=True)
    table = read_table(out)
    rows = dict(zip(table.feature_ids, table.counts.toarray()[0], strict=True))
    assert rows == pytest.approx({"gtdb:s__Escherichia_coli": 0.24, "genome:bin.7": 0.06,
                                  "unclassified": 0.70})
    mag = table.taxonomy.loc["genome:bin.7"]
    assert (mag["genus"], mag["species"]) == ("Koribacter", "")
    assert float(table.sample_metadata.loc["soil", "classified_fraction"]) == pytest.approx(0.3)


def test_sylph_directory_as_taxonomy_is_refused(tmp_path):
    proc = soilbiome("import", "--profiler", "sylph", SYLPH / "o157_reads.sylph.tsv",
                     "--taxonomy", OUTPUTS / "taxonomy", "--out", tmp_path / "t.biom")
    assert proc.returncode == 2 and "genome -> lineage TSV" in proc.stderr


def test_build_sylph_database_and_sheet_row(tmp_path):
    db, sheet = tmp_path / "demo_db", tmp_path / "refdb.csv"
    proc = soilbiome("refdb", "build-sylph", *GENOMES, "--lineages", DEMO_LINEAGES, "--out", db,
                     "--name", "demo_sylph", "--sheet", sheet, "--licence", "MIT",
                     "--citation", "HUMAnN demo")
    assert proc.returncode == 0, proc.stderr
    entry = load_refdb(sheet, "demo_sylph")  # verifies the folder digest
    assert (entry.format, entry.marker, entry.taxonomy) == ("sylph", "shotgun", "GTDB")
    with (db / "lineages.tsv").open() as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    assert [r["genome"] for r in rows] == [g.name for g in GENOMES]
    assert rows[0]["lineage"].endswith("s__Phocaeicola dorei")
    # each genome's first contig header, which sylph reports as Contig_name
    import gzip

    for row, genome in zip(rows, GENOMES, strict=True):
        with gzip.open(genome, "rt") as handle:
            assert row["first_contig"] == " ".join(handle.readline()[1:].split())
    (db / "lineages.tsv").write_text("changed")
    with pytest.raises(Exception, match="checksum mismatch"):
        load_refdb(sheet, "demo_sylph")


def test_build_sylph_refuses_a_genome_without_lineage_before_writing(tmp_path):
    extra = tmp_path / "bin.3.fa"
    extra.write_text(">c1\nACGTACGTTTGACCA\n")
    lineages = tmp_path / "lineages.tsv"
    shutil.copy(DEMO_LINEAGES, lineages)
    db = tmp_path / "db"
    proc = soilbiome("refdb", "build-sylph", *GENOMES, extra, "--lineages", lineages,
                     "--out", db)
    assert proc.returncode == 2
    assert "1 genome(s) have no lineage: bin.3.fa" in proc.stderr
    assert not db.exists() and not (tmp_path / "db.tmp").exists()


@pytest.mark.parametrize("build", ["build-sylph", "build-kraken2"])
def test_a_row_the_sheet_would_refuse_stops_the_build_before_it_starts(tmp_path, build):
    """The licence, and the name the sheet lists already, are checked before any genome is
    sketched or indexed: nothing is built to be refused afterwards."""
    sheet = tmp_path / "refdb.csv"
    base = ["refdb", build, *GENOMES, "--lineages", DEMO_LINEAGES, "--citation", "HUMAnN demo"]
    proc = soilbiome(*base, "--out", tmp_path / "first", "--name", "demo", "--sheet", sheet,
                     "--licence", "NotALicence")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines() == [proc.stderr.strip()]
    assert "licence" in proc.stderr and "NotALicence" in proc.stderr
    assert not (tmp_path / "first").exists() and not sheet.exists()
    sheet.write_text("name,version,marker,format,licence,citation,path,sha256,taxonomy\n"
                     "demo,1,shotgun,sylph,MIT,x,elsewhere,0,GTDB\n")
    before = sheet.read_bytes()
    proc = soilbiome(*base, "--out", tmp_path / "second", "--name", "demo", "--sheet", sheet,
                     "--licence", "MIT")
    assert proc.returncode == 2 and "'demo' is already listed" in proc.stderr
    assert "--replace" not in proc.stderr  # the builds have no such option
    assert not (tmp_path / "second").exists() and sheet.read_bytes() == before
    assert not list(tmp_path.glob(".*"))


def test_sample_without_any_database_genome_is_all_unexplained(tmp_path):
    from soilbiome.shotgun.sylph_profile import TSV_COLUMNS
    from soilbiome.shotgun.sylph_run import build_sylph_table

    db = tmp_path / "db"
    soilbiome("refdb", "build-sylph", *GENOMES, "--lineages", DEMO_LINEAGES, "--out", db,
              check=True)
    tsv = tmp_path / "soil.sylph.tsv"
    tsv.write_text("\t".join(TSV_COLUMNS) + "\n")  # sylph found nothing
    sheet = tmp_path / "sheet.csv"
    mixs = ("collection_date", "geo_loc_name", "lat_lon", "env_broad_scale", "env_local_scale",
            "env_medium", "depth", "elev")
    sheet.write_text(f"sample,{','.join(mixs)}\nsoil,{','.join(['not provided'] * len(mixs))}\n")
    res = build_sylph_table([tsv], db, sheet, tmp_path / "t.biom", reference="demo",
                            summary_tsv=tmp_path / "s.tsv")
    assert res.summary[0]["unexplained_fraction"] == "1.0000"
    table = read_table(tmp_path / "t.biom")
    assert table.feature_ids == ("unclassified",)


def test_sylph_tax_file_gives_the_table_of_sylph_tsv_and_lineages(tmp_path):
    """sylph-tax 1.9.0's ``.sylphmpa`` of soilbiome's sylph profile of a synthetic community
    (bundled with the profile and the lineages sylph-tax was given) imports to the table that
    the profile TSV gives with those lineages: a named species, a MAG of a new species (``s__``)
    at its genus, a genome the lineages lack (sylph-tax's ``NO_TAXONOMY``) kept without one,
    and the reads the database does not explain as ``unclassified``."""
    from_tax, from_tsv = tmp_path / "tax.biom", tmp_path / "tsv.biom"
    proc = soilbiome("import", "--profiler", "sylph", SYLPH / "soil.sylphmpa", "--out", from_tax)
    assert proc.returncode == 0, proc.stderr
    assert "1 genome(s) without a lineage" in proc.stderr and "G5" in proc.stderr
    soilbiome("import", "--profiler", "sylph", SYLPH / "soil.sylph.tsv", "--taxonomy",
              SYLPH / "soil_lineages.tsv", "--out", from_tsv)
    a, b = read_table(from_tax), read_table(from_tsv)
    assert a.sample_ids == b.sample_ids == ("soil",)
    assert a.feature_ids == b.feature_ids
    assert (a.counts != b.counts).nnz == 0 and a.taxonomy.equals(b.taxonomy)
    rows = dict(zip(a.feature_ids, a.counts.toarray()[0], strict=True))
    seq = {}  # the profile's own sequence abundances, as fractions
    for line in (SYLPH / "soil.sylph.tsv").read_text().splitlines()[1:]:
        fields = line.split("\t")
        seq[fields[1].split(".")[0]] = float(fields[3]) / 100
    assert rows["gtdb:s__Gen1_synthetica"] == pytest.approx(seq["G1"])
    assert rows["genome:G4"] == pytest.approx(seq["G4"])
    assert rows["genome:G5"] == pytest.approx(seq["G5"])
    assert rows["unclassified"] == pytest.approx(1 - sum(seq.values()))
    assert (a.taxonomy.loc["genome:G4", "genus"], a.taxonomy.loc["genome:G4", "species"]) == (
        "Gen3", "")
    assert a.taxonomy.loc["genome:G5", "domain"] == ""


def test_sylph_tax_lineages_give_way_to_taxonomy(tmp_path):
    """--taxonomy names a genome the sylph-tax file could not place: the file's own lineages
    are kept for the others."""
    lineages = tmp_path / "lineages.tsv"
    lineages.write_text("G5.fna.gz\td__Bacteria;p__Synthetica;c__Synthetia;o__Synthales;"
                        "f__Synthaceae;g__Gen5;s__Gen5 synthetica\n")
    out = tmp_path / "t.biom"
    proc = soilbiome("import", "--profiler", "sylph", SYLPH / "soil.sylphmpa", "--taxonomy",
                     lineages, "--out", out)
    assert proc.returncode == 0 and "without a lineage" not in proc.stderr
    table = read_table(out)
    assert {"gtdb:s__Gen5_synthetica", "gtdb:s__Gen1_synthetica", "genome:G4"} <= set(
        table.feature_ids)
