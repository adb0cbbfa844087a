"""Phylogeny, Faith's PD and UniFrac: a hand-computed tree and an R (ape/phyloseq) check."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from skbio import TreeNode

from soilbiome.amplicon.phylogeny import midpoint_rooted
from soilbiome.diversity.beta import beta_diversity
from soilbiome.diversity.common import DiversityError
from soilbiome.diversity.phylo import faith_pd

SOILBIOME = str(Path(sys.executable).parent / "soilbiome")


def _tree(newick: str) -> TreeNode:
    return TreeNode.read(io.StringIO(newick), format="newick")


def test_faith_pd_on_a_hand_computed_tree():
    #        root
    #   0.5 /    \ 1.5
    #      x      y
    #   1 / \2  3/ \4
    #    A   B  C   D
    tree = _tree("((A:1,B:2):0.5,(C:3,D:4):1.5);")
    counts = pd.DataFrame(
        [[3, 1, 0, 0], [5, 0, 2, 0], [0, 0, 0, 7], [0, 0, 0, 0], [1, 1, 1, 1]],
        index=["s1", "s2", "s3", "empty", "all"], columns=list("ABCD"))
    pd_values = faith_pd(counts, tree)
    # s1: A+B+stem x = 1+2+0.5; s2: A+x+C+y = 1+0.5+3+1.5; s3: D+y = 4+1.5; all: every branch
    assert pd_values.to_dict() == pytest.approx(
        {"s1": 3.5, "s2": 6.0, "s3": 5.5, "empty": 0.0, "all": 12.0})


def test_faith_pd_needs_every_feature_on_the_tree():
    with pytest.raises(DiversityError, match="not tips of the tree"):
        faith_pd(pd.DataFrame([[1, 1]], index=["s"], columns=["A", "Z"]), _tree("(A:1,B:1);"))


def test_midpoint_root_halves_the_longest_path():
    # longest tip-to-tip path B..D = 2 + 2 + 4 = 8: the root goes 4 from both ends
    rooted = _tree(midpoint_rooted("(A:1,B:2,(C:3,D:4):2);"))
    depths = {t.name: t.distance(rooted) for t in rooted.tips()}
    assert depths["D"] == pytest.approx(4) and depths["B"] == pytest.approx(4)
    assert depths["A"] == pytest.approx(3) and depths["C"] == pytest.approx(3)


R_CHECK = r"""
suppressPackageStartupMessages({library(ape); library(phyloseq)})
set.seed(7)
tree <- rtree(25)
comm <- matrix(rpois(8 * 25, 1.2) * rbinom(8 * 25, 1, 0.4), nrow = 8,
               dimnames = list(paste0("s", 1:8), tree$tip.label))
comm[8, ] <- 0; comm[8, 3] <- 5                       # a sample with one feature
# picante's pd(include.root = TRUE), written out: edges of the pruned tree plus the stem from
# the original root to the pruned tree's root (the MRCA of the present features)
depth <- node.depth.edgelength(tree)
pd_picante <- apply(comm, 1, function(x) {
    present <- colnames(comm)[x > 0]
    absent <- setdiff(tree$tip.label, present)
    if (length(present) == 0) return(0)
    if (length(present) == 1) return(depth[match(present, tree$tip.label)])
    if (length(absent) == 0) return(sum(tree$edge.length))
    sub <- drop.tip(tree, absent)
    sum(sub$edge.length) + max(depth[match(present, tree$tip.label)]) -
        max(node.depth.edgelength(sub))
})
ps <- phyloseq(otu_table(comm, taxa_are_rows = FALSE), tree)
w <- as.matrix(UniFrac(ps, weighted = TRUE, normalized = FALSE))
u <- as.matrix(UniFrac(ps, weighted = FALSE))
write.tree(tree, "tree.nwk")
write.table(comm, "comm.tsv", sep = "\t", quote = FALSE)
write.table(data.frame(sample = names(pd_picante), pd = pd_picante), "pd.tsv", sep = "\t",
            quote = FALSE, row.names = FALSE)
write.table(w, "wunifrac.tsv", sep = "\t", quote = FALSE)
write.table(u, "uunifrac.tsv", sep = "\t", quote = FALSE)
"""


def test_faith_pd_and_unifrac_equal_r(tmp_path):
    proc = subprocess.run(["Rscript", "-e", R_CHECK], cwd=tmp_path, capture_output=True,
                          text=True)
    assert proc.returncode == 0, proc.stderr
    tree = TreeNode.read(str(tmp_path / "tree.nwk"), format="newick")
    comm = pd.read_csv(tmp_path / "comm.tsv", sep="\t", index_col=0)
    expected = pd.read_csv(tmp_path / "pd.tsv", sep="\t", index_col=0)["pd"]
    got = faith_pd(comm, tree)
    assert np.allclose(got.reindex(expected.index).to_numpy(), expected.to_numpy(), atol=1e-9)
    for metric, name in (("weighted_unifrac", "wunifrac"), ("unweighted_unifrac", "uunifrac")):
        ref = pd.read_csv(tmp_path / f"{name}.tsv", sep="\t", index_col=0)
        dm, _ = beta_diversity(comm, metric, tree=tree)
        ours = pd.DataFrame(dm.data, index=dm.ids, columns=dm.ids)
        ref = ref.loc[list(dm.ids), list(dm.ids)]
        assert np.allclose(ours.to_numpy(), ref.to_numpy(), atol=1e-9), metric


def test_phylogeny_command_builds_a_rooted_tree_of_the_asvs(tmp_path):
    seqs = ["TACGGAGGGTGCAAGCGTTAATCGGAATTACTGGGCGTAAAGCGCACGTAGGCGG",
            "TACGGAGGGTGCAAGCGTTAATCGGAATTACTGGGCGTAAAGCGCACGTAGGCTG",
            "TACGTAGGGGGCAAGCGTTATCCGGATTTACTGGGTGTAAAGGGAGCGTAGACGG",
            "TACGTAGGTGGCAAGCGTTGTCCGGATTTATTGGGCGTAAAGCGAGCGCAGGCGG"]
    from soilbiome.taxonomy.lineage import feature_id_for

    ids = [feature_id_for(s) for s in seqs]
    counts = tmp_path / "asv_counts.tsv"
    counts.write_text("feature_id\tsequence\ts1\n" + "".join(
        f"{i}\t{s}\t{n}\n" for i, s, n in zip(ids, seqs, (5, 3, 2, 1), strict=True)))
    out = tmp_path / "tree.nwk"
    proc = subprocess.run([SOILBIOME, "phylogeny", "--counts", str(counts), "--out", str(out)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    tree = TreeNode.read(str(out), format="newick")
    assert {t.name for t in tree.tips()} == set(ids)
    assert len(tree.children) == 2  # rooted
    # the two near-identical ASVs are each other's closest relatives
    assert tree.find(ids[0]).parent is tree.find(ids[1]).parent


def _skbio_mask(seqs: list[str], max_gap: float, min_cons: float) -> list[str]:
    """The columns q2-alignment's ``mask`` keeps, from scikit-bio's per-position frequencies
    (the library that mask is built on): gap share <= max_gap, most frequent non-gap
    character's share of the non-gap characters >= min_cons (0 for an all-gap column)."""
    from skbio import DNA, TabularMSA

    msa = TabularMSA([DNA(s) for s in seqs])
    keep = []
    for i, position in enumerate(msa.iter_positions(ignore_metadata=True)):
        freq = position.frequencies()
        gaps = sum(freq.pop(g, 0) for g in DNA.gap_chars)
        cons = max(freq.values()) / sum(freq.values()) if freq else 0.0
        if gaps / len(seqs) <= max_gap and cons >= min_cons:
            keep.append(i)
    return ["".join(s[i] for i in keep) for s in seqs]


def test_alignment_mask_keeps_the_columns_qiime2s_mask_keeps():
    from soilbiome.amplicon.phylogeny import mask_alignment

    rng = np.random.default_rng(7)
    # 60 sequences x 300 columns: conserved, variable, gappy and all-gap columns, '.' gaps too
    base = rng.choice(list("ACGT"), size=300)
    grid = np.tile(base, (60, 1))
    for col in range(300):
        kind = col % 6
        if kind == 1:    # variable: each base at random
            grid[:, col] = rng.choice(list("ACGT"), size=60)
        elif kind == 2:  # gappy: most rows a gap
            grid[rng.random(60) < rng.uniform(0.3, 1.0), col] = "-"
        elif kind == 3:  # near the 0.4 conservation threshold
            grid[:, col] = rng.choice(list("ACG"), size=60, p=[0.4, 0.3, 0.3])
        elif kind == 4 and col % 4 == 0:
            grid[:, col] = "-"  # all gaps
    grid[rng.random(grid.shape) < 0.02] = "."
    seqs = ["".join(row) for row in grid]
    for max_gap, min_cons in ((1.0, 0.4), (0.5, 0.4), (1.0, 0.0), (0.9, 0.75)):
        ours = [s.decode() for s in mask_alignment([s.encode() for s in seqs], max_gap, min_cons)]
        expected = _skbio_mask(seqs, max_gap, min_cons)
        assert ours == expected, (max_gap, min_cons)
        if (max_gap, min_cons) == (1.0, 0.4):  # QIIME 2's defaults drop some columns, not all
            assert 0 < len(ours[0]) < 300


def test_alignment_mask_refuses_what_it_cannot_mask():
    from soilbiome.amplicon.phylogeny import mask_alignment
    from soilbiome.errors import ToolError

    with pytest.raises(ToolError, match="different lengths"):
        mask_alignment([b"ACGT", b"ACG"])
    with pytest.raises(ToolError, match="no alignment column is left"):
        mask_alignment([b"A-", b"C-", b"G-", b"T-"], 1.0, 0.5)
