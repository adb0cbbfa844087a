"""Spreadsheet formula injection (OWASP "CSV Injection") through every table output.

A BIOM table built here carries sample IDs, site names and a taxon name that a spreadsheet
would run as formulas (``=HYPERLINK(...)``, ``+cmd``, ``@SUM(...)``, ``-X...``). It goes through
``diversity`` (alpha, beta matrices, PCoA, ordination, stats, rarefaction curves, the ``--env``
soil tests), ``export qiime2`` and ``report``: no text cell of any TSV may start with ``= + - @``
unquoted (numbers such as ``-5`` aside), and what a program reads back (the report) is the
original text.
"""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

import biom
import h5py
import numpy as np
import pytest
from click.testing import CliRunner

from soilbiome.cli import main
from soilbiome.io.textfile import plain_cell, safe_cell

HOSTILE = ['=HYPERLINK("http://x","y")', "+cmd|' /C calc'!A0", "@SUM(1+1)*cmd|' /C calc'!A0",
           "-Xdemo", "S5", "S6"]
SITES = ['=HYPERLINK("http://x","site")', "@site", "-site", "=1+2", "plain", "plain"]


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def unquoted_formulas(folder: Path) -> list[str]:
    """Every cell of every text table under ``folder`` that starts like a formula unquoted."""
    bad = []
    for path in sorted(folder.rglob("*")):
        if path.suffix not in (".tsv", ".txt", ".csv") or not path.is_file():
            continue
        # as a spreadsheet parses it: CSV quoting ("...") removed
        with path.open(newline="") as handle:
            rows = csv.reader(handle, delimiter="," if path.suffix == ".csv" else "\t")
            for number, row in enumerate(rows, start=1):
                bad += [f"{path.name}:{number}: {cell}" for cell in row
                        if cell[:1] in "=+-@" and len(cell) > 1 and not _is_number(cell)]
    return bad


def _cells(path: Path) -> list[list[str]]:
    with path.open(newline="") as handle:
        return list(csv.reader(handle, delimiter="\t"))


@pytest.fixture(scope="module")
def hostile_table(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rng = np.random.default_rng(7)
    seqs = ["".join(rng.choice(list("ACGT"), 60)) for _ in range(12)]
    ids = [hashlib.md5(s.encode()).hexdigest() for s in seqs]
    counts = rng.integers(0, 40, size=(12, len(HOSTILE))).astype(float)
    counts[:, -1] = 0  # an empty sample: left out of what needs reads, and said so
    taxonomy = [["d__Bacteria", "k__", "p__Firmicutes", "c__Bacilli", "o__", "f__",
                 "g__-Xgenus" if i == 0 else "g__Bacillus", "s__"] for i in range(12)]
    obs_md = [{"taxonomy": t, "sequence": s} for t, s in zip(taxonomy, seqs, strict=True)]
    smd = [{"site": site, "ph": f"{5 + 0.3 * k:.1f}", "depth": f"-{k + 1}"}
           for k, site in enumerate(SITES)]
    path = tmp_path_factory.mktemp("hostile") / "hostile.biom"
    table = biom.Table(counts, ids, HOSTILE, obs_md, smd, type="OTU table")
    with h5py.File(path, "w") as handle:
        table.to_hdf5(handle, "soilbiome tests")
    return path


def _run(*args: object) -> None:
    res = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)
    assert res.exit_code == 0, res.output + res.stderr
    assert "Warning" not in res.stderr, res.stderr


def test_quoting_rule_round_trips():
    for text in HOSTILE + SITES:
        assert plain_cell(safe_cell(text)) == text
    assert safe_cell("-5") == "-5" and safe_cell("=x") == "'=x"


def test_no_output_cell_starts_like_a_formula(hostile_table, tmp_path):
    div = tmp_path / "div"
    _run("diversity", hostile_table, "--outdir", div, "--group-by", "site",
         "--env", "ph,depth", "--permutations", "99", "--rarefaction-depth", "20")
    written = sorted(p.name for p in div.iterdir())
    assert {"alpha_diversity.tsv", "beta_braycurtis.tsv", "pcoa_braycurtis.tsv",
            "soil_mantel.tsv"} <= set(written), written
    _run("export", "qiime2", hostile_table, "--out", tmp_path / "qiime2")
    assert unquoted_formulas(tmp_path) == []
    # each hostile ID is there, quoted (not lost), in the alpha table and the matrices
    alpha = [row[0] for row in _cells(div / "alpha_diversity.tsv")]
    beta = _cells(div / "beta_braycurtis.tsv")
    pcoa = [row[0] for row in _cells(div / "pcoa_braycurtis.tsv")]
    for sample in HOSTILE[:4]:
        assert safe_cell(sample) in alpha and safe_cell(sample) in pcoa
        assert safe_cell(sample) in beta[0] and safe_cell(sample) in [r[0] for r in beta]
    taxonomy = (tmp_path / "qiime2" / "taxonomy.tsv").read_text()
    assert "g__-Xgenus" in taxonomy  # inside a lineage: not at the start of a cell

    # a program reading them back (the report) sees the original text, escaped as HTML
    out = tmp_path / "report.html"
    _run("report", "--biom", hostile_table, "--diversity", div, "--out", out)
    html = out.read_text()
    assert "=HYPERLINK(&quot;http://x&quot;,&quot;y&quot;)" in html
    assert "&#x27;=HYPERLINK" not in html and "'=HYPERLINK" not in html
