"""What the physiotherapist and the patient see: blueprints, templates and SVG charts.

``register(app)`` is called by the server's app factory to add the dashboards' blueprints.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask


def register(app: Flask) -> None:
    """Add the dashboards' blueprints (physiotherapist, patient, static files) to ``app``."""
    from dashboards.web import register as _register

    _register(app)
