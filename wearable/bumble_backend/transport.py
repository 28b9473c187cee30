"""Entry points: a Bleak backend pair for a ``--transport`` value.

``--transport`` values and what they give:

``os``
    The operating system's Bluetooth stack: :attr:`BleLink.scanner_backend` and
    :attr:`BleLink.client_backend` are None, so ``BleakScanner``/``BleakClient`` pick Bleak's
    platform backend (BlueZ, CoreBluetooth, WinRT).
``sim:RECORDING``
    An in-process simulated sensor replaying RECORDING, joined to a Bumble host by a virtual
    link (:func:`sim_link`).
any Bumble transport name
    A Bumble host on that HCI transport (:func:`open_transport`): ``tcp-client:127.0.0.1:9001``
    reaches ``rehab sim-sensor`` running in another terminal, ``usb:0`` or
    ``serial:/dev/ttyACM0`` a dongle.

Usage::

    from bleak import BleakClient, BleakScanner
    from wearable.bumble_backend.transport import open_link

    async with open_link("sim:set.csv", faults=Faults(drop_rate=0.05), speed=10) as link:
        found = await BleakScanner.discover(timeout=1, backend=link.scanner_backend,
                                            return_adv=True)
        async with BleakClient(link.sensor_address, backend=link.client_backend) as client:
            ...
        await link.sensors[0].finished.wait()   # the recording is over

Several simulated sensors share one link: ``await link.add_sensor(recording, profile=...)``.
Leaving the ``async with`` block disconnects, powers everything off and closes the transport.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from firmware_protocol.simulated.faults import Faults

if TYPE_CHECKING:
    from bleak.backends.client import BaseBleakClient
    from bleak.backends.scanner import BaseBleakScanner
    from bumble.link import LocalLink

    from firmware_protocol.simulated.sensor import SimulatedSensor
    from rehablink.recording import Recording
    from wearable.bumble_backend.central import BumbleCentral

#: Scheme prefix of an in-process simulated sensor transport.
SIM_PREFIX = "sim:"


@dataclass
class BleLink:
    """A Bluetooth LE link ready for Bleak.

    Attributes
    ----------
    scanner_backend, client_backend : type or None
        Pass as ``backend=`` to ``BleakScanner`` / ``BleakClient`` (None: the OS backend).
    central : BumbleCentral or None
        The Bumble host, when there is one.
    sensors : list of SimulatedSensor
        The simulated sensors on this link (empty unless ``sim:``).
    """

    scanner_backend: type[BaseBleakScanner] | None = None
    client_backend: type[BaseBleakClient] | None = None
    central: BumbleCentral | None = None
    sensors: list[SimulatedSensor] = field(default_factory=list)
    _radio: LocalLink | None = None
    _speed: float = 1.0

    @property
    def radio(self) -> LocalLink | None:
        """The virtual radio of a ``sim:`` link (None on other transports)."""
        return self._radio

    @property
    def sensor_address(self) -> str:
        """Address of the first simulated sensor."""
        if not self.sensors:
            raise LookupError("no simulated sensor on this link")
        return self.sensors[0].address

    async def add_sensor(
        self,
        recording: Recording | str | Path,
        *,
        profile: str = "rehablink",
        faults: Faults | None = None,
        speed: float | None = None,
        batch_window_s: float | None = 0.2,
        model: str | None = None,
    ) -> SimulatedSensor:
        """Put another simulated sensor on the air (``sim:`` links only).

        ``batch_window_s`` (our profile) bounds how long a sample waits for its packet to fill
        (SPEC.md 4.2: 0.2 s); None sends only full packets. ``model`` picks a model within the
        family (``polar_pmd``: ``verity_sense`` or ``h10``).
        """
        from firmware_protocol.simulated.sensor import SimulatedSensor

        if self._radio is None:
            raise RuntimeError("simulated sensors need a sim: link")
        sensor = SimulatedSensor(
            _as_recording(recording),
            link=self._radio,
            profile=profile,
            faults=faults,
            speed=self._speed if speed is None else speed,
            index=len(self.sensors) + 1,
            batch_window_s=batch_window_s,
            model=model,
        )
        await sensor.start()
        self.sensors.append(sensor)
        return sensor


def _as_recording(recording: Recording | str | Path) -> Recording:
    from rehablink.recording import Recording, load_recording

    return recording if isinstance(recording, Recording) else load_recording(recording)


@contextlib.asynccontextmanager
async def sim_link(
    recording: Recording | str | Path | None = None,
    *,
    profile: str = "rehablink",
    faults: Faults | None = None,
    speed: float = 1.0,
    model: str | None = None,
) -> AsyncIterator[BleLink]:
    """A virtual radio with a Bumble central and (when ``recording`` is given) one sensor.

    Parameters
    ----------
    recording : Recording, path or None
        What the first simulated sensor replays (None: no sensor yet, use ``add_sensor``).
    profile : str
        Its sensor family (``rehablink``, ``witmotion``, ``microbit``, ``polar_pmd``).
    faults : Faults, optional
        Its faults.
    speed : float
        World seconds per wall second for the sensors on this link.
    model : str or None
        Its model within the family (``polar_pmd``: ``verity_sense``, the default, or ``h10``).
    """
    from bumble.device import Device
    from bumble.hci import Address
    from bumble.host import Host
    from bumble.link import LocalLink
    from bumble.transport.common import AsyncPipeSink

    from firmware_protocol.simulated.virtual_controller import VirtualController
    from wearable.bumble_backend.central import CENTRAL_ADDRESS, BumbleCentral

    radio = LocalLink()
    controller = VirtualController("central", link=radio)
    device = Device(
        name="RehabLink companion",
        address=Address(CENTRAL_ADDRESS),
        host=Host(controller, AsyncPipeSink(controller)),
    )
    central = BumbleCentral(device)
    link = BleLink(
        central.scanner_backend, central.client_backend, central, _radio=radio, _speed=speed
    )
    try:
        await central.power_on()
        if recording is not None:
            await link.add_sensor(recording, profile=profile, faults=faults, model=model)
        yield link
    finally:
        await central.close()
        for sensor in link.sensors:
            await sensor.close()
        radio.remove_controller(controller)


@contextlib.asynccontextmanager
async def open_transport(name: str) -> AsyncIterator[BleLink]:
    """A Bumble central on the HCI transport ``name`` (e.g. ``tcp-client:127.0.0.1:9001``).

    Raises
    ------
    ConnectionError
        When the transport cannot be opened (nothing listening, no such device).
    """
    from bumble.device import Device
    from bumble.hci import Address
    from bumble.transport import open_transport as bumble_open_transport

    from wearable.bumble_backend.central import CENTRAL_ADDRESS, BumbleCentral

    try:
        transport = await bumble_open_transport(name)
    except Exception as error:  # OSError, ValueError, and libusb's own errors for usb:N
        raise ConnectionError(f"cannot open Bumble transport '{name}': {error}") from error
    device = Device.with_hci(
        "RehabLink companion", Address(CENTRAL_ADDRESS), transport.source, transport.sink
    )
    central = BumbleCentral(device, on_close=transport.close)
    try:
        await central.power_on()
        yield BleLink(central.scanner_backend, central.client_backend, central)
    finally:
        await central.close()


@contextlib.asynccontextmanager
async def open_link(
    transport: str = "os",
    *,
    profile: str = "rehablink",
    faults: Faults | None = None,
    speed: float = 1.0,
    model: str | None = None,
) -> AsyncIterator[BleLink]:
    """The link for a ``--transport`` value: ``os``, ``sim:RECORDING`` or a Bumble transport.

    ``profile``, ``model``, ``faults`` and ``speed`` apply to the simulated sensor of ``sim:``.
    """
    if transport == "os":
        yield BleLink()
    elif transport.startswith(SIM_PREFIX):
        path = transport[len(SIM_PREFIX) :]
        if not path:
            raise ValueError("sim: needs a recording, e.g. sim:set.csv")
        async with sim_link(path, profile=profile, faults=faults, speed=speed,
                            model=model) as link:
            yield link
    else:
        async with open_transport(transport) as link:
            yield link
