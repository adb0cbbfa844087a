"""Run by taxpasta's own Python (``.runtime/taxpasta``, see runtime/setup.sh), not by pytest.

Standardises every ``profiler<TAB>path`` line of standard input with taxpasta, the way
``taxpasta standardise`` does (its SampleHandlingApplication.etl_sample), in one process
instead of one per file, and prints ``{path: {taxon ID: count} | {"error": message}}`` as
JSON. taxpasta cannot live in soilbiome's environment (it pins pandas 1.x and numpy 1.x).
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

from taxpasta.application import SampleHandlingApplication
from taxpasta.application.error import StandardisationError
from taxpasta.infrastructure.application import ApplicationServiceRegistry, SupportedProfiler


def main() -> None:
    logging.disable(logging.CRITICAL)
    out: dict[str, object] = {}
    for line in sys.stdin.read().splitlines():
        profiler, path = line.split("\t", 1)
        tool = SupportedProfiler(profiler)
        app = SampleHandlingApplication(
            profile_reader=ApplicationServiceRegistry.profile_reader(tool),
            profile_standardiser=ApplicationServiceRegistry.profile_standardisation_service(tool),
        )
        try:
            sample = app.etl_sample(Path(path).stem, Path(path))
        except (StandardisationError, ValueError) as exc:
            out[path] = {"error": str(getattr(exc, "message", exc))}
            continue
        values: dict[str, float] = {}
        for taxid, count in zip(sample.profile["taxonomy_id"], sample.profile["count"],
                                strict=True):
            values[str(int(taxid))] = values.get(str(int(taxid)), 0) + float(count)
        out[path] = values
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
