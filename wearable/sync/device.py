"""The enrolled device's identity: ``REHAB_HOME/device.json`` (mode 0600).

``{"server": URL, "token": "...", "patient_name": ..., "device_id": ...}``
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from rehablink.paths import rehab_home

DEVICE_FILE = "device.json"


class NotEnrolled(RuntimeError):
    """No device.json yet (or unreadable); the message says how to enroll."""


@dataclass(frozen=True)
class DeviceConfig:
    """Where to sync and with which token."""

    server: str
    token: str
    patient_name: str = ""
    device_id: int | None = None


def device_path(home: Path | None = None) -> Path:
    """``REHAB_HOME/device.json``."""
    return (home or rehab_home()) / DEVICE_FILE


def write_private(path: Path, text: str) -> None:
    """Write a file readable by its owner only (0600), atomically (temp file + rename)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def save(config: DeviceConfig, home: Path | None = None) -> Path:
    """Store the device identity (0600); returns the file's path."""
    path = device_path(home)
    write_private(path, json.dumps(asdict(config), indent=2) + "\n")
    return path


def load(home: Path | None = None) -> DeviceConfig:
    """The stored device identity.

    Raises
    ------
    NotEnrolled
        When the file is missing or unusable.
    """
    path = device_path(home)
    try:
        data = json.loads(path.read_text())
        config = DeviceConfig(server=str(data["server"]), token=str(data["token"]),
                              patient_name=str(data.get("patient_name", "")),
                              device_id=data.get("device_id"))
        if not config.server.startswith(("https://", "http://")) or not config.token:
            raise ValueError("no http(s) server address or no device token")
        return config
    except FileNotFoundError:
        raise NotEnrolled("this computer is not enrolled yet: run "
                          "`rehab enroll CODE --server URL` with the code from your "
                          "physiotherapist") from None
    except (OSError, ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
        raise NotEnrolled(f"{path} is unreadable ({exc}); enroll again") from None
