"""soilbiome's own Newick reader/writer and midpoint root, against scikit-bio's."""

from __future__ import annotations

import random

import pytest
from skbio import TreeNode

from soilbiome.io.newick import NewickError, midpoint_root, parse, tip_names, to_newick


def _random_tree(n: int, rng: random.Random) -> str:
    """Newick of a random tree over ``n`` tips (bi- and trifurcations, random lengths)."""
    nodes = [f"t{i}" for i in range(n)]
    while len(nodes) > 3:
        picks = [nodes.pop(rng.randrange(len(nodes))) for _ in range(rng.choice((2, 3)))]
        nodes.append("(" + ",".join(f"{p}:{rng.random():.6f}" for p in picks) + ")")
    return "(" + ",".join(f"{p}:{rng.random():.6f}" for p in nodes) + ");"


def _root_to_tip(tree: TreeNode) -> dict[str, float]:
    return {t.name: t.accumulate_to_ancestor(tree) for t in tree.tips()}


@pytest.mark.parametrize("seed", range(40))
def test_midpoint_root_equals_scikit_bio(seed):
    rng = random.Random(seed)
    text = _random_tree(rng.randrange(3, 80), rng)
    expected = _root_to_tip(TreeNode.read([text]).root_at_midpoint())
    ours = TreeNode.read([to_newick(midpoint_root(parse(text)))])
    got = _root_to_tip(ours)
    assert got.keys() == expected.keys()
    assert max(abs(got[k] - expected[k]) for k in got) < 1e-12
    # the tree itself is unchanged: tip-to-tip distances kept
    original = TreeNode.read([text])
    names = sorted(got)[:6]
    for a in names:
        for b in names:
            assert (ours.find(a).distance(ours.find(b))
                    == pytest.approx(original.find(a).distance(original.find(b)), abs=1e-12))


def test_midpoint_at_a_node_writes_what_scikit_bio_writes():
    text = "(A:1,B:2,(C:3,D:4):2);"
    assert to_newick(midpoint_root(parse(text))) == str(
        TreeNode.read([text]).root_at_midpoint()).strip()


def test_a_deep_caterpillar_tree_does_not_recurse():
    text = "t0:1"
    for i in range(1, 5000):
        text = f"({text},t{i}:1):1"
    tree = parse(text + ";")
    assert len(tree.tips()) == 5000
    rooted = midpoint_root(tree)
    assert len(parse(to_newick(rooted)).tips()) == 5000


def test_labels_as_scikit_bio_reads_them():
    text = "((A_1:1,'b c':2)x:0.5,'it''s':1,[comment]D:2);"
    assert tip_names(text) == [t.name for t in TreeNode.read([text]).tips()]
    assert tip_names(to_newick(parse(text))) == tip_names(text)


@pytest.mark.parametrize("text, message", [
    ("", "empty text"),
    ("(A,B)", "does not end with ';'"),
    ("((A,B);", "unbalanced '\\('"),
    ("(A,B));", "unbalanced '\\)'"),
    ("(A,B)(C);", "unexpected '\\('"),
    ("(A:x,B);", "branch length 'x'"),
    ("(A,B); C", "text after the tree's ';'"),
    ("(A:1:2,B);", "a second branch length"),
    ("('A,B);", "unterminated quoted label"),
])
def test_what_is_not_newick_is_refused(text, message):
    with pytest.raises(NewickError, match=message):
        parse(text)
