"""``BumbleBleakClient``: a Bleak client backend on a Bumble host.

Use the class bound to a link::

    async with sim_link("recording.csv") as link:
        async with BleakClient(link.sensor_address, backend=link.client_backend) as client:
            battery = await client.read_gatt_char("00002a19-0000-1000-8000-00805f9a34fb")

``connect`` opens the LE link, asks for an ATT MTU of 247 (the peer may grant less) and
discovers every service, characteristic and descriptor into a
:class:`bleak.backends.service.BleakGATTServiceCollection`, as the operating-system backends do.
ATT error responses become :class:`bleak.exc.BleakGATTProtocolError`; a link lost during an
operation, or any other Bumble error, becomes :class:`bleak.exc.BleakError` (never a bare
``CancelledError``); a connection that nobody answers raises ``TimeoutError``. Starting
notifications again on a characteristic replaces its callback. Pairing is not supported.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar, TypeVar

from bleak.args import SizedBuffer
from bleak.assigned_numbers import CharacteristicPropertyName
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.client import BaseBleakClient, NotifyCallback
from bleak.backends.descriptor import BleakGATTDescriptor
from bleak.backends.device import BLEDevice
from bleak.backends.service import BleakGATTService, BleakGATTServiceCollection
from bleak.exc import BleakError, BleakGATTProtocolError
from bumble import att, core
from bumble.device import Connection, Peer
from bumble.gatt import Characteristic
from bumble.gatt_client import CharacteristicProxy, ServiceProxy

from wearable.bumble_backend.central import CENTRAL_PREFERRED_MTU, BumbleCentral
from wearable.bumble_backend.gatt_cache import discover_all, read_database_hash, restore, snapshot
from wearable.bumble_backend.scanner import BumbleDeviceDetails, bleak_uuid

_T = TypeVar("_T")

#: Bumble characteristic property bits and Bleak's names for them.
_PROPERTY_NAMES: tuple[tuple[Characteristic.Properties, CharacteristicPropertyName], ...] = (
    (Characteristic.Properties.BROADCAST, "broadcast"),
    (Characteristic.Properties.READ, "read"),
    (Characteristic.Properties.WRITE_WITHOUT_RESPONSE, "write-without-response"),
    (Characteristic.Properties.WRITE, "write"),
    (Characteristic.Properties.NOTIFY, "notify"),
    (Characteristic.Properties.INDICATE, "indicate"),
    (Characteristic.Properties.AUTHENTICATED_SIGNED_WRITES, "authenticated-signed-writes"),
    (Characteristic.Properties.EXTENDED_PROPERTIES, "extended-properties"),
)


def property_names(properties: Characteristic.Properties) -> list[CharacteristicPropertyName]:
    """Bleak's property names for a Bumble characteristic's property bits."""
    return [name for flag, name in _PROPERTY_NAMES if properties & flag]


class BumbleBleakClient(BaseBleakClient):
    """Bleak client backend on a :class:`BumbleCentral`.

    Parameters
    ----------
    address_or_ble_device : BLEDevice or str
        A device found by :class:`BumbleBleakScanner` or its address ``AA:BB:CC:DD:EE:FF``.
    disconnected_callback : callable or None
        Called (no arguments) whenever the link goes down, solicited or not, as BlueZ does.
    timeout : float
        Connection timeout, s.
    services : set of str, optional
        Only these services (Bleak's normalised UUIDs) appear in ``client.services``.
    bumble_central : BumbleCentral, optional
        Defaults to the class's bound :attr:`central` or the device's scanner central.
    """

    #: The central of the bound subclass (see :attr:`BumbleCentral.client_backend`).
    central: ClassVar[BumbleCentral | None] = None

    def __init__(
        self,
        address_or_ble_device: BLEDevice | str,
        *,
        disconnected_callback: Callable[[], None] | None = None,
        timeout: float = 10.0,
        services: set[str] | None = None,
        bumble_central: BumbleCentral | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            address_or_ble_device, disconnected_callback=disconnected_callback, timeout=timeout
        )
        central = bumble_central or type(self).central
        if central is None and isinstance(address_or_ble_device, BLEDevice):
            details = address_or_ble_device.details
            if isinstance(details, BumbleDeviceDetails):
                central = details.central
        if central is None:
            raise TypeError(
                "BumbleBleakClient needs a link: pass backend=link.client_backend "
                "(see wearable.bumble_backend.transport)"
            )
        self._central: BumbleCentral = central
        self._device_name = (
            address_or_ble_device.name if isinstance(address_or_ble_device, BLEDevice) else None
        )
        self._wanted_services = services
        #: Whether the last connection reused the GATT cache instead of discovering.
        self.services_from_cache = False
        self._connection: Connection | None = None
        self._peer: Peer | None = None
        self._characteristics: dict[int, CharacteristicProxy[bytes]] = {}
        self._subscribers: dict[int, Callable[[bytes], None]] = {}

    # -- properties -----------------------------------------------------------------------------

    @property
    def name(self) -> str:
        """The advertised name, or the address with dashes when none is known."""
        return self._device_name or self.address.replace(":", "-")

    @property
    def mtu_size(self) -> int:
        """The negotiated ATT MTU, bytes (23 before negotiation)."""
        return self._connection.att_mtu if self._connection is not None else 23

    @property
    def is_connected(self) -> bool:
        """True while the LE link is up."""
        return self._connection is not None

    # -- connection -----------------------------------------------------------------------------

    async def connect(self, pair: bool, **kwargs: Any) -> None:
        """Connect, negotiate the MTU and discover services within the timeout."""
        if pair:
            raise BleakError("pairing is not supported by the Bumble backend")
        if self._connection is not None:
            return
        timeout = float(kwargs.get("timeout", self._timeout))
        try:
            connection = await self._central.connect(self.address, timeout)
        except core.BaseBumbleError as error:
            raise BleakError(f"connecting to {self.address} failed: {error}") from error
        self._connection = connection
        connection.on(connection.EVENT_DISCONNECTION, self._on_disconnection)
        try:
            async with asyncio.timeout(timeout):
                self._peer = Peer(connection)
                await self._att(self._peer.request_mtu(CENTRAL_PREFERRED_MTU), "MTU exchange")
                use_cache = bool(kwargs.get("dangerous_use_bleak_cache", False))
                proxies = await self._att(self._services(use_cache), "service discovery")
                self.services = self._collect(proxies)
        except BaseException:
            await self.disconnect()
            raise

    async def _services(self, use_cache: bool) -> list[ServiceProxy]:
        """Service proxies from the cache when allowed and still valid, else by discovery."""
        assert self._peer is not None
        client = self._peer.gatt_client
        cached = self._central.gatt_cache.get(self.address) if use_cache else None
        if cached is not None and await read_database_hash(client) == cached.database_hash:
            self.services_from_cache = True
            return restore(client, cached)
        self.services_from_cache = False
        proxies = await discover_all(client)
        if (database_hash := await read_database_hash(client)) is not None:
            self._central.gatt_cache[self.address] = snapshot(proxies, database_hash)
        return proxies

    def _collect(self, proxies: list[ServiceProxy]) -> BleakGATTServiceCollection:
        """Bleak's service collection from discovered (or restored) Bumble proxies."""
        collection = BleakGATTServiceCollection()
        for service_proxy in proxies:
            uuid = bleak_uuid(service_proxy.uuid)
            if self._wanted_services is not None and uuid not in self._wanted_services:
                continue
            service = BleakGATTService(service_proxy, service_proxy.handle, uuid)
            collection.add_service(service)
            for char_proxy in service_proxy.characteristics:
                characteristic = BleakGATTCharacteristic(
                    char_proxy,
                    char_proxy.handle,
                    bleak_uuid(char_proxy.uuid),
                    property_names(char_proxy.properties),
                    lambda: self.mtu_size - 3,
                    service,
                )
                collection.add_characteristic(characteristic)
                self._characteristics[char_proxy.handle] = char_proxy
                for desc_proxy in char_proxy.descriptors:
                    descriptor = BleakGATTDescriptor(
                        desc_proxy, desc_proxy.handle, bleak_uuid(desc_proxy.type), characteristic
                    )
                    collection.add_descriptor(descriptor)
        return collection

    def _on_disconnection(self, reason: int) -> None:
        self._reset()
        if self._disconnected_callback is not None:
            self._disconnected_callback()

    def _reset(self) -> None:
        self._connection = None
        self._peer = None
        self.services = None
        self._characteristics.clear()
        self._subscribers.clear()

    async def disconnect(self) -> None:
        """Disconnect (a no-op when not connected)."""
        connection = self._connection
        if connection is None:
            return
        with contextlib.suppress(Exception):
            await asyncio.wait_for(connection.disconnect(), min(self._timeout, 5.0))
        if self._connection is connection:  # no disconnection event came back
            connection.remove_listener(connection.EVENT_DISCONNECTION, self._on_disconnection)
            self._reset()

    async def pair(self, *args: Any, **kwargs: Any) -> None:
        """Not supported: simulated sensors and our profile need no pairing."""
        raise BleakError("pairing is not supported by the Bumble backend")

    async def unpair(self) -> None:
        """Not supported (nothing is ever paired)."""
        raise BleakError("unpairing is not supported by the Bumble backend")

    # -- I/O ------------------------------------------------------------------------------------

    def _require_peer(self) -> Peer:
        if self._peer is None:
            raise BleakError("Not connected")
        return self._peer

    async def _att(self, operation: Awaitable[_T], what: str) -> _T:
        """Await a GATT operation; ATT errors, link loss and Bumble errors become Bleak's."""
        try:
            return await operation
        except att.ATT_Error as error:
            raise BleakGATTProtocolError(error.error_code) from error
        except asyncio.CancelledError:
            # Bumble cancels requests in flight when the link drops; that is not a cancellation
            # of the caller's task, so it must not look like one.
            task = asyncio.current_task()
            if self._connection is None and (task is None or task.cancelling() == 0):
                raise BleakError(f"{what} failed: the device disconnected") from None
            raise
        except core.BaseBumbleError as error:
            raise BleakError(f"{what} failed: {error}") from error

    async def read_gatt_char(
        self, characteristic: BleakGATTCharacteristic, *, use_cached: bool = False, **kwargs: Any
    ) -> bytearray:
        """Read a characteristic value."""
        peer = self._require_peer()
        if use_cached:
            cached = peer.gatt_client.cached_values.get(characteristic.handle)
            if cached is not None:
                return bytearray(cached[1])
        value = await self._att(peer.gatt_client.read_value(characteristic.handle), "read")
        return bytearray(value)

    async def read_gatt_descriptor(
        self, descriptor: BleakGATTDescriptor, *, use_cached: bool = False, **kwargs: Any
    ) -> bytearray:
        """Read a descriptor value."""
        peer = self._require_peer()
        value = await self._att(peer.gatt_client.read_value(descriptor.handle), "read")
        return bytearray(value)

    async def write_gatt_char(
        self, characteristic: BleakGATTCharacteristic, data: SizedBuffer, response: bool
    ) -> None:
        """Write a characteristic value, with or without response."""
        peer = self._require_peer()
        await self._att(
            peer.gatt_client.write_value(
                characteristic.handle, bytes(data), with_response=response
            ),
            "write",
        )

    async def write_gatt_descriptor(
        self, descriptor: BleakGATTDescriptor, data: SizedBuffer
    ) -> None:
        """Write a descriptor value (with response)."""
        peer = self._require_peer()
        await self._att(
            peer.gatt_client.write_value(descriptor.handle, bytes(data), with_response=True),
            "write",
        )

    async def start_notify(
        self, characteristic: BleakGATTCharacteristic, callback: NotifyCallback, **kwargs: Any
    ) -> None:
        """Enable notifications (or indications when that is all it has) on a characteristic.

        Starting again on the same characteristic replaces the callback, so a reconnecting
        client never receives each notification twice.
        """
        peer = self._require_peer()
        proxy = self._characteristics[characteristic.handle]
        old = self._subscribers.pop(characteristic.handle, None)
        if old is not None:
            peer.gatt_client.notification_subscribers.get(proxy.handle, set()).discard(old)
            peer.gatt_client.indication_subscribers.get(proxy.handle, set()).discard(old)
        subscriber = functools.partial(_deliver, callback)
        self._subscribers[characteristic.handle] = subscriber
        await self._att(
            peer.gatt_client.subscribe(proxy, subscriber, prefer_notify=True), "start_notify"
        )

    async def stop_notify(self, characteristic: BleakGATTCharacteristic) -> None:
        """Disable notifications on a characteristic."""
        peer = self._require_peer()
        proxy = self._characteristics[characteristic.handle]
        self._subscribers.pop(characteristic.handle, None)
        await self._att(peer.gatt_client.unsubscribe(proxy), "stop_notify")


def _deliver(callback: NotifyCallback, value: bytes) -> None:
    callback(bytearray(value))
