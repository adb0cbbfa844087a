"""`compare` and `check merge` on the processing context: tables of different markers,
truncations or references are not merged silently, ranks collapse only when asked, and the
context is covered by the signature. The institutions are those of tests/test_compare.py."""

from __future__ import annotations

import json
from pathlib import Path

import h5py
from click.testing import CliRunner
from test_compare import ROOT, TODAY, _run, institutions  # noqa: F401  (module fixture)

from soilbiome.cli import main
from soilbiome.sharing import generate_key
from soilbiome.sharing.stamp_format import STAMP_ATTR, canonical_json


def _pair(made: dict, x: str, y: str, out: Path, *extra: str) -> object:
    (a, ag_a), (b, ag_b) = made[x], made[y]
    return _run([str(a), str(b), "--agreement", str(ag_a), "--agreement", str(ag_b),
                 "--out", str(out), "--key", str(made["comparer"]), *extra])


def test_different_markers_refused_input_by_input(institutions: dict, tmp_path: Path) -> None:  # noqa: F811
    res = _pair(institutions, "ref1", "its", tmp_path / "x")
    assert res.exit_code == 1, res.output
    assert "different markers" in res.output and "ref1=16S" in res.output
    assert "its=ITS" in res.output and "Traceback" not in res.output
    assert not (tmp_path / "x").exists()
    # at a rank too: bacteria and fungi never go into one Bray-Curtis
    res = _pair(institutions, "ref1", "its", tmp_path / "y", "--rank", "genus")
    assert res.exit_code == 1 and "different markers" in res.output
    # amplicon with shotgun: refused unless explicitly allowed at a rank
    res = _pair(institutions, "ref1", "shotgun", tmp_path / "z", "--rank", "genus")
    assert res.exit_code == 1 and "--allow-amplicon-shotgun" in res.output, res.output
    res = _pair(institutions, "ref1", "shotgun", tmp_path / "z", "--rank", "genus",
                "--allow-amplicon-shotgun", "--rarefaction-depth", "50", "--accept-mixed-taxonomy")
    assert res.exit_code == 0, res.output
    summary = json.loads((tmp_path / "z" / "compare.json").read_text())
    assert any("amplicon and shotgun" in c for c in summary["caveats"])
    header = (tmp_path / "z" / "site_summary.tsv").read_text().splitlines()
    assert any(line.startswith("# caveat: amplicon and shotgun") for line in header)


def test_asvs_matched_only_with_the_same_truncation(institutions: dict, tmp_path: Path) -> None:  # noqa: F811
    res = _pair(institutions, "ref1", "long", tmp_path / "x")
    assert res.exit_code == 1, res.output
    assert "trunc_len_f differs (ref1=150, long=240)" in res.output
    assert "--trim-to" in res.output and "--rank" in res.output
    res = _pair(institutions, "ref1", "long", tmp_path / "t", "--trim-to", "100",
                "--rarefaction-depth", "50")
    assert res.exit_code == 0, res.output
    summary = json.loads((tmp_path / "t" / "compare.json").read_text())
    assert summary["features"]["mode"] == "asv-sequence"
    assert summary["context"]["trunc_len_f"] == "100"
    from soilbiome.io.biom_reader import read_table

    merged = read_table(tmp_path / "t" / "merged.biom")
    assert {len(s) for s in merged.observation_metadata["sequence"]} == {100}
    assert merged.context.trunc_len_f == "100"


def test_different_references_refused_unless_retaxonomised(institutions: dict,  # noqa: F811
                                                          tmp_path: Path) -> None:
    res = _pair(institutions, "ref1", "ref2", tmp_path / "x", "--rank", "genus")
    assert res.exit_code == 1, res.output
    assert "reference differs (ref1=ten16s_sintax, ref2=dada2_example_train)" in res.output
    assert "--retaxonomise" in res.output
    # ASV level too: a shared ASV would silently keep one input's lineage
    res = _pair(institutions, "ref1", "ref2", tmp_path / "y")
    assert res.exit_code == 1 and "different references" in res.output
    sheet = ROOT / "assets" / "refdb" / "test_refdb.csv"
    out = tmp_path / "retax"
    res = _pair(institutions, "ref1", "ref2", out, "--rank", "genus", "--retaxonomise",
                "ten16s_sintax", "--refdb-sheet", str(sheet), "--rarefaction-depth", "50")
    assert res.exit_code == 0, res.output
    summary = json.loads((out / "compare.json").read_text())
    assert summary["context"]["reference"] == "ten16s_sintax"
    assert summary["retaxonomised_with"]["sha256"].startswith("7aab8007")
    # every genus in the merged table is a genus of that reference (the inputs' own fake
    # lineages, Genus0..Genus8, are gone)
    import gzip
    import re

    with gzip.open(ROOT / "assets" / "test-data" / "refdb" / "16s_sintax_ten16s.fa.gz",
                   "rt") as fh:
        reference_genera = {m.group(1) for line in fh if line.startswith(">")
                            for m in [re.search(r"g:([^,;]+)", line)] if m}
    from soilbiome.io.biom_reader import read_table

    merged = read_table(out / "merged.biom")
    genera = {g for g in merged.taxonomy["genus"] if g}
    assert genera and genera <= reference_genera, genera - reference_genera
    assert merged.context.reference == "ten16s_sintax"
    # or accepted as mixed, with the caveat in every output
    res = _pair(institutions, "ref1", "ref2", tmp_path / "mixed", "--rank", "genus",
                "--accept-mixed-taxonomy", "--rarefaction-depth", "50")
    assert res.exit_code == 0, res.output
    summary = json.loads((tmp_path / "mixed" / "compare.json").read_text())
    assert any("mixed taxonomy accepted" in c for c in summary["caveats"])


def test_rank_alone_collapses_and_the_same_table_twice_is_refused(institutions: dict,  # noqa: F811
                                                                  tmp_path: Path) -> None:
    res = _pair(institutions, "a", "b", tmp_path / "g", "--rank", "genus",
                "--rarefaction-depth", "50")
    assert res.exit_code == 0, res.output
    summary = json.loads((tmp_path / "g" / "compare.json").read_text())
    assert summary["features"]["mode"] == "taxa-genus"
    (a, ag_a) = institutions["a"]
    res = _run([str(a), str(a), "--agreement", str(ag_a), "--out", str(tmp_path / "twice"),
                "--key", str(institutions["comparer"])])
    assert res.exit_code == 1 and "same file" in res.output, res.output


def test_processing_context_is_signed(institutions: dict, tmp_path: Path) -> None:  # noqa: F811
    import shutil

    from soilbiome.sharing.stamp_format import sidecar_path

    table, ag = institutions["ref1"]
    with h5py.File(table, "r") as f:
        stamp = json.loads(f.attrs[STAMP_ATTR])
    assert stamp["processing_context"]["reference"] == "ten16s_sintax"
    assert stamp["processing_context"]["trunc_len_f"] == "150"
    copy = tmp_path / "ref1.biom"
    shutil.copyfile(table, copy)
    shutil.copyfile(sidecar_path(table), sidecar_path(copy))
    ok = CliRunner().invoke(main, ["verify", str(copy), "--agreement", str(ag),
                                   "--today", TODAY])
    assert ok.exit_code in (0, 5), ok.output
    with h5py.File(copy, "r+") as f:  # someone "corrects" the truncation length afterwards
        context = json.loads(f.attrs["soilbiome:processing-context"])
        context["trunc_len_f"] = "240"
        f.attrs["soilbiome:processing-context"] = json.dumps(context)
    bad = CliRunner().invoke(main, ["verify", str(copy), "--agreement", str(ag),
                                    "--today", TODAY])
    assert bad.exit_code == 1 and "D3" in bad.output, bad.output


def test_check_merge_does_not_trust_a_signer_no_agreement_vouches_for(institutions: dict,  # noqa: F811
                                                                      tmp_path: Path) -> None:
    """Terms rewritten to CC0 and re-signed with a fresh key: without --agreement nothing says
    the key may speak for the provider, so D2 is never "passed" (issue 21)."""
    import shutil

    from soilbiome.sharing import dsse
    from soilbiome.sharing.keys import load_private_key
    from soilbiome.sharing.stamp_format import sidecar_path

    (a, _), (b, ag_b) = institutions["a"], institutions["b"]
    forged = tmp_path / "b.biom"
    shutil.copyfile(b, forged)
    with h5py.File(forged, "r+") as f:
        stamp = json.loads(f.attrs[STAMP_ATTR])
        stamp["license"] = "CC0-1.0"
        stamp["terms"]["license"] = "CC0-1.0"
        f.attrs[STAMP_ATTR] = canonical_json(stamp)
    import hashlib

    digest = hashlib.sha256(forged.read_bytes()).hexdigest()
    statement = dsse.Envelope.parse(json.loads(sidecar_path(b).read_text())).statement()
    statement["subject"] = [{"name": forged.name, "digest": {"sha256": digest}}]
    statement["predicate"] = stamp
    stranger = generate_key(tmp_path / "stranger.key")
    envelope = dsse.sign(canonical_json(statement).encode(),
                         [load_private_key(stranger.private_key_path)])
    sidecar_path(forged).write_text(json.dumps(envelope))
    res = CliRunner().invoke(main, ["check", "merge", str(a), str(forged), "--json"])
    assert res.exit_code == 5, res.output
    report = json.loads(res.output)
    d2 = [r for r in report["rules"] if r["rule"] == "D2"]
    assert d2 and d2[0]["status"] != "passed", d2
    assert stranger.keyid in res.output
    # with the agreement the forged signer is refused outright
    res = CliRunner().invoke(main, ["check", "merge", str(a), str(forged), "--agreement",
                                    str(institutions["a"][1]), "--agreement", str(ag_b)])
    assert res.exit_code == 1 and "D2" in res.output, res.output
