"""Provenance: the versions of the tools a run used, gathered from per-process records."""

from __future__ import annotations

from pathlib import Path

import yaml

from soilbiome.errors import InputError
from soilbiome.io.atomic import atomic_write
from soilbiome.io.safe_yaml import load_yaml


def collect_versions(files: list[Path], nextflow: str, pipeline: str) -> dict:
    """Merge nf-core style ``versions.yml`` files (``{process: {tool: version}}``).

    Returns a mapping with ``processes`` (as recorded) and ``tools`` (one version per tool; a
    tool seen with two versions in one run is an error, since results would be ambiguous).
    """
    processes: dict[str, dict[str, str]] = {}
    tools: dict[str, str] = {"nextflow": nextflow, "soilbiome-pipeline": pipeline}
    for path in files:
        data = load_yaml(path, what="versions file", as_text=True)[0] or {}  # 1.10 not 1.1
        if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
            raise InputError("versions file is not a mapping of process -> {tool: version}",
                             location=str(path))
        for process, versions in data.items():
            for tool, version in versions.items():
                if not isinstance(version, str):  # a list or mapping: not a version
                    raise InputError(f"{process}: {tool}: the version is {version!r}, not "
                                     "text", location=str(path))
        for process, versions in data.items():
            name = str(process).split(":")[-1]
            processes.setdefault(name, {}).update({k: str(v) for k, v in versions.items()})
            for tool, version in versions.items():
                version = str(version)
                if tools.get(tool, version) != version:
                    raise InputError(
                        f"tool '{tool}' reported as {tools[tool]} and {version} in one run",
                        location=str(path),
                    )
                tools[tool] = version
    return {"tools": dict(sorted(tools.items())), "processes": dict(sorted(processes.items()))}


def write_versions(files: list[Path], nextflow: str, pipeline: str, out: Path) -> dict:
    """Collect versions and write them as YAML."""
    merged = collect_versions(files, nextflow, pipeline)
    with atomic_write(out) as handle:
        yaml.safe_dump(merged, handle, sort_keys=False)
    return merged
