"""Pipeline-stage commands (validate, qc-summary, run)."""

import click


def register(main: click.Group) -> None:
    """Add the pipeline-stage commands to the ``soilbiome`` group."""
