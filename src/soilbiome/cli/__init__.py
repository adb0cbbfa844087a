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
            except click.exceptions.NoArgsIsHelpError:
                raise  # a group called alone: click shows its help
            except click.ClickException as exc:  # a missing or bad option or argument
                atomic.sweep()
                _fail(_usage_line(exc), exc.exit_code)
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


def _usage_line(exc: click.ClickException) -> str:
    """click's complaint about the command line as one line (click prints the usage, a hint
    and the error on four): the command, what is wrong, and where to read more."""
    ctx = getattr(exc, "ctx", None)
    message = " ".join(exc.format_message().split())
    if ctx is None:
        return message
    return f"{ctx.command_path}: {message} (see {ctx.command_path} --help)"


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


#: Each command -> the module of ``soilbiome.cli`` whose ``register(main)`` adds it. A command
#: imports its own module only (``soilbiome beta matrix`` does not import the reporting, node
#: or pipeline commands': 0.05-0.07 s of every call, every pipeline task included);
#: ``soilbiome --help`` imports them all. ``tests/test_cli.py`` checks this map against what
#: the modules register.
COMMANDS: dict[str, str] = {
    "beta": "beta", "biom": "biom", "check": "sharing", "cleanup": "cleanup",
    "collect-versions": "pipeline", "compare": "compare", "crate": "crate",
    "diversity": "diversity", "export": "export", "fastq-check": "pipeline",
    "import": "profiles", "its": "its", "keys": "sharing", "node": "node",
    "outdir": "pipeline", "params": "params", "phylogeny": "phylogeny",
    "preflight": "pipeline", "primer-summary": "pipeline", "publish": "publish",
    "qc-record": "pipeline", "qc-summary": "pipeline", "refdb": "refdb", "report": "report",
    "run": "pipeline", "shotgun": "shotgun", "stamp": "sharing", "taxonomy": "taxonomy",
    "validate": "pipeline", "verify": "sharing",
}


class _LazyGroup(_Group):
    """The top-level group: a command's module is imported when the command is asked for."""

    def make_context(self, info_name, args, parent=None, **extra):  # noqa: ANN001, ANN003, ANN201
        try:
            return super().make_context(info_name, args, parent=parent, **extra)
        except click.exceptions.NoArgsIsHelpError:
            raise
        except click.UsageError as exc:  # an unknown top-level option
            _fail(_usage_line(exc), exc.exit_code)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in self.commands and name in COMMANDS:
            import importlib

            from soilbiome import lean_imports

            lean_imports.install()  # scipy's first import without numpy.f2py/testing (0.07 s)
            importlib.import_module(f"soilbiome.cli.{COMMANDS[name]}").register(self)
        return self.commands.get(name)


@click.group(cls=_LazyGroup)
@click.version_option(__version__, prog_name="soilbiome")
def main() -> None:
    """Soil metagenomics biodiversity tables: profile, harmonise, compare, share."""
