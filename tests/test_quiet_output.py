"""Quiet, honest output: no raw Python/numpy/pandas warning reaches a user, and every plot
that leaves samples out says which and why.

The commands run as a user runs them (``python -W error -m soilbiome ...``: any warning would
end the command in a traceback) on awkward but valid inputs: empty samples, a soil variable
that is constant or missing in some samples, a group of one sample, two institutions whose
metadata columns differ (the merged metadata has holes), a MetaPhlAn profile.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import re
import subprocess
import sys
from pathlib import Path

import biom
import h5py
import numpy as np
import pytest

from conftest import TESTDATA

SAMPLES = ["S0", "S1", "S2", "S3", "E1", "E2"]  # E1, E2: empty


def _table(path: Path, samples: list[str], metadata: list[dict], seed: int = 5,
           empty: tuple[str, ...] = ("E1", "E2")) -> Path:
    rng = np.random.default_rng(seed)
    seqs = ["".join(rng.choice(list("ACGT"), 60)) for _ in range(15)]
    ids = [hashlib.md5(s.encode()).hexdigest() for s in seqs]
    counts = rng.integers(0, 30, size=(15, len(samples))).astype(float)
    for s in empty:
        if s in samples:
            counts[:, samples.index(s)] = 0
    tax = [["d__Bacteria", "k__", f"p__P{i % 3}", "c__", "o__", "f__", f"g__G{i % 4}", "s__"]
           for i in range(15)]
    obs = [{"taxonomy": t, "sequence": s} for t, s in zip(tax, seqs, strict=True)]
    table = biom.Table(counts, ids, samples, obs, metadata, type="OTU table")
    with h5py.File(path, "w") as handle:
        table.to_hdf5(handle, "soilbiome tests")
        handle.attrs["soilbiome:marker"] = "16S"
        handle.attrs["soilbiome:region"] = "V4"
        handle.attrs["soilbiome:value-kind"] = "counts"
    return path


def soilbiome(*args: object, cwd: Path) -> subprocess.CompletedProcess:
    """The CLI as a user runs it, with every warning turned into an error."""
    proc = subprocess.run([sys.executable, "-W", "error", "-m", "soilbiome",
                           *map(str, args)], capture_output=True, text=True, cwd=cwd,
                          timeout=600)
    assert "Traceback" not in proc.stderr and "Warning" not in proc.stderr, proc.stderr
    assert proc.returncode == 0, proc.stderr
    return proc


@pytest.fixture(scope="module")
def awkward(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("quiet")
    md = [{"site": "A" if i < 3 else "B" if i < 5 else "C", "ph": "5.0",
           "carb": ["1.5", "", "nan", "2", "3", "4"][i], "depth": str(i)}
          for i in range(len(SAMPLES))]
    _table(d / "t.biom", SAMPLES, md)
    return d


def test_diversity_and_report_are_quiet_and_name_left_out_samples(awkward: Path) -> None:
    soilbiome("diversity", "t.biom", "--outdir", "div", "--group-by", "site",
              "--env", "ph,carb,depth", "--permutations", "9", cwd=awkward)
    soilbiome("report", "--biom", "t.biom", "--diversity", "div", "--out", "r.html",
              cwd=awkward)
    soilbiome("export", "qiime2", "t.biom", "--out", "q2", cwd=awkward)
    html = (awkward / "r.html").read_text()
    # alpha box plots, rarefaction curves and both PCoAs leave the empty samples out, and
    # each says so under the plot; the composition marks them as empty bars
    notes = re.findall(r'<p class="note">Left out of the plot: (.*?)\.</p>', html)
    assert len(notes) >= 4, notes
    for note in notes:
        assert note == "2 sample(s): E1 (empty: 0 reads), E2 (empty: 0 reads)", note
    assert "Empty (0 reads, bar marked <i>empty</i>): 2 sample(s): E1, E2." in html


def test_one_sample_with_env_says_why_no_soil_tests(awkward: Path) -> None:
    _table(awkward / "one.biom", ["S0"], [{"site": "A", "ph": "5"}], empty=())
    proc = soilbiome("diversity", "one.biom", "--outdir", "one", "--env", "ph", cwd=awkward)
    assert "soil context: not computed: no braycurtis distances (fewer than 2 samples" \
        in proc.stdout


def test_import_is_quiet(awkward: Path) -> None:
    mpa = TESTDATA / "profiler_outputs" / "metaphlan"
    soilbiome("import", "--profiler", "metaphlan", mpa / "ERR7569997.txt",
              mpa / "mpa_valid_complex.tsv", "--taxonomy",
              TESTDATA / "profiler_outputs" / "taxonomy", "--out", "mpa.biom", cwd=awkward)
    soilbiome("diversity", "mpa.biom", "--outdir", "mpa-div", cwd=awkward)


def test_compare_with_differing_metadata_is_quiet(awkward: Path) -> None:
    from test_compare import NOW, TODAY, _agreement

    from soilbiome.sharing import generate_key, stamp_biom

    key = generate_key(awkward / "provider.key")
    comparer = generate_key(awkward / "comparer.key")
    args: list[object] = []
    agreements: list[object] = []
    # soil values typed as soilbiome stores them (floats, NaN), columns only one input has
    for name, samples in (("a", ["A1", "A2", "A3", "A4"]), ("b", ["B1", "B2", "B3", "E1"])):
        # the --group column is empty in one input and missing in the other
        md = [{"ph": 5 + 0.5 * k, "provider_country": "CL",
               **({"site": "", "carb": math.nan if k == 1 else 1.5 + k} if name == "a"
                  else {})}
              for k in range(len(samples))]
        table = _table(awkward / f"{name}.biom", samples, md, seed=ord(name))
        agreement = _agreement(awkward, name, f"provider-{name}", samples, key, "CC-BY-4.0")
        stamp_biom(table, agreement, key.private_key_path, today=dt.date(2025, 6, 15), now=NOW)
        args.append(table)
        agreements += ["--agreement", agreement]
    soilbiome("compare", *args, *agreements, "--group", "site", "--out", "cmp", "--key",
              comparer.private_key_path, "--today", TODAY, "--permutations", "9",
              "--env", "ph", cwd=awkward)
    assert (awkward / "cmp" / "report.html").is_file()
