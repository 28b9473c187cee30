"""Every command of the ``rehab`` group has help text and answers ``--help``."""

from __future__ import annotations

import click
from click.testing import CliRunner

from rehablink.cli import cli


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
