"""Provenance: the versions of the tools a run used, gathered from per-process records."""

from __future__ import annotations

from pathlib import Path

import yaml

from soilbiome.errors import InputError
from soilbiome.io.atomic import atomic_write


def collect_versions(files: list[Path], nextflow: str, pipeline: str) -> dict:
    """Merge nf-core style ``versions.yml`` files (``{process: {tool: version}}``).

    Returns a mapping with ``processes`` (as recorded) and ``tools`` (one version per tool; a
    tool seen with two versions in one run is an error, since results would be ambiguous).
    """
    processes: dict[str, dict[str, str]] = {}
    tools: dict[str, str] = {"nextflow": nextflow, "soilbiome-pipeline": pipeline}
    for path in files:
        try:
            data = yaml.safe_load(Path(path).read_text()) or {}
        except yaml.YAMLError as exc:
            raise InputError(f"not valid YAML ({exc})", location=str(path)) from None
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
