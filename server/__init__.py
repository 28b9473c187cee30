"""The Flask service that companions sync to and that keeps the clinical record.

``create_app`` is the application factory (see docs/server.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the server app (imports Flask only when called)."""
    from server.app import create_app as factory

    return factory(test_config)


__all__ = ["create_app"]
