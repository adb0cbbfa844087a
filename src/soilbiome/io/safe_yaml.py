"""The one bounded YAML loader (agreements, requests, their key lists, version files).

YAML as written by people is small; YAML as written by an attacker can be a 1 KB file whose
aliases expand to gigabytes ("billion laughs"), a nesting deep enough to exhaust Python's
stack, or a 50 MB blob. :func:`load_yaml` bounds all of these *before* building any Python
object:

1. the file size (read at most ``max_bytes + 1`` bytes);
2. one pass over PyYAML's event stream (a flat state machine, no recursion) that counts the
   nodes the document expands to -- an alias counts as the whole anchored subtree again --
   and the nesting depth, and refuses every explicit tag (``!!python/object``, ``!custom``,
   even ``!!binary``: agreements are plain data);
3. only then the safe constructor, which also refuses duplicate mapping keys (a later key
   silently winning is how a reviewed field gets overridden).

Dates stay strings (YAML timestamps are not resolved) so that schemas see what was written.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from yaml import events

from soilbiome.errors import InputError
from soilbiome.io.textfile import read_bounded

#: Largest YAML file accepted (bytes).
MAX_BYTES = 1 << 20
#: Most nodes the document may expand to (aliases counted in full).
MAX_NODES = 100_000
#: Deepest nesting of mappings/sequences.
MAX_DEPTH = 64


class YamlError(InputError):
    """A YAML file is unreadable, too large, too deep, expands too far, or uses tags."""


class _Loader(yaml.SafeLoader):
    """Safe loader: dates stay strings, duplicate keys are refused."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:  # noqa: D102
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            try:
                hash(key)
            except TypeError:
                raise yaml.constructor.ConstructorError(
                    None, None, "a mapping key is a list or mapping", key_node.start_mark
                ) from None
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None,
                    f"duplicate key {key!r} (first on line {seen[key] + 1})",
                    key_node.start_mark,
                )
            seen[key] = key_node.start_mark.line
        return super().construct_mapping(node, deep=deep)


_Loader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:timestamp"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_constructor("tag:yaml.org,2002:map", _Loader.construct_yaml_map)


class _TextLoader(_Loader):
    """The safe loader with every plain scalar kept as its text: a version ``1.10`` stays
    ``"1.10"`` (YAML would read the float 1.1), ``2.0`` stays ``"2.0"``."""


_TextLoader.yaml_implicit_resolvers = {}


def _where(event: events.Event) -> str:
    mark = event.start_mark
    return f"line {mark.line + 1}, column {mark.column + 1}" if mark else "?"


def _scan(text: str, max_nodes: int, max_depth: int) -> None:
    """Walk the event stream; raise ``ValueError`` on a bound or an explicit tag."""
    anchors: dict[str, int] = {}  # anchor -> nodes in its subtree (aliases expanded)
    stack: list[list[Any]] = []  # one frame per open collection: [anchor, nodes inside]
    total = 0

    def grow(n: int, event: events.Event) -> None:
        nonlocal total
        total += n
        if total > max_nodes:
            raise ValueError(f"expands to more than {max_nodes} nodes at {_where(event)} "
                             "(alias expansion bomb?)")

    for event in yaml.parse(text, Loader=_Loader):
        if isinstance(event, (events.ScalarEvent, events.CollectionStartEvent)):
            if event.tag is not None and event.tag != "!":
                raise ValueError(f"tag {event.tag} at {_where(event)} is not allowed "
                                 "(plain YAML data only)")
        if isinstance(event, events.AliasEvent):
            if event.anchor not in anchors:
                raise ValueError(f"alias *{event.anchor} at {_where(event)} has no anchor")
            size = anchors[event.anchor]
            grow(size, event)
            if stack:
                stack[-1][1] += size
        elif isinstance(event, events.ScalarEvent):
            grow(1, event)
            if stack:
                stack[-1][1] += 1
            if event.anchor:
                anchors[event.anchor] = 1
        elif isinstance(event, events.CollectionStartEvent):
            if len(stack) >= max_depth:
                raise ValueError(f"nested deeper than {max_depth} levels at {_where(event)}")
            stack.append([event.anchor, 0])
        elif isinstance(event, events.CollectionEndEvent):
            anchor, size = stack.pop()
            size += 1
            grow(1, event)
            if anchor:
                anchors[anchor] = size
            if stack:
                stack[-1][1] += size


def load_yaml(
    path: str | Path,
    *,
    what: str = "YAML file",
    max_bytes: int = MAX_BYTES,
    max_nodes: int = MAX_NODES,
    max_depth: int = MAX_DEPTH,
    as_text: bool = False,
) -> tuple[Any, bytes]:
    """Read a YAML file within bounds; return ``(data, raw bytes)``.

    Parameters
    ----------
    path : str or Path
    what : str
        What the file is, for messages (``"agreement"``, ``"request"`` ...).
    max_bytes, max_nodes, max_depth : int
        Size, expanded node count and nesting bounds.
    as_text : bool
        Keep every plain scalar as text (no numbers, booleans or nulls): version files.

    Returns
    -------
    tuple
        The parsed data (dates as strings) and the file's bytes.

    Raises
    ------
    YamlError
        Naming the file and the reason (missing, too large, not UTF-8, not YAML with line
        and column, a tag, an alias bomb, too deep, duplicate key).
    """
    p = Path(path)
    where = str(p)
    try:
        raw = read_bounded(p, max_bytes)
    except IsADirectoryError:
        raise YamlError(f"{what} is a folder, not a file", location=where) from None
    except OSError as exc:
        raise YamlError(f"cannot read {what}: {exc.strerror or exc}", location=where) from None
    if len(raw) > max_bytes:
        raise YamlError(f"{what} is larger than {max_bytes} bytes; refusing to parse it",
                        location=where)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise YamlError(f"{what} is not UTF-8 text (byte {exc.start})", location=where) from None
    if "\x00" in text:
        raise YamlError(f"{what} contains NUL bytes (binary, not YAML)", location=where)
    try:
        _scan(text, max_nodes, max_depth)
        loader = _TextLoader if as_text else _Loader
        data = yaml.load(text, Loader=loader)  # noqa: S506 - safe loader subclass
    except ValueError as exc:
        raise YamlError(f"{what} refused: {exc}", location=where) from None
    except yaml.YAMLError as exc:
        raise YamlError(f"{what} is not valid YAML: {_yaml_reason(exc)}", location=where) from None
    except RecursionError:
        raise YamlError(f"{what} is nested too deeply", location=where) from None
    return data, raw


def _yaml_reason(exc: yaml.YAMLError) -> str:
    problem = getattr(exc, "problem", None)
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    if problem and mark is not None:
        return f"{problem} at line {mark.line + 1}, column {mark.column + 1}"
    text = str(exc).splitlines()
    return " ".join(line.strip() for line in text[:2]) if text else type(exc).__name__
