"""Server configuration: defaults, the instance file, ``REHAB_SERVER_*`` environment variables.

Precedence (last wins): defaults < ``<instance>/config.json`` < environment < ``test_config``.
Secrets are never in the code: ``SECRET_KEY`` is generated on first run and kept in
``<instance>/secret_key`` with mode 0600.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import Any

from rehablink.paths import rehab_home

#: Environment prefix; ``REHAB_SERVER_DATABASE`` sets ``DATABASE`` and so on.
ENV_PREFIX = "REHAB_SERVER_"

DEFAULTS: dict[str, Any] = {
    # Session cookies: Secure is on by default; turn it off only for a plain-HTTP loopback demo.
    "SESSION_COOKIE_SECURE": True,
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "SESSION_COOKIE_NAME": "rehablink_session",
    "PERMANENT_SESSION_LIFETIME": 8 * 3600,
    "WTF_CSRF_TIME_LIMIT": 8 * 3600,
    # Login rate limit: this many failures per account and address within the window.
    "LOGIN_MAX_FAILURES": 5,
    "LOGIN_WINDOW_S": 15 * 60,
    # Enrollment codes and one-time patient login links.
    "ENROLL_CODE_TTL_S": 72 * 3600,
    "PATIENT_LINK_TTL_S": 15 * 60,
    # Uploads: JSON documents and raw samples per set.
    "MAX_DOCUMENT_BYTES": 1 * 1024 * 1024,
    "MAX_SAMPLES_BYTES": 16 * 1024 * 1024,
    "MAX_CONTENT_LENGTH": 17 * 1024 * 1024,
    # Alerts.
    "ALERT_NO_SESSION_DAYS": 3,
}

_BOOL_TRUE = {"1", "true", "yes", "on"}
_BOOL_FALSE = {"0", "false", "no", "off"}


def default_instance_path() -> Path:
    """The server's directory in the user data dir: ``rehab_home() / "server"``."""
    return rehab_home() / "server"


def _coerce(key: str, raw: str) -> Any:
    """Parse an environment value with the type of its default (bool, int, str)."""
    default = DEFAULTS.get(key)
    if isinstance(default, bool):
        low = raw.strip().lower()
        if low in _BOOL_TRUE:
            return True
        if low in _BOOL_FALSE:
            return False
        raise ValueError(f"{ENV_PREFIX}{key} must be true or false, not {raw!r}")
    if isinstance(default, int):
        try:
            return int(raw)
        except ValueError:
            raise ValueError(f"{ENV_PREFIX}{key} must be an integer, not {raw!r}") from None
    return raw


def _checked(settings: dict[str, Any], where: str) -> dict[str, Any]:
    """``settings``, after checking each known one has its default's type; the numbers (ages,
    limits, sizes) are at least 1. Raises ValueError naming the setting as ``where`` + key."""
    for key, value in settings.items():
        default = DEFAULTS.get(key)
        if isinstance(default, bool) and not isinstance(value, bool):
            raise ValueError(f"{where}{key} must be true or false, not {value!r}")
        if isinstance(default, int) and not isinstance(default, bool) and (
                isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise ValueError(f"{where}{key} must be a whole number of at least 1, "
                             f"not {value!r}")
    return settings


def from_environment(environ: dict[str, str] | None = None) -> dict[str, Any]:
    """Settings given as ``REHAB_SERVER_<KEY>`` environment variables."""
    env = os.environ if environ is None else environ
    return _checked({
        key[len(ENV_PREFIX):]: _coerce(key[len(ENV_PREFIX):], value)
        for key, value in env.items()
        if key.startswith(ENV_PREFIX)
    }, ENV_PREFIX)


def from_instance_file(instance: Path) -> dict[str, Any]:
    """Settings from ``<instance>/config.json`` (absent file: no settings)."""
    path = instance / "config.json"
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError, RecursionError) as exc:
        raise ValueError(f"{path}: not a JSON object ({exc})") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: not a JSON object")
    return _checked(data, f"{path}: ")


def secret_key(instance: Path) -> str:
    """Return the instance's secret key, generating it (256 bits, file mode 0600) on first run."""
    instance.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = instance / "secret_key"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    key = secrets.token_hex(32)
    # O_EXCL: two processes starting together agree on one key.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    return key
