"""``rehab demo``: the whole product end to end with no hardware."""

from __future__ import annotations

import click

commands: list[click.Command] = []
