"""The errors of the ``rehab`` commands: one clear ``error:`` line and an exit code, never a
traceback.

Kept apart from :mod:`rehablink.cli`, which assembles the ``rehab`` group by importing every
area's command module: a command module imports its errors from here, so that importing it on
its own does not import the group, which would import that module again while it is half
loaded (a circular import).

Examples
--------
>>> BadInput("no such session").exit_code, RuntimeFailure("disk full").exit_code
(2, 1)
"""

from __future__ import annotations

import click

#: Exit code for bad input (a malformed file, an unknown id, a wrong password).
EXIT_BAD_INPUT = 2


class BadInput(click.ClickException):
    """A user error with a message they can act on; exits with status 2, never a traceback."""

    exit_code = EXIT_BAD_INPUT

    def show(self, file: object = None) -> None:  # one clear line on stderr
        click.echo(f"error: {self.format_message()}", err=True)


class RuntimeFailure(click.ClickException):
    """A failure of the machine rather than of the input (disk, database, network): exit 1,
    one ``error:`` line on stderr."""

    exit_code = 1

    def show(self, file: object = None) -> None:
        click.echo(f"error: {self.format_message()}", err=True)
