"""The simulated sensor: a real BLE peripheral (Bumble controller, host and GATT server).

A :class:`SimulatedSensor` owns a virtual controller on a Bumble
:class:`~bumble.link.LocalLink` and a Bumble :class:`~bumble.device.Device` with the GATT
services of one sensor family (a :class:`~firmware_protocol.simulated.personality.Personality`).
It advertises, accepts one connection at a time, limits the ATT MTU, replays a recording in real
time (``speed`` times faster in tests) and injects the :class:`Faults` it is given.

The world clock starts when the sensor first starts streaming, so a companion that takes a
moment to scan and connect still receives the recording from its first sample.

Example (one process; see :mod:`wearable.bumble_backend.transport` for the Bleak side)::

    link = LocalLink()
    sensor = SimulatedSensor(load_recording("set.csv"), link=link, profile="rehablink")
    await sensor.start()
    ...
    await sensor.close()
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import random
from collections.abc import Callable, Coroutine
from typing import Any

from bumble import gatt
from bumble.device import Connection, Device
from bumble.hci import Address
from bumble.host import Host
from bumble.link import LocalLink
from bumble.transport.common import AsyncPipeSink

from firmware_protocol.simulated.commodity_sim import MicrobitPersonality, WitMotionPersonality
from firmware_protocol.simulated.faults import FaultEvent, Faults, FaultSchedule
from firmware_protocol.simulated.personality import Personality, SensorPort
from firmware_protocol.simulated.polar_sim import PolarPmdPersonality
from firmware_protocol.simulated.rehablink_sim import DEFAULT_BATCH_WINDOW_S, RehabLinkPersonality
from firmware_protocol.simulated.replay import Replay
from firmware_protocol.simulated.virtual_controller import VirtualController
from rehablink.recording import Recording

logger = logging.getLogger(__name__)

#: A queued notification (connection, characteristic, value) or an action to run in order.
_Outgoing = tuple[Connection, gatt.Characteristic[Any], bytes] | Callable[[], None]

#: Sensor families the simulator can play, by registry id.
PERSONALITIES: dict[str, type[Personality]] = {
    "rehablink": RehabLinkPersonality,
    "witmotion": WitMotionPersonality,
    "microbit": MicrobitPersonality,
    "polar_pmd": PolarPmdPersonality,
}

#: Advertising interval, ms (a real sensor uses 100..1000 ms; short here so scans are quick).
ADVERTISING_INTERVAL_MS = 20.0

#: Longest the replay loop sleeps, wall s (so faults fire on time).
_MAX_SLEEP_S = 0.05


def personality_for(profile: str, model: str | None = None) -> type[Personality]:
    """The personality that plays ``profile`` as ``model`` (None: the family's own default).

    The one check of a simulated sensor's profile and model: :class:`SimulatedSensor` makes it,
    and the companion's commands make it before they open a link. The messages are built from
    :data:`PERSONALITIES`, so they list what the simulator can play.

    Raises
    ------
    ValueError
        ``profile`` is not a key of :data:`PERSONALITIES`, or ``model`` is not one of its
        :attr:`~firmware_protocol.simulated.personality.Personality.models`; the message
        lists the choices.

    >>> personality_for("polar_pmd", "h10").__name__
    'PolarPmdPersonality'
    >>> personality_for("witmotion", "h10")
    Traceback (most recent call last):
    ...
    ValueError: the simulated witmotion sensor has no model to choose; not 'h10'
    """
    if profile not in PERSONALITIES:
        raise ValueError(f"the simulated sensor cannot play {profile!r}; it plays: "
                         f"{', '.join(PERSONALITIES)}")
    personality = PERSONALITIES[profile]
    if model is not None and model not in personality.models:
        choices = (f"is one of {', '.join(personality.models)}" if personality.models
                   else "has no model to choose")
        raise ValueError(f"the simulated {profile} sensor {choices}; not {model!r}")
    return personality


async def _uncancelled(operation: Coroutine[Any, Any, Any]) -> Any:
    """Await ``operation`` (one that sends HCI commands) so that cancelling the caller does not
    cancel it: the host keeps one pending command and matches the controller's reply to it, so a
    command abandoned in flight has its late reply taken for the next command's, whose own reply
    then finds that command answered (``InvalidStateError`` inside bumble's host)."""
    task = asyncio.ensure_future(operation)
    task.add_done_callback(_retrieved)
    return await asyncio.shield(task)


def _retrieved(task: asyncio.Future[Any]) -> None:
    """Mark the outcome of a command as seen: one its caller stopped waiting for (the sensor
    closing) may fail quietly."""
    if not task.cancelled():
        task.exception()


def sensor_address(index: int) -> str:
    """Random static address of the ``index``-th simulated sensor (``F0:52:4C:00:00:NN``)."""
    return f"F0:52:4C:00:{(index >> 8) & 0xFF:02X}:{index & 0xFF:02X}"


class SimulatedSensor(SensorPort):
    """One simulated sensor on a virtual link.

    Parameters
    ----------
    recording : Recording
        The motion it replays.
    link : bumble.link.LocalLink
        The virtual radio it is on.
    profile : str
        Sensor family: a key of :data:`PERSONALITIES`.
    faults : Faults
        What goes wrong.
    speed : float
        World seconds per wall second (1 = real time; tests use 10..50).
    index : int
        Distinguishes several sensors on one link (address and serial number).
    batch_window_s : float or None
        Our profile: longest a sample waits for its packet to fill, s (None: until full).
    model : str or None
        Model within the family, for families with several (``polar_pmd``: ``verity_sense``,
        the default, or ``h10``).
    """

    def __init__(
        self,
        recording: Recording,
        *,
        link: LocalLink,
        profile: str = "rehablink",
        faults: Faults | None = None,
        speed: float = 1.0,
        index: int = 1,
        batch_window_s: float | None = DEFAULT_BATCH_WINDOW_S,
        model: str | None = None,
    ) -> None:
        personality = personality_for(profile, model)
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.faults = faults or Faults()
        self.replay = Replay(recording, recording.sample_rate_hz, self.faults.drift_ppm)
        self.link = link
        self.speed = speed
        self.address = sensor_address(index)
        self.serial = f"SIM{index:05d}"
        options: dict[str, Any] = {}
        if profile == "rehablink":
            options["batch_window_s"] = batch_window_s
        if model is not None:
            options["model"] = model
        self.personality: Personality = personality(self, self.serial, **options)
        self.profile = profile
        self.connection: Connection | None = None
        self.finished = asyncio.Event()
        self.notifications_sent = 0
        self.notifications_dropped = 0
        #: World times, s, of each link loss and of each notification or indication a central
        #: enabled: a sensor without resend is silent from the one to the next, the outage plus
        #: however long the central took to reconnect.
        self.disconnections_tau: list[float] = []
        self.subscriptions_tau: list[float] = []
        self._rng = random.Random(self.faults.seed)
        self._wall0: float | None = None
        self._schedule = FaultSchedule(self.faults)
        self._wake = asyncio.Event()
        self._outbox: asyncio.Queue[_Outgoing] = asyncio.Queue()
        self._tasks: set[asyncio.Task[None]] = set()
        # One advertising or link operation at a time: bumble's start and stop of advertising
        # both remove the advertising set, and two at once remove it twice.
        self._radio = asyncio.Lock()
        self._controller: VirtualController | None = None
        self._device: Device | None = None
        self._closed = False

    # -- SensorPort -----------------------------------------------------------------------------

    def tau_now(self) -> float:
        """World time, s of recording (0 until streaming first starts)."""
        if self._wall0 is None:
            return 0.0
        return (asyncio.get_running_loop().time() - self._wall0) * self.speed

    @property
    def boot_tau_s(self) -> float:
        return self._schedule.boot_tau_s

    @property
    def att_mtu(self) -> int:
        return self.connection.att_mtu if self.connection is not None else self.faults.mtu

    def wall_time_of(self, tau_s: float) -> float:
        """Event-loop time (``loop.time()``) at which the world reached ``tau_s``."""
        if self._wall0 is None:
            raise RuntimeError("the sensor has not started streaming yet")
        return self._wall0 + tau_s / self.speed

    def send(self, characteristic: gatt.Characteristic[Any], value: bytes, *, data: bool) -> None:
        connection = self.connection
        if connection is None or self.hung:
            return
        if data:
            if self.faults.drop_rate and self._rng.random() < self.faults.drop_rate:
                self.notifications_dropped += 1
                return
            self.notifications_sent += 1
        self._outbox.put_nowait((connection, characteristic, value))

    @property
    def hung(self) -> bool:
        """True once the firmware has hung (``Faults.hang_at_s``): nothing leaves any more."""
        hang_at = self.faults.hang_at_s
        return hang_at is not None and self._wall0 is not None and self.tau_now() >= hang_at

    def after_sent(self, action: Callable[[], None]) -> None:
        self._outbox.put_nowait(action)

    def wake(self) -> None:
        self._wake.set()

    # -- lifecycle ------------------------------------------------------------------------------

    @property
    def name(self) -> str:
        """The advertised local name."""
        return self.personality.local_name

    async def start(self) -> None:
        """Power on, start advertising and the replay loop."""
        self._controller = VirtualController(f"sensor-{self.serial}", link=self.link)
        device = Device(
            name=self.name,
            address=Address(self.address),
            host=Host(self._controller, AsyncPipeSink(self._controller)),
        )
        device.gatt_server.max_mtu = self.faults.mtu
        device.add_services(self.personality.services())
        device.on(device.EVENT_CONNECTION, self._on_connection)
        device.on("characteristic_subscription", self._on_subscription)
        self._device = device
        await device.power_on()
        await self._advertise()
        self._spawn(self._run())
        self._spawn(self._send_loop())

    async def close(self) -> None:
        """Stop streaming, drop the link and power off (idempotent)."""
        if self._closed:
            return
        self._closed = True
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        device = self._device
        if device is not None:
            with contextlib.suppress(Exception):
                async with self._radio:
                    await _uncancelled(device.stop_advertising())
            if self.connection is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(_uncancelled(self.connection.disconnect()), 1.0)
            with contextlib.suppress(Exception):
                await device.power_off()
        if self._controller is not None and self._controller in self.link.controllers:
            self.link.remove_controller(self._controller)

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("simulated sensor task failed", exc_info=task.exception())

    async def _advertise(self) -> None:
        assert self._device is not None
        async with self._radio:
            await _uncancelled(self._device.start_advertising(
                advertising_data=self.personality.advertising_data(),
                auto_restart=False,
                advertising_interval_min=ADVERTISING_INTERVAL_MS,
                advertising_interval_max=ADVERTISING_INTERVAL_MS,
            ))

    # -- radio events ---------------------------------------------------------------------------

    def _on_connection(self, connection: Connection) -> None:
        self.connection = connection
        connection.on(connection.EVENT_DISCONNECTION, self._on_disconnection)
        connection.on(connection.EVENT_CONNECTION_ATT_MTU_UPDATE, self.personality.on_mtu_change)
        self.personality.on_connection(connection)

    def _on_disconnection(self, _reason: int) -> None:
        self.disconnections_tau.append(self.tau_now())
        self.connection = None
        self.personality.on_disconnection()
        if not self._closed and not self._schedule.offline:
            self._spawn(self._advertise())
        self.wake()

    def _on_subscription(
        self, _bearer: Any, characteristic: gatt.Characteristic[Any], notify: bool, indicate: bool
    ) -> None:
        if notify or indicate:
            self.subscriptions_tau.append(self.tau_now())
        self.personality.on_subscription(characteristic, notify, indicate)
        self.wake()

    async def _drop_link(self) -> None:
        assert self._device is not None
        with contextlib.suppress(Exception):
            async with self._radio:
                await _uncancelled(self._device.stop_advertising())
        if self.connection is not None:
            with contextlib.suppress(Exception):
                await _uncancelled(self.connection.disconnect())

    # -- the world ------------------------------------------------------------------------------

    def _apply_faults(self, tau: float) -> None:
        for event in self._schedule.due(tau):
            logger.info("simulated %s at %.2f s", event.value, tau)
            if event is FaultEvent.REBOOT:
                self.personality.on_reboot()
            if event in (FaultEvent.LINK_LOSS, FaultEvent.REBOOT):
                self._spawn(self._drop_link())
            elif self.connection is None:  # BACK_ON_AIR
                self._spawn(self._advertise())

    def _next_event_tau(self) -> float:
        candidates = [self.replay.duration_s]
        if (nxt := self.replay.next_sample_tau()) is not None:
            candidates.append(nxt)
        if (event := self._schedule.next_event_tau()) is not None:
            candidates.append(event)
        return min(candidates)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            if self._wall0 is None:
                if not self.replay.streaming:
                    await self._wake.wait()
                    self._wake.clear()
                    continue
                self._wall0 = loop.time()
            tau = self.tau_now()
            fault_tau = self._schedule.next_fault_tau()
            if self.replay.streaming and fault_tau is not None and fault_tau <= tau:
                # Samples taken before the fault leave before it strikes.
                before = self.replay.samples_until(fault_tau - 1e-9)
                if len(before):
                    self.personality.on_samples(before)
            self._apply_faults(tau)
            if self.replay.streaming:
                samples = self.replay.samples_until(tau)
                if len(samples):
                    self.personality.on_samples(samples)
            if tau >= self.replay.duration_s:
                self.personality.on_finished()
                self.finished.set()
                await self._finish_offline_window()
                return
            delay = (self._next_event_tau() - tau) / self.speed
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), min(max(delay, 0.0005), _MAX_SLEEP_S))
            self._wake.clear()

    async def _finish_offline_window(self) -> None:
        """After the recording ends, still come back on air when a fault window closes."""
        while (back := self._schedule.next_event_tau()) is not None:
            await asyncio.sleep(max(back - self.tau_now(), 0.0) / self.speed)
            self._apply_faults(self.tau_now())

    async def _send_loop(self) -> None:
        """Send queued notifications in order, paced by connection events when asked to."""
        assert self._device is not None
        loop = asyncio.get_running_loop()
        interval = self.faults.connection_interval_ms / 1000.0 / self.speed  # wall s
        budget = 0
        while True:
            item = await self._outbox.get()
            if callable(item):
                item()
                continue
            connection, characteristic, value = item
            if connection is not self.connection:
                continue  # the link it was meant for is gone
            if interval > 0:
                if budget == 0:  # wait for the next connection event
                    now = loop.time()
                    await asyncio.sleep(math.ceil(now / interval) * interval - now)
                    budget = self.faults.notifications_per_event
                budget -= 1
                if self._outbox.empty():
                    budget = 0  # nothing else is ready: this event ends
            try:
                if characteristic.properties & gatt.Characteristic.Properties.NOTIFY:
                    await self._device.notify_subscriber(connection, characteristic, value)
                else:  # an indicate-only characteristic (Polar's control point)
                    await self._device.indicate_subscriber(connection, characteristic, value)
            except Exception as error:  # a link dropping mid-send must not stop the sensor
                logger.debug("notification not sent: %s", error)
