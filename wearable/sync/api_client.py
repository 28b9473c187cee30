"""A small HTTP client for the clinic API (standard library ``urllib``; TLS verified).

Failures are sorted into what the sync loop needs to know: retry later
(:class:`Unreachable`), enroll again (:class:`AuthRejected`), or give up on this item
(:class:`Rejected`).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

TIMEOUT_S = 30.0


class SyncError(RuntimeError):
    """Base of the sync client's errors."""


class Unreachable(SyncError):
    """Network down, timeout, 5xx or 429: try again later."""


class AuthRejected(SyncError):
    """401: the device token is unknown or revoked."""


class Rejected(SyncError):
    """A 4xx for this request: retrying the same request will not help."""

    def __init__(self, status: int, code: str, message: str, body: dict[str, Any]) -> None:
        super().__init__(f"{message} ({status} {code})")
        self.status = status
        self.code = code
        self.body = body


@dataclass(frozen=True)
class Response:
    """Status and decoded JSON body of a successful request."""

    status: int
    body: Any


class ApiClient:
    """Requests to one server with one bearer token."""

    def __init__(self, server: str, token: str | None = None,
                 timeout_s: float = TIMEOUT_S) -> None:
        self.base = server.rstrip("/")
        self.token = token
        self.timeout_s = timeout_s

    def request(self, method: str, path: str, *, json_body: Any = None, data: bytes | None = None,
                headers: dict[str, str] | None = None) -> Response:
        """Send a request; returns the response or raises one of the errors above."""
        all_headers = {"Accept": "application/json", "User-Agent": "rehablink-companion"}
        if self.token:
            all_headers["Authorization"] = f"Bearer {self.token}"
        if json_body is not None:
            data = json.dumps(json_body).encode()
            all_headers["Content-Type"] = "application/json"
        all_headers.update(headers or {})
        req = urllib.request.Request(self.base + path, data=data, method=method,
                                     headers=all_headers)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout_s) as resp:
                raw = resp.read()
                return Response(resp.status, json.loads(raw) if raw else None)
        except urllib.error.HTTPError as exc:
            raise _classify(exc) from None
        except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise Unreachable(f"cannot reach {self.base}: {reason}") from None
        except ValueError as exc:  # a body that is not JSON: not our server
            raise Unreachable(f"{self.base} answered something that is not JSON ({exc})") \
                from None


def _classify(exc: urllib.error.HTTPError) -> SyncError:
    try:
        body = json.loads(exc.read() or b"{}")
        error = body.get("error", {}) if isinstance(body, dict) else {}
    except (ValueError, OSError):
        body, error = {}, {}
    code = str(error.get("code", "http_error"))
    message = str(error.get("message", exc.reason))
    if exc.code == 401:
        return AuthRejected(f"the server no longer accepts this device ({message}); "
                            "ask your physiotherapist for a new code and run `rehab enroll`")
    if exc.code == 429 or exc.code >= 500:
        return Unreachable(f"server busy or failing ({exc.code} {code}): {message}")
    return Rejected(exc.code, code, message, body if isinstance(body, dict) else {})
