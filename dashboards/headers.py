"""Response headers for pages that show health data."""

from __future__ import annotations

from flask import Blueprint, Response


def _private(response: Response) -> Response:
    # Health data must not stay in a shared computer's cache or a proxy's.
    response.headers["Cache-Control"] = "no-store"
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    return response


def private(blueprint: Blueprint) -> None:
    """Mark every response of ``blueprint`` as not to be cached (call before registering it)."""
    blueprint.after_request(_private)
