"""soilbiome compare on real stamped tables of two institutions (Atacama soil reads)."""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from test_diversity import atacama_counts, write_biom

from conftest import assert_strict_json_tree, assert_test_tsvs_explained
from soilbiome.cli import main
from soilbiome.sharing import generate_key, rewrite_trusted_keys, stamp_biom
from soilbiome.sharing.integrity import check_integrity
from soilbiome.sharing.stamp_format import STAMP_ATTR, canonical_json

ROOT = Path(__file__).resolve().parents[1]
OPEN = ROOT / "sharing_agreements" / "examples" / "open-cc-by.yaml"
TODAY = "2025-06-15"
NOW = dt.datetime(2025, 6, 15, 12, 0, tzinfo=dt.UTC)
MOR_LICENCE = "LicenseRef-atacama-dsa"  # an open licence cannot carry a moratorium (A5)
MORATORIUM = "2025-12-31"  # publication moratorium of input 'mor' (after TODAY)
SITES = {"BAQ": "24.10 S 69.87 W", "YUN": "24.09 S 69.97 W", "PAP": "25.20 S 70.10 W"}


def _agreement(tmp: Path, name: str, party: str, samples: list[str], key, licence: str,
               moratorium: str | None = None) -> Path:
    text = OPEN.read_text()
    if moratorium:
        gru = '- {id: "DUO:0000042", label: "general research use", version: "2021-02-23"}'
        text = text.replace(gru, gru + '\n    - {id: "DUO:0000024", label: "publication '
                            f'moratorium", version: "2021-02-23", until: "{moratorium}"}}')
        text = text.replace("insdc_deposit: full", "insdc_deposit: metadata_only")
    text = text.replace("provider-cl", party)
    text = text.replace("6b1d2c4e-5a7f-4c1e-9d3b-2f8a0e6c1a01",
                        f"6b1d2c4e-5a7f-4c1e-9d3b-2f8a0e6c1a{abs(hash(name)) % 100:02d}")
    text = text.replace('spdx: "CC-BY-4.0"', f'spdx: "{licence}"')
    text = text.replace('derived_outputs_license: "CC-BY-4.0"',
                        f'derived_outputs_license: "{licence}"')
    start = text.index("sample_ids: [")
    end = text.index("]", start) + 1
    text = text[:start] + "sample_ids: [" + ", ".join(f'"{s}"' for s in samples) + "]" + \
        text[end:]
    raw = tmp / f"{name}.raw.yaml"
    raw.write_text(text)
    return rewrite_trusted_keys(raw, tmp / f"{name}.yaml", [(key, party)],
                                valid_from="2025-01-01", valid_until="2027-12-31")


def soil_values(sample: str) -> dict[str, float]:
    """Soil measurements typed as ``soilbiome`` stores them (float64, canonical units, NaN)."""
    digits = sum(int(c) for c in sample if c.isdigit())
    ph = 6.0 + 0.1 * (digits % 25)
    carb = math.nan if sample == "YUN1242.1" else 0.5 + 0.3 * (digits % 7)
    return {"ph": ph, "tot_org_carb": carb}


def _table(tmp: Path, name: str, counts: pd.DataFrame, seqs: dict[str, str],
           context: dict | None = None) -> Path:
    md = {s: {"site": "control" if s == "BLANK" else s[:3],
              "lat_lon": SITES.get(s[:3], "24.10 S 69.87 W"),
              "provider_country": "CL", **soil_values(s)} for s in counts.index}
    tax = {f: ["d__Bacteria", "k__", f"p__Phylum{i % 4}", "c__C", "o__O", "f__F",
               f"g__Genus{i % 9}", "s__"]
           for i, f in enumerate(counts.columns)}
    path = write_biom(counts, tmp / f"{name}.biom", taxonomy=tax, sample_md=md, sequences=seqs)
    with h5py.File(path, "r+") as f:
        f.attrs["soilbiome:marker"] = "16S"
        f.attrs["soilbiome:region"] = "V4"
        f.attrs["soilbiome:value-kind"] = "counts"
        f.attrs["soilbiome:sample-units"] = json.dumps({"ph": "", "tot_org_carb": "g/kg"})
        if context is not None:
            f.attrs["soilbiome:marker"] = context.get("marker", "")
            f.attrs["soilbiome:processing-context"] = json.dumps(context)
    return path


#: Processing contexts of the extra inputs: (samples of input a or b, context)
CONTEXTS = {
    "ref1": ("a", {"marker": "16S", "region": "V4", "trunc_len_f": "150", "trunc_len_r": "140",
                   "method": "DADA2", "reference": "ten16s_sintax",
                   "reference_version": "TAXXI-ten16s.100", "classifier": "vsearch SINTAX"}),
    "ref2": ("b", {"marker": "16S", "region": "V4", "trunc_len_f": "150", "trunc_len_r": "140",
                   "method": "DADA2", "reference": "dada2_example_train",
                   "reference_version": "dada2-1.26-example",
                   "classifier": "DADA2 assignTaxonomy"}),
    "long": ("b", {"marker": "16S", "region": "V4", "trunc_len_f": "240", "trunc_len_r": "160",
                   "method": "DADA2", "reference": "ten16s_sintax",
                   "reference_version": "TAXXI-ten16s.100", "classifier": "vsearch SINTAX"}),
    "its": ("b", {"marker": "ITS", "region": "ITS2", "method": "DADA2",
                  "reference": "unite_mini_sintax", "taxonomy_system": "UNITE"}),
    "shotgun": ("b", {"marker": "shotgun", "method": "Kraken2", "reference": "k2",
                      "taxonomy_system": "NCBI"}),
}


@pytest.fixture(scope="module")
def institutions(tmp_path_factory: pytest.TempPathFactory) -> dict:
    tmp = tmp_path_factory.mktemp("compare")
    counts, seqs = atacama_counts()
    key = generate_key(tmp / "provider.key")
    comparer = generate_key(tmp / "comparer.key")
    a_samples = [s for s in counts.index if s.startswith("BAQ")] + ["BLANK"]
    b_samples = [s for s in counts.index if not s.startswith("BAQ")]  # YUN, PAP and BLANK
    out = {"tmp": tmp, "key": key, "comparer": comparer.private_key_path}
    for name, samples, party, lic, mor in (
            ("a", a_samples, "provider-a", "CC-BY-4.0", None),
            ("b", b_samples, "provider-b", "CC-BY-4.0", None),
            ("sa", a_samples, "provider-sa", "CC-BY-SA-4.0", None),
            ("odbl", b_samples, "provider-odbl", "ODbL-1.0", None),
            ("mor", b_samples, "provider-mor", MOR_LICENCE, MORATORIUM),
            ("morfar", b_samples, "provider-morfar", MOR_LICENCE, "2099-12-31")):
        ag = _agreement(tmp, name, party, samples, key, lic, mor)
        sub = counts.loc[samples]
        sub = sub.loc[:, sub.sum(axis=0) > 0]
        table = _table(tmp, name, sub, {f: seqs[f] for f in sub.columns})
        stamp_biom(table, ag, key.private_key_path, today=dt.date(2025, 6, 15), now=NOW)
        out[name] = (table, ag)
    for name, (base, context) in CONTEXTS.items():
        samples = a_samples if base == "a" else b_samples
        ag = _agreement(tmp, name, f"provider-{name}", samples, key, "CC-BY-4.0")
        sub = counts.loc[samples]
        sub = sub.loc[:, sub.sum(axis=0) > 0]
        table = _table(tmp, name, sub, {f: seqs[f] for f in sub.columns}, context)
        stamp_biom(table, ag, key.private_key_path, today=dt.date(2025, 6, 15), now=NOW)
        out[name] = (table, ag)
    return out


def _run(args: list[str]) -> object:
    return CliRunner().invoke(main, ["compare", *args, "--today", TODAY, "--permutations", "99"])


def test_two_institutions_merge_and_report(institutions: dict, tmp_path: Path) -> None:
    (a, ag_a), (b, ag_b) = institutions["a"], institutions["b"]
    out = tmp_path / "cmp"
    res = _run([str(a), str(b), "--agreement", str(ag_a), "--agreement", str(ag_b),
                "--group", "site", "--out", str(out), "--key", str(institutions["comparer"]),
                "--rarefaction-depth", "97"])
    assert res.exit_code == 0, res.output
    summary = json.loads((out / "compare.json").read_text())
    assert [i["status"] for i in summary["inputs"]] == ["verified", "verified"]
    assert summary["terms"]["license"] == "CC-BY-4.0"
    assert summary["features"]["mode"] == "asv-sequence"
    # BLANK is in both inputs: kept twice, renamed reversibly
    samples = pd.read_csv(out / "samples.tsv", sep="\t", comment="#")
    blanks = samples[samples["original_sample_id"] == "BLANK"]
    assert sorted(blanks["sample"]) == ["BLANK@a", "BLANK@b"]
    assert set(blanks["institution"]) == {"provider-a", "provider-b"}
    assert len(samples) == 12 and samples["sample"].is_unique
    # below-depth samples reported, not dropped silently
    below = pd.read_csv(out / "below_depth.tsv", sep="\t", comment="#")
    assert {"BLANK@a", "BLANK@b"} <= set(below["sample"])
    # merged table: stamped with the combined terms, signed by the comparer, lists inputs
    integrity = check_integrity(out / "merged.biom")
    assert integrity.ok, integrity.report.to_text()
    stamp = integrity.stamp
    assert stamp["license"] == "CC-BY-4.0"
    assert [m["sha256"] for m in stamp["merged_from"]] == [
        i["sha256"] for i in summary["inputs"]]
    # every index, PERMANOVA with R2, PERMDISP, distance matrices skbio reads
    from skbio import DistanceMatrix

    dm = DistanceMatrix.read(str(out / "diversity" / "beta_braycurtis.tsv"))
    assert "BLANK@a" not in dm.ids and len(dm.ids) == 12 - len(below)
    perm = pd.read_csv(out / "diversity" / "permanova.tsv", sep="\t")
    model = perm[(perm["metric"] == "braycurtis") & (perm["term"] == "Model")].iloc[0]
    assert 0 < model["R2"] < 1 and model["F"] > 0
    assert (out / "diversity" / "permdisp.tsv").is_file()
    # PAP has one sample in the table: PERMDISP is not computable, and every file says why
    disp = summary["permdisp"]["braycurtis"]
    assert disp["status"] == "not computable" and disp["p_value"] is None
    assert disp["reason"] == "a group has fewer than 2 samples (PAP: 1)"
    assert summary["permanova"]["braycurtis"]["p_min"] == pytest.approx(0.01)
    assert {p.name for p in assert_strict_json_tree(out)} == {
        "compare.json", "terms.json", "diversity.json", "merged.biom.sharing.dsse.json"}
    assert {p.name for p in assert_test_tsvs_explained(out)} == {"permanova.tsv",
                                                                 "permdisp.tsv"}
    sites = pd.read_csv(out / "site_summary.tsv", sep="\t", comment="#")
    assert {"BAQ", "YUN", "PAP"} <= set(sites["site"])
    header = (out / "site_summary.tsv").read_text().splitlines()[0]
    assert header.startswith("# license") and "CC-BY-4.0" in header
    html = (out / "report.html").read_text()
    assert 'id="site-map"' in html and 'id="fig-pcoa-braycurtis-institution"' in html
    assert 'id="fig-pcoa-braycurtis-site"' in html
    assert "provider-a" in html and "provider-b" in html
    assert "a group has fewer than 2 samples (PAP: 1)" in html
    assert "(99 permutations; smallest possible p 0.01)" in html


def test_incompatible_licences_refused_with_rule_ids(institutions: dict, tmp_path: Path) -> None:
    (sa, ag_sa), (odbl, ag_odbl) = institutions["sa"], institutions["odbl"]
    out = tmp_path / "cmp"
    res = _run([str(sa), str(odbl), "--agreement", str(ag_sa), "--agreement", str(ag_odbl),
                "--out", str(out), "--key", str(institutions["comparer"])])
    assert res.exit_code == 1
    assert "C4" in res.output and not out.exists()


def test_edited_terms_refused_with_and_without_agreement(institutions: dict,
                                                         tmp_path: Path) -> None:
    (a, ag_a), (b, ag_b) = institutions["a"], institutions["b"]
    edited = tmp_path / "edited.biom"
    edited.write_bytes(b.read_bytes())
    (tmp_path / "edited.biom.sharing.dsse.json").write_bytes(
        Path(str(b) + ".sharing.dsse.json").read_bytes())
    with h5py.File(edited, "r+") as f:
        stamp = json.loads(f.attrs[STAMP_ATTR])
        stamp["license"] = stamp["terms"]["license"] = "CC0-1.0"
        f.attrs[STAMP_ATTR] = canonical_json(stamp)
    for extra in ([], ["--agreement", str(ag_a), "--agreement", str(ag_b)]):
        out = tmp_path / f"cmp{len(extra)}"
        res = _run([str(a), str(edited), *extra, "--out", str(out), "--allow-unverified",
                    "--key", str(institutions["comparer"])])
        assert res.exit_code == 1, res.output
        assert "edited.biom" in res.output and "D4" in res.output and not out.exists()


def test_unverified_input_refused_unless_allowed(institutions: dict, tmp_path: Path) -> None:
    (a, ag_a), (b, _) = institutions["a"], institutions["b"]
    res = _run([str(a), str(b), "--agreement", str(ag_a), "--out", str(tmp_path / "x"),
                "--key", str(institutions["comparer"])])
    assert res.exit_code == 1 and "b.biom" in res.output and "D5" in res.output
    out = tmp_path / "y"
    res = _run([str(a), str(b), "--agreement", str(ag_a), "--out", str(out),
                "--allow-unverified", "--key", str(institutions["comparer"]), "--collapse"])
    assert res.exit_code == 0, res.output
    assert "UNVERIFIED" in res.output
    assert "UNVERIFIED INPUTS" in (out / "report.html").read_text()
    assert (out / "inputs.tsv").read_text().startswith("# UNVERIFIED INPUTS")
    summary = json.loads((out / "compare.json").read_text())
    assert summary["features"]["mode"] == "taxa-genus"
    assert summary["unverified_inputs"] == ["b.biom"]
    with h5py.File(out / "merged.biom") as f:
        assert json.loads(f.attrs[STAMP_ATTR])["unverified_inputs"] == ["b.biom"]


def test_expired_agreement_refused(institutions: dict, tmp_path: Path) -> None:
    (a, ag_a), (b, ag_b) = institutions["a"], institutions["b"]
    res = CliRunner().invoke(main, [
        "compare", str(a), str(b), "--agreement", str(ag_a), "--agreement", str(ag_b),
        "--out", str(tmp_path / "x"), "--key", str(institutions["comparer"]),
        "--today", "2036-01-01"])
    assert res.exit_code == 1 and "expired" in res.output and "A16" in res.output


def _ft(samples: list[str], features: list[str], rows: list[list[float]], *, marker: str,
        region: str, kind: str = "counts", seqs: list[str] | None = None) -> object:
    from scipy import sparse

    from soilbiome.model.table import FeatureTable
    from soilbiome.taxonomy.lineage import RANKS

    tax = pd.DataFrame([["Bacteria", "", f"P{i % 2}", "", "", "", f"G{i}", ""][:len(RANKS)]
                        for i in range(len(features))], index=features, columns=list(RANKS))
    return FeatureTable(
        sample_ids=tuple(samples), feature_ids=tuple(features),
        counts=sparse.csr_matrix(np.array(rows, dtype=float)), value_kind=kind, taxonomy=tax,
        sample_metadata=pd.DataFrame({"site": ["x"] * len(samples)}, index=samples),
        observation_metadata={"sequence": seqs} if seqs else {},
        attributes={"soilbiome:marker": marker, "soilbiome:region": region},
        path=Path(f"{samples[0]}.biom"))


def test_harmonise_refuses_mixing_and_collapses_regions() -> None:
    from soilbiome.compare.harmonise import harmonise
    from soilbiome.errors import InputError

    a = _ft(["s1", "s2"], ["f1", "f2"], [[3, 0], [1, 4]], marker="16S", region="V4",
            seqs=["ACGT", "ACGA"])
    its = _ft(["t1"], ["g1"], [[5]], marker="ITS", region="ITS1", seqs=["TTTT"])
    with pytest.raises(InputError, match="different markers"):
        harmonise([a, its], ["a", "its"], ["A", "B"])
    rel = _ft(["r1"], ["f1"], [[0.5]], marker="16S", region="V4", kind="relative",
              seqs=["ACGT"])
    with pytest.raises(InputError, match="cannot be mixed"):
        harmonise([a, rel], ["a", "rel"], ["A", "B"])
    mixed = harmonise([a, rel], ["a", "rel"], ["A", "B"], to_relative=True)
    assert mixed.value_kind == "relative" and "relative" in mixed.statements[0]
    v3 = _ft(["s1", "u2"], ["h1", "h2"], [[2, 2], [0, 7]], marker="16S", region="V3",
             seqs=["GGGG", "CCCC"])
    h = harmonise([a, v3], ["a", "v3"], ["A", "B"], rank="genus")
    assert h.feature_mode == "taxa-genus" and "different regions" in " ".join(h.statements)
    assert h.sample_ids == ["s1@a", "s2", "s1@v3", "u2"]
    assert h.matrix.sum() == 3 + 1 + 4 + 2 + 2 + 7  # nothing dropped
    same = harmonise([a, _ft(["z"], ["q"], [[2]], marker="16S", region="V4", seqs=["ACGT"])],
                     ["a", "b"], ["A", "B"])
    assert same.feature_mode == "asv-sequence" and len(same.feature_ids) == 2  # ACGT shared


def test_moratorium_not_over_refuses_compare_and_check_merge(institutions: dict,
                                                             tmp_path: Path) -> None:
    """A publication moratorium forbids merging into an output shared onward until it ends."""
    (a, ag_a), (mor, ag_mor) = institutions["a"], institutions["mor"]
    comparer = str(institutions["comparer"])
    agreements = ["--agreement", str(ag_a), "--agreement", str(ag_mor)]
    out = tmp_path / "refused"
    res = _run([str(a), str(mor), *agreements, "--out", str(out), "--key", comparer])
    assert res.exit_code == 1, res.output
    assert "mor.biom" in res.output and "C11" in res.output
    assert f"moratorium (DUO:0000024) until {MORATORIUM} (today {TODAY})" in res.output
    assert not out.exists()
    for extra in (agreements, []):  # check merge: with and without --agreement
        res = CliRunner().invoke(main, ["check", "merge", str(a), str(mor), *extra,
                                        "--today", TODAY])
        assert res.exit_code == 1, res.output
        assert "C11" in res.output and f"until {MORATORIUM}" in res.output
    # verify only reports it: the table may be used, not published, before then
    res = CliRunner().invoke(main, ["verify", str(mor), "--agreement", str(ag_mor),
                                    "--today", TODAY])
    from soilbiome.sharing.findings import EXIT_FAILED

    assert res.exit_code != EXIT_FAILED and "C11" in res.output, res.output
    assert f"publication moratorium until {MORATORIUM} (today {TODAY})" in res.output
    # the day after the moratorium: merged, and the combined terms keep its date
    after = "2026-01-01"
    out = tmp_path / "after"
    res = CliRunner().invoke(main, [
        "compare", str(a), str(mor), *agreements, "--out", str(out), "--key", comparer,
        "--today", after, "--permutations", "9", "--collapse"])
    assert res.exit_code == 0, res.output
    assert json.loads((out / "compare.json").read_text())["terms"]["moratorium_until"] == \
        MORATORIUM
    for extra, code in ((agreements, 0), ([], 5)):
        res = CliRunner().invoke(main, ["check", "merge", str(a), str(mor), *extra,
                                        "--today", after])
        # without the agreements nobody vouches for the signers: a person must decide (D2)
        assert res.exit_code == code, res.output


def test_moratorium_refused_without_today(institutions: dict, tmp_path: Path) -> None:
    """Without --today the real date is the reference (moratorium until 2099)."""
    (a, ag_a), (far, ag_far) = institutions["a"], institutions["morfar"]
    today = dt.date.today().isoformat()
    res = CliRunner().invoke(main, ["check", "merge", str(a), str(far)])
    assert res.exit_code == 1 and "C11" in res.output, res.output
    assert f"until 2099-12-31 (today {today})" in res.output
    out = tmp_path / "x"
    res = CliRunner().invoke(main, ["compare", str(a), str(far), "--agreement", str(ag_a),
                                    "--agreement", str(ag_far), "--out", str(out),
                                    "--key", str(institutions["comparer"])])
    assert res.exit_code == 1 and "C11" in res.output and "far.biom" in res.output, res.output
    assert not out.exists()


def test_soil_context_on_the_merged_table(institutions: dict, tmp_path: Path) -> None:
    (a, ag_a), (b, ag_b) = institutions["a"], institutions["b"]
    base = [str(a), str(b), "--agreement", str(ag_a), "--agreement", str(ag_b),
            "--group", "site", "--key", str(institutions["comparer"])]
    bad = tmp_path / "bad"
    res = _run([*base, "--out", str(bad), "--env", "ph,site"])
    assert res.exit_code != 0 and "--env 'site' is not a numeric variable" in res.output
    assert not bad.exists() and not list(tmp_path.glob(".bad.*"))
    res = _run([*base, "--out", str(bad), "--env", "nosuch"])  # named by the inputs
    assert res.exit_code == 2 and f"the merged table of {a}, {b}: --env 'nosuch'" in res.output
    assert ".bad." not in res.output and "ph" in res.output.split("numeric columns: ")[1]
    assert not bad.exists() and not list(tmp_path.glob(".bad.*"))
    out = tmp_path / "cmp"
    res = _run([*base, "--out", str(out), "--env", "ph,tot_org_carb"])
    assert res.exit_code == 0, res.output
    assert "soil context: ph, tot_org_carb against braycurtis" in res.output
    assert "tot_org_carb: YUN1242.1" in res.output
    # the merged table keeps the soil values as numbers, with their units
    from soilbiome.io.biom_reader import read_table

    merged = read_table(out / "merged.biom")
    md = merged.sample_metadata
    for sample, orig in zip(md.index, md["original_sample_id"], strict=True):
        want = soil_values(orig)
        assert md.at[sample, "ph"] == pytest.approx(want["ph"], abs=0)
        assert math.isnan(md.at[sample, "tot_org_carb"]) == math.isnan(want["tot_org_carb"])
    assert json.loads(merged.attributes["soilbiome:sample-units"])["tot_org_carb"] == "g/kg"
    soil = json.loads((out / "diversity" / "soil_context.json").read_text())
    assert soil["variables"] == ["ph", "tot_org_carb"] and soil["metric"] == "braycurtis"
    assert soil["missing"]["tot_org_carb"] == ["YUN1242.1"]
    mantel = pd.read_csv(out / "diversity" / "soil_mantel.tsv", sep="\t")
    dm = pd.read_csv(out / "diversity" / "beta_braycurtis.tsv", sep="\t", index_col=0)
    n = mantel.groupby("variables")["n_samples"].first()
    assert set(n.index) == {"ph", "tot_org_carb", "ph+tot_org_carb"}
    assert n["ph"] == len(dm) and n["tot_org_carb"] == len(dm) - 1
    assert mantel["statistic"].notna().all()
    summary = json.loads((out / "compare.json").read_text())
    assert summary["soil_context"]["variables"] == ["ph", "tot_org_carb"]
    assert "soil_context.json" in {p.name for p in assert_strict_json_tree(out)}
    assert {p.name for p in assert_test_tsvs_explained(out)} >= {
        "soil_mantel.tsv", "soil_envfit.tsv", "soil_dbrda.tsv", "soil_alpha_spearman.tsv"}
