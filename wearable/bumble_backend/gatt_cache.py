"""A GATT database cache validated by the server's Database Hash (Core spec Vol 3 Part G 7.3).

Reconnecting to a known sensor skips service discovery when the caller allows it (Bleak's
``dangerous_use_bleak_cache``, which bleak-retry-connector passes) and the sensor's Database Hash
is still the one seen at discovery: one read instead of dozens of discovery round trips, which
shortens the gap a reconnect leaves on sensors that cannot resend.
"""

from __future__ import annotations

from dataclasses import dataclass

from bumble import att
from bumble.core import UUID
from bumble.gatt import GATT_DATABASE_HASH_CHARACTERISTIC
from bumble.gatt_client import CharacteristicProxy, Client, DescriptorProxy, ServiceProxy


@dataclass(frozen=True)
class CachedCharacteristic:
    """A characteristic's declaration and its descriptors (handle, type)."""

    handle: int
    end_group_handle: int
    uuid: UUID
    properties: int
    descriptors: tuple[tuple[int, UUID], ...]


@dataclass(frozen=True)
class CachedService:
    """A primary service and its characteristics."""

    handle: int
    end_group_handle: int
    uuid: UUID
    characteristics: tuple[CachedCharacteristic, ...]


@dataclass(frozen=True)
class GattSnapshot:
    """The attribute layout of one device and the Database Hash it had."""

    database_hash: bytes
    services: tuple[CachedService, ...]


async def discover_all(client: Client) -> list[ServiceProxy]:
    """Discover every primary service, characteristic and descriptor."""
    services = await client.discover_services()
    for service in services:
        for characteristic in await service.discover_characteristics():
            await characteristic.discover_descriptors()
    return services


async def read_database_hash(client: Client) -> bytes | None:
    """The server's Database Hash, or None when it does not expose one."""
    try:
        values = await client.read_characteristics_by_uuid(GATT_DATABASE_HASH_CHARACTERISTIC, None)
    except att.ATT_Error:
        return None
    return bytes(values[0]) if values else None


def snapshot(services: list[ServiceProxy], database_hash: bytes) -> GattSnapshot:
    """Freeze discovered proxies into a cache entry."""
    return GattSnapshot(
        database_hash,
        tuple(
            CachedService(
                s.handle,
                s.end_group_handle,
                s.uuid,
                tuple(
                    CachedCharacteristic(
                        c.handle,
                        c.end_group_handle,
                        c.uuid,
                        int(c.properties),
                        tuple((d.handle, d.type) for d in c.descriptors),
                    )
                    for c in s.characteristics
                ),
            )
            for s in services
        ),
    )


def restore(client: Client, cached: GattSnapshot) -> list[ServiceProxy]:
    """Rebuild the proxies of ``cached`` on a new connection's GATT client."""
    services = []
    for s in cached.services:
        service = ServiceProxy(client, s.handle, s.end_group_handle, s.uuid)
        for c in s.characteristics:
            characteristic: CharacteristicProxy[bytes] = CharacteristicProxy(
                client, c.handle, c.end_group_handle, c.uuid, c.properties
            )
            characteristic.descriptors = [DescriptorProxy(client, h, t) for h, t in c.descriptors]
            characteristic.descriptors_discovered = True
            service.characteristics.append(characteristic)
        client.on_service_discovered(service)
        services.append(service)
    return services
