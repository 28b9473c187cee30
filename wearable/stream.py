"""Streaming one sensor through the public Bleak API: connect, subscribe, decode, reconnect.

The notification callbacks only enqueue ``(time.monotonic(), channel, bytes)``; one consumer
task decodes, orders (:class:`~wearable.ledger.PacketLedger`), times
(:class:`~wearable.clock.ClockAligner`, :class:`~wearable.timeline.UntimedTimeline`) and hands
:class:`SampleBlock` objects to ``on_samples``. A disconnect sets an ``asyncio.Event``; the link
then scans for the sensor again (BlueZ forgets devices) and reconnects with
bleak-retry-connector's ``establish_connection`` and its backoff. With the RehabLink profile it
asks the sensor to resend from the first packet it has not seen, so nothing is lost; a reboot
(the sensor's numbering goes back) starts a new epoch and the downtime becomes a gap.
Callbacks are registered once per client, never twice (BlueZ would deliver every notification
twice).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np
from bleak import BleakClient
from bleak.exc import BleakError
from bleak_retry_connector import BleakConnectionError, BleakNotFoundError, establish_connection

from firmware_protocol import rehablink_profile as rl
from firmware_protocol.samples import SampleBatch
from wearable.clock import ClockAligner
from wearable.ledger import PacketLedger
from wearable.scan import FoundSensor, ScanError, find_again
from wearable.timeline import UntimedTimeline

log = logging.getLogger(__name__)

BATTERY_LEVEL = "00002a19-0000-1000-8000-00805f9b34fb"
#: Shortest time between two rounds of the consumer, s.
ROUND_S = 0.02


class LinkState(StrEnum):
    """Connection state shown to the patient."""

    CONNECTING = "connecting"
    STREAMING = "streaming"
    RECONNECTING = "reconnecting"
    STOPPED = "stopped"


@dataclass(frozen=True, eq=False)
class SampleBlock:
    """Samples in order on the stream's clock (sensor time, s, continuous across reconnects
    and reboots), with the host's monotonic arrival time of the packet."""

    t: np.ndarray
    acc: np.ndarray
    gyro: np.ndarray | None
    arrival_s: float


class StreamError(RuntimeError):
    """The sensor cannot be reached; the message says what to try."""


@dataclass
class LinkCounters:
    received: int = 0
    reconnects: int = 0
    reboots: int = 0
    malformed: int = 0


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
        Sampling rate to request (the profile's default otherwise).
    on_state : callable, optional
        Called with each :class:`LinkState` change.
    on_tick : callable, optional
        Called a few times a second from the consumer (to flush the store when idle).
    connect_attempts : int
        Attempts per connection before the link reports the failure (first connection) or
        scans again (reconnection).
    """

    def __init__(self, sensor: FoundSensor, on_samples: Callable[[SampleBlock], None], *,
                 client_backend: type[Any] | None = None,
                 scanner_backend: type[Any] | None = None, rate_hz: float | None = None,
                 on_state: Callable[[LinkState], None] | None = None,
                 on_tick: Callable[[], None] | None = None, connect_attempts: int = 3,
                 rescan_timeout_s: float = 5.0) -> None:
        self.sensor, self.profile = sensor, sensor.profile
        self.on_samples, self.on_state, self.on_tick = on_samples, on_state, on_tick
        self.client_backend, self.scanner_backend = client_backend, scanner_backend
        self.rate_hz = rate_hz or self.profile.default_rate_hz
        self.connect_attempts, self.rescan_timeout_s = connect_attempts, rescan_timeout_s
        self.state = LinkState.CONNECTING
        self.battery_pct: int | None = sensor.battery_pct
        self.mtu: int | None = None
        self.counters = LinkCounters()
        self.ledger: PacketLedger[SampleBatch] = PacketLedger(can_resend=self.profile.can_resend)
        self.aligner = ClockAligner(wrap_s=None, max_jump_back_s=None)
        self.untimed = UntimedTimeline(self.rate_hz)
        self._decoder = self.profile.new_decoder()
        self._queue: asyncio.Queue[tuple[float, str, bytes]] = asyncio.Queue()
        self._data_ready = asyncio.Event()
        self._client: BleakClient | None = None
        self._epoch_restart = False
        self._latest_raw: float | None = None
        self._timed: bool | None = None  # whether the sensor stamps its samples
        self._consuming = False
        self._blocks: list[SampleBlock] = []
        #: Host time of the last data notification, s (None before the first).
        self.last_data_s: float | None = None
        self._token = 10

    # -- state ------------------------------------------------------------------------------
    def _set_state(self, state: LinkState) -> None:
        if state != self.state:
            self.state = state
            if self.on_state:
                self.on_state(state)

    @property
    def samples_lost_so_far(self) -> int:
        """Samples known lost (untimed sensors) or packets given up (sequenced sensors)."""
        return self.untimed.samples_lost + self.ledger.lost_packets

    def host_time(self, stream_t: float) -> float:
        """Host monotonic time, s, of a time on the stream's clock (for latency figures)."""
        if self._timed is False:
            return self.untimed.aligner.to_host(stream_t)
        return self.aligner.to_host(stream_t)

    # -- the run loop ---------------------------------------------------------------------
    async def run(self, stop: asyncio.Event) -> None:
        """Stream until ``stop`` is set; reconnects by itself.

        Raises
        ------
        StreamError
            When the first connection fails after ``connect_attempts`` attempts.
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
            for batch in self.ledger.flush():
                self._emit(batch, time.monotonic())
            self._flush_blocks()
            self._set_state(LinkState.STOPPED)

    async def _connection_loop(self, stop: asyncio.Event, consumer: asyncio.Task[None]) -> None:
        device = self.sensor.device
        first = True
        while not stop.is_set():
            if device is None:
                try:
                    device = await find_again(self.sensor.address, self.rescan_timeout_s,
                                              self.scanner_backend)
                except ScanError as exc:  # the adapter went away: keep trying, slowly
                    log.info("rescan failed: %s", exc)
                    await asyncio.sleep(1.0)
                if device is None:
                    continue
            disconnected = asyncio.Event()

            def on_disconnect(_client: BleakClient, event: asyncio.Event = disconnected) -> None:
                event.set()

            try:
                client = await establish_connection(
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
                device = None  # scan again before the next attempt
                continue
            self._client = client
            try:
                await self._setup(client, reconnect=not first)
                if not first:
                    self.counters.reconnects += 1
                first = False
                self._set_state(LinkState.STREAMING)
                stopping = asyncio.create_task(stop.wait())
                lost = asyncio.create_task(disconnected.wait())
                await asyncio.wait({stopping, lost, consumer},
                                   return_when=asyncio.FIRST_COMPLETED)
                stopping.cancel()
                lost.cancel()
                if consumer.done():  # the consumer failed: stop and report it
                    stop.set()
            except (BleakError, TimeoutError, EOFError, OSError) as exc:
                if first:
                    raise StreamError(f"{self.sensor.name}: setting up the stream failed: "
                                      f"{exc}") from None
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

    async def _setup(self, client: BleakClient, reconnect: bool) -> None:
        self.mtu = client.mtu_size
        with contextlib.suppress(BleakError, TimeoutError, EOFError):
            level = await client.read_gatt_char(BATTERY_LEVEL)
            if level:
                self.battery_pct = int(level[0])
        rebooted = False
        if reconnect and not self.profile.can_resend:
            # The sensor may have restarted its clock: place what follows by the host clock.
            self._decoder = self.profile.new_decoder()
            self._epoch_restart = True
        if self.profile.id == "rehablink":
            with contextlib.suppress(BleakError, TimeoutError, EOFError, ValueError):
                status = rl.Status.from_bytes(bytes(await client.read_gatt_char(rl.STATUS_UUID)))
                self.battery_pct = status.battery_pct
                last = self.ledger.last_sequence
                if reconnect and last is not None:
                    behind = (status.next_sequence - (last + 1)) % rl_modulus()
                    rebooted = behind >= rl_modulus() // 2
        if rebooted:
            self._restart_stream()
        for uuid in self.profile.subscribe_first:
            await client.start_notify(uuid, self._callback("control"))
        await client.start_notify(self.profile.data_uuid, self._callback("data"))
        if self.profile.id == "rehablink":
            with contextlib.suppress(BleakError, TimeoutError, EOFError):
                await client.start_notify(rl.STATUS_UUID, self._callback("status"))
        self.ledger.set_connected(True, time.monotonic())
        for uuid, value, response in self.profile.start_commands(self.rate_hz):
            await client.write_gatt_char(uuid, value, response=response)
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
        await self._request_resend((last + 1) % rl_modulus())
        return True

    def _restart_stream(self) -> None:
        """The sensor's numbering and clock restarted (a reboot)."""
        self.counters.reboots += 1
        self._drain()
        for batch in self.ledger.restart():
            self._emit(batch, time.monotonic())
        self._decoder = self.profile.new_decoder()
        self._epoch_restart = True
        self._latest_raw = None

    async def _stop_sensor(self, client: BleakClient) -> None:
        with contextlib.suppress(BleakError, TimeoutError, EOFError):
            for uuid, value, response in self.profile.stop_commands():
                await client.write_gatt_char(uuid, value, response=response)

    def _callback(self, channel: str) -> Callable[[Any, bytearray], None]:
        queue = self._queue

        ready = self._data_ready

        def enqueue(_sender: Any, data: bytearray) -> None:
            queue.put_nowait((time.monotonic(), channel, bytes(data)))
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
            for batch in self.ledger.poll(now):
                self._emit(batch, now)
            request = self.ledger.resend_request(now)
            if request is not None and (resend_task is None or resend_task.done()):
                resend_task = asyncio.create_task(self._request_resend(request))
            self._flush_blocks()
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
            self.last_data_s = arrival
            dropped = self._decoder.dropped
            for batch in self._decoder.feed(data):
                self._accept(batch, arrival)
            self.counters.malformed += self._decoder.dropped - dropped
        elif channel == "control" and self.profile.id == "rehablink":
            try:
                response = rl.Response.from_bytes(data)
                if response.opcode == rl.Opcode.RESEND_FROM and response.ok:
                    plan = rl.ResendPlan.from_bytes(response.payload)
                    for batch in self.ledger.resend_unavailable(plan.first_sequence):
                        self._emit(batch, arrival)
            except ValueError:
                self.counters.malformed += 1
        elif channel == "status":
            with contextlib.suppress(ValueError):
                self.battery_pct = rl.Status.from_bytes(data).battery_pct

    def _accept(self, batch: SampleBatch, arrival: float) -> None:
        if batch.sequence is not None:
            for released in self.ledger.push(batch.sequence, batch, arrival):
                self._emit(released, arrival)
        else:
            self._emit(batch, arrival)

    def _emit(self, batch: SampleBatch, arrival: float) -> None:
        n = len(batch)
        if n == 0:
            return
        self._timed = batch.sensor_time_s is not None
        if batch.sensor_time_s is not None:
            raw = batch.sensor_time_s
            if self._epoch_restart:
                self.aligner.restart_epoch(float(raw[0]), arrival)
                self._epoch_restart = False
                self._latest_raw = None
            if self._latest_raw is None or raw[-1] > self._latest_raw:
                self._latest_raw = float(raw[-1])
                last = self.aligner.observe(float(raw[-1]), arrival)
            else:  # a resent packet: its arrival says nothing about the clocks
                last = self.aligner.unwrap(float(raw[-1]))
            t = raw + (last - float(raw[-1]))
        else:
            t = self.untimed.place(n, arrival)
        self.counters.received += n
        self._blocks.append(SampleBlock(t, batch.acc_g, batch.gyro_dps, arrival))

    def _flush_blocks(self) -> None:
        """Hand what this round decoded to ``on_samples`` as one block (fewer, larger calls
        keep the per-notification cost low at MTU 23)."""
        blocks, self._blocks = self._blocks, []
        if not blocks:
            return
        if len(blocks) == 1:
            self.on_samples(blocks[0])
            return
        gyros = [b.gyro for b in blocks]
        gyro = None if any(g is None for g in gyros) else \
            np.concatenate([g for g in gyros if g is not None])
        self.on_samples(SampleBlock(np.concatenate([b.t for b in blocks]),
                                    np.concatenate([b.acc for b in blocks]), gyro,
                                    blocks[-1].arrival_s))


def rl_modulus() -> int:
    """Sequence-number modulus of the RehabLink profile (u16)."""
    return 1 << 16
