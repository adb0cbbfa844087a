"""Publish finished files into a results folder all together, or not at all.

The pipeline's last step (``publishOnSuccess`` in ``pipeline/main.nf``) copies the start-up
records and the stamped table with its signed sidecar from their staging folders into
``--outdir``. :func:`publish` first copies every file to a hidden temp name beside its target
and only then renames them all, in the order given (the table before its sidecar), with
SIGTERM held back during the renames (:func:`soilbiome.io.atomic.atomic_outputs`). A full
disk or SIGTERM while copying leaves every earlier result as it was and no temp file behind.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

from soilbiome.errors import InputError
from soilbiome.io.atomic import atomic_outputs


def publish(copies: Sequence[tuple[str | Path, str | Path, bool]]) -> list[Path]:
    """Copy each ``(source, target, required)``; the targets appear together when all are done.

    Parameters
    ----------
    copies : sequence of (source, target, required)
        In publishing order. A source that does not exist is an error when ``required``,
        else skipped (records a run makes only sometimes); every source is checked before
        anything is copied.

    Returns
    -------
    list of Path
        The targets written.

    Raises
    ------
    InputError
        A required source is missing, a source or a target is a folder, or two sources go
        to one target (all checked before anything is copied); DiskFullError / OutputError
        when a target cannot be written (nothing is published then).
    """
    todo: list[tuple[Path, Path]] = []
    for source, target, required in copies:
        src, dest = Path(source), Path(target)
        if not src.exists():
            if not required:
                continue
            raise InputError("file to publish does not exist", location=str(src))
        if not src.is_file():
            raise InputError("not a file, cannot publish it", location=str(src))
        if dest.is_dir():  # refused now: a rename over it would fail after earlier renames
            raise InputError("a folder is in the way of the file to publish there",
                             location=str(dest))
        if dest in [d for _, d in todo]:
            raise InputError("two files to publish to the same place", location=str(dest))
        todo.append((src, dest))
    with atomic_outputs() as outputs:
        for src, dest in todo:
            shutil.copyfile(src, outputs.file(dest))
    return [dest for _, dest in todo]
