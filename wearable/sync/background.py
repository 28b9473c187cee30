"""Sync after a session, in the background: a detached process that outlives the command
that started it, so the patient can close the terminal.

``python -m wearable.sync.background`` is what :func:`sync_in_background` starts.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from rehablink.paths import rehab_home
from wearable.sync.device import device_path

#: Background syncs started by this process. The child is detached (its own session) and outlives
#: us; holding the handle keeps Python from reaping-and-warning about a still-running child.
_STARTED: list[subprocess.Popen[bytes]] = []


def sync_in_background(home: Path | None = None) -> subprocess.Popen[bytes] | None:
    """Start a detached background sync; returns the process, or None if not enrolled.

    The companion calls this after each session. Output goes to ``home/sync.log``.
    """
    home = home or rehab_home()
    if not device_path(home).exists():
        return None
    env = {**os.environ, "REHAB_HOME": str(home)}
    log = os.fdopen(os.open(home / "sync.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600),
                    "ab")
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "wearable.sync.background"], env=env,
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
    finally:
        log.close()
    _STARTED.append(process)
    return process


def main() -> int:
    """Entry point of the background process: one sync if due, a short log line."""
    from datetime import UTC, datetime

    from wearable.store import StoreDamaged
    from wearable.sync.api_client import SyncError
    from wearable.sync.device import NotEnrolled
    from wearable.sync.runner import SyncBusy, sync

    stamp = datetime.now(UTC).isoformat(timespec="seconds")
    try:
        report = sync(background=True)
    except (NotEnrolled, SyncBusy, SyncError, StoreDamaged) as exc:
        print(f"{stamp} sync: {exc}", flush=True)
        return 1
    if report is None:
        print(f"{stamp} sync: waiting (backing off after failures)", flush=True)
        return 0
    print(f"{stamp} sync: " + "; ".join(report.lines()), flush=True)
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
