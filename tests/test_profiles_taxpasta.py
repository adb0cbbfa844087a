"""`soilbiome import` against taxpasta, per profiler and per taxon, on every valid test file.

taxpasta (https://github.com/taxprofiler/taxpasta) standardises the same profiler outputs to
one ``taxonomy_id, count`` table; it runs here in its own venv (``.runtime/taxpasta``, made by
runtime/setup.sh from runtime/taxpasta.txt), as a real tool, never mocked. Every value of
every taxon must agree, except for the differences listed in :data:`KNOWN_DIFFERENCES`, each
of which is itself checked against the file (so a new, real difference fails):

* ``ganon``: taxpasta takes each taxon's ``unique`` reads (0 in all these reports); soilbiome
  takes all reads the report places at the taxon (``cumulative`` minus the ``cumulative`` of
  the reported taxa directly under it).
* ``kaiju``: taxpasta counts the ``NA`` rows "cannot be assigned to a ..." (reads Kaiju
  classified above the table's rank) as unclassified (ID 0); soilbiome keeps them apart, as the
  feature ``unassigned``.
* ``metaphlan``: taxpasta reports every clade's *cumulative* abundance (times 10^6, cut to an
  integer); soilbiome the abundance *directly* at the taxon. Rows without an NCBI ID of their
  own (MetaPhlAn 4's SGBs, unnamed genera) are unclassified (ID 0) in taxpasta; soilbiome keeps
  them at their nearest named clade. soilbiome's ``unassigned`` remainder to 100% has no
  taxpasta counterpart.
"""

from __future__ import annotations

import json
import subprocess
from collections import defaultdict
from pathlib import Path

import pytest

from conftest import TESTDATA
from soilbiome.io.profiles import PROFILERS, Profile, read_profile

ROOT = Path(__file__).resolve().parents[1]
TAXPASTA = ROOT / ".runtime" / "taxpasta" / "bin" / "python"
OUTPUTS = TESTDATA / "profiler_outputs"
#: Formats taxpasta 0.7.0 does not read; their importers are checked against the tools' own
#: example outputs in tests/test_profiles_lineages.py instead.
NOT_IN_TAXPASTA = {"sylph": "no taxpasta reader", "singlem": "no taxpasta reader"}
COMPARED = [p for p in PROFILERS if p not in NOT_IN_TAXPASTA]
VALID = sorted(p for d in OUTPUTS.iterdir() if d.is_dir() and d.name in COMPARED
               for p in d.iterdir() if p.is_file() and "invalid" not in p.name)
KNOWN_DIFFERENCES = {
    "ganon": "taxpasta counts only a taxon's unique reads",
    "kaiju": "taxpasta counts reads classified above the table's rank as unclassified",
    "metaphlan": "taxpasta gives clade totals (x1e6, truncated); rows without their own NCBI "
                 "ID are its taxon 0; no unassigned remainder",
}
#: taxpasta's MetaPhlAn values are percent x 10^6 cut to integers: one unit per row, plus the
#: float sums over a clade.
MPA_UNIT = 1e-8

pytestmark = pytest.mark.skipif(not TAXPASTA.exists(),
                                reason="taxpasta not installed (run runtime/setup.sh)")


@pytest.fixture(scope="module")
def standard() -> dict[str, dict[str, float]]:
    """taxpasta's standard profile of every valid test file (one taxpasta process)."""
    lines = "".join(f"{p.parent.name}\t{p}\n" for p in VALID)
    proc = subprocess.run([str(TAXPASTA), str(ROOT / "tests" / "taxpasta_standardise.py")],
                          input=lines, capture_output=True, text=True, check=True, timeout=300)
    return json.loads(proc.stdout)


def _ours(profile: Profile) -> dict[str, float]:
    values = dict(profile.values)
    if profile.unclassified:
        values["0"] = profile.unclassified
    return values


def _ganon_expected(path: Path) -> tuple[dict[str, float], dict[str, float], float]:
    """From the file itself: ``(unique reads per taxon, reads at the taxon, all reads)``."""
    rows = [line.split("\t") for line in path.read_text().splitlines() if line.strip()]
    unique = {"0" if f[0] == "unclassified" else f[1]: float(f[4]) for f in rows}
    cumulative = {f[1]: float(f[7]) for f in rows if f[0] != "unclassified"}
    parent = {}
    for f in rows:
        if f[0] != "unclassified":
            lineage = [t for t in f[2].split("|") if t]
            parent[f[1]] = next((t for t in reversed(lineage[:-1]) if t in cumulative), None)
    at = dict(cumulative)
    for taxid, up in parent.items():
        if up is not None:
            at[up] -= cumulative[taxid]
    total = sum(float(f[7]) for f in rows if f[0] == "unclassified" or parent[f[1]] is None)
    return unique, at, total


def _metaphlan_rows(path: Path) -> list[tuple[str, str, float]]:
    """``(clade name, own NCBI ID or "", abundance %)`` of every clade row of the file."""
    rows = []
    for line in path.read_text().splitlines():
        if line.startswith("#") or not line.strip():
            continue
        fields = line.split("\t")
        own = fields[1].split("|")[-1].strip()
        rows.append((fields[0].strip(), own, float(fields[2])))
    return rows


def _check_metaphlan(path: Path, profile: Profile, theirs: dict[str, float]) -> None:
    rows = _metaphlan_rows(path)
    clades = [r for r in rows if r[0].upper() not in ("UNCLASSIFIED", "UNKNOWN")]
    names = {name: abundance for name, _, abundance in clades}
    # children directly under each clade (its nearest listed ancestor), for the overshoot
    children: dict[str, float] = defaultdict(float)
    for name, _, abundance in clades:
        parts = name.split("|")
        up = next((p for p in ("|".join(parts[:i]) for i in range(len(parts) - 1, 0, -1))
                   if p in names), None)
        if up is not None:
            children[up] += abundance
    # the taxon each clade row's own value goes to in soilbiome: its deepest named ID
    taxon_of = {}
    for line in path.read_text().splitlines():
        fields = line.split("\t")
        if line.startswith("#") or not line.strip() or fields[0].strip() not in names:
            continue
        known = [t.strip() for t in fields[1].split("|") if t.strip()]
        taxon_of[fields[0].strip()] = known[-1]
    for name, own, abundance in clades:
        if not own:
            continue
        subtree = [n for n in names if n == name or n.startswith(name + "|")]
        ours_clade = sum(profile.values.get(t, 0.0) for t in {taxon_of[n] for n in subtree})
        # the clade total soilbiome's direct values add up to: the clade's own value plus
        # what listed children print above their clade (MetaPhlAn 4 rounding; their clade
        # keeps nothing, the children keep what the file gives them)
        overshoot = sum(max(0.0, children[n] - names[n]) for n in subtree) / 100
        assert theirs.get(own, 0.0) / 1e6 / 100 == pytest.approx(abundance / 100,
                                                                  abs=2 * MPA_UNIT)
        assert ours_clade == pytest.approx(theirs.get(own, 0.0) * MPA_UNIT + overshoot,
                                           abs=MPA_UNIT * (len(subtree) + 2)), name
    # taxpasta's taxon 0: the file's unclassified share plus every row without its own ID
    no_id = sum(a for n, own, a in clades if not own and n)
    assert profile.unclassified == pytest.approx(
        theirs.get("0", 0.0) * MPA_UNIT - no_id / 100, abs=MPA_UNIT * (len(rows) + 1))
    # soilbiome's remainder to 100%: what the file's top-level clades and its unclassified
    # share leave over (taxpasta has no such row)
    top = sum(a for n, _, a in clades if "|" not in n) + sum(
        a for n, _, a in rows if n.upper() in ("UNCLASSIFIED", "UNKNOWN"))
    assert profile.unassigned == pytest.approx(max(0.0, 1 - top / 100 - sum(
        max(0.0, children[n] - names[n]) for n in names) / 100), abs=1e-6)


def _check_counts(path: Path, ours: dict[str, float], theirs: dict[str, float]) -> None:
    differ = {t: (ours.get(t, 0.0), theirs.get(t, 0.0)) for t in set(ours) | set(theirs)
              if ours.get(t, 0.0) != theirs.get(t, 0.0)}
    assert not differ, f"{path.name}: taxon: (soilbiome, taxpasta) {sorted(differ.items())[:5]}"


@pytest.mark.parametrize("profiler", COMPARED)
def test_every_taxon_agrees_with_taxpasta(profiler, standard):
    files = [p for p in VALID if p.parent.name == profiler]
    assert files, f"no valid {profiler} test file"
    for path in files:
        theirs = standard[str(path)]
        assert "error" not in theirs, f"taxpasta refused {path.name}: {theirs}"
        profile = read_profile(profiler, path)
        ours = _ours(profile)
        if profiler == "metaphlan":
            _check_metaphlan(path, profile, theirs)
        elif profiler == "ganon":
            unique, at, total = _ganon_expected(path)
            assert theirs == unique, path.name  # every taxon, with its unique reads
            for taxid, reads in at.items():  # soilbiome: every read at its taxon
                assert ours.get(taxid, 0.0) == reads >= unique[taxid], (path.name, taxid)
            assert profile.total == total  # nothing dropped
        elif profiler == "kaiju":
            above = sum(float(f[2]) for f in (line.split("\t") for line in
                                               path.read_text().splitlines()[1:])
                        if f[3] == "NA" and f[4].startswith("cannot be assigned"))
            assert above > 0 and profile.unassigned == above, path.name
            ours["0"] = ours.get("0", 0.0) + profile.unassigned  # taxpasta's taxon 0
            _check_counts(path, ours, theirs)
        else:
            assert profiler not in KNOWN_DIFFERENCES
            _check_counts(path, ours, theirs)
            assert profile.unassigned == 0.0 or profile.value_kind == "relative"


def test_an_unplaced_remainder_is_an_explicit_feature_not_rescaled(tmp_path):
    """A MetaPhlAn file whose clades add up to 99.5%: the taxa keep their values and the 0.5%
    is the feature ``unassigned`` (formerly every taxon was scaled up by 1/0.995)."""
    from click.testing import CliRunner

    from soilbiome.cli import main
    from soilbiome.io.biom_reader import read_table

    source = (OUTPUTS / "metaphlan" / "mpa_valid_simple.tsv").read_text()
    path = tmp_path / "S1.tsv"
    path.write_text(source.replace("\t100.0\t", "\t99.5\t").replace("34.74319", "34.24319"))
    profile = read_profile("metaphlan", path)
    assert profile.unassigned == pytest.approx(0.005)
    assert profile.values["43768"] == pytest.approx(0.6525681)
    out = tmp_path / "t.biom"
    res = CliRunner().invoke(main, ["import", "--profiler", "metaphlan", str(path),
                                    "--taxonomy", str(OUTPUTS / "taxonomy"), "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "0.5% unassigned" in res.output
    table = read_table(out)
    values = dict(zip(table.feature_ids, table.counts.toarray()[0], strict=True))
    assert values["unassigned"] == pytest.approx(0.005)
    assert values["ncbi:43768"] == pytest.approx(0.6525681)
    assert table.taxonomy.loc["unassigned"].eq("").all()
    assert sum(values.values()) == pytest.approx(1.0)
