"""soilbiome's own Newick reader/writer and midpoint root, against scikit-bio's."""

from __future__ import annotations

import random

import pytest
from skbio import TreeNode

from soilbiome.io.newick import (
    NewickError,
    midpoint_root,
    parse,
    prune,
    tip_names,
    to_newick,
)


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


@pytest.mark.parametrize("seed", range(30))
def test_prune_then_midpoint_equals_scikit_bio_shear(seed):
    """The tree of every ASV cut to the kept ones (BUILD_BIOM --prune-tree): tip-to-tip
    distances as scikit-bio's ``shear`` + ``prune`` keep them, and the same midpoint root."""
    rng = random.Random(1000 + seed)
    text = _random_tree(rng.randrange(4, 60), rng)
    names = [t.name for t in TreeNode.read([text]).tips()]
    keep = set(rng.sample(names, rng.randrange(2, len(names))))
    reference = TreeNode.read([text]).shear(sorted(keep))
    reference.prune()
    ours = TreeNode.read([to_newick(prune(parse(text), keep))])
    assert {t.name for t in ours.tips()} == keep
    assert all(len(n.children) != 1 for n in ours.non_tips(include_self=False))  # no unary node
    pairs = sorted(keep)[:8]
    for a in pairs:
        for b in pairs:
            assert (ours.find(a).distance(ours.find(b))
                    == pytest.approx(reference.find(a).distance(reference.find(b)), abs=1e-12))
    # the root stays where scikit-bio's shear leaves it (a subset table's tree in the phyloseq
    # export): root-to-tip distances equal
    got, expected = _root_to_tip(ours), _root_to_tip(reference)
    assert max(abs(got[k] - expected[k]) for k in got) < 1e-12
    if len(keep) >= 3:
        got = _root_to_tip(TreeNode.read([to_newick(midpoint_root(prune(parse(text), keep)))]))
        expected = _root_to_tip(reference.root_at_midpoint())
        assert max(abs(got[k] - expected[k]) for k in got) < 1e-12


def test_prune_keeping_nothing_is_refused():
    with pytest.raises(NewickError, match="no tip"):
        prune(parse("((A:1,B:1):1,C:1);"), {"D"})


def test_postorder_is_scikit_bio_postorder():
    text = "((A:1,B:2)x:1,(C:1,(D:1,E:1)y:1)z:2,F:3)r;"
    assert ([n.name for n in parse(text).postorder()]
            == [n.name for n in TreeNode.read([text]).postorder(include_self=True)])


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
    """Unquoted underscores kept (as ssu, ape and FastTree keep them: scikit-bio's
    ``convert_underscores=False``), or read as spaces (the Newick standard, scikit-bio's
    default); quoted labels are taken as written either way, and our writer quotes both."""
    text = "((A_1:1,'b c':2)x:0.5,'it''s':1,'q_r':3,[comment]D:2);"
    kept = tip_names(text)
    assert kept == ["A_1", "b c", "it's", "q_r", "D"]
    assert kept == [t.name for t in TreeNode.read([text], convert_underscores=False).tips()]
    spaced = tip_names(text, underscores_as_spaces=True)
    assert spaced == [t.name for t in TreeNode.read([text]).tips()]
    assert spaced == ["A 1", "b c", "it's", "q_r", "D"]
    for how in (False, True):
        tree = parse(text, underscores_as_spaces=how)
        assert tip_names(to_newick(tree)) == [t.name for t in tree.tips()]


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
    ("(A,]B);", "unexpected '\\]' at character 3"),  # a stray ']' once hung the reader
    ("(A,B)]);", "unexpected '\\]' at character 5"),
    ("(A,B);[x", "unterminated comment at character 6"),
])
def test_what_is_not_newick_is_refused(text, message):
    with pytest.raises(NewickError, match=message):
        parse(text)


def test_flat_tree_is_the_linked_tree():
    """parse_flat (lists in postorder, what the UniFrac set-up reads) and parse (its nodes
    linked) give the same tree, the same postorder and tips as scikit-bio."""
    from soilbiome.io.newick import parse_flat

    text = "((A_1:1,'b c':2)x:0.5,'it''s':1,(q:3,[c]r:0)'0.9':2,[comment]D)root;"
    for how in (False, True):
        flat, tree = parse_flat(text, underscores_as_spaces=how), parse(
            text, underscores_as_spaces=how)
        nodes = tree.postorder()
        assert flat.names == [n.name for n in nodes]
        assert flat.lengths == [n.length for n in nodes]
        assert flat.parent == [nodes.index(n.parent) if n.parent else -1 for n in nodes]
        assert flat.tip_names() == [t.name for t in tree.tips()] == [
            t.name for t in TreeNode.read([text], convert_underscores=how).tips()]


def test_random_trees_read_as_scikit_bio_reads_them():
    """Seeded random trees with quoted labels ('' inside), comments, underscores, support
    values and missing lengths: names, lengths and postorder as scikit-bio's reader gives
    them, with underscores kept or read as spaces."""
    import random

    from soilbiome.io.newick import parse_flat

    rng = random.Random(11)

    def subtree(depth: int) -> str:
        if depth > 4 or rng.random() < 0.4:
            text = rng.choice(["A_1", "'b c'", "'it''s'", "D", "", "[x]G", "q_r_s", "'0.5'"])
        else:
            text = "(" + ",".join(subtree(depth + 1) for _ in range(rng.randint(1, 3))) + (
                ")" + rng.choice(["", "x", "'0.9'", "0.95", "n_1"]))
        if rng.random() < 0.7:
            text += ":" + rng.choice(["1", "0.5", "2e-3", "3", "0"])
        return text

    for _ in range(400):
        text = subtree(0) + rng.choice([";", ";\n"])
        for how in (False, True):
            flat = parse_flat(text, underscores_as_spaces=how)
            nodes = list(TreeNode.read([text], convert_underscores=how).postorder())
            assert flat.names == [n.name for n in nodes], text
            assert flat.lengths == [n.length for n in nodes], text
            assert flat.parent == [nodes.index(n.parent) if n.parent else -1
                                   for n in nodes], text
