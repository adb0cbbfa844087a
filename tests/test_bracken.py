"""The Bracken method (Lu et al. 2017) on cases small enough to compute by hand."""

from __future__ import annotations

import numpy as np
import pytest

from soilbiome.shotgun.bracken import (
    KmerDistribution,
    _classify_windows,
    _classify_windows_py,
    build_kmer_distribution,
    estimate,
    read_kmer_distribution,
)
from soilbiome.taxonomy.taxdump import Taxonomy


@pytest.fixture
def tree() -> Taxonomy:
    """root 1 -> genus 10 -> species 11 (A) and 12 (B)."""
    tax = Taxonomy()
    for taxid, parent, rank, name in (("1", "1", "no rank", "root"), ("10", "1", "genus", "G"),
                                      ("11", "10", "species", "G a"),
                                      ("12", "10", "species", "G b")):
        tax.parent[taxid], tax.rank[taxid], tax.name[taxid] = parent, rank, name
    return tax


def test_windows_are_classified_like_kmer2read_distr(tmp_path, tree):
    # k = 3, read length 5 -> windows of 3 k-mers over A A G B B:
    # [A A G]: A scores 2 + 1 (its genus) = 3 -> A; [A G B]: A = B = 2 -> tie -> LCA G;
    # [G B B]: B scores 3 -> B. A second sequence of genome B is all unclassified (0 hits).
    out = tmp_path / "library.kraken"
    out.write_text("C\tkraken:taxid|11|s1\t11\t7\t11:2 10:1 12:2\n"
                   "U\tkraken:taxid|12|s2\t0\t6\t0:4\n")
    dist = build_kmer_distribution(out, tree, read_length=5, kmer_length=3)
    assert dist.totals == {"11": 3, "12": 2}
    assert dist.mapped == {"11": {"11": 1}, "10": {"11": 1}, "12": {"11": 1}}
    written = tmp_path / "d.kmer_distrib"
    dist.write(written)
    again = read_kmer_distribution(written)
    # Bracken's file lists genomes per mapped taxon: a genome never classified is not in it
    assert again.mapped == dist.mapped and again.totals == {"11": 3}


def test_compiled_kernel_matches_the_python_reference():
    rng = np.random.default_rng(7)
    parent = np.array([-1, 0, 1, 1, 0], dtype=np.int64)      # root, genus, sp, sp, other
    depth = np.array([0, 1, 2, 2, 1], dtype=np.int64)
    kmers = rng.integers(-1, 5, size=400).astype(np.int64)
    offsets = np.array([0, 150, 151, 400], dtype=np.int64)
    genomes = np.array([0, 1, 0], dtype=np.int64)
    ref = _classify_windows_py(kmers, offsets, genomes, parent, depth, 0, 7)
    fast = _classify_windows(kmers, offsets, genomes, parent, depth, 0, 7)
    for a, b in zip(ref, fast, strict=True):
        assert np.array_equal(a, b)
    assert int(ref[2].sum()) == (150 - 7 + 1) + (249 - 7 + 1)


def test_reestimation_by_hand(tree):
    # genome A: 60 % of its windows stay at A, 40 % end at the genus;
    # genome B: 80 % at B, 20 % at the genus.
    dist = KmerDistribution(mapped={"11": {"11": 60}, "12": {"12": 80},
                                    "10": {"11": 40, "12": 20}},
                            totals={"11": 100, "12": 100})
    # Kraken2: 30 reads at A, 40 at B, 50 at the genus.
    est = estimate({"11": 30.0, "12": 40.0, "10": 50.0}, tree, dist)
    # A(A) = 30 / 0.6 = 50, A(B) = 40 / 0.8 = 50; weights 0.4 * 50 = 20 and 0.2 * 50 = 10:
    # the genus's 50 reads go 2/3 to A and 1/3 to B.
    assert est.reads["11"] == pytest.approx(30 + 50 * 20 / 30)
    assert est.reads["12"] == pytest.approx(40 + 50 * 10 / 30)
    assert "10" not in est.reads
    assert est.distributed == 50 and est.undistributed == 0
    assert sum(est.reads.values()) == pytest.approx(120)


def test_reads_that_cannot_be_reestimated_stay_where_they_are(tree):
    dist = KmerDistribution(mapped={"11": {"11": 60}, "10": {"11": 40}}, totals={"11": 100})
    # B has 5 reads (< threshold 10): kept as it is; root reads: no genome reaches the root
    est = estimate({"11": 30.0, "12": 5.0, "10": 20.0, "1": 7.0}, tree, dist, threshold=10)
    assert est.below_threshold == ["12"]
    assert est.reads["12"] == 5.0
    assert est.reads["1"] == 7.0
    assert est.reads["11"] == pytest.approx(50.0)  # the genus's 20 reads can only be A's
    assert sum(est.reads.values()) == pytest.approx(62.0)
