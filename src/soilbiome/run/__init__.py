"""What a pipeline run is made of, outside the tasks themselves.

* :mod:`~soilbiome.run.params`: parameters checked against ``pipeline/nextflow_schema.json``;
* :mod:`~soilbiome.run.preflight`: the start-up gate's checks (samplesheet, reference,
  agreement, signing key, the executables the run will call);
* :mod:`~soilbiome.run.tools`: which executables each mode calls, and where tasks find them;
* :mod:`~soilbiome.run.runner`: ``soilbiome run`` (Nextflow launched, progress, status);
* :mod:`~soilbiome.run.provenance` and :mod:`~soilbiome.run.crate`: tool versions and the
  Workflow Run RO-Crate.
"""

from pathlib import Path

#: The repository checkout this package runs from (``pipeline/``, ``bin/``, ``.venv/``).
PROJECT_ROOT = Path(__file__).resolve().parents[3]
