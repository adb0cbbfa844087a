"""A small Newick reader and writer for the pipeline's own trees, and midpoint rooting.

scikit-bio's ``TreeNode`` is what the diversity code works on, but importing scikit-bio costs
about 0.7 s (it loads every format it can read, and SciPy's statistics with them). The steps on
the amplicon run's critical path that only need a tree's tips or a midpoint root -- PHYLOGENY,
BUILD_BIOM and ``biom validate`` -- use this module instead.

It reads Newick as scikit-bio does: labels may be quoted (``'a b'``, ``''`` for a quote inside);
``[...]`` comments are skipped; every node may have a label and a ``:length``. An underscore in
an unquoted label is kept as it is, as Striped UniFrac (``ssu``), ape/phyloseq, FastTree and
MAFFT read and write labels (``ASV_1`` stays ``ASV_1``); with ``underscores_as_spaces`` it stands
for a space, as the Newick standard and scikit-bio's default have it
(:func:`soilbiome.io.biom_tree.parse_feature_tree` chooses by the table's feature IDs). It is
iterative, so a deep (caterpillar) tree does not hit Python's recursion limit.
"""

from __future__ import annotations

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


def _label(text: str, i: int, spaces: bool) -> tuple[str | None, int]:
    """A label starting at ``text[i]`` (quoted or not) and the position after it; ``spaces``:
    an underscore in an unquoted label is a space."""
    n = len(text)
    if i < n and text[i] == "'":
        parts, i = [], i + 1
        while True:
            end = text.find("'", i)
            if end < 0:
                raise NewickError(f"unterminated quoted label at character {i}")
            parts.append(text[i:end])
            if end + 1 < n and text[end + 1] == "'":  # '' is a quote inside the label
                parts.append("'")
                i = end + 2
                continue
            return "".join(parts), end + 1
    start = i
    while i < n and text[i] not in _SPECIAL:
        i += 1
    raw = text[start:i].strip()
    if not raw:
        return None, i
    return (raw.replace("_", " ") if spaces else raw), i


def _skip(text: str, i: int) -> int:
    """Skip whitespace and ``[...]`` comments."""
    n = len(text)
    while i < n:
        if text[i].isspace():
            i += 1
        elif text[i] == "[":
            end = text.find("]", i)
            if end < 0:
                raise NewickError(f"unterminated comment at character {i}")
            i = end + 1
        else:
            break
    return i


def _length(text: str, i: int) -> tuple[float, int]:
    """The branch length after a ``:`` at ``text[i]``, and the position after it."""
    n = len(text)
    start = i = _skip(text, i + 1)
    while i < n and text[i] not in _SPECIAL and not text[i].isspace():
        i += 1
    try:
        return float(text[start:i]), i
    except ValueError:
        raise NewickError(f"branch length {text[start:i]!r} at character {start} is not a "
                          "number") from None


def parse(text: str, *, underscores_as_spaces: bool = False) -> Node:
    """Parse one Newick tree (ending with ``;``).

    Underscores in unquoted labels are kept, or read as spaces with ``underscores_as_spaces``
    (the Newick standard's rule, scikit-bio's ``convert_underscores``).

    Raises
    ------
    NewickError
        Unbalanced parentheses, a missing ``;``, text after it, a length that is not a number,
        a node with two labels or lengths, or an unterminated quote or comment.
    """
    n = len(text)
    root = current = Node()
    fresh = True  # current was just opened: '(' may start its children
    i = 0
    while True:
        i = _skip(text, i)
        if i >= n:
            raise NewickError("the tree does not end with ';'" if text.strip() else "empty text")
        char = text[i]
        if char == "(":
            if not fresh:
                raise NewickError(f"unexpected '(' at character {i}")
            child = Node(parent=current)
            current.children.append(child)
            current, i = child, i + 1
        elif char == ",":
            if current.parent is None:
                raise NewickError(f"',' outside parentheses at character {i}")
            sibling = Node(parent=current.parent)
            current.parent.children.append(sibling)
            current, fresh, i = sibling, True, i + 1
        elif char == ")":
            if current.parent is None:
                raise NewickError(f"unbalanced ')' at character {i}")
            current, fresh, i = current.parent, False, i + 1
        elif char == ";":
            if current is not root:
                raise NewickError(f"unbalanced '(' before the ';' at character {i}")
            break
        elif char == ":":
            if current.length is not None:
                raise NewickError(f"a second branch length at character {i}")
            current.length, i = _length(text, i)
            fresh = False
        else:
            if current.name is not None or current.length is not None:
                raise NewickError(f"unexpected {char!r} at character {i}")
            current.name, i = _label(text, i, underscores_as_spaces)
            fresh = False
    if _skip(text, i + 1) < n:
        raise NewickError(f"text after the tree's ';' at character {i + 1}")
    return root


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
