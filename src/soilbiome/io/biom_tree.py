"""The features' phylogenetic tree inside a BIOM table: where it is written, and its one reader.

soilbiome writes the Newick tree of the ASVs as the scalar UTF-8 dataset
:data:`~soilbiome.io.biom_layout.TREE_DATASET` (``/soilbiome/phylogeny``), beside the BIOM 2.1
groups. biom-format ignores it when reading, so ``biom convert``, ``biom subset-table`` and
``biom.Table.to_hdf5`` work on the table; it is not BIOM observation group metadata, which
biom-format reads but cannot write back (``ValueError: too many values to unpack``,
biom-format issue 965). Tables that still carry the tree there
(:data:`~soilbiome.io.biom_layout.LEGACY_TREE_DATASET`) are read all the same.

:func:`read_stored_tree` is called by the validated reader
(:func:`soilbiome.io.biom_reader.read_table`), which puts the text on
:attr:`FeatureTable.tree <soilbiome.model.table.FeatureTable.tree>`; :func:`feature_tree` is
what every user of the tree calls (UniFrac, Faith's PD, the phyloseq export): it parses the
text and checks the tips against the table's features. The stamp signs the tree's SHA-256
(:attr:`FeatureTree.sha256 <soilbiome.model.tree.FeatureTree.sha256>`), rule D10 checks it.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from pathlib import Path

import h5py

from soilbiome.io.biom_checks import DatasetProblem, read_dataset
from soilbiome.io.biom_layout import (
    LEGACY_TREE_DATASET,
    TREE_DATASET,
    BiomError,
    attr_text,
    name_some,
)
from soilbiome.model.table import FeatureTable
from soilbiome.model.tree import FeatureTree, newick_sha256

__all__ = [
    "feature_tree",
    "missing_tree_message",
    "parse_newick",
    "read_stored_tree",
    "resaved_by",
    "tree_problems",
    "write_tree",
]


def write_tree(handle: h5py.File, newick: str) -> None:
    """Store ``newick`` at :data:`TREE_DATASET` of an open, writable BIOM file."""
    if TREE_DATASET in handle:
        del handle[TREE_DATASET]
    ds = handle.create_dataset(TREE_DATASET, data=newick, dtype=h5py.string_dtype("utf-8"))
    ds.attrs["data_type"] = "newick"
    ds.attrs["sha256"] = newick_sha256(newick)


def _text(value: object, name: str) -> str:
    try:
        return value.decode("utf-8") if isinstance(value, bytes) else str(value)
    except UnicodeDecodeError:
        raise BiomError(f"tree '{name}' holds text that is not UTF-8") from None


def read_stored_tree(handle: h5py.File) -> FeatureTree | None:
    """The tree stored in an open BIOM file (None when it has none); not parsed.

    :data:`TREE_DATASET` first, then the legacy observation group metadata ``phylogeny``
    (taken only when its ``data_type`` is ``newick``).

    Raises
    ------
    BiomError
        The dataset is not a single string, or not UTF-8.
    """
    for name, ndim in ((TREE_DATASET, 0), (LEGACY_TREE_DATASET, 1)):
        obj = handle.get(name)
        if obj is None:
            continue
        if name == LEGACY_TREE_DATASET and attr_text(obj.attrs.get("data_type", "")).lower() \
                != "newick":
            continue
        try:
            raw = read_dataset(handle, name, ndim=ndim)
        except DatasetProblem as exc:
            raise BiomError(f"tree: {exc}") from None
        if getattr(raw, "ndim", 0) == 1:
            if len(raw) != 1:
                raise BiomError(f"tree '{name}' holds {len(raw)} values, expected one Newick text")
            raw = raw[0]
        elif hasattr(raw, "item"):
            raw = raw.item()
        return FeatureTree(_text(raw, name), name)
    return None


def parse_newick(text: str, location: str, *, own_reader: bool = False,
                 underscores_as_spaces: bool = False,
                 flat: bool = False):  # noqa: ANN201 - TreeNode, Node or FlatTree
    """Parse Newick text; refuse what is not a tree, naming ``location``.

    With scikit-bio (a ``TreeNode``, imported lazily), or with ``own_reader`` soilbiome's own
    reader (:mod:`soilbiome.io.newick`, a ``Node``; no scikit-bio import, 0.4-0.7 s less) for
    what only walks the tree: tip checks, cutting, midpoint rooting; with ``flat`` too, its
    :class:`~soilbiome.io.newick.FlatTree` (no node objects: the UniFrac and Faith's PD
    set-up, 2-3x faster on a large reference tree). Underscores in unquoted labels are kept
    unless ``underscores_as_spaces``.

    Raises
    ------
    BiomError
    """
    if not text.strip():
        raise BiomError("empty Newick tree", location=location)
    if own_reader or flat:
        from soilbiome.io.newick import NewickError, parse, parse_flat

        try:
            return (parse_flat if flat else parse)(
                text, underscores_as_spaces=underscores_as_spaces)
        except NewickError as exc:
            raise BiomError(f"not a Newick tree ({exc})", location=location) from None
    from skbio import TreeNode

    try:
        return TreeNode.read([text], format="newick",
                             convert_underscores=underscores_as_spaces)
    except Exception as exc:  # noqa: BLE001 - scikit-bio raises many kinds for bad Newick
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise BiomError(f"not a Newick tree ({reason})", location=location) from None


def _tip_names(tree: object) -> list[str | None]:
    """Tip labels of a ``TreeNode``, ``Node`` or ``FlatTree``, left to right."""
    if hasattr(tree, "tip_names"):
        return tree.tip_names()
    return [t.name for t in tree.tips()]


def parse_feature_tree(text: str, location: str, feature_ids: Sequence[str], *,
                       own_reader: bool = False,
                       flat: bool = False):  # noqa: ANN201 - TreeNode, Node or FlatTree
    """Parse a tree of a table's features, reading its unquoted underscores as the IDs need.

    Tools differ on ``ASV_1`` in a Newick file: Striped UniFrac, ape/phyloseq, FastTree and
    MAFFT keep the underscore, the Newick standard and scikit-bio's default read a space. The
    tree is read keeping underscores; when that leaves features without a tip and reading them
    as spaces leaves none, the tree is read that way (a tree scikit-bio wrote for IDs with
    spaces). Otherwise the underscore-keeping reading is returned, for the tip check to name
    what is missing.
    """
    tree = parse_newick(text, location, own_reader=own_reader, flat=flat)
    wanted = set(feature_ids)
    if "_" in text and not _has_all(tree, wanted):
        spaced = parse_newick(text, location, own_reader=own_reader, flat=flat,
                              underscores_as_spaces=True)
        if _has_all(spaced, wanted):
            return spaced
    return tree


def resaved_by(attributes: Mapping[str, str]) -> str | None:
    """The program that last wrote the table when it is not soilbiome (e.g. ``BIOM-Format
    2.1.18`` after ``biom convert``), else None."""
    writer = attributes.get("generated-by", "").strip()
    if writer and not writer.lower().startswith("soilbiome"):
        return writer
    return None


def missing_tree_message(table: FeatureTable, purpose: str) -> str:
    """One line saying the table has no tree, why that may be, and what to do."""
    writer = resaved_by(table.attributes)
    why = (f"it was re-saved by {writer} (biom convert, subset-table and Table.to_hdf5 "
           f"drop the {TREE_DATASET} dataset)" if writer
           else "it was built without --tree (ITS, --skip_phylogeny, shotgun or imported)")
    return (f"{purpose} requested, but the table carries no phylogenetic tree: {why}; use "
            "the table as the pipeline wrote it, or give the Newick file with --tree")


def _tip_lookup(tree: object) -> tuple[Collection[str | None], int]:
    """The distinct tip labels (a set, or a FlatTree's cached label -> index dict) and the
    number of tips."""
    if hasattr(tree, "tip_index"):  # a FlatTree: built once, shared with the UniFrac set-up
        return tree.tip_index(), tree.tip_count()
    tips = _tip_names(tree)
    return set(tips), len(tips)


def _has_all(tree: object, wanted: set[str]) -> bool:
    names = _tip_lookup(tree)[0]
    return all(f in names for f in wanted)


def _check_tips(tree: object, feature_ids: Sequence[str], *, exact: bool) -> list[str]:
    names, count = _tip_lookup(tree)
    problems = []
    if len(names) != count:
        problems.append("tree has duplicate tip names")
    missing = {f for f in feature_ids if f not in names}
    if missing:
        problems.append(f"{len(missing)} feature(s) are not tips of the tree: "
                        f"{name_some(missing)}")
    extra = {"<unnamed>" if name is None else name
             for name in set(names) - set(feature_ids)} if exact else set()
    if extra:
        problems.append(f"tree has {len(extra)} tip(s) that are not features of the table: "
                        f"{name_some(extra)}")
    return problems


def feature_tree(table: FeatureTable, *, newick_path: str | Path | None = None,
                 purpose: str | None = None, own_reader: bool = False,
                 flat: bool = False):  # noqa: ANN201 - skbio.TreeNode, Node, FlatTree or None
    """The table's phylogenetic tree, parsed, with every feature a tip: the one tree reader.

    Parameters
    ----------
    table : FeatureTable
        From :func:`soilbiome.io.biom_reader.read_table` (which read the stored text).
    newick_path : str or Path, optional
        A Newick file to use instead of the stored tree (``diversity --tree``).
    purpose : str, optional
        What needs the tree (``"UniFrac"``). Given, a missing tree is an error naming it;
        without it a missing tree gives None.
    own_reader : bool
        Parse with :mod:`soilbiome.io.newick` (same refusals, no scikit-bio import: 0.4 s
        less) and return its :class:`~soilbiome.io.newick.Node`, for callers that only walk
        the tree.
    flat : bool
        Return soilbiome's reader's :class:`~soilbiome.io.newick.FlatTree` (lists in
        postorder, no node objects): what the UniFrac and Faith's PD set-up read.

    Returns
    -------
    skbio.TreeNode, soilbiome.io.newick.Node, soilbiome.io.newick.FlatTree or None
        Tips may include features the table no longer has (a subset table); never fewer.

    Raises
    ------
    BiomError
        Missing tree (with ``purpose``), not Newick, or features that are not tips.
    """
    where = str(table.path) if table.path else "table"
    if newick_path is not None:
        path = Path(newick_path)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise BiomError(f"cannot read Newick tree ({exc})", location=str(path)) from None
        location = str(path)
    elif table.tree is None:
        if purpose is None:
            return None
        raise BiomError(missing_tree_message(table, purpose), location=where)
    else:
        text, location = table.tree.newick, f"{where}:/{table.tree.location}"
    tree = parse_feature_tree(text, location, table.feature_ids, own_reader=own_reader,
                              flat=flat)
    problems = _check_tips(tree, table.feature_ids, exact=False)
    if problems:
        raise BiomError("; ".join(problems), location=location)
    return tree


def tree_problems(table: FeatureTable) -> list[str]:
    """What ``biom validate`` reports about a stored tree: not Newick, tips not the features.

    A table built by soilbiome has exactly its features as tips; the legacy location is
    reported too, since biom-format cannot re-save such a table.
    """
    if table.tree is None:
        return []
    where = f"tree ({table.tree.location})"
    problems = []
    if table.tree.location == LEGACY_TREE_DATASET:
        problems.append(f"{where}: stored as observation group metadata, which biom-format "
                        "cannot re-save (biom-format issue 965); rebuild the table with "
                        "'soilbiome biom build --tree' to move it to " + TREE_DATASET)
    try:  # the tips are all that is checked: soilbiome's own reader, no scikit-bio import
        tree = parse_feature_tree(table.tree.newick, where, table.feature_ids, flat=True)
    except BiomError as exc:
        return [*problems, str(exc)]
    problems += [f"{where}: {p}" for p in
                 _check_tips(tree, table.feature_ids, exact=True)]
    return problems
