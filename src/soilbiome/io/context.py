"""Read a processing context JSON written by a pipeline step (``soilbiome biom build
--context``), completing the method's version from the steps' ``versions.yml`` files."""

from __future__ import annotations

import json
from pathlib import Path

from soilbiome.errors import InputError
from soilbiome.model.context import ProcessingContext, region_from_primers


def tool_versions(files: list[Path]) -> dict[str, str]:
    """``tool -> version`` (tool names in lower case) from nf-core style ``versions.yml``
    files (``PROCESS: {tool: v}``), read as ``collect-versions`` reads them."""
    from soilbiome.run.provenance import merge_versions

    tools: dict[str, str] = {}
    merge_versions(list(files), tools)
    return {tool.lower(): version for tool, version in tools.items()}


def read_context(path: Path, versions: list[Path] = ()) -> ProcessingContext:
    """The context in ``path``; an empty ``region`` is taken from a known primer pair, and an
    empty ``method_version`` from ``versions`` (the method's name, lower case, as tool key)."""
    try:
        data = json.loads(Path(path).read_text())
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", location=str(path)) from None
    except ValueError as exc:
        raise InputError(f"not JSON: {exc}", location=str(path)) from None
    if not isinstance(data, dict):
        raise InputError("a processing context must be a JSON object", location=str(path))
    context = ProcessingContext.from_dict(data)
    if not context.region:
        context = context.with_values(
            region=region_from_primers(context.primer_fwd, context.primer_rev))
    known = tool_versions(list(versions)) if versions else {}  # read (and checked) if given
    if context.method and not context.method_version and known:
        context = context.with_values(method_version=known.get(context.method.lower(), ""))
    return context
