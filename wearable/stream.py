"""Streaming one sensor through the public Bleak API: connect, subscribe, decode, reconnect.

The notification callbacks only enqueue ``(time.monotonic(), channel, bytes)``; one consumer
task decodes, orders (:class:`~wearable.ledger.PacketLedger`), times
(:class:`~wearable.clock.ClockAligner`, :class:`~wearable.timeline.UntimedTimeline`) and hands
:class:`SampleBlock` objects to ``on_samples``. A disconnect sets an ``asyncio.Event``; the link
then scans for the sensor again (BlueZ forgets devices) and reconnects with
bleak-retry-connector's ``establish_connection`` and its backoff. With the RehabLink profile it
asks the sensor to resend from the first packet it has not seen, so nothing is lost; a reboot
(the sensor's numbering goes back) starts a new epoch and the downtime becomes a gap. Sensors
started from what they offer (Polar) are asked first (:mod:`wearable.start`); the rate they
were started at becomes :attr:`SensorLink.rate_hz`.
Reconnection is not endless (:mod:`wearable.silence`): a connected sensor that sends nothing is
connected again, and once a sensor that has streamed has sent no data for ``give_up_after_s``
the link stops trying and :meth:`SensorLink.run` raises :class:`SensorLost`. The silence is not
counted while the session is paused (:meth:`SensorLink.set_paused`).
Callbacks are registered once per client, never twice (BlueZ would deliver every notification
twice).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeVar

from bleak import BleakClient
from bleak.backends.device import BLEDevice
from bleak.exc import BleakError
from bleak_retry_connector import BleakConnectionError, BleakNotFoundError, establish_connection

from firmware_protocol import rehablink_profile as rl
from wearable.pipeline import RL_MODULUS, SampleBlock, SamplePipeline
from wearable.scan import FoundSensor, ScanError, find_again
from wearable.silence import (
    GIVE_UP_AFTER_S,
    reconnect_after_s,
    resumed_since_s,
    silent_s,
    span_words,
)
from wearable.start import StartRefused, start_sensor

log = logging.getLogger(__name__)

BATTERY_LEVEL = "00002a19-0000-1000-8000-00805f9b34fb"
#: Shortest time between two rounds of the consumer, s.
ROUND_S = 0.02
#: How often a streaming link checks that data still arrives, s.
WATCH_S = 0.1

_T = TypeVar("_T")


class LinkState(StrEnum):
    """Connection state shown to the patient."""

    CONNECTING = "connecting"
    STREAMING = "streaming"
    RECONNECTING = "reconnecting"
    STOPPED = "stopped"
    LOST = "lost"  # given up: nothing came for the give-up time


class StreamError(RuntimeError):
    """The sensor cannot be reached; the message says what to try."""


class SensorLost(StreamError):
    """A sensor that had streamed sent no data for the give-up time; the link stopped trying."""


@dataclass
class LinkCounters:
    reconnects: int = 0


class SensorLink:
    """One streaming sensor. Run :meth:`run` as a task; stop it by setting ``stop``.

    Parameters
    ----------
    sensor : FoundSensor
        The sensor, as found by :func:`wearable.scan.scan`.
    on_samples : callable
        Called with each :class:`SampleBlock`, in order, on the event loop.
    client_backend, scanner_backend : type or None
        Bleak backend classes; None for the operating system's stack.
    rate_hz : float or None
        Sampling rate to request (the profile's default otherwise). :attr:`rate_hz` is the
        rate streamed: for a sensor started from its settings, the offered rate closest to it.
    on_state : callable, optional
        Called with each :class:`LinkState` change.
    on_tick : callable, optional
        Called a few times a second from the consumer (to flush the store when idle).
    connect_attempts : int
        Attempts per connection before the link reports the failure (first connection) or
        scans again (reconnection).
    rescan_timeout_s : float
        How long each scan for the sensor before a reconnection lasts, s.
    give_up_after_s : float
        Once it has streamed, how long the sensor may send no data (link down, or up and
        silent) before :meth:`run` raises :class:`SensorLost`, s; pauses do not count. A
        reconnection that found the sensor before then may take up to
        :func:`~wearable.silence.reconnect_after_s` longer to bring data.
    """

    def __init__(self, sensor: FoundSensor, on_samples: Callable[[SampleBlock], None], *,
                 client_backend: type[Any] | None = None,
                 scanner_backend: type[Any] | None = None, rate_hz: float | None = None,
                 on_state: Callable[[LinkState], None] | None = None,
                 on_tick: Callable[[], None] | None = None, connect_attempts: int = 3,
                 rescan_timeout_s: float = 5.0,
                 give_up_after_s: float = GIVE_UP_AFTER_S) -> None:
        self.sensor, self.profile = sensor, sensor.profile
        self.on_samples, self.on_state, self.on_tick = on_samples, on_state, on_tick
        self.client_backend, self.scanner_backend = client_backend, scanner_backend
        self.requested_rate_hz = rate_hz or self.profile.default_rate_hz
        self.rate_hz = self.requested_rate_hz
        self.connect_attempts, self.rescan_timeout_s = connect_attempts, rescan_timeout_s
        self.give_up_after_s = give_up_after_s
        #: Host time the first stream was set up, s (None before).
        self.streamed_since_s: float | None = None
        #: Host time silence counts from when no data came after it, s: the first stream set
        #: up, moved on by pauses (None before the first stream).
        self._silence_since_s: float | None = None
        self._paused_at_s: float | None = None  # host time the session was paused, s
        self.state = LinkState.CONNECTING
        self.battery_pct: int | None = sensor.battery_pct
        self.mtu: int | None = None
        self.counters = LinkCounters()
        self.pipeline = SamplePipeline(self.profile, self.rate_hz)
        self.ledger = self.pipeline.ledger
        self._queue: asyncio.Queue[tuple[float, str, bytes]] = asyncio.Queue()
        self._answers: asyncio.Queue[bytes] = asyncio.Queue()  # for a start query
        self._data_ready = asyncio.Event()
        self._client: BleakClient | None = None
        self._consuming = False
        self._token = 10

    # -- state ------------------------------------------------------------------------------
    def _set_state(self, state: LinkState) -> None:
        if state != self.state:
            self.state = state
            if self.on_state:
                self.on_state(state)

    @property
    def last_data_s(self) -> float | None:
        """Host time of the last data notification, s (None before the first)."""
        return self.pipeline.last_data_s

    def host_time(self, stream_t: float) -> float:
        """Host monotonic time, s, of a time on the stream's clock (for latency figures)."""
        return self.pipeline.host_time(stream_t)

    def silent_for_s(self, now: float) -> float | None:
        """Seconds without data at host time ``now``, pauses left out, s (None before the first
        stream)."""
        if self._silence_since_s is None:
            return None
        return silent_s(now, self.last_data_s, self._silence_since_s, self._paused_at_s)

    def set_paused(self, paused: bool) -> None:
        """The session is paused (or goes on): silence stops counting towards the give-up time
        during a pause, when the patient may put the sensor down or walk away with it, and goes
        on from there afterwards. The link keeps reconnecting meanwhile."""
        paused_at, now = self._paused_at_s, time.monotonic()
        if paused and paused_at is None:
            self._paused_at_s = now
        elif not paused and paused_at is not None:
            if self._silence_since_s is not None:
                self._silence_since_s = resumed_since_s(now, self.last_data_s,
                                                        self._silence_since_s, paused_at)
            self._paused_at_s = None

    # -- the run loop ---------------------------------------------------------------------
    async def run(self, stop: asyncio.Event) -> None:
        """Stream until ``stop`` is set; reconnects by itself.

        Raises
        ------
        StreamError
            When the first connection fails after ``connect_attempts`` attempts, or the sensor
            refuses to start.
        SensorLost
            When a sensor that has streamed sent no data for ``give_up_after_s``.
        """
        self._consuming = True
        consumer = asyncio.create_task(self._consume(stop))
        try:
            await self._connection_loop(stop, consumer)
        finally:
            # Ask the consumer to finish rather than cancel it: a cancel that lands while
            # wait_for() completes is lost on Python 3.11.
            self._consuming = False
            await consumer
            self._drain()
            self.pipeline.finish(time.monotonic())
            self._hand_on()
            if self.state != LinkState.LOST:
                self._set_state(LinkState.STOPPED)

    async def _connection_loop(self, stop: asyncio.Event, consumer: asyncio.Task[None]) -> None:
        device = self.sensor.device
        first = True
        # Once the sensor is found again before the limit, connecting, starting and the first
        # data may overrun it a little rather than drop a sensor that has just come back.
        grace_s = reconnect_after_s(self.give_up_after_s)
        while not stop.is_set():
            if device is None:
                device = await self._within_limit(self._find_again())
                if device is None:
                    continue
            disconnected = asyncio.Event()
            client = await self._within_limit(self._connect(device, disconnected, first),
                                              grace_s)
            if client is None:
                device = None  # scan again before the next attempt
                continue
            self._client = client
            try:
                await self._within_limit(self._setup(client, reconnect=not first), grace_s)
                if not first:
                    self.counters.reconnects += 1
                first = False
                if self.streamed_since_s is None:
                    self.streamed_since_s = self._silence_since_s = time.monotonic()
                self._set_state(LinkState.STREAMING)
                await self._stream(stop, disconnected, consumer, grace_s)
                if consumer.done():  # the consumer failed: stop and report it
                    stop.set()
            except (BleakError, TimeoutError, EOFError, OSError) as exc:
                if first:
                    raise StreamError(
                        f"{self.sensor.name} ({self.sensor.address}): setting up the stream "
                        f"failed: {exc}. Switch the sensor off and on again, keep it close to "
                        "this computer and try again.") from None
                log.info("stream setup failed, reconnecting: %s", exc)
            finally:
                self._client = None
                self.ledger.set_connected(False, time.monotonic())
                if stop.is_set():
                    await self._stop_sensor(client)
                with contextlib.suppress(BleakError, TimeoutError, EOFError):
                    await client.disconnect()
            if not stop.is_set():
                self._set_state(LinkState.RECONNECTING)
                device = None

    async def _find_again(self) -> BLEDevice | None:
        """The sensor's ``BLEDevice`` from a new scan, or None when it was not seen."""
        try:
            return await find_again(self.sensor.address, self.rescan_timeout_s,
                                    self.scanner_backend)
        except ScanError as exc:  # the adapter went away: keep trying, slowly
            log.info("rescan failed: %s", exc)
            await asyncio.sleep(1.0)
            return None

    async def _connect(self, device: BLEDevice, disconnected: asyncio.Event,
                       first: bool) -> BleakClient | None:
        """A connected client; None when a reconnection failed (the first one raises)."""
        def on_disconnect(_client: BleakClient) -> None:
            disconnected.set()

        try:
            return await establish_connection(
                BleakClient, device, self.sensor.name or self.sensor.address,
                disconnected_callback=on_disconnect,
                max_attempts=self.connect_attempts, backend=self.client_backend)
        except (BleakNotFoundError, BleakConnectionError, BleakError, TimeoutError,
                OSError) as exc:
            if first:
                raise StreamError(
                    f"could not connect to {self.sensor.name} ({self.sensor.address}) after "
                    f"{self.connect_attempts} attempts: {exc}. Check that the sensor is "
                    "switched on, charged and close to this computer.") from None
            log.info("reconnection failed: %s", exc)
            return None

    async def _within_limit(self, step: Awaitable[_T], grace_s: float = 0.0) -> _T:
        """Await one step of a (re)connection; once the sensor has streamed, raise
        :class:`SensorLost` when the give-up time (plus ``grace_s``, s) runs out first. The
        silence is looked at again whenever the time seemed up: a pause may have stopped it."""
        task = asyncio.ensure_future(step)
        try:
            while True:
                silent = self.silent_for_s(time.monotonic())
                left_s = None if silent is None else self.give_up_after_s + grace_s - silent
                if left_s is not None and left_s <= 0:
                    raise self._lost()
                done, _ = await asyncio.wait({task}, timeout=left_s)
                if done:
                    return task.result()
        finally:
            if not task.done():  # given up, or cancelled: the step ends with it
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, BleakError, TimeoutError,
                                         EOFError, OSError):
                    await task

    async def _stream(self, stop: asyncio.Event, disconnected: asyncio.Event,
                      consumer: asyncio.Task[None], grace_s: float) -> None:
        """Wait while the link streams, until ``stop``, a disconnection, the consumer's end, or
        a silence long enough to connect again (returns) or to give up (raises; ``grace_s``
        later until this connection's first data)."""
        connected_s = time.monotonic()
        reconnect_s = reconnect_after_s(self.give_up_after_s)
        waits: set[asyncio.Task[Any]] = {
            asyncio.create_task(stop.wait()), asyncio.create_task(disconnected.wait()), consumer}
        try:
            while not any(w.done() for w in waits):
                await asyncio.wait(waits, timeout=WATCH_S, return_when=asyncio.FIRST_COMPLETED)
                now = time.monotonic()
                silent = self.silent_for_s(now)
                fresh = self.last_data_s is None or self.last_data_s < connected_s
                limit_s = self.give_up_after_s + (grace_s if fresh else 0.0)
                if silent is not None and silent >= limit_s and not stop.is_set():
                    raise self._lost()
                if silent_s(now, self.last_data_s, connected_s) >= reconnect_s:
                    log.info("no data for %g s while connected: reconnecting", reconnect_s)
                    return
        finally:
            for wait in waits - {consumer}:
                wait.cancel()

    def _lost(self) -> SensorLost:
        self._set_state(LinkState.LOST)
        return SensorLost(f"nothing came from {self.sensor.name} ({self.sensor.address}) for "
                          f"{span_words(self.give_up_after_s)}")

    async def _setup(self, client: BleakClient, reconnect: bool) -> None:
        self.mtu = client.mtu_size
        with contextlib.suppress(BleakError, TimeoutError, EOFError):
            level = await client.read_gatt_char(BATTERY_LEVEL)
            if level:
                self.battery_pct = int(level[0])
        rebooted = False
        if reconnect and not self.profile.can_resend:
            self.pipeline.clock_may_have_restarted()
        if self.profile.id == "rehablink":
            with contextlib.suppress(BleakError, TimeoutError, EOFError, ValueError):
                status = rl.Status.from_bytes(bytes(await client.read_gatt_char(rl.STATUS_UUID)))
                self.battery_pct = status.battery_pct
                if not reconnect:
                    self.ledger.expect_first(status.next_sequence)
                last = self.ledger.last_sequence
                if reconnect and last is not None:
                    behind = (status.next_sequence - (last + 1)) % RL_MODULUS
                    rebooted = behind >= RL_MODULUS // 2
        if rebooted:
            self._drain()
            self.pipeline.sensor_rebooted(time.monotonic())
        for uuid in self.profile.subscribe_first:
            await client.start_notify(uuid, self._callback("control"))
        await client.start_notify(self.profile.data_uuid, self._callback("data"))
        if self.profile.id == "rehablink":
            with contextlib.suppress(BleakError, TimeoutError, EOFError):
                await client.start_notify(rl.STATUS_UUID, self._callback("status"))
        self.ledger.set_connected(True, time.monotonic())
        try:
            self.rate_hz = await start_sensor(client, self.profile, self.requested_rate_hz,
                                              self._answers)
            self.pipeline.started(self.rate_hz)
        except StartRefused as exc:  # it will not stream: reconnecting would not help
            raise StreamError(f"{self.sensor.name} ({self.sensor.address}) {exc}.") from None
        if reconnect and not rebooted:
            first_missing = self.ledger.resend_after_reconnect()
            if first_missing is not None:
                await self._request_resend(first_missing)

    async def fetch_tail(self) -> bool:
        """Ask a sensor that can resend for anything after the last packet seen (the last
        notifications of a stream may be lost with nothing after them to show the hole).
        Returns whether a request was sent."""
        last = self.ledger.last_sequence
        if not self.profile.can_resend or self._client is None or last is None:
            return False
        await self._request_resend((last + 1) % RL_MODULUS)
        return True

    async def _stop_sensor(self, client: BleakClient) -> None:
        with contextlib.suppress(BleakError, TimeoutError, EOFError):
            for uuid, value, response in self.profile.stop_commands():
                await client.write_gatt_char(uuid, value, response=response)

    def _callback(self, channel: str) -> Callable[[Any, bytearray], None]:
        queue = self._queue
        ready = self._data_ready
        answers = self._answers if channel == "control" and self.profile.start_query else None

        def enqueue(_sender: Any, data: bytearray) -> None:
            payload = bytes(data)
            queue.put_nowait((time.monotonic(), channel, payload))
            if answers is not None:
                answers.put_nowait(payload)
            ready.set()

        return enqueue

    async def _request_resend(self, raw_sequence: int) -> None:
        client = self._client
        if client is None:
            return
        self._token = (self._token + 1) & 0xFF
        command = rl.Command.resend_from(raw_sequence, self._token)
        with contextlib.suppress(BleakError, TimeoutError, EOFError):
            await client.write_gatt_char(rl.CONTROL_UUID, bytes(command), response=True)

    # -- the consumer ---------------------------------------------------------------------
    async def _consume(self, stop: asyncio.Event) -> None:
        resend_task: asyncio.Task[None] | None = None
        queue = self._queue
        while self._consuming:
            if queue.empty():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._data_ready.wait(), 0.1)
            self._data_ready.clear()
            # Everything queued is handled in one go (no await per notification).
            while not queue.empty():
                self._handle(*queue.get_nowait())
            now = time.monotonic()
            self.pipeline.poll(now)
            request = self.ledger.resend_request(now)
            if request is not None and (resend_task is None or resend_task.done()):
                resend_task = asyncio.create_task(self._request_resend(request))
            self._hand_on()
            if self.on_tick:
                self.on_tick()
            # Let a few notifications gather: one round per ~20 ms, not one per notification.
            await asyncio.sleep(ROUND_S)
        if resend_task is not None:
            with contextlib.suppress(BleakError, TimeoutError, EOFError):
                await resend_task

    def _drain(self) -> None:
        while not self._queue.empty():
            self._handle(*self._queue.get_nowait())

    def _handle(self, arrival: float, channel: str, data: bytes) -> None:
        if channel == "data":
            self.pipeline.data(data, arrival)
        elif channel == "control":
            self.pipeline.control(data, arrival)
        elif channel == "status":
            status = self.pipeline.status(data, arrival)
            if status is not None:
                self.battery_pct = status.battery_pct

    def _hand_on(self) -> None:
        """Hand what this round decoded to ``on_samples`` as one block (fewer, larger calls
        keep the per-notification cost low at MTU 23)."""
        block = self.pipeline.take_block()
        if block is not None:
            self.on_samples(block)
