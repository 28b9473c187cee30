"""Streaming one sensor through the public Bleak API: connect, subscribe, start, reconnect.

:class:`SensorLink` is the thin I/O edge around the pure parts: the notification callbacks and
the consumer (:mod:`wearable.notifications`) feed the :class:`~wearable.pipeline.SamplePipeline`,
which decodes, orders and times what arrives and hands :class:`SampleBlock` objects to
``on_samples``. A disconnect sets an ``asyncio.Event``; the link then scans for the sensor again
and reconnects (:mod:`wearable.connect`). With the RehabLink profile it asks the sensor to
resend from the first packet it has not seen, so nothing is lost; a reboot (the sensor's
numbering goes back) starts a new epoch and the downtime becomes a gap. Sensors started from
what they offer (Polar) are asked first (:mod:`wearable.start`); the rate they were started at
becomes :attr:`SensorLink.rate_hz`.
Reconnection is not endless (:mod:`wearable.silence`): a connected sensor that sends nothing is
connected again, and once a sensor that has streamed has sent no data for ``give_up_after_s``
the link stops trying and :meth:`SensorLink.run` raises :class:`SensorLost`. The silence is not
counted while the patient rests or has paused the session (:meth:`SensorLink.set_resting`).
Callbacks are registered once per client, never twice (BlueZ would deliver every notification
twice).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from bleak import BleakClient
from bleak.backends.device import BLEDevice
from bleak.exc import BleakError

from firmware_protocol import rehablink_profile as rl
from wearable.connect import connect, find_device, within_limit
from wearable.gatt_reads import read_battery, read_model, read_status
from wearable.link import LinkCounters, LinkState, SensorLost, StreamError
from wearable.notifications import NotificationConsumer
from wearable.pipeline import SampleBlock, SamplePipeline, rebooted_while_away
from wearable.resend import Resender
from wearable.scan import FoundSensor
from wearable.silence import (
    GIVE_UP_AFTER_S,
    SilenceClock,
    reconnect_after_s,
    silent_s,
    span_words,
)
from wearable.start import StartRefused, start_sensor

log = logging.getLogger(__name__)

#: How often a streaming link checks that data still arrives, s.
WATCH_S = 0.1

_T = TypeVar("_T")


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
        Sampling rate to request, Hz (the profile's default otherwise). :attr:`rate_hz` is the
        rate streamed: the one of the sensor's rates nearest to it (for a sensor started from
        its settings, the offered one).
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
        silent) before :meth:`run` raises :class:`SensorLost`, s; rests do not count. A
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
        self.on_state = on_state
        self.client_backend, self.scanner_backend = client_backend, scanner_backend
        self.requested_rate_hz = rate_hz or self.profile.default_rate_hz
        #: The rate streamed, Hz: the one of the sensor's rates nearest to the one asked for
        #: (known from the start, as sensors without timestamps are timed by it), or for a
        #: sensor started from what it offers, the offered one (known once started).
        self.rate_hz = self.profile.rate_for(self.requested_rate_hz) or self.requested_rate_hz
        self.connect_attempts, self.rescan_timeout_s = connect_attempts, rescan_timeout_s
        self.give_up_after_s = give_up_after_s
        self.silence = SilenceClock()
        self._stream_set_up_s: float | None = None  # host time of this connection's start, s
        self.state = LinkState.CONNECTING
        self.battery_pct: int | None = sensor.battery_pct
        #: The model the sensor says it is (Device Information), None until read or without it.
        self.model: str | None = None
        self.mtu: int | None = None
        self.counters = LinkCounters()
        self.pipeline = SamplePipeline(self.profile, self.rate_hz)
        self.ledger = self.pipeline.ledger
        self.resender = Resender(self.ledger, self.profile.can_resend)
        self.consumer = NotificationConsumer(self.pipeline, on_samples, self._on_status,
                                             self.resender.request, on_tick)

    # -- state ------------------------------------------------------------------------------
    def _set_state(self, state: LinkState) -> None:
        if state != self.state:
            self.state = state
            if self.on_state:
                self.on_state(state)

    def _on_status(self, status: rl.Status) -> None:
        self.battery_pct = status.battery_pct

    @property
    def last_data_s(self) -> float | None:
        """Host time of the last data notification, s (None before the first)."""
        return self.pipeline.last_data_s

    @property
    def streamed_since_s(self) -> float | None:
        """Host time the first stream was set up, s (None before)."""
        return self.silence.streamed_since_s

    def host_time(self, stream_t: float) -> float:
        """Host monotonic time, s, of a time on the stream's clock (for latency figures)."""
        return self.pipeline.host_time(stream_t)

    def silent_for_s(self, now: float) -> float | None:
        """Seconds without data at host time ``now``, rests left out, s (None before the first
        stream)."""
        return self.silence.silent_for_s(now, self.last_data_s)

    @property
    def receiving(self) -> bool:
        """The sensor streams and has sent data since this connection's stream was set up."""
        since, last = self._stream_set_up_s, self.last_data_s
        return self.state == LinkState.STREAMING and since is not None and last is not None \
            and last >= since

    def set_resting(self, resting: bool) -> None:
        """The patient rests (a pause, the rest between sets) or exercises again: silence stops
        counting towards the give-up time while they rest, when they may put the sensor down or
        walk away with it, and goes on from there afterwards. The link keeps reconnecting
        meanwhile."""
        self.silence.set_paused(resting, time.monotonic(), self.last_data_s)

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
        consumer = self.consumer.start()
        try:
            await self._connection_loop(stop, consumer)
        finally:
            self.consumer.finish()
            await consumer
            self.consumer.drain()
            self.pipeline.finish(time.monotonic())
            self.consumer.hand_on()
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
                device = await self._within_limit(
                    find_device(self.sensor, self.rescan_timeout_s, self.scanner_backend))
                if device is None:
                    continue
            disconnected = asyncio.Event()
            client = await self._within_limit(self._connect(device, disconnected, first),
                                              grace_s)
            if client is None:
                device = None  # scan again before the next attempt
                continue
            self.resender.client = client
            try:
                await self._within_limit(self._setup(client, reconnect=not first), grace_s)
                if not first:
                    self.counters.reconnects += 1
                first = False
                self._stream_set_up_s = time.monotonic()
                self.silence.streaming(self._stream_set_up_s)
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
                self.resender.client = None
                self.ledger.set_connected(False, time.monotonic())
                if stop.is_set():
                    await self._stop_sensor(client)
                with contextlib.suppress(BleakError, TimeoutError, EOFError):
                    await client.disconnect()
            if not stop.is_set():
                self._set_state(LinkState.RECONNECTING)
                device = None

    async def _connect(self, device: BLEDevice, disconnected: asyncio.Event,
                       first: bool) -> BleakClient | None:
        return await connect(self.sensor, device, disconnected, attempts=self.connect_attempts,
                             backend=self.client_backend, first=first)

    async def _within_limit(self, step: Awaitable[_T], grace_s: float = 0.0) -> _T:
        """Await one step of a (re)connection; once the sensor has streamed, raise
        :class:`SensorLost` when the give-up time (plus ``grace_s``, s) runs out first."""
        def time_left_s() -> float | None:
            silent = self.silent_for_s(time.monotonic())
            return None if silent is None else self.give_up_after_s + grace_s - silent

        return await within_limit(step, time_left_s, self._lost)

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
        level = await read_battery(client)
        if level is not None:
            self.battery_pct = level
        if self.model is None:
            self.model = await read_model(client)
        rebooted = False
        if reconnect and not self.profile.can_resend:
            self.pipeline.clock_may_have_restarted()
        if self.profile.id == "rehablink":
            status = await read_status(client)
            if status is not None:
                self.battery_pct = status.battery_pct
                if not reconnect:
                    self.ledger.expect_first(status.next_sequence)
                rebooted = reconnect and rebooted_while_away(status.next_sequence,
                                                             self.ledger.last_sequence)
        if rebooted:
            self.consumer.drain()
            self.pipeline.sensor_rebooted(time.monotonic())
        callback = self.consumer.callback
        for uuid in self.profile.subscribe_first:
            await client.start_notify(uuid, callback("control"))
        await client.start_notify(self.profile.data_uuid, callback("data"))
        if self.profile.id == "rehablink":
            with contextlib.suppress(BleakError, TimeoutError, EOFError):
                await client.start_notify(rl.STATUS_UUID, callback("status"))
        self.ledger.set_connected(True, time.monotonic())
        try:
            self.rate_hz = await start_sensor(client, self.profile, self.requested_rate_hz,
                                              self.consumer.answers)
            self.pipeline.started(self.rate_hz)
        except StartRefused as exc:  # it will not stream: reconnecting would not help
            raise StreamError(f"{self.sensor.name} ({self.sensor.address}) {exc}.") from None
        if reconnect and not rebooted:
            await self.resender.after_reconnect()

    async def fetch_tail(self) -> bool:
        """Ask a sensor that can resend for anything after the last packet seen (the last
        notifications of a stream may be lost with nothing after them to show the hole).
        Returns whether a request was sent."""
        return await self.resender.fetch_tail()

    async def _stop_sensor(self, client: BleakClient) -> None:
        with contextlib.suppress(BleakError, TimeoutError, EOFError):
            for uuid, value, response in self.profile.stop_commands():
                await client.write_gatt_char(uuid, value, response=response)
