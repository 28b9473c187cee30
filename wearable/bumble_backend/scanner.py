"""``BumbleBleakScanner``: a Bleak scanner backend on a Bumble host.

Use the class bound to a link, never this base class directly::

    async with sim_link("recording.csv") as link:
        devices = await BleakScanner.discover(timeout=1.0, backend=link.scanner_backend,
                                              return_adv=True)

Each Bumble advertising report becomes a :class:`bleak.backends.scanner.AdvertisementData` with
the local name, service UUIDs (full 128-bit lower-case form, as Bleak shows them), service data,
manufacturer data, TX power and RSSI. ``BLEDevice.details`` is a :class:`BumbleDeviceDetails`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, cast

from bleak.backends.scanner import AdvertisementData, AdvertisementDataCallback, BaseBleakScanner
from bleak.uuids import normalize_uuid_str
from bumble import hci
from bumble.core import UUID, AdvertisingData
from bumble.device import Advertisement

from wearable.bumble_backend.central import BumbleCentral, address_text

_UUID_LIST_TYPES = (
    AdvertisingData.Type.COMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS,
    AdvertisingData.Type.INCOMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS,
    AdvertisingData.Type.COMPLETE_LIST_OF_32_BIT_SERVICE_CLASS_UUIDS,
    AdvertisingData.Type.INCOMPLETE_LIST_OF_32_BIT_SERVICE_CLASS_UUIDS,
    AdvertisingData.Type.COMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS,
    AdvertisingData.Type.INCOMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS,
)
_SERVICE_DATA_TYPES = (
    AdvertisingData.Type.SERVICE_DATA_16_BIT_UUID,
    AdvertisingData.Type.SERVICE_DATA_32_BIT_UUID,
    AdvertisingData.Type.SERVICE_DATA_128_BIT_UUID,
)


@dataclass(frozen=True)
class BumbleDeviceDetails:
    """What a Bumble-backed ``BLEDevice.details`` holds: the typed address and its central."""

    address: hci.Address
    central: BumbleCentral


def bleak_uuid(value: UUID) -> str:
    """A Bumble UUID in Bleak's form: the full 128-bit UUID, lower case, with dashes."""
    text = value.to_hex_str()
    if len(text) <= 8:
        return normalize_uuid_str(text.lower())
    return str(uuid.UUID(text))


def advertisement_data(advertisement: Advertisement) -> AdvertisementData:
    """Convert one Bumble advertising report to Bleak's :class:`AdvertisementData`."""
    data = advertisement.data
    names = data.get_all(AdvertisingData.Type.COMPLETE_LOCAL_NAME) or data.get_all(
        AdvertisingData.Type.SHORTENED_LOCAL_NAME
    )
    service_uuids: list[str] = []
    for ad_type in _UUID_LIST_TYPES:
        for uuids in cast("list[list[UUID]]", data.get_all(ad_type)):
            for value in uuids:
                text = bleak_uuid(value)
                if text not in service_uuids:
                    service_uuids.append(text)
    service_data: dict[str, bytes] = {}
    for ad_type in _SERVICE_DATA_TYPES:
        for service, payload in cast("list[tuple[UUID, bytes]]", data.get_all(ad_type)):
            service_data[bleak_uuid(service)] = bytes(payload)
    manufacturer_data = {
        int(company): bytes(payload)
        for company, payload in data.get_all(AdvertisingData.Type.MANUFACTURER_SPECIFIC_DATA)
    }
    tx_powers = data.get_all(AdvertisingData.Type.TX_POWER_LEVEL)
    return AdvertisementData(
        local_name=names[0] if names else None,
        manufacturer_data=manufacturer_data,
        service_data=service_data,
        service_uuids=service_uuids,
        tx_power=int(tx_powers[0]) if tx_powers else None,
        rssi=int(advertisement.rssi),
        platform_data=(advertisement,),
    )


class BumbleBleakScanner(BaseBleakScanner):
    """Bleak scanner backend on a :class:`BumbleCentral`.

    Parameters
    ----------
    detection_callback, service_uuids
        As for :class:`bleak.BleakScanner`.
    scanning_mode : {"active", "passive"}
        Accepted for compatibility; Bumble always scans actively here.
    bumble_central : BumbleCentral, optional
        The central to scan with; defaults to the class's bound :attr:`central`.
    """

    #: The central of the bound subclass (see :attr:`BumbleCentral.scanner_backend`).
    central: ClassVar[BumbleCentral | None] = None

    def __init__(
        self,
        detection_callback: AdvertisementDataCallback | None,
        service_uuids: list[str] | None,
        scanning_mode: Literal["active", "passive"] = "active",
        *,
        bumble_central: BumbleCentral | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(detection_callback, service_uuids)
        central = bumble_central or type(self).central
        if central is None:
            raise TypeError(
                "BumbleBleakScanner needs a link: pass backend=link.scanner_backend "
                "(see wearable.bumble_backend.transport)"
            )
        self._central: BumbleCentral = central
        self._scanning = False

    async def start(self) -> None:
        """Start scanning; ``seen_devices`` is cleared as Bleak requires."""
        self.seen_devices = {}
        if not self._scanning:
            await self._central.add_scan_listener(self._on_advertisement)
            self._scanning = True

    async def stop(self) -> None:
        """Stop scanning (idempotent)."""
        if self._scanning:
            self._scanning = False
            await self._central.remove_scan_listener(self._on_advertisement)

    def _on_advertisement(self, advertisement: Advertisement) -> None:
        # A scan response arrives merged with the advertising data it answers (Bumble's
        # accumulator), so repeated fields are de-duplicated in advertisement_data().
        adv = advertisement_data(advertisement)
        if not self.is_allowed_uuid(adv.service_uuids):
            return
        address = address_text(advertisement.address)
        details = BumbleDeviceDetails(advertisement.address, self._central)
        device = self.create_or_update_device(address, address, adv.local_name, details, adv)
        self.call_detection_callbacks(device, adv)
