"""The HTML report: self-contained, every sample present, flags shown, empty sample survives."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import biom
import h5py
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from soilbiome.cli import main
from soilbiome.io.biom_reader import read_table
from soilbiome.report import composition

SITES = {"0A1": "north", "S02": "north", "S03": "north", "S04": "south", "S05": "south",
         "S06": "south", "S07": "east", "BLANK": "control"}
GENERA = ["Bryobacter", "Streptomyces", "Bradyrhizobium", "Gaiella", "Bacillus",
          "Flavobacterium"]
PHYLA = ["Acidobacteriota", "Actinobacteriota", "Proteobacteria", "Chloroflexota",
         "Firmicutes", "Bacteroidota"]


def make_table(path: Path, seed: int = 3) -> Path:
    """A seeded ASV table like ours: md5 IDs, Greengenes taxonomy with bare prefixes, BLANK."""
    rng = np.random.default_rng(seed)
    samples = list(SITES)
    n_features = 40
    seqs = ["".join(rng.choice(list("ACGT"), 60)) for _ in range(n_features)]
    ids = [hashlib.md5(s.encode()).hexdigest() for s in seqs]
    counts = rng.negative_binomial(1, 0.05, size=(n_features, len(samples)))
    counts[:, samples.index("BLANK")] = 0
    obs_md = []
    for i, s in enumerate(seqs):
        if i % 7 == 6:  # unassigned below domain
            tax = ["d__Bacteria", "k__", "p__", "c__", "o__", "f__", "g__", "s__"]
        else:
            tax = ["d__Bacteria", "k__", f"p__{PHYLA[i % len(PHYLA)]}", "c__", "o__", "f__",
                   f"g__{GENERA[i % len(GENERA)]}", "s__"]
        obs_md.append({"taxonomy": tax, "sequence": s})
    smd = [{"site": SITES[s], "run": "run1", "env_medium": "soil [ENVO:00001998]",
            "env_broad_scale": "temperate grassland biome [ENVO:01000193]",
            "env_local_scale": "agricultural field [ENVO:00000114]",
            "geo_loc_name": "Germany: Lower Saxony, Solling uplands experimental site",
            "lat_lon": "51.7621 N 9.5739 E", "collection_date": "2024-05-14",
            "samp_collect_device": "soil corer, 5 cm diameter, 0-10 cm depth, composite of 5"}
           for s in samples]
    table = biom.Table(counts, ids, samples, obs_md, smd, type="OTU table")
    with h5py.File(path, "w") as fh:
        table.to_hdf5(fh, "soilbiome tests")
    return path


@pytest.fixture(scope="module")
def batch(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("batch")
    table = make_table(d / "table.biom")
    res = CliRunner().invoke(main, ["diversity", str(table), "--outdir", str(d / "div"),
                                    "--group-by", "site", "--permutations", "99"])
    assert res.exit_code == 0, res.output
    (d / "read_tracking.tsv").write_text(
        "sample\tinput\tfiltered\tdenoised_f\tdenoised_r\tmerged\tnonchim\n"
        + "".join(f"{s}\t100\t90\t88\t87\t80\t78\n" for s in SITES if s != "BLANK")
        + "BLANK\t0\t0\t0\t0\t0\t0\n"
    )
    (d / "qc_summary.tsv").write_text(
        "sample\tstatus\treads_in\treads_out\tpass_rate\n"
        + "".join(f"{s}\tok\t100\t95\t0.95\n" for s in SITES if s != "BLANK")
        + "BLANK\tempty\t0\t0\t0.0\n"
    )
    (d / "primer_summary.tsv").write_text(
        "sample\treads_in\treads_with_primer\tfraction_with_primer\tflag\n"
        "0A1\t100\t97\t0.97\t\n"
        "S07\t100\t4\t0.04\tmost reads lack the primer (4.0% have it; threshold 50%)\n"
        "BLANK\t0\t0\t0.0\tempty\n"
    )
    (d / "software_versions.yml").write_text(
        "tools:\n  cutadapt: '4.2'\n  vsearch: 2.22.1\n  nextflow: 24.10.0\n"
        "processes:\n  CUTADAPT:\n    cutadapt: '4.2'\n"
    )
    (d / "params.json").write_text(json.dumps({
        "batch_name": "north-south", "dada2_trunc_len_f": 140, "dada2_max_ee_f": 2,
        "fastp_min_length": 50, "primer_fwd": None, "refdb": "ten16s_sintax",
        "rarefaction_depth": None, "outdir": "results", "max_cpus": 2,
    }))
    (d / "reference_database.json").write_text(json.dumps({
        "name": "ten16s_sintax", "version": "TAXXI-ten16s.100", "marker": "16S",
        "format": "sintax", "licence": "LGPL-2.0-or-later",
        "citation": "Edgar RC (2018) PeerJ 6:e4652", "path": "/x/16s_sintax_ten16s.fa.gz",
        "sha256": "7aab" + "0" * 60,
    }))
    return {"dir": d, "table": table, "div": d / "div"}


def run_report(batch: dict[str, Path], out: Path, *extra: str, full: bool = True) -> str:
    d = batch["dir"]
    args = ["report", "--biom", str(batch["table"]), "--diversity", str(batch["div"]),
            "--out", str(out), *extra]
    if full:
        args += ["--qc", str(d / "qc_summary.tsv"), "--tracking", str(d / "read_tracking.tsv"),
                 "--primers", str(d / "primer_summary.tsv"),
                 "--versions", str(d / "software_versions.yml"),
                 "--params", str(d / "params.json"),
                 "--refdb", str(d / "reference_database.json")]
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0, res.output
    return out.read_text()


@pytest.fixture(scope="module")
def full_html(batch: dict[str, Path]) -> str:
    return run_report(batch, batch["dir"] / "report.html", "--title", "Test <batch>")


def test_report_is_self_contained(full_html: str) -> None:
    assert not re.search(r"<script[^>]*\bsrc\s*=", full_html, re.I)
    assert not re.search(r"<link[^>]*\bhref\s*=\s*[\"']https?:", full_html, re.I)
    # outside the inline bundle (whose only URL is the default topojson base of geo maps,
    # unused here), nothing refers to the network
    bundle_start = full_html.index("plotly.js v")
    bundle_end = full_html.index("</script>", bundle_start)
    rest = full_html[:bundle_start] + full_html[bundle_end:]
    assert not re.search(r"https?://(?!www\.w3\.org)", rest), re.findall(r"https?://\S{0,40}",
                                                                     rest)[:5]
    # the plotly.js bundle itself, inline, exactly once
    assert full_html.count("plotly.js v") >= 1 and len(full_html) > 3_000_000
    assert full_html.count("Plotly.newPlot(") == 6
    assert "<title>Test &lt;batch&gt;</title>" in full_html  # the title is escaped


def test_report_names_every_sample_and_shows_versions(full_html: str) -> None:
    for sample in SITES:
        assert f">{sample}<" in full_html, sample
    for text in ("cutadapt", "2.22.1", "scikit-bio", "PERMANOVA", "Read tracking",
                 "Quality control", '<option value="phylum" selected>', "Gini-Simpson",
                 "Shannon (log base e)"):
        assert text in full_html, text
    assert "Not provided" not in full_html


def _versions_section(html: str) -> str:
    part = html[html.index('<section id="versions">'):]
    return part[: part.index("</section>")]


def test_versions_collected_from_the_processes_records(batch: dict[str, Path],
                                                      tmp_path: Path) -> None:
    """The pipeline's REPORT gives the per-process versions.yml files (no task merges them
    first): the section equals the one from `collect-versions`' merged file, and a tool
    reported with two versions is refused as `collect-versions` refuses it."""
    records = []
    for k, text in enumerate(('"AMPLICON:CUTADAPT":\n    cutadapt: 4.2\n',
                              '"AMPLICON:VSEARCH_SINTAX":\n    vsearch: 2.22.1\n')):
        records.append(tmp_path / f"versions_{k}.yml")
        records[-1].write_text(text)
    merged = tmp_path / "software_versions.yml"
    res = CliRunner().invoke(main, ["collect-versions", *map(str, records), "--nextflow",
                                    "24.10.0", "--pipeline", "0.2.0", "--out", str(merged)])
    assert res.exit_code == 0, res.output
    one = run_report(batch, tmp_path / "merged.html", "--versions", str(merged), full=False)
    per = [a for r in records for a in ("--process-versions", str(r))]
    two = run_report(batch, tmp_path / "per.html", *per, "--nextflow-version", "24.10.0",
                     "--pipeline-version", "0.2.0", full=False)
    assert _versions_section(one) == _versions_section(two)
    assert "CUTADAPT" in _versions_section(two) and "0.2.0" in _versions_section(two)
    assert "software versions" not in two[two.index("Inputs not provided"):]
    base = ["report", "--biom", str(batch["table"]), "--diversity", str(batch["div"])]
    for extra, said in (
            ([], "--process-versions needs --nextflow-version and --pipeline-version"),
            (["--versions", str(merged), "--nextflow-version", "1", "--pipeline-version", "1"],
             "give --versions or --process-versions, not both")):
        out = tmp_path / "refused.html"
        res = CliRunner().invoke(main, [*base, *per, *extra, "--out", str(out)])
        assert res.exit_code == 2 and said in res.output and not out.exists(), res.output
    clash = tmp_path / "versions_2.yml"
    clash.write_text('"AMPLICON:OTHER":\n    vsearch: 2.30.0\n')
    out = tmp_path / "clash.html"
    res = CliRunner().invoke(main, [*base, *per, "--process-versions", str(clash),
                                    "--nextflow-version", "1", "--pipeline-version", "1",
                                    "--out", str(out)])
    assert res.exit_code == 2 and "'vsearch' reported as 2.22.1 and 2.30.0" in res.output
    assert not out.exists()


def test_flagged_primer_sample_is_prominent(full_html: str) -> None:
    flags = full_html[full_html.index('<section id="flags">'):]
    flags = flags[: flags.index("</section>")]
    assert 'class="flag" data-sample="S07"' in flags
    assert "most reads lack the primer (4.0% have it; threshold 50%)" in flags
    assert 'data-sample="0A1"' not in flags  # not flagged: primer found
    # the flags section comes before every data section
    assert full_html.index('id="flags"') < full_html.index('id="qc"')


def test_blank_shows_as_empty(full_html: str) -> None:
    flags = full_html[full_html.index('<section id="flags">'):]
    flags = flags[: flags.index("</section>")]
    assert 'data-sample="BLANK"' in flags and "Empty sample" in flags
    assert '<tr class="empty"><td>BLANK</td>' in full_html
    assert '"text":"empty"' in full_html  # annotation on its composition bar


def test_missing_inputs_are_named(batch: dict[str, Path], tmp_path: Path) -> None:
    html = run_report(batch, tmp_path / "min.html", "--group-by", "no_such_column", full=False)
    for what in ("read tracking", "QC summary", "primer summary", "software versions",
                 "no_such_column"):
        assert what in html[html.index("Inputs not provided"):], what
    for sample in SITES:
        assert f">{sample}<" in html


def test_report_with_an_empty_diversity_dir(batch: dict[str, Path], tmp_path: Path) -> None:
    empty = tmp_path / "nodiv"
    empty.mkdir()
    res = CliRunner().invoke(main, ["report", "--biom", str(batch["table"]), "--diversity",
                                    str(empty), "--out", str(tmp_path / "r.html")])
    assert res.exit_code == 0, res.output
    html = (tmp_path / "r.html").read_text()
    assert "diversity.json" in html and "alpha_diversity.tsv" in html


def test_bad_primer_table_is_an_input_error(batch: dict[str, Path], tmp_path: Path) -> None:
    bad = tmp_path / "p.tsv"
    bad.write_text("sample\tflag\nS07\tx\n")
    res = CliRunner().invoke(main, ["report", "--biom", str(batch["table"]), "--diversity",
                                    str(batch["div"]), "--primers", str(bad),
                                    "--out", str(tmp_path / "r.html")])
    assert res.exit_code == 2 and "lacks column" in res.output
    assert not (tmp_path / "r.html").exists()  # atomic: nothing half-written


def test_composition_top_other_unassigned(batch: dict[str, Path]) -> None:
    table = read_table(batch["table"])
    comp = composition(table, "phylum", top=3)
    assert list(comp.columns[-2:]) == ["Other", "Unassigned"] and comp.shape[1] == 5
    sums = comp.sum(axis=1)
    assert np.allclose(sums.drop("BLANK"), 1.0) and sums["BLANK"] == 0
    whole = composition(table, "domain")
    assert list(whole.columns) == ["Bacteria"]
    assert not set(comp.columns) & {"p__", ""}
    assert isinstance(comp, pd.DataFrame)


def test_report_on_a_table_with_one_real_sample(tmp_path: Path) -> None:
    table = biom.Table(np.array([[3, 0], [1, 0]]), ["f1", "f2"], ["A", "BLANK"],
                       [{"taxonomy": ["k__Bacteria", "p__", "c__", "o__", "f__", "g__", "s__"],
                         "sequence": ""}] * 2,
                       [{"site": "x"}, {"site": "control"}], type="OTU table")
    with h5py.File(tmp_path / "t.biom", "w") as fh:
        table.to_hdf5(fh, "soilbiome tests")
    res = CliRunner().invoke(main, ["diversity", str(tmp_path / "t.biom"), "--outdir",
                                    str(tmp_path / "div")])
    assert res.exit_code == 0, res.output
    res = CliRunner().invoke(main, ["report", "--biom", str(tmp_path / "t.biom"), "--diversity",
                                    str(tmp_path / "div"), "--out", str(tmp_path / "r.html")])
    assert res.exit_code == 0, res.output
    html = (tmp_path / "r.html").read_text()
    assert ">BLANK<" in html and ">A<" in html
    assert "needs at least 2 non-empty samples" in html
    assert "No ASV tree: Faith's PD and UniFrac were not computed." in html


def test_report_refuses_diversity_of_another_table(batch: dict[str, Path],
                                                   tmp_path: Path) -> None:
    import json

    other = make_table(tmp_path / "other.biom", seed=4)  # same samples, other counts
    out = tmp_path / "r.html"
    res = CliRunner().invoke(main, ["report", "--biom", str(other), "--diversity",
                                    str(batch["div"]), "--out", str(out)])
    assert res.exit_code == 2 and isinstance(res.exception, SystemExit), res.output
    line, = res.stderr.strip().splitlines()
    assert str(batch["div"] / "diversity.json") in line and str(other) in line
    assert str(batch["table"]) in line  # names the table the results came from
    assert not out.exists() and not list(tmp_path.glob(".r.html.*"))

    # an older folder without the digest: reported, not refused
    old = tmp_path / "olddiv"
    old.mkdir()
    for f in batch["div"].iterdir():
        (old / f.name).write_bytes(f.read_bytes())
    summary = json.loads((old / "diversity.json").read_text())
    del summary["input"]["sha256"]
    (old / "diversity.json").write_text(json.dumps(summary))
    res = CliRunner().invoke(main, ["report", "--biom", str(batch["table"]), "--diversity",
                                    str(old), "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "warning:" in res.stderr and "records no table digest" in res.stderr
    assert out.is_file()
    assert "table digest in diversity.json" in out.read_text()


def test_report_on_a_relative_shotgun_table(tmp_path: Path) -> None:
    """sylph-tax profiles of two samples: a relative table (shares, not reads) of shotgun
    reads. The report shows shares, not "reads"; Chao1 is said once not to apply, no sample
    is flagged for it; primers are not asked for; the shotgun options of the run are shown
    and DADA2's are not."""
    sylph = Path(__file__).parent.parent / "assets" / "test-data" / "profiler_outputs" / "sylph"
    table = tmp_path / "sylph.biom"
    res = CliRunner().invoke(main, ["import", "--profiler", "sylph", str(sylph / "soil.sylphmpa"),
                                    str(sylph / "o157_reads.sylphmpa"), "--out", str(table)])
    assert res.exit_code == 0, res.output
    res = CliRunner().invoke(main, ["diversity", str(table), "--outdir", str(tmp_path / "div")])
    assert res.exit_code == 0, res.output
    summary = json.loads((tmp_path / "div" / "diversity.json").read_text())
    assert summary["parameters"]["not_computed"] == {
        "chao1": "non-integer values: chao1 needs counts"}
    # a sample's own reason stays (o157_reads: one genome); the table-wide one is not repeated
    assert [(e["sample"], e["reason"]) for e in summary["excluded"] if e["stage"] == "alpha"] == [
        ("o157_reads", "one feature: pielou_evenness undefined (H / log 1 = 0/0)")]
    alpha = pd.read_csv(tmp_path / "div" / "alpha_diversity.tsv", sep="\t")
    assert alpha["chao1"].isna().all() and alpha["note"].str.contains("chao1 needs counts").all()
    params = tmp_path / "params.json"
    params.write_text(json.dumps({
        "mode": "shotgun", "shotgun_profiler": "sylph", "sylph_db": "gtdb_r220",
        "shotgun_qc": "fastp", "kraken2_confidence": 0.0, "bracken_read_length": 150,
        "dada2_trunc_len_f": 0, "primer_fwd": None, "fastp_min_length": 50}))
    out = tmp_path / "r.html"
    res = CliRunner().invoke(main, ["report", "--biom", str(table), "--diversity",
                                    str(tmp_path / "div"), "--params", str(params),
                                    "--out", str(out)])
    assert res.exit_code == 0, res.output
    html = out.read_text()
    assert "reads in table" not in html and "sum of shares" in html
    assert "values are relative abundances" in html
    start = html.index('id="flags"')
    flags = html[start:html.index("<section", start)]
    assert "Flags (1 samples)" in flags and "o157_reads" in flags and "chao1" not in flags
    assert "Chao1 is not computed for any sample" in html
    assert re.search(r"\(the table(&#x27;|')s relative abundances\)", html)
    assert "primer" not in html[html.index('id="overview"'):html.index('id="flags"')]
    assert "primer summary" not in html
    parameters = html[html.index("<h3>Parameters</h3>"):]
    assert "Shotgun profiling" in parameters and "sylph_db" in parameters
    assert "dada2_trunc_len_f" not in parameters and "primer_fwd" not in parameters
    assert "kraken2_confidence" not in parameters and "bracken_read_length" not in parameters
    context = html[html.index("<h3>Processing context</h3>"):html.index("<h3>Parameters</h3>")]
    assert "trunc_len_f" not in context and "marker" in context


def test_profilers_side_by_side_tells_apart_mags_of_one_genus(tmp_path: Path) -> None:
    """Two MAGs of one genus without a species name are two features (genome:G4, genome:G5):
    the side-by-side rows name each with its feature ID instead of 'Gen3 (genus)' twice."""
    sylph = Path(__file__).parent.parent / "assets" / "test-data" / "profiler_outputs" / "sylph"
    lineages = tmp_path / "lineages.tsv"
    lines = (sylph / "soil_lineages.tsv").read_text().splitlines()
    g4 = next(line for line in lines if line.startswith("G4"))
    lineages.write_text("\n".join([*lines, g4.replace("G4", "G5", 1)]) + "\n")
    tables = []
    for name in ("a", "b"):
        out = tmp_path / f"{name}.biom"
        res = CliRunner().invoke(main, ["import", "--profiler", "sylph",
                                        str(sylph / "soil.sylph.tsv"), "--taxonomy",
                                        str(lineages), "--out", str(out)])
        assert res.exit_code == 0, res.output
        tables.append(out)
    res = CliRunner().invoke(main, ["diversity", str(tables[0]), "--outdir", str(tmp_path / "d")])
    assert res.exit_code == 0, res.output
    out = tmp_path / "r.html"
    res = CliRunner().invoke(main, ["report", "--biom", str(tables[0]), "--diversity",
                                    str(tmp_path / "d"), "--also-biom", str(tables[1]),
                                    "--out", str(out)])
    assert res.exit_code == 0, res.output
    html = out.read_text()
    start = html.index('<section id="profilers">')
    section = html[start:html.index("</section>", start)]
    assert "Gen3 (genus) [genome:G4]" in section and "Gen3 (genus) [genome:G5]" in section
    assert "Gen1_synthetica " in section  # a species name needs no ID


def test_composition_keeps_the_unexplained_reads_apart_from_unassigned(tmp_path: Path) -> None:
    """A shotgun table's feature 'unclassified' (reads the profiler could not explain) is its
    own 'Unexplained' column at every rank, not lumped with taxa unnamed at that rank."""
    sylph = Path(__file__).parent.parent / "assets" / "test-data" / "profiler_outputs" / "sylph"
    out = tmp_path / "s.biom"
    res = CliRunner().invoke(main, ["import", "--profiler", "sylph", str(sylph / "soil.sylph.tsv"),
                                    "--taxonomy", str(sylph / "soil_lineages.tsv"),
                                    "--out", str(out)])
    assert res.exit_code == 0, res.output
    table = read_table(out)
    values = dict(zip(table.feature_ids, table.counts.toarray()[0], strict=True))
    unnamed = [f for f in table.feature_ids if f != "unclassified"
               and not table.taxonomy.loc[f, "species"]]
    assert unnamed  # a MAG without a species name, and G5 without any lineage
    for rank in ("phylum", "species"):
        comp = composition(table, rank).loc["soil"]
        assert comp["Unexplained"] == pytest.approx(values["unclassified"] / sum(values.values()))
        assert comp.sum() == pytest.approx(1.0)
    species = composition(table, "species").loc["soil"]
    assert species["Unassigned"] == pytest.approx(sum(values[f] for f in unnamed)
                                                  / sum(values.values()))
