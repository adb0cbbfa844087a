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


def test_a_wrong_command_line_is_one_line_naming_the_command_and_what_is_wrong(tmp_path) -> None:
    """click's own complaints (a file that is not there, a missing option, an unknown option
    or command) come as the one ``soilbiome: error:`` line every other failure gives."""
    cases = {
        ("diversity", str(tmp_path / "nope.biom"), "--outdir", str(tmp_path / "out")):
            ("soilbiome diversity:", "nope.biom' does not exist"),
        ("shotgun", "stream-kraken2", "reads.fastq"):
            ("soilbiome shotgun stream-kraken2:", "Missing option '--sample'"),
        ("--bogus",): ("soilbiome:", "No such option '--bogus'"),
        ("betta",): ("soilbiome:", "No such command 'betta'"),
    }
    for args, (command, what) in cases.items():
        proc = subprocess.run([sys.executable, "-m", "soilbiome", *args], capture_output=True,
                              text=True, check=False)
        assert proc.returncode == 2, args
        assert proc.stdout == "", args
        lines = proc.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"soilbiome: error: {command} "), lines
        assert what in lines[0] and lines[0].endswith("--help)"), lines
    assert not (tmp_path / "out").exists()
    # a group alone still shows its help
    proc = subprocess.run([sys.executable, "-m", "soilbiome", "shotgun"], capture_output=True,
                          text=True, check=False)
    shown = proc.stdout + proc.stderr
    assert "Commands:" in shown and "stream-kraken2" in shown
