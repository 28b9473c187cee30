"""One sync, with the pieces around it: the device identity, the store, a lock so two runs
never overlap, and the backoff schedule between background runs (kept in the store's
``sync_state``)."""

from __future__ import annotations

import fcntl
import json
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rehablink.paths import rehab_home
from wearable.sync import device
from wearable.sync.api_client import ApiClient
from wearable.sync.backoff import BACKGROUND_CAP_S, backoff_delay
from wearable.sync.outbox import SyncReport, run_sync

LOCK_FILE = "sync.lock"
STATE_FAILURES = "sync_failures"
STATE_NEXT = "sync_next_attempt_at"
STATE_LAST_OK = "sync_last_ok_at"
STATE_LAST_REPORT = "sync_last_report"


class SyncBusy(RuntimeError):
    """Another sync holds the lock."""


@contextmanager
def sync_lock(home: Path) -> Iterator[None]:
    """Hold ``home/sync.lock`` (released when the process dies, whatever the cause)."""
    fd = os.open(home / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise SyncBusy("another sync is running; try again in a minute") from None
        yield
    finally:
        os.close(fd)


def _now() -> datetime:
    return datetime.now(UTC)


def due(store: object, now: datetime | None = None) -> bool:
    """Whether the backoff schedule allows a background run now."""
    value = store.get_state(STATE_NEXT)  # type: ignore[attr-defined]
    return value is None or datetime.fromisoformat(value) <= (now or _now())


def sync(home: Path | None = None, *, samples: bool = True, background: bool = False,
         sleep: Callable[[float], None] = time.sleep, retries: int = 3) -> SyncReport | None:
    """Run one sync for the enrolled device; returns its report (None: skipped, not due).

    Raises NotEnrolled, SyncBusy, or AuthRejected (a revoked token).
    """
    from wearable.store import CompanionStore

    home = home or rehab_home()
    config = device.load(home)
    with sync_lock(home), CompanionStore.open(home / "companion.db") as store:
        if background and not due(store):
            return None
        client = ApiClient(config.server, config.token)
        report = run_sync(client, store, home, samples=samples, retries=retries, sleep=sleep)
        if report.offline:
            failures = int(store.get_state(STATE_FAILURES) or 0) + 1
            wait = backoff_delay(failures, base_s=60.0, cap_s=BACKGROUND_CAP_S)
            store.set_state(STATE_FAILURES, str(failures))
            store.set_state(STATE_NEXT, (_now() + timedelta(seconds=wait)).isoformat())
        else:
            store.set_state(STATE_FAILURES, "0")
            store.set_state(STATE_NEXT, None)
            store.set_state(STATE_LAST_OK, _now().isoformat())
        store.set_state(STATE_LAST_REPORT, json.dumps(report.lines()))
        return report
