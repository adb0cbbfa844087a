"""``soilbiome params``: check pipeline parameters against the schema; print the help."""

from __future__ import annotations

import json
from pathlib import Path

import click

_file = click.Path(path_type=Path, exists=True, dir_okay=False)


@click.group("params")
def params() -> None:
    """Pipeline parameters (pipeline/nextflow_schema.json)."""


@params.command("check")
@click.option("--schema", type=_file, required=True, help="nextflow_schema.json.")
@click.option("--params", "params_file", type=_file, required=True,
              help="JSON object of the run's parameters (Nextflow's params).")
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Write the checked parameters here (params.json).")
def check(schema: Path, params_file: Path, out: Path | None) -> None:
    """Refuse unknown or invalid parameters, each named with the reason (exit 2)."""
    from soilbiome.errors import InputError
    from soilbiome.run.params import check_params, load_schema, write_params

    try:
        given = json.loads(params_file.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"not valid JSON ({exc})", location=str(params_file)) from None
    if not isinstance(given, dict):
        raise InputError("parameters must be a JSON object", location=str(params_file))
    checked = check_params(given, load_schema(schema))
    if out:
        write_params(checked, out)
    click.echo(f"parameters: {len(checked)} checked against {schema.name}, all valid")


@params.command("help")
@click.option("--schema", type=_file, required=True, help="nextflow_schema.json.")
@click.option("--show-hidden", is_flag=True, help="Also list hidden parameters.")
def help_cmd(schema: Path, show_hidden: bool) -> None:
    """Print the parameters grouped as in the schema."""
    from soilbiome.run.params import help_text, load_schema

    click.echo(help_text(load_schema(schema), show_hidden=show_hidden))


def register(main: click.Group) -> None:
    """Add ``params`` to the ``soilbiome`` group."""
    main.add_command(params)
