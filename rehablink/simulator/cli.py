"""Commands of ``rehablink.simulator`` for the ``rehab`` group (heavy imports stay inside the commands)."""

from __future__ import annotations

import click

commands: list[click.Command] = []
