"""The shotgun table step on a real Kraken2 report of the demo reads (no Nextflow)."""

from __future__ import annotations

import csv
import subprocess

import pytest

from conftest import KRAKEN2_DEMO, ROOT, TESTDATA
from soilbiome.errors import InputError
from soilbiome.io.biom import validate_biom
from soilbiome.io.biom_reader import read_table
from soilbiome.io.profiles import read_profile
from soilbiome.shotgun.run import build_shotgun_table
from soilbiome.shotgun.table import integer_counts

DB = KRAKEN2_DEMO
DEMO = TESTDATA / "shotgun" / "humann_demo.fastq.gz"
SHEET = ROOT / "assets" / "samplesheets" / "shotgun_demo.csv"

pytestmark = pytest.mark.usefixtures("kraken2_demo")


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp("k2") / "humann_demo.kraken2.report.txt"
    subprocess.run(["kraken2", "--db", str(DB), "--threads", "1", "--report", str(out),
                    "--output", "/dev/null", str(DEMO)], check=True, capture_output=True)
    return out


def test_table_from_a_real_report(report, tmp_path):
    out = tmp_path / "taxon_table.biom"
    res = build_shotgun_table([report], DB, SHEET, out,
                              distribution=DB / "database100mers.kmer_distrib",
                              reference="demo", abundance_dir=tmp_path / "ab",
                              summary_tsv=tmp_path / "summary.tsv")
    assert validate_biom(out) == []
    table = read_table(out)
    values = dict(zip(table.feature_ids, table.counts.toarray()[0], strict=True))
    assert table.sample_totals()[0] == 21000                     # every read, none dropped
    dorei, vulgatus = values["ncbi:357276"], values["ncbi:821"]
    assert dorei / (dorei + vulgatus) == pytest.approx(10848 / 20000, abs=0.02)
    assert values["unclassified"] >= 1000
    row = res.summary[0]
    assert row["reads_classified"] + row["reads_unclassified"] == 21000
    assert row["reads_reestimated"] > 0 and row["reads_kept_at_higher_rank"] == 0
    with (tmp_path / "summary.tsv").open() as handle:
        assert next(csv.DictReader(handle, delimiter="\t"))["sample"] == "humann_demo"
    # the Bracken-format file is valid Bracken output for `soilbiome import`
    bracken = read_profile("bracken", tmp_path / "ab" / "humann_demo.bracken.tsv")
    assert bracken.values["357276"] == dorei and bracken.values["821"] == vulgatus


def test_reports_and_samplesheet_must_name_the_same_samples(report, tmp_path):
    other = tmp_path / "other.kraken2.report.txt"
    other.write_bytes(report.read_bytes())
    with pytest.raises(InputError, match="only in the profiles: other"):
        build_shotgun_table([report, other], DB, SHEET, tmp_path / "t.biom", reference="demo",
                            distribution=DB / "database100mers.kmer_distrib",
                            abundance_dir=tmp_path / "ab")
    assert not (tmp_path / "t.biom").exists()
    assert not (tmp_path / "ab").exists() or not list((tmp_path / "ab").iterdir())


@pytest.mark.parametrize(("change", "message"), [
    ({"sample": "ZZZ"}, "QC record of sample 'ZZZ', which has no profile here"),
    ({"reads_in": 5}, "reads_out 21000 is more than reads_in 5"),
    ({"status": None}, "'status' is None, not a str"),
])
def test_a_qc_record_that_is_not_this_sample_s_is_refused(report, tmp_path, change, message):
    """A record of another sample (silently unused before), an impossible count or a missing
    field: refused, naming the record, and no table written."""
    import json

    from soilbiome.amplicon.qc import unfiltered_record

    record = tmp_path / "humann_demo.qc.json"
    whole = unfiltered_record("humann_demo", paired=False, reads=21000, bases=2_100_000,
                              q30_bases=2_000_000, gc_bases=900_000)
    record.write_text(json.dumps({**whole, **change}))
    with pytest.raises(InputError, match=rf"{record}: .*{message}"):
        build_shotgun_table([report], DB, SHEET, tmp_path / "t.biom", reference="demo",
                            qc_records=[record])
    assert not (tmp_path / "t.biom").exists()


def test_integer_counts_keep_the_total():
    rounded = integer_counts({"a": 8914.45, "b": 7880.55, "c": 0.0})
    assert rounded == {"a": 8914, "b": 7881, "c": 0}
    assert sum(integer_counts({str(i): 1 / 3 for i in range(9)}).values()) == 3


def _two_sample_sheet(tmp_path, empty_fastq):
    with SHEET.open() as handle:
        reader = csv.DictReader(handle)
        header, row = reader.fieldnames, next(reader)
    sheet = tmp_path / "sheet.csv"
    with sheet.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=header)
        writer.writeheader()
        writer.writerow({**row, "fastq_1": str(DEMO)})
        writer.writerow({**row, "sample": "all_n", "fastq_1": str(empty_fastq)})
    return sheet


@pytest.mark.parametrize("reads_out", [0, 5])
def test_an_empty_kraken2_report_is_an_empty_sample_only_when_no_read_reached_it(
        report, tmp_path, reads_out):
    import gzip
    import json

    # what FASTQ_QC hands Kraken2 for an all-N sample: an empty gzip; Kraken2 writes an empty report
    empty = tmp_path / "all_n.fastp.fastq.gz"
    with gzip.open(empty, "wb"):
        pass
    empty_report = tmp_path / "all_n.kraken2.report.txt"
    subprocess.run(["kraken2", "--db", str(DB), "--report", str(empty_report), "--output",
                    "/dev/null", str(empty)], check=True, capture_output=True)
    assert empty_report.stat().st_size == 0
    record = tmp_path / "all_n.qc.json"
    from soilbiome.amplicon.qc import unfiltered_record

    whole = unfiltered_record("all_n", paired=False, reads=20, bases=2000, q30_bases=1800,
                              gc_bases=1000)
    record.write_text(json.dumps({**whole, "reads_out": reads_out}))
    sheet = _two_sample_sheet(tmp_path, empty)
    out = tmp_path / "t.biom"
    run = lambda: build_shotgun_table(  # noqa: E731
        [report, empty_report], DB, sheet, out, distribution=DB / "database100mers.kmer_distrib",
        qc_records=[record], reference="demo", abundance_dir=tmp_path / "ab")
    if reads_out:
        with pytest.raises(InputError, match="sample 'all_n': the Kraken2 report is empty but 5"):
            run()
        assert not out.exists()
        assert not (tmp_path / "ab").exists() or not list((tmp_path / "ab").iterdir())
        return
    res = run()
    table = read_table(out)
    totals = dict(zip(table.sample_ids, table.sample_totals(), strict=True))
    assert totals == {"humann_demo": 21000, "all_n": 0}
    row = next(r for r in res.summary if r["sample"] == "all_n")
    assert (row["reads_in"], row["reads_after_qc"], row["reads_profiled"]) == (20, 0, 0)
    assert (tmp_path / "ab" / "all_n.bracken.tsv").read_text().count("\n") == 1  # header only
