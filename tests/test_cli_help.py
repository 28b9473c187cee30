"""Every command of the ``rehab`` group has help text and answers ``--help``."""

from __future__ import annotations

import subprocess
import sys

import click
import pytest
from click.testing import CliRunner

from rehablink.cli import COMMAND_MODULES, cli


def _all_commands(group: click.Group, prefix: str = "") -> list[tuple[str, click.Command]]:
    found = []
    for name, cmd in group.commands.items():
        found.append((prefix + name, cmd))
        if isinstance(cmd, click.Group):
            found.extend(_all_commands(cmd, prefix + name + " "))
    return found


def test_every_command_has_help() -> None:
    runner = CliRunner()
    for name, cmd in _all_commands(cli):
        assert (cmd.help or cmd.short_help), f"rehab {name} has no help text"
        result = runner.invoke(cli, [*name.split(), "--help"])
        assert result.exit_code == 0, (name, result.output)
        assert "Usage:" in result.output


def test_version() -> None:
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0
    assert result.output.startswith("rehab, version ")


@pytest.mark.parametrize("module", sorted(COMMAND_MODULES))
def test_a_command_module_imported_first_leaves_the_group_whole(module: str) -> None:
    """Regression: ``wearable.store_cli`` imported on its own (as the docstring examples do)
    imported the group, which imported ``wearable.cli``, which imported ``wearable.store_cli``
    again half loaded: an ImportError. Each command module imported first in a fresh
    interpreter must now load, and the group must have every command."""
    code = (f"import {module}\nfrom rehablink.cli import cli\n"
            "print(' '.join(sorted(cli.commands)))")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, check=False)
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == sorted(cli.commands)
