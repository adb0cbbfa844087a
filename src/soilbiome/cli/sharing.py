"""Sharing-agreement commands (keys, stamp, verify, check)."""

import click


def register(main: click.Group) -> None:
    """Add the sharing commands to the ``soilbiome`` group."""
