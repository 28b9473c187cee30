"""The ``rehab`` command: one click group, with each area contributing its own commands.

Each area (``wearable``, ``firmware_protocol``, ``server``, ``dashboards``) exposes a module-level
``commands`` list in its ``cli`` module. Heavy imports (Bleak, Bumble, Flask) happen inside the
command functions so that ``rehab analyze`` starts quickly. Command modules take their errors
from :mod:`rehablink.cli_errors`, not from here: this module imports them all.
"""

from __future__ import annotations

import importlib
import math
import os
import sqlite3
import sys
from typing import Any

import click

from rehablink import __version__
from rehablink.cli_errors import BadInput, RuntimeFailure

#: Modules whose ``commands`` list is added to the group, in help order.
COMMAND_MODULES = (
    "wearable.motion.cli",
    "wearable.cli",
    "wearable.store_cli",
    "wearable.sync.cli",
    "firmware_protocol.cli",
    "firmware_protocol.simulated.cli",
    "server.cli",
    "dashboards.cli",
    "rehablink.simulator.cli",
    "rehablink.demo",
)


class RehabGroup(click.Group):
    """The ``rehab`` group: usage errors, and failures of files and databases that no command
    anticipated, end with one ``error:`` line instead of a usage block or a traceback (nothing
    stored is touched)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.exceptions.NoArgsIsHelpError:
            raise
        except click.UsageError as exc:  # a missing, unknown or invalid option or argument
            where = exc.ctx.command_path if exc.ctx is not None else "rehab"
            raise BadInput(f"{exc.format_message()} (see `{where} --help`)") from None
        except sqlite3.DatabaseError as exc:  # damaged, locked or foreign database file
            raise RuntimeFailure(f"database error: {exc} (the file was left as it is)") from None
        except OSError as exc:  # disk full, permission denied, a directory for a file ...
            where = f" ({exc.filename})" if exc.filename else ""
            if exc.filename2:  # a rename or copy: the target is usually the one at fault
                where = f" ({exc.filename2})"
            raise RuntimeFailure(f"{exc.strerror or exc}{where}") from None
        except ValueError as exc:
            from rehablink.recording import RecordingError

            if isinstance(exc, RecordingError):  # a recording file that cannot be read
                raise BadInput(str(exc)) from None
            raise


@click.group(cls=RehabGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="rehab")
def cli() -> None:
    """RehabLink: count glute exercises from one pelvis-worn motion sensor, coach them live,
    and keep the physiotherapist's record."""


def _finite(kind: click.ParamType, number: Any, value: Any, param: click.Parameter | None,
            ctx: click.Context | None) -> Any:
    if isinstance(number, float) and not math.isfinite(number):
        kind.fail(f"{value!r} is not a finite number.", param, ctx)
    return number


class FiniteFloat(click.types.FloatParamType):
    """A number option that refuses ``nan`` and ``inf`` (which pass every range check)."""

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> Any:
        return _finite(self, super().convert(value, param, ctx), value, param, ctx)


class FiniteFloatRange(click.FloatRange):
    """``click.FloatRange`` refusing ``nan`` and ``inf`` as well."""

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> Any:
        number = click.FLOAT.convert(value, param, ctx)
        _finite(self, number, value, param, ctx)
        return super().convert(value, param, ctx)


#: Whole-number options fit SQLite's 64-bit integers (a larger one overflows in a query).
INT64 = 2**63


def _int64(kind: click.ParamType, number: Any, value: Any, param: click.Parameter | None,
           ctx: click.Context | None) -> Any:
    if isinstance(number, int) and not -INT64 <= number < INT64:
        kind.fail(f"{value!r} is too large.", param, ctx)
    return number


class Int64(click.types.IntParamType):
    """A whole-number option within 64 bits."""

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> Any:
        return _int64(self, super().convert(value, param, ctx), value, param, ctx)


class Int64Range(click.IntRange):
    """``click.IntRange`` within 64 bits even when it has no upper bound."""

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> Any:
        _int64(self, click.INT.convert(value, param, ctx), value, param, ctx)
        return super().convert(value, param, ctx)


def _finite_numbers(command: click.Command) -> None:
    """Make every float option of ``command`` (and its subcommands) refuse nan and inf, and
    every whole-number option numbers beyond 64 bits."""
    for param in command.params:
        if type(param.type) is click.FloatRange:
            param.type.__class__ = FiniteFloatRange
        elif type(param.type) is click.types.FloatParamType:
            param.type = FiniteFloat()
        elif type(param.type) is click.IntRange:
            param.type.__class__ = Int64Range
        elif type(param.type) is click.types.IntParamType:
            param.type = Int64()
    for sub in getattr(command, "commands", {}).values():
        _finite_numbers(sub)


def _register() -> None:
    for name in COMMAND_MODULES:
        module = importlib.import_module(name)
        for command in getattr(module, "commands", []):
            _finite_numbers(command)
            cli.add_command(command)


_register()


#: Set to 1 to see the traceback of an unexpected failure instead of its one-line summary.
DEBUG_ENV = "REHAB_DEBUG"


def main() -> None:
    """Console-script entry point.

    A failure no command anticipated (a bug) ends with one ``error:`` line and exit 1; set
    ``REHAB_DEBUG=1`` to see its traceback for a report.
    """
    try:
        cli.main(standalone_mode=True)
    except KeyboardInterrupt:  # Ctrl-C outside a command that handles it
        click.echo("interrupted", err=True)
        sys.exit(130)
    except Exception as exc:
        if os.environ.get(DEBUG_ENV):
            raise
        summary = f"{type(exc).__name__}: {exc}"[:300]
        click.echo(f"error: unexpected failure ({summary}); this is a bug: run again with "
                   f"{DEBUG_ENV}=1 to see the details for a report", err=True)
        sys.exit(1)
