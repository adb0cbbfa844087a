"""``soilbiome publish``: the pipeline's last step, all files or none."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("publish")
@click.option("--copy", "pairs", nargs=2, multiple=True, required=True,
              type=click.Path(path_type=Path), metavar="SOURCE TARGET",
              help="A file to publish and where (repeatable, in publishing order).")
@click.option("--require-all", is_flag=True, help="A missing SOURCE is an error (default: skip).")
def publish_command(pairs: tuple[tuple[Path, Path], ...], require_all: bool) -> None:
    """Copy each SOURCE to TARGET; the targets appear together, only when every copy is done.

    A full disk or SIGTERM while copying ends with one line, removes the temp files and leaves
    every earlier TARGET as it was.
    """
    from soilbiome.run.publish import publish

    done = publish(pairs, skip_missing=not require_all)
    click.echo(f"published {len(done)} file(s)")


def register(main: click.Group) -> None:
    """Add ``publish`` to the ``soilbiome`` command group."""
    main.add_command(publish_command)
