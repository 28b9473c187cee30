"""One Bumble host acting as the BLE central of a link, shared by the Bleak scanners and clients.

A :class:`BumbleCentral` owns a Bumble :class:`~bumble.device.Device` whose HCI goes either to a
virtual controller on an in-process :class:`~bumble.link.LocalLink` (the simulated sensors' link)
or to any Bumble transport (``tcp-client:127.0.0.1:9001`` to reach ``rehab sim-sensor``, ``usb:0``
for a dongle). The Bleak backend classes bound to it (:attr:`BumbleCentral.scanner_backend`,
:attr:`BumbleCentral.client_backend`) are what ``BleakScanner(backend=...)`` and
``BleakClient(backend=...)`` take.

Scanning is reference counted (several Bleak scanners may listen at once) and connection attempts
are serialised, because an LE controller can only initiate one connection at a time.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from bumble import core, hci
from bumble.device import Advertisement, Connection, Device

if TYPE_CHECKING:
    from wearable.bumble_backend.client import BumbleBleakClient
    from wearable.bumble_backend.gatt_cache import GattSnapshot
    from wearable.bumble_backend.scanner import BumbleBleakScanner

AdvertisementListener = Callable[[Advertisement], None]

#: Address of the companion's own (central) host on a virtual link; a random static address.
CENTRAL_ADDRESS = "C0:52:45:48:41:42"

#: ATT MTU the central asks for after connecting, like desktop stacks do (bytes).
CENTRAL_PREFERRED_MTU = 247


class BumbleCentral:
    """The central side of one Bumble link: power, scanning fan-out, connections.

    Parameters
    ----------
    device : bumble.device.Device
        A device not yet powered on; its host is already wired to a controller.
    on_close : callable, optional
        Awaited by :meth:`close` after the device is powered off (closes a transport).
    """

    def __init__(self, device: Device, on_close: Callable[[], Any] | None = None) -> None:
        self.device = device
        self._on_close = on_close
        self._power_lock = asyncio.Lock()
        self._scan_lock = asyncio.Lock()
        self._connect_lock = asyncio.Lock()
        self._listeners: list[AdvertisementListener] = []
        self._addresses: dict[str, hci.Address] = {}
        #: GATT layouts of devices seen on this central, by address (see gatt_cache).
        self.gatt_cache: dict[str, GattSnapshot] = {}
        self._scanner_backend: type[BumbleBleakScanner] | None = None
        self._client_backend: type[BumbleBleakClient] | None = None
        self.closed = False
        device.on(device.EVENT_ADVERTISEMENT, self._on_advertisement)

    # -- Bleak backend classes bound to this central -------------------------------------------

    @property
    def scanner_backend(self) -> type[BumbleBleakScanner]:
        """A :class:`BumbleBleakScanner` subclass bound to this central (``backend=`` value)."""
        if self._scanner_backend is None:
            from wearable.bumble_backend.scanner import BumbleBleakScanner

            self._scanner_backend = type(
                "BumbleBleakScanner", (BumbleBleakScanner,), {"central": self}
            )
        return self._scanner_backend

    @property
    def client_backend(self) -> type[BumbleBleakClient]:
        """A :class:`BumbleBleakClient` subclass bound to this central (``backend=`` value)."""
        if self._client_backend is None:
            from wearable.bumble_backend.client import BumbleBleakClient

            self._client_backend = type(
                "BumbleBleakClient", (BumbleBleakClient,), {"central": self}
            )
        return self._client_backend

    # -- power ----------------------------------------------------------------------------------

    async def power_on(self) -> None:
        """Power the host on (idempotent)."""
        async with self._power_lock:
            if self.closed:
                raise RuntimeError("this Bumble link is closed")
            if not self.device.powered_on:
                await self.device.power_on()

    async def close(self) -> None:
        """Disconnect everything, power off and close the transport (idempotent)."""
        if self.closed:
            return
        self.closed = True
        self._listeners.clear()
        device = self.device
        if device.powered_on:
            with contextlib.suppress(Exception):
                if device.is_scanning:
                    await device.stop_scanning()
            for connection in list(device.connections.values()):
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(connection.disconnect(), 2.0)
            with contextlib.suppress(Exception):
                await device.power_off()
        if self._on_close is not None:
            result = self._on_close()
            if asyncio.iscoroutine(result):
                await result

    # -- scanning -------------------------------------------------------------------------------

    async def add_scan_listener(self, listener: AdvertisementListener) -> None:
        """Start delivering advertisements to ``listener``; scanning starts with the first."""
        await self.power_on()
        async with self._scan_lock:
            self._listeners.append(listener)
            if not self.device.is_scanning:
                await self.device.start_scanning(filter_duplicates=False)

    async def remove_scan_listener(self, listener: AdvertisementListener) -> None:
        """Stop delivering to ``listener``; scanning stops with the last one."""
        async with self._scan_lock:
            with contextlib.suppress(ValueError):
                self._listeners.remove(listener)
            if not self._listeners and self.device.is_scanning and not self.closed:
                await self.device.stop_scanning()

    def _on_advertisement(self, advertisement: Advertisement) -> None:
        self._addresses[address_text(advertisement.address)] = advertisement.address
        for listener in list(self._listeners):
            listener(advertisement)

    def resolve(self, address: str) -> hci.Address:
        """The Bumble address (with its type) for ``address`` as Bleak shows it.

        Addresses seen while scanning keep their advertised type; others are taken as random
        static addresses, which is what simulated sensors use.
        """
        key = address.upper()
        known = self._addresses.get(key)
        return known if known is not None else hci.Address(key, hci.Address.RANDOM_DEVICE_ADDRESS)

    # -- connections ----------------------------------------------------------------------------

    async def connect(self, address: str, timeout: float) -> Connection:
        """Open an LE connection to ``address`` within ``timeout`` s.

        Raises
        ------
        TimeoutError
            When no device with that address answered in time (as Bleak backends do).
        """
        await self.power_on()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        async with asyncio.timeout(timeout):
            await self._connect_lock.acquire()
        try:
            remaining = max(deadline - loop.time(), 0.001)
            try:
                # Bumble cancels the pending LE connection itself when its timeout expires.
                return await self.device.connect(self.resolve(address), timeout=remaining)
            except core.TimeoutError as error:
                raise TimeoutError(f"no answer from {address} within {timeout:g} s") from error
        finally:
            self._connect_lock.release()


def address_text(address: hci.Address) -> str:
    """Bleak's form of a Bumble address: ``AA:BB:CC:DD:EE:FF`` without a type suffix."""
    return address.to_string(with_type_qualifier=False)
