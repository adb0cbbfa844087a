"""The ``soilbiome`` command group. Thin: parse options, call a service, report errors."""

from __future__ import annotations

import sys

import click

from soilbiome import __version__
from soilbiome.errors import SoilbiomeError


class _Group(click.Group):
    """A click group that turns :class:`SoilbiomeError` into one message and its exit code."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except SoilbiomeError as exc:
            click.echo(f"soilbiome: error: {exc}", err=True)
            sys.exit(exc.exit_code)
        except OSError as exc:  # a file or folder the OS refused (missing, read-only, full)
            where = exc.filename or "file system"
            click.echo(f"soilbiome: error: {where}: {exc.strerror or exc}", err=True)
            sys.exit(2)


@click.group(cls=_Group)
@click.version_option(__version__, prog_name="soilbiome")
def main() -> None:
    """Soil metagenomics biodiversity tables: profile, harmonise, compare, share."""


def _register() -> None:
    from soilbiome.cli import diversity, pipeline, report, sharing

    pipeline.register(main)
    sharing.register(main)
    diversity.register(main)
    report.register(main)

    from soilbiome.cli import biom as biom_cli
    from soilbiome.cli import taxonomy as taxonomy_cli

    taxonomy_cli.register(main)
    biom_cli.register(main)

    from soilbiome.cli import export as export_cli

    export_cli.register(main)

    from soilbiome.cli import compare as compare_cli

    compare_cli.register(main)

    from soilbiome.cli import beta as beta_cli

    beta_cli.register(main)

    from soilbiome.cli import profiles as profiles_cli
    from soilbiome.cli import shotgun as shotgun_cli

    shotgun_cli.register(main)
    profiles_cli.register(main)

    from soilbiome.cli import params as params_cli

    params_cli.register(main)

    from soilbiome.cli import crate as crate_cli

    crate_cli.register(main)

    from soilbiome.cli import cleanup as cleanup_cli

    cleanup_cli.register(main)

    from soilbiome.cli import its as its_cli

    its_cli.register(main)

    from soilbiome.cli import phylogeny as phylogeny_cli

    phylogeny_cli.register(main)

    from soilbiome.cli import refdb as refdb_cli

    refdb_cli.register(main)

    from soilbiome.cli import node as node_cli

    node_cli.register(main)


_register()
