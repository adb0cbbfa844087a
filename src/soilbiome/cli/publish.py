"""``soilbiome publish``: the pipeline's last step, all files or none."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("publish")
@click.option("--copy", "pairs", nargs=2, multiple=True, type=click.Path(path_type=Path),
              metavar="SOURCE TARGET",
              help="A file to publish and where (repeatable, in publishing order); a missing "
                   "SOURCE is an error.")
@click.option("--if-present", "optional", nargs=2, multiple=True,
              type=click.Path(path_type=Path), metavar="SOURCE TARGET",
              help="A record published only when the run made it (e.g. the host database's).")
def publish_command(pairs: tuple[tuple[Path, Path], ...],
                    optional: tuple[tuple[Path, Path], ...]) -> None:
    """Copy each SOURCE to TARGET; the targets appear together, only when every copy is done.

    A missing ``--copy`` SOURCE, a full disk or SIGTERM while copying ends with one line,
    removes the temp files and leaves every earlier TARGET as it was.
    """
    from soilbiome.run.publish import publish

    if not pairs and not optional:
        raise click.UsageError("nothing to publish: give --copy SOURCE TARGET")
    done = publish([(s, t, False) for s, t in optional] + [(s, t, True) for s, t in pairs])
    click.echo(f"published {len(done)} file(s)")


def register(main: click.Group) -> None:
    """Add ``publish`` to the ``soilbiome`` command group."""
    main.add_command(publish_command)
