"""The ``soilbiome`` command group. Thin: parse options, call a service, report errors."""

from __future__ import annotations

import sys

import click

from soilbiome import __version__
from soilbiome.errors import SoilbiomeError


class _Group(click.Group):
    """A click group that turns every failure into one ``soilbiome: error:`` line and an exit
    code: :class:`SoilbiomeError` (its code), an OS refusal (2), a full disk (2), SIGTERM
    (143) and Ctrl-C (130). Temp files of unfinished outputs are removed
    (:mod:`soilbiome.io.atomic`)."""

    def invoke(self, ctx: click.Context):
        from soilbiome.io import atomic

        with atomic.fault_handlers():  # also while failing: h5py reports from destructors
            try:
                return super().invoke(ctx)
            except atomic.Terminated as exc:
                atomic.sweep()
                _fail(f"stopped by {exc}; temporary files removed", exc.exit_code)
            except KeyboardInterrupt:
                atomic.sweep()
                _fail("stopped by SIGINT (Ctrl-C); temporary files removed", atomic.EXIT_SIGINT)
            except atomic.DiskFullError as exc:
                atomic.sweep()
                _fail(str(exc), exc.exit_code, hard=exc.hdf5)
            except SoilbiomeError as exc:
                atomic.sweep()
                _fail(str(exc), exc.exit_code)
            except OSError as exc:  # a file or folder the OS refused (missing, read-only, full)
                name = atomic.public_name(exc.filename) if exc.filename else None
                atomic.sweep()
                if atomic.is_disk_full(exc):
                    _fail(f"disk full writing {name or 'an output'}", 2)
                where = name or "file system"
                _fail(f"{where}: {exc.strerror or exc}", 2)


def _fail(message: str, code: int, *, hard: bool = False) -> None:
    """Print one error line and exit with ``code``.

    ``hard``: HDF5 failed mid-write and would crash (SIGSEGV) while closing that file at
    interpreter exit, so a real process leaves at once (``os._exit``) after flushing.
    """
    import os

    from soilbiome.io.atomic import real_process

    click.echo(f"soilbiome: error: {message}", err=True)
    if hard and real_process():
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


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

    from soilbiome.cli import publish as publish_cli

    publish_cli.register(main)


_register()
