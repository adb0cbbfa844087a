"""Read a processing context JSON written by a pipeline step (``soilbiome biom build
--context``), completing the method's version from the steps' ``versions.yml`` files."""

from __future__ import annotations

import json
from pathlib import Path

from soilbiome.errors import InputError
from soilbiome.model.context import ProcessingContext, region_from_primers


def tool_versions(files: list[Path]) -> dict[str, str]:
    """``tool -> version`` from nf-core style ``versions.yml`` files (``PROCESS: {tool: v}``)."""
    from soilbiome.io.safe_yaml import load_yaml

    found: dict[str, str] = {}
    for path in files:
        data = load_yaml(path, what="versions.yml")[0] or {}
        if not isinstance(data, dict):
            raise InputError("not a mapping of process -> tool versions", location=str(path))
        for tools in data.values():
            if isinstance(tools, dict):
                found.update({str(k).lower(): str(v) for k, v in tools.items()})
    return found


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
    if context.method and not context.method_version and versions:
        context = context.with_values(
            method_version=tool_versions(list(versions)).get(context.method.lower(), ""))
    return context
