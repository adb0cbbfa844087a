"""A small Newick reader and writer for the pipeline's own trees, and midpoint rooting.

Importing scikit-bio for its ``TreeNode`` costs about 0.7 s (it loads every format it can read,
and SciPy's statistics with them). What reads trees in soilbiome uses this module instead: the
UniFrac and Faith's PD set-up (``diversity``, ``beta``), PHYLOGENY's midpoint root, BUILD_BIOM's
pruning, ``biom validate`` and the phyloseq export.

It reads Newick as scikit-bio does: labels may be quoted (``'a b'``, ``''`` for a quote inside);
``[...]`` comments are skipped; every node may have a label and a ``:length``. An underscore in
an unquoted label is kept as it is, as Striped UniFrac (``ssu``), ape/phyloseq, FastTree and
MAFFT read and write labels (``ASV_1`` stays ``ASV_1``); with ``underscores_as_spaces`` it stands
for a space, as the Newick standard and scikit-bio's default have it
(:func:`soilbiome.io.biom_tree.parse_feature_tree` chooses by the table's feature IDs). It is
iterative, so a deep (caterpillar) tree does not hit Python's recursion limit.

:func:`parse_flat` is the one parser: it gives the tree as postorder lists (:class:`FlatTree`),
which the UniFrac and Faith's PD set-up read as they are; :func:`parse` links them into
:class:`Node` objects for the steps that edit a tree (midpoint rooting, pruning, writing). Where
the C reader is built (:mod:`soilbiome.io.newick_native`) it reads the text; it declines
whatever it cannot read exactly by this module's rules, and :func:`parse_flat_python` reads that.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

#: Characters that end an unquoted label or length.
_SPECIAL = set("(),:;[]'")
#: Characters that make a label need quotes when written.
_NEEDS_QUOTES = _SPECIAL | set(" \t\r\n_")


class NewickError(ValueError):
    """Text that is not a Newick tree (the reason, with the character position)."""


@dataclass(eq=False)
class Node:
    """One node: its label (None when unnamed), branch length to its parent (None when not
    given), children and parent."""

    name: str | None = None
    length: float | None = None
    children: list[Node] = field(default_factory=list)
    parent: Node | None = field(default=None, repr=False)

    def tips(self) -> list[Node]:
        """The tips below this node (or the node itself), left to right."""
        out, stack = [], [self]
        while stack:
            node = stack.pop()
            if node.children:
                stack.extend(reversed(node.children))
            else:
                out.append(node)
        return out

    def postorder(self, include_self: bool = True) -> list[Node]:
        """Every node below this one, children before their parent (this node last, when
        ``include_self``): as scikit-bio's ``TreeNode.postorder``, so the UniFrac and Faith's
        PD set-up reads either tree."""
        order, stack = [], [self]
        while stack:
            node = stack.pop()
            order.append(node)
            stack.extend(node.children)
        order.reverse()
        return order if include_self else order[:-1]


#: One token after optional whitespace: punctuation, a ``:length`` (whitespace and comments may
#: come between the colon and the number), a quoted label, a ``[...]`` comment or an unquoted
#: label (from a character that is not whitespace to the next special character; stripped).
#: A quoted label takes every ``''`` as a quote inside it, never giving one back.
_TOKEN = re.compile(
    r"\s*(?:(?P<p>[(),;])"
    r"|:(?P<gap>(?:\s|\[[^\]]*\])*)(?P<len>[^\s(),:;\[\]']*)"
    r"|'(?P<q>(?:[^']|'')*+)'"
    r"|\[[^\]]*\]"
    r"|(?P<u>[^\s(),:;\[\]'][^(),:;\[\]']*))")
#: Whitespace and comments (after the final ``;``).
_TRAILING = re.compile(r"(?:\s|\[[^\]]*\])*")


class FlatTree:
    """A parsed tree as lists in postorder (children left to right, then their parent; the
    root last): what the UniFrac and Faith's PD set-up read without building node objects.

    Attributes
    ----------
    parent : list of int
        Postorder index of each node's parent (-1 for the root).
    names : list of str or None
        Each node's label (None when unnamed).
    lengths : list of float or None
        Each node's branch length (None when not given).
    arrays : tuple of numpy.ndarray or None
        From the C reader (:mod:`soilbiome.io.newick_native`), the same tree as arrays:
        parent (int64), branch length (float64, 0 where not given), whether each node is a
        tip, and whether its length was given. ``parent`` and ``lengths`` are then made from
        them when first read (the UniFrac set-up reads the arrays only).
    """

    __slots__ = ("_parent", "names", "_lengths", "arrays", "_tips")

    def __init__(self, parent: list[int] | None, names: list[str | None],
                 lengths: list[float | None] | None, arrays: tuple | None = None) -> None:
        if arrays is None and (parent is None or lengths is None):
            raise ValueError("a FlatTree needs its parent and length lists, or its arrays")
        self._parent, self.names, self._lengths, self.arrays = parent, names, lengths, arrays
        self._tips: dict[str | None, int] | None = None

    @property
    def parent(self) -> list[int]:
        if self._parent is None:
            self._parent = self.arrays[0].tolist()
        return self._parent

    @property
    def lengths(self) -> list[float | None]:
        if self._lengths is None:
            values = self.arrays[1].astype(object)
            values[~self.arrays[3]] = None
            self._lengths = values.tolist()
        return self._lengths

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, FlatTree):
            return NotImplemented
        return (self.parent, self.names, self.lengths) == (other.parent, other.names,
                                                           other.lengths)

    def __repr__(self) -> str:
        return f"FlatTree({len(self.names)} nodes)"

    def is_tip(self) -> list[bool]:
        """Whether each node (postorder) has no children."""
        if self.arrays is not None:
            return self.arrays[2].tolist()
        tip = [True] * len(self.parent)
        for p in self.parent:
            if p >= 0:
                tip[p] = False
        return tip

    def _tips_at(self) -> list[int]:
        """The postorder indices of the tips, left to right."""
        if self.arrays is not None:
            return self.arrays[2].nonzero()[0].tolist()
        return [k for k, tip in enumerate(self.is_tip()) if tip]

    def tip_index(self) -> dict[str | None, int]:
        """Each tip label (None: unnamed) -> the postorder index of its last tip, built once:
        the tip checks and the UniFrac set-up share it."""
        if self._tips is None:
            names = self.names
            self._tips = {names[k]: k for k in self._tips_at()}
        return self._tips

    def tip_count(self) -> int:
        """The number of tips."""
        if self.arrays is not None:
            return int(self.arrays[2].sum())
        return sum(self.is_tip())

    def tip_names(self) -> list[str | None]:
        """The tip labels, left to right (as :meth:`Node.tips`)."""
        names = self.names
        return [names[k] for k in self._tips_at()]

    def to_node(self) -> Node:
        """The same tree as linked :class:`Node` objects; returns the root."""
        nodes = [Node(name, length) for name, length in
                 zip(self.names, self.lengths, strict=True)]
        for node, p in zip(nodes, self.parent, strict=True):
            if p >= 0:
                node.parent = nodes[p]
                nodes[p].children.append(node)
        return nodes[-1]


def _refuse_at(text: str, i: int, labelled: bool) -> NewickError:
    """The error for text at ``i`` (after whitespace) that no token matches; ``labelled``:
    the current node already has a label or length (so a quote there is a second label)."""
    i = len(text) - len(text[i:].lstrip())
    if i >= len(text):
        return NewickError("the tree does not end with ';'" if text.strip() else "empty text")
    if text[i] == "'" and labelled:  # a second label, even an unterminated one
        return NewickError(f"unexpected \"'\" at character {i}")
    if text[i] == "'":  # where the search for its closing quote failed ('' is a quote)
        i += 1
        while (end := text.find("'", i)) >= 0:
            i = end + 2
        return NewickError(f"unterminated quoted label at character {i}")
    if text[i] == "[":
        return NewickError(f"unterminated comment at character {i}")
    return NewickError(f"unexpected {text[i]!r} at character {i}")


def parse_flat(text: str, *, underscores_as_spaces: bool = False) -> FlatTree:
    """Parse one Newick tree (ending with ``;``) into a :class:`FlatTree`.

    Underscores in unquoted labels are kept, or read as spaces with ``underscores_as_spaces``
    (the Newick standard's rule, scikit-bio's ``convert_underscores``). The C reader
    (:mod:`soilbiome.io.newick_native`, where built) reads the text when it can, and this
    module's reader otherwise: the same tree either way, and the same refusals.

    Raises
    ------
    NewickError
        See :func:`parse_flat_python`.
    """
    from soilbiome.io import newick_native

    tree = newick_native.parse_flat(text, underscores_as_spaces=underscores_as_spaces)
    if tree is not None:
        return tree
    return parse_flat_python(text, underscores_as_spaces=underscores_as_spaces)


def parse_flat_python(text: str, *, underscores_as_spaces: bool = False) -> FlatTree:
    """:func:`parse_flat` in Python, the reader whose rules the C reader follows.

    One regular-expression match per token and no node objects: a 200,000-tip tree (10 MB)
    in 0.76 s, against 1.62 s for the character-by-character reader it replaced.

    Raises
    ------
    NewickError
        Unbalanced parentheses, a missing ``;``, text after it, a length that is not a number,
        a node with two labels or lengths, an unexpected character, or an unterminated quote
        or comment; with the character position.
    """
    parent, names, lengths = [-1], [None], [None]  # by creation (preorder) number
    done: list[int] = []  # creation numbers in the order the nodes are completed: postorder
    current, fresh, pos = 0, True, 0  # fresh: current was just opened, '(' may follow
    match = _TOKEN.match
    while True:
        m = match(text, pos)
        if m is None:
            raise _refuse_at(text, pos,
                             names[current] is not None or lengths[current] is not None)
        pos = m.end()
        kind = m.lastgroup
        if kind == "p":
            char, i = m.group("p"), m.start("p")
            if char == "(":
                if not fresh:
                    raise NewickError(f"unexpected '(' at character {i}")
                parent.append(current)
                names.append(None)
                lengths.append(None)
                current = len(parent) - 1
            elif char == ",":
                if parent[current] < 0:
                    raise NewickError(f"',' outside parentheses at character {i}")
                done.append(current)
                parent.append(parent[current])
                names.append(None)
                lengths.append(None)
                current, fresh = len(parent) - 1, True
            elif char == ")":
                if parent[current] < 0:
                    raise NewickError(f"unbalanced ')' at character {i}")
                done.append(current)
                current, fresh = parent[current], False
            else:  # ';'
                if current != 0:
                    raise NewickError(f"unbalanced '(' before the ';' at character {i}")
                done.append(0)
                break
        elif kind == "len":
            i = m.start("gap") - 1
            if lengths[current] is not None:
                raise NewickError(f"a second branch length at character {i}")
            raw, start = m.group("len"), m.start("len")
            if not raw and text.startswith("[", start):
                raise NewickError(f"unterminated comment at character {start}")
            try:
                lengths[current] = float(raw)
            except ValueError:
                raise NewickError(f"branch length {raw!r} at character {start} is not a "
                                  "number") from None
            fresh = False
        elif kind in ("q", "u"):
            i = m.start(kind) - (kind == "q")
            if names[current] is not None or lengths[current] is not None:
                raise NewickError(f"unexpected {text[i]!r} at character {i}")
            if kind == "q":
                names[current] = m.group("q").replace("''", "'")
            else:
                raw = m.group("u").strip()
                names[current] = raw.replace("_", " ") if underscores_as_spaces else raw
            fresh = False
        # else: a comment, skipped
    after = _TRAILING.match(text, pos).end()
    if after < len(text):
        if text[after] == "[":
            raise NewickError(f"unterminated comment at character {after}")
        raise NewickError(f"text after the tree's ';' at character {pos}")
    rank = [0] * len(parent)
    for k, node in enumerate(done):
        rank[node] = k
    return FlatTree([rank[parent[node]] if parent[node] >= 0 else -1 for node in done],
                    [names[node] for node in done], [lengths[node] for node in done])


def parse(text: str, *, underscores_as_spaces: bool = False) -> Node:
    """Parse one Newick tree (ending with ``;``) into linked :class:`Node` objects; see
    :func:`parse_flat` (the one parser; this links its nodes)."""
    return parse_flat(text, underscores_as_spaces=underscores_as_spaces).to_node()


def tip_names(text: str, *, underscores_as_spaces: bool = False) -> list[str | None]:
    """The tip labels of a Newick tree, left to right (None for an unnamed tip)."""
    return [t.name for t in parse(text, underscores_as_spaces=underscores_as_spaces).tips()]


def _quoted(name: str) -> str:
    if any(c in _NEEDS_QUOTES for c in name):
        return "'" + name.replace("'", "''") + "'"
    return name


def to_newick(root: Node) -> str:
    """Newick text of the tree below ``root`` (ending with ``;``); lengths as Python writes
    floats (shortest text that reads back to the same value)."""
    parts: list[str] = []
    stack: list[tuple[Node, int]] = [(root, 0)]
    while stack:
        node, state = stack.pop()
        if state == 0 and node.children:
            parts.append("(")
            stack.append((node, 1))
            for k, child in enumerate(reversed(node.children)):
                stack.append((child, 0))
                if k < len(node.children) - 1:
                    stack.append((node, 2))  # a comma between children
            continue
        if state == 2:
            parts.append(",")
            continue
        if state == 1:
            parts.append(")")
        if node.name:
            parts.append(_quoted(node.name))
        if node.length is not None:
            parts.append(f":{node.length!r}")
    return "".join(parts) + ";"


def _distances(start: Node) -> tuple[dict[int, float], dict[int, Node]]:
    """Path length from ``start`` to every node (the tree taken as unrooted), and each node's
    neighbour on the way back to ``start``."""
    dist = {id(start): 0.0}
    back: dict[int, Node] = {}
    stack = [start]
    while stack:
        node = stack.pop()
        here = dist[id(node)]
        near = [(c, c.length or 0.0) for c in node.children]
        if node.parent is not None:
            near.append((node.parent, node.length or 0.0))
        for other, length in near:
            if id(other) not in dist:
                dist[id(other)] = here + length
                back[id(other)] = node
                stack.append(other)
    return dist, back


def _reroot(new_root: Node) -> Node:
    """Make ``new_root`` the root: the edges on its way to the old root change direction (each
    keeps its length); an old root left with one child is removed, its edges joined."""
    chain = [new_root]
    while chain[-1].parent is not None:
        chain.append(chain[-1].parent)
    old_root = chain[-1]
    # from the old root down
    for child, parent in reversed(list(zip(chain[:-1], chain[1:], strict=True))):
        parent.children.remove(child)
        child.children.append(parent)
        parent.parent, parent.length = child, child.length
    new_root.parent, new_root.length = None, None
    if old_root is not new_root and len(old_root.children) == 1:
        only, above = old_root.children[0], old_root.parent
        only.length = (None if only.length is None and old_root.length is None
                       else (only.length or 0.0) + (old_root.length or 0.0))
        above.children[above.children.index(old_root)] = only
        only.parent = above
    return new_root


def midpoint_root(root: Node) -> Node:
    """Root the tree at the midpoint of its longest tip-to-tip path (scikit-bio's
    ``root_at_midpoint``: a new node on the branch holding the midpoint, or the node at it).

    The longest path is found with two passes (the tip farthest from any tip, then the tip
    farthest from that one), which is exact for non-negative branch lengths. Trees with fewer
    than three tips, or whose tips are all at distance 0, are returned as they are.
    """
    tips = root.tips()
    if len(tips) < 3:
        return root
    dist, _ = _distances(tips[0])
    by_id = {id(t): t for t in tips}
    first = by_id[max(by_id, key=lambda k: dist[k])]
    dist, back = _distances(first)
    second = by_id[max(by_id, key=lambda k: dist[k])]
    longest = dist[id(second)]
    if longest <= 0:
        return root
    half = longest / 2.0
    node = second  # walk from the far tip back towards the first, to the midpoint
    while dist[id(back[id(node)])] >= half and back[id(node)] is not first:
        node = back[id(node)]
    nearer = back[id(node)]  # the midpoint lies on the edge node - nearer
    if dist[id(node)] == half:
        return _reroot(node)
    if dist[id(nearer)] == half:
        return _reroot(nearer)
    child, parent = (node, nearer) if node.parent is nearer else (nearer, node)
    edge = child.length or 0.0
    from_child = abs(dist[id(child)] - half)
    middle = Node(length=edge - from_child, parent=parent)
    parent.children[parent.children.index(child)] = middle
    middle.children.append(child)
    child.parent, child.length = middle, from_child
    return _reroot(middle)


def prune(root: Node, keep: set[str]) -> Node:
    """The subtree induced by the tips named in ``keep``: every other tip is removed, then
    every inner node left without tips; a node left with one child is joined to it (their
    branch lengths added), so the path length between any two kept tips is unchanged.

    The tree is changed in place; the returned node is its root (a child of the old root when
    the old root was left with one child, its length then dropped as a root has none).
    Raises :class:`NewickError` when no tip is kept.
    """
    alive: set[int] = set()  # nodes with a kept tip below them
    for node in root.postorder():
        if not node.children:
            if node.name in keep:
                alive.add(id(node))
            continue
        node.children = [c for c in node.children if id(c) in alive]
        if not node.children:
            continue
        alive.add(id(node))
        if len(node.children) == 1 and node.parent is not None:
            only = node.children[0]
            only.length = (None if only.length is None and node.length is None
                           else (only.length or 0.0) + (node.length or 0.0))
            only.parent = node.parent
            siblings = node.parent.children
            siblings[siblings.index(node)] = only
            alive.add(id(only))
    if id(root) not in alive:
        raise NewickError("no tip of the tree is kept")
    while len(root.children) == 1 and root.children[0].children:
        root = root.children[0]
        root.parent, root.length = None, None
    return root
