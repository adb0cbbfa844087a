"""The Newick reader in C against the Python reader whose rules it follows."""

from __future__ import annotations

import os
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from soilbiome.io import newick_native
from soilbiome.io.newick import NewickError, parse, parse_flat, parse_flat_python

SOILBIOME = Path(sys.executable).parent / "soilbiome"


def _same(text: str, underscores: bool = False) -> None:
    """The C reader reads ``text`` (it does not decline) and gives the Python reader's tree,
    and arrays that agree with its lists."""
    ours = newick_native.parse_flat(text, underscores_as_spaces=underscores)
    assert ours is not None, text
    theirs = parse_flat_python(text, underscores_as_spaces=underscores)
    assert (ours.parent, ours.names, ours.lengths) == (
        theirs.parent, theirs.names, theirs.lengths), text
    assert ours.tip_names() == theirs.tip_names()
    assert ours.is_tip() == theirs.is_tip()
    parent, length, tip, has_length = ours.arrays
    assert parent.tolist() == theirs.parent
    expected = np.array([0.0 if v is None else v for v in theirs.lengths], dtype=np.float64)
    assert length.view(np.int64).tolist() == expected.view(np.int64).tolist()  # -0.0 too
    assert has_length.tolist() == [v is not None for v in theirs.lengths]
    assert tip.tolist() == theirs.is_tip()


def test_the_c_reader_is_built() -> None:
    """make setup compiles it, and parse_flat uses it."""
    assert newick_native.library() is not None
    assert parse_flat("(a:1,b:2);").arrays is not None


@pytest.mark.parametrize("text", [
    "((A_1:1,'b c':2)x:0.5,'it''s':1,(q:3,[c]r:0)'0.9':2,[comment]D)root;",
    "A;", "(A,B);", "(,);", "('':1,B:1e-3)'';", "((((a))));",
    "(a:1 ,b : [x] 2 )c : 3 ; [end] ",
    "(a:1.,b:.5,c:+2,d:-0,e:1E+03,f:0.30000001192092896,g:1e-400,h:1e400);",
    "(\ta\t:\t1\r\n,\n'x\ty'\n:2);\n",
    "('a''':1,'''b':2,'(),:;[]':3);",
    "(a b c :1, d  e:2)f g;",
])
def test_the_c_reader_reads_as_the_python_reader(text: str) -> None:
    for underscores in (False, True):
        _same(text, underscores)


def test_random_trees_read_the_same() -> None:
    """Seeded random trees: labels quoted or not (underscores, spaces, '' inside), support
    values, comments in every place a comment may stand, missing lengths, deep nesting."""
    rng = random.Random(5)
    labels = ["A_1", "'b c'", "'it''s'", "D", "", "q_r_s", "'0.5'", "x y", "'[no]'"]

    def gap() -> str:
        return rng.choice(["", "", " ", "\n", "[c]", " [c] "])

    def subtree(depth: int) -> str:
        if depth > 6 or rng.random() < 0.35:
            text = gap() + rng.choice(labels)
        else:
            text = "(" + ",".join(subtree(depth + 1) for _ in range(rng.randint(1, 4))) + (
                ")" + gap() + rng.choice(["", "x", "'0.9'", "0.95", "n_1"]))
        if rng.random() < 0.8:
            text += gap() + ":" + gap() + rng.choice(["1", "0.5", "2e-3", "3.", ".25", "0",
                                                      "1.2345678901234567"])
        return text + gap()

    for _ in range(300):
        text = subtree(0) + ";" + gap()
        for underscores in (False, True):
            _same(text, underscores)


@pytest.mark.parametrize("text", [
    "(a:inf,b:1);", "(a:nan,b:1);", "(a:1_0,b:1);",  # floats Python reads, plain decimals not
    "(a:0x10,b:1);", "('é':1,b:2);", "(a\x0c:1,b:2);", "(a\x1f,b);",
])
def test_the_c_reader_declines_what_only_python_reads(text: str) -> None:
    """What is Newick but not plain ASCII with plain decimal lengths: the C reader declines,
    and parse_flat gives the Python reader's tree (or its error)."""
    assert newick_native.parse_flat(text) is None
    try:
        expected = parse_flat_python(text)
    except NewickError as exc:
        with pytest.raises(NewickError, match=str(exc).split(" at ")[0]):
            parse_flat(text)
    else:
        tree = parse_flat(text)  # (repr: a NaN length equals no other NaN)
        assert (tree.parent, tree.names, repr(tree.lengths)) == (
            expected.parent, expected.names, repr(expected.lengths))


@pytest.mark.parametrize("text", [
    "", "   ", "(A,B)", "(A,B);;", "(A,B));", "((A,B);", "A,B;", "(A,B)C(D);",
    "(A:1:2,B);", "(A:,B);", "(A:x,B);", "(A:1e,B);", "(A:-,B);", "(A:.,B);",
    "('A,B);", "(A,]B);", "(A,B)]);", "(A,B);[x", "(A,B);x", "(A[,B);", "(A:[1,B);",
    "(A'b',B);", "(A:1'b',B);", "('a''b,c);", "('a'b,c);", "(A:1 2,B);",
])
def test_what_is_not_newick_is_declined_and_refused(text: str) -> None:
    """Every malformed tree: the C reader declines it, and the Python reader's message is the
    one the caller sees."""
    assert newick_native.parse_flat(text) is None
    with pytest.raises(NewickError):
        parse_flat_python(text)
    with pytest.raises(NewickError):
        parse(text)


_ALPHABET = "(),:;[]' \t\n_aB1.5e-+"


@settings(max_examples=3000, deadline=None)
@given(st.text(alphabet=_ALPHABET, max_size=40), st.booleans())
def test_any_text_reads_the_same_or_is_declined(text: str, underscores: bool) -> None:
    """On any text of Newick's characters: when the C reader gives a tree it is the Python
    reader's; when the Python reader refuses the text, the C reader declined it."""
    ours = newick_native.parse_flat(text, underscores_as_spaces=underscores)
    try:
        theirs = parse_flat_python(text, underscores_as_spaces=underscores)
    except NewickError:
        assert ours is None, text
        return
    if ours is not None:
        assert ours == theirs, text


@settings(max_examples=400, deadline=None)
@given(st.lists(st.from_regex(r"[+-]?(0{0,3}[0-9]{0,19}\.?[0-9]{0,19}0{0,3})([eE][+-]?[0-9]{1,3})?",
                              fullmatch=True), min_size=1, max_size=60))
def test_lengths_are_python_floats_to_the_bit(lengths: list[str]) -> None:
    """Every branch length the C reader accepts is the double Python's float() gives, -0.0
    and subnormals included (its short decimals take a fast exact path, the others strtod);
    what is not a plain decimal is declined or refused."""
    text = "(" + ",".join(f"t{k}:{v}" for k, v in enumerate(lengths)) + ");"
    try:
        values = [float(v) for v in lengths]
    except ValueError:
        assert newick_native.parse_flat(text) is None
        return
    tree = newick_native.parse_flat(text)
    assert tree is not None, text
    got = tree.arrays[1][:-1]
    assert got.view(np.int64).tolist() == np.array(values).view(np.int64).tolist(), text


def test_a_large_tree_reads_the_same() -> None:
    """A 20,000-tip random tree with single-precision lengths written in full (17 digits)."""
    rng = np.random.default_rng(3)
    parts = [f"T{i}:{float(np.float32(rng.uniform(0.01, 0.5)))!r}" for i in range(20000)]
    while len(parts) > 1:
        i, j = sorted(rng.choice(len(parts), 2, replace=False).tolist())
        b, a = parts.pop(j), parts.pop(i)
        parts.append(f"({a},{b}):{rng.uniform(0, 1)!r}")
    _same(parts[0] + ";")


def test_without_the_c_reader_the_same_matrix(tmp_path: Path) -> None:
    """SOILBIOME_NATIVE=0 (an install without a C compiler) reads the tree in Python: the
    same UniFrac bytes."""
    from test_diversity import random_counts, write_biom
    from test_unifrac import random_tree

    counts = random_counts(seed=4)
    counts = counts.loc[counts.sum(axis=1) > 0]
    biom = write_biom(counts, tmp_path / "t.biom")
    tree = tmp_path / "tree.nwk"
    tree.write_text(random_tree([str(c) for c in counts.columns], seed=4, extra=40))
    outs = []
    for flag in ("1", "0"):
        out = tmp_path / f"u{flag}.tsv"
        subprocess.run([str(SOILBIOME), "beta", "matrix", str(biom), "--metric",
                        "unweighted_unifrac", "--tree", str(tree), "--no-rarefaction",
                        "--out", str(out)], check=True, capture_output=True,
                       env=dict(os.environ, SOILBIOME_NATIVE=flag))
        outs.append(out.read_bytes())
    assert outs[0] == outs[1]


@pytest.mark.parametrize("text", [
    "((a:1,b:1):1,c:1);", "((a:1,a:1):1,c:1);", "((a:1,:1):1,:1);", "((a,b),(x,y));",
])
def test_tip_checks_say_the_same_whichever_reader(text: str) -> None:
    """Duplicate tips (two unnamed ones too), features missing from the tree and tips that
    are not features: the same problems from the C reader's cached tip index as from the
    Python reader's lists and scikit-bio's tree."""
    from skbio import TreeNode

    from soilbiome.io.biom_tree import _check_tips

    trees = [newick_native.parse_flat(text), parse_flat_python(text), parse(text),
             TreeNode.read([text])]
    assert trees[0].arrays is not None and trees[1].arrays is None
    for features in (["a", "b", "c"], ["a", "c", "z"], ["a"]):
        said = [_check_tips(tree, features, exact=True) for tree in trees]
        assert said[0] and all(s == said[0] for s in said) or not any(said), (text, said)
