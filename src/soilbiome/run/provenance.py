"""Provenance: the versions of the tools a run used, gathered from per-process records."""

from __future__ import annotations

from pathlib import Path

import yaml

from soilbiome.errors import InputError
from soilbiome.io.atomic import atomic_write
from soilbiome.io.safe_yaml import load_yaml


def collect_versions(files: list[Path], nextflow: str, pipeline: str) -> dict:
    """Merge nf-core style ``versions.yml`` files (``{process: {tool: version}}``).

    Returns a mapping with ``processes`` (as recorded) and ``tools`` (one version per tool,
    Nextflow's and the pipeline's included; a tool seen with two versions in one run is an
    error, since results would be ambiguous).
    """
    tools = {"nextflow": nextflow, "soilbiome-pipeline": pipeline}
    processes = merge_versions(files, tools)
    return {"tools": dict(sorted(tools.items())), "processes": dict(sorted(processes.items()))}


def merge_versions(files: list[Path], tools: dict[str, str]) -> dict[str, dict[str, str]]:
    """Read ``versions.yml`` files into ``tools`` (``tool -> version``, versions kept as the
    text the tool printed: ``1.10``, not the float 1.1) and return ``process -> {tool:
    version}``. A version that is not text, or a tool with two versions, is an error."""
    processes: dict[str, dict[str, str]] = {}
    for path in files:
        data = load_yaml(path, what="versions file", as_text=True)[0] or {}
        if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
            raise InputError("versions file is not a mapping of process -> {tool: version}",
                             location=str(path))
        for process, versions in data.items():
            name = str(process).split(":")[-1]
            for tool, version in versions.items():
                if not isinstance(version, str):  # a list or mapping: not a version
                    raise InputError(f"{process}: {tool}: the version is {version!r}, not "
                                     "text", location=str(path))
                if tools.get(tool, version) != version:
                    raise InputError(
                        f"tool '{tool}' reported as {tools[tool]} and {version} in one run",
                        location=str(path),
                    )
                tools[tool] = version
                processes.setdefault(name, {})[tool] = version
    return processes


def write_versions(files: list[Path], nextflow: str, pipeline: str, out: Path) -> dict:
    """Collect versions and write them as YAML."""
    merged = collect_versions(files, nextflow, pipeline)
    with atomic_write(out) as handle:
        yaml.safe_dump(merged, handle, sort_keys=False)
    return merged
