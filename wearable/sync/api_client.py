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

from rehablink.text import printable

TIMEOUT_S = 30.0
#: The largest answer read from the server (its documents are a few kB; the cap keeps a broken
#: or hostile server from filling this computer's memory).
MAX_ANSWER_BYTES = 4 * 1024 * 1024


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
    """Status and decoded JSON body (an object, or None when empty) of a successful request."""

    status: int
    body: Any

    def field(self, name: str, kind: type | tuple[type, ...]) -> Any:
        """``body[name]``, checked to be of ``kind``; an :class:`Unreachable` if it is not
        (the answer is not from a RehabLink server of this version)."""
        kinds = kind if isinstance(kind, tuple) else (kind,)
        value = self.body.get(name) if isinstance(self.body, dict) else None
        if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
            raise Unreachable(f"the server's answer lacks a valid {name!r}; is this the "
                              "clinic's RehabLink server?")
        return value


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """The API never redirects: following one would send the device token elsewhere."""

    def redirect_request(self, req: Any, fp: Any, code: int, msg: str, headers: Any,
                         newurl: str) -> None:
        fp.close()
        raise Unreachable(f"the server redirected to {printable(newurl, 200)} (not followed: "
                          "the API does not redirect; check the server address, then enroll "
                          "again)")


_OPENER = urllib.request.build_opener(_NoRedirects)


def _read(resp: Any) -> bytes:
    raw = resp.read(MAX_ANSWER_BYTES + 1)
    if len(raw) > MAX_ANSWER_BYTES:
        raise ValueError(f"an answer larger than {MAX_ANSWER_BYTES} bytes")
    return bytes(raw)


def _decode(raw: bytes) -> Any:
    """A JSON object (or None when empty); ValueError for anything else."""
    if not raw:
        return None
    try:
        body = json.loads(raw)
    except RecursionError:
        raise ValueError("nested too deeply") from None
    if not isinstance(body, dict):
        raise ValueError(f"a JSON {type(body).__name__} where an object was expected")
    return body


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
            with _OPENER.open(req, timeout=self.timeout_s) as resp:
                return Response(resp.status, _decode(_read(resp)))
        except urllib.error.HTTPError as exc:
            raise _classify(exc) from None
        except Unreachable:
            raise
        except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise Unreachable(f"cannot reach {self.base}: {reason}") from None
        except ValueError as exc:  # a body that is not JSON: not our server
            raise Unreachable(f"{self.base} answered something that is not the clinic API "
                              f"({exc})") from None


def _classify(exc: urllib.error.HTTPError) -> SyncError:
    try:
        body = _decode(_read(exc)) or {}
        error = body.get("error", {}) if isinstance(body.get("error"), dict) else {}
    except (ValueError, OSError):
        body, error = {}, {}
    code = printable(str(error.get("code", "http_error")))
    message = printable(str(error.get("message", exc.reason)), 500)  # shown on the terminal
    if exc.code == 401:
        return AuthRejected(f"the server no longer accepts this device ({message}); "
                            "ask your physiotherapist for a new code and run `rehab enroll`")
    if exc.code == 429 or exc.code >= 500:
        return Unreachable(f"server busy or failing ({exc.code} {code}): {message}")
    return Rejected(exc.code, code, message, body if isinstance(body, dict) else {})
