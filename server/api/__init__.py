"""The JSON API under ``/api/v1``: companions authenticate with a bearer device token.

Errors are always ``{"error": {"code": ..., "message": ...}}`` with a 4xx status; one exception
type (:class:`ApiError`) and one handler produce them.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any, TypeVar, cast

from flask import Blueprint, Flask, Response, g, jsonify, request
from werkzeug.exceptions import HTTPException

from server import accounts
from server.db import get_db, write_transaction

bp = Blueprint("api", __name__, url_prefix="/api/v1")
log = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])


class ApiError(Exception):
    """An error answered as JSON: HTTP ``status``, a stable machine ``code``, a message."""

    def __init__(self, status: int, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.extra = extra


def error_response(status: int, code: str, message: str, **extra: Any) -> tuple[Response, int]:
    """The JSON error body and status."""
    body: dict[str, Any] = {"code": code, "message": message, **extra}
    return jsonify(error=body), status


def _is_api() -> bool:
    return request.path.startswith(bp.url_prefix or "/api/v1")


def register_error_handlers(app: Flask) -> None:
    """JSON errors for every failure under /api/v1 (404, 405, 413, CSRF ... and ApiError)."""

    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError) -> tuple[Response, int]:
        return error_response(exc.status, exc.code, exc.message, **exc.extra)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Any:
        if not _is_api():
            return exc
        code = (exc.name or "error").lower().replace(" ", "_")
        return error_response(exc.code or 500, code, exc.description or exc.name)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Any:
        # Logged without request data: bodies may hold health data.
        log.exception("unexpected error on %s %s", request.method, request.url_rule)
        if _is_api():
            return error_response(500, "internal_error", "the server failed; nothing was saved")
        return "Internal server error", 500


def current_device() -> accounts.Device:
    """The authenticated device of this request (inside :func:`device_required` views)."""
    return cast(accounts.Device, g.device)


def device_required(view: F) -> F:
    """Authenticate ``Authorization: Bearer <device token>``; 401 when missing or revoked."""
    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ApiError(401, "unauthenticated", "send Authorization: Bearer <device token>")
        db = get_db()
        device = accounts.device_for_token(db, token.strip())
        if device is None:
            raise ApiError(401, "invalid_token",
                           "device token unknown or revoked; enroll again with a new code")
        g.device = device
        return view(*args, **kwargs)
    return cast(F, wrapped)


def json_body(max_bytes: int) -> Any:
    """The request's JSON body, or an ApiError (wrong type, too large, not JSON)."""
    if request.mimetype != "application/json":
        raise ApiError(415, "unsupported_media_type", "send Content-Type: application/json")
    length = request.content_length
    if length is not None and length > max_bytes:
        raise ApiError(413, "too_large", f"documents are limited to {max_bytes} bytes")
    raw = request.get_data()  # kept: the upload's digest is taken over these bytes
    if len(raw) > max_bytes:
        raise ApiError(413, "too_large", f"documents are limited to {max_bytes} bytes")
    import json

    try:
        return json.loads(raw, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        raise ApiError(400, "malformed_json", f"body is not valid JSON: {exc}") from None


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed")


__all__ = ["ApiError", "bp", "current_device", "device_required", "json_body",
           "register_error_handlers", "write_transaction"]

from server.api import device as _device  # noqa: E402,F401  (registers routes)
from server.api import openapi as _openapi  # noqa: E402,F401
from server.api import samples as _samples  # noqa: E402,F401
from server.api import sessions as _sessions  # noqa: E402,F401
