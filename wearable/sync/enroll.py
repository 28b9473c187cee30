"""Enrollment: exchange the physiotherapist's one-time code for this computer's device token."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from rehablink.paths import rehab_home
from rehablink.text import printable
from wearable.sync import device
from wearable.sync.api_client import ApiClient, Unreachable


def check_server_url(url: str) -> str:
    """The URL without a trailing slash; http(s) only. Plain http only to this machine."""
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise ValueError(f"server must be an http(s) URL such as https://clinic.example, "
                         f"not {url!r}")
    if parts.scheme == "http" and parts.hostname not in {"127.0.0.1", "localhost", "::1"}:
        raise ValueError("use https:// for a server on another machine (health data must "
                         "not cross a network unencrypted)")
    return url.rstrip("/")


def enroll(code: str, server: str, home: Path | None = None) -> device.DeviceConfig:
    """Enroll this computer; stores ``device.json`` (0600) and returns it."""
    server = check_server_url(server)
    response = ApiClient(server).request("POST", "/api/v1/enroll", json_body={"code": code})
    token = response.field("token", str)
    if not token.strip():
        raise Unreachable("the server's answer holds an empty device token; is this the "
                          "clinic's RehabLink server?")
    body = response.body
    device_id = body.get("device_id")
    config = device.DeviceConfig(server=server, token=token,
                                 patient_name=printable(str(body.get("patient_name", "")),
                                                        200),
                                 device_id=device_id if isinstance(device_id, int) else None)
    device.save(config, home or rehab_home())
    return config
