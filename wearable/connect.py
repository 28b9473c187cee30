"""Finding a known sensor again and connecting to it, and bounding each step by a time limit.

The Bleak edge of a (re)connection: a new scan for the sensor's address (BlueZ forgets devices),
then bleak-retry-connector's ``establish_connection`` with its retries and backoff. A first
connection that fails raises :class:`~wearable.link.StreamError` with what to try; a later one
returns None, for the link to scan and try again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from bleak import BleakClient
from bleak.backends.device import BLEDevice
from bleak.exc import BleakError
from bleak_retry_connector import BleakConnectionError, BleakNotFoundError, establish_connection

from wearable.link import StreamError
from wearable.scan import FoundSensor, ScanError, find_again

log = logging.getLogger(__name__)

_T = TypeVar("_T")


async def find_device(sensor: FoundSensor, timeout_s: float,
                      backend: type[Any] | None) -> BLEDevice | None:
    """The sensor's ``BLEDevice`` from a new scan of ``timeout_s``, s; None when it was not
    seen (or the adapter went away: then after a second's wait, to keep trying slowly)."""
    try:
        return await find_again(sensor.address, timeout_s, backend)
    except ScanError as exc:
        log.info("rescan failed: %s", exc)
        await asyncio.sleep(1.0)
        return None


async def connect(sensor: FoundSensor, device: BLEDevice, disconnected: asyncio.Event, *,
                  attempts: int, backend: type[Any] | None, first: bool) -> BleakClient | None:
    """A connected client whose disconnection sets ``disconnected``; None when a reconnection
    failed after ``attempts`` tries (a ``first`` connection raises :class:`StreamError`)."""
    def on_disconnect(_client: BleakClient) -> None:
        disconnected.set()

    try:
        return await establish_connection(
            BleakClient, device, sensor.name or sensor.address,
            disconnected_callback=on_disconnect, max_attempts=attempts, backend=backend)
    except (BleakNotFoundError, BleakConnectionError, BleakError, TimeoutError,
            OSError) as exc:
        if first:
            raise StreamError(
                f"could not connect to {sensor.name} ({sensor.address}) after {attempts} "
                f"attempts: {exc}. Check that the sensor is switched on, charged and close to "
                "this computer.") from None
        log.info("reconnection failed: %s", exc)
        return None


async def within_limit(step: Awaitable[_T], time_left_s: Callable[[], float | None],
                       expired: Callable[[], Exception]) -> _T:
    """Await ``step`` while ``time_left_s()`` (s; None: no limit) says there is time; raise
    ``expired()`` when it runs out first. The time left is asked again whenever it seemed up
    (a pause may have stopped the count). A step given up, or cancelled, is cancelled with it.
    """
    task = asyncio.ensure_future(step)
    try:
        while True:
            left_s = time_left_s()
            if left_s is not None and left_s <= 0:
                raise expired()
            done, _ = await asyncio.wait({task}, timeout=left_s)
            if done:
                return task.result()
    finally:
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, BleakError, TimeoutError,
                                     EOFError, OSError):
                await task
