"""The ``soilbiome`` command group: every command found, each importing its own module only."""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys

import click
from click.testing import CliRunner

import soilbiome.cli
from soilbiome.cli import COMMANDS, main


def test_the_command_map_is_what_the_modules_register() -> None:
    """COMMANDS names every command each soilbiome.cli module registers, and no other."""
    registered: dict[str, str] = {}
    for module in pkgutil.iter_modules(soilbiome.cli.__path__):
        group = click.Group()
        importlib.import_module(f"soilbiome.cli.{module.name}").register(group)
        registered.update(dict.fromkeys(group.commands, module.name))
    assert registered == COMMANDS


def test_help_lists_every_command_and_a_wrong_one_is_refused() -> None:
    runner = CliRunner()
    res = runner.invoke(main, ["--help"])
    assert res.exit_code == 0
    listed = res.output.split("Commands:")[1].split()
    assert set(COMMANDS) <= set(listed)
    res = runner.invoke(main, ["betta"])
    assert res.exit_code == 2 and "No such command 'betta'" in res.output


def test_a_command_imports_its_own_module_only() -> None:
    code = ("import sys; from soilbiome.cli import main\n"
            "try:\n    main(['beta', '--help'])\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in sys.modules if m.startswith('soilbiome.cli.')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip().splitlines()[-1] == "['soilbiome.cli.beta']"
