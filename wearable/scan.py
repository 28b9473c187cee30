"""Finding supported sensors nearby, through the public Bleak scanner API.

``backend`` is None for the operating system's stack (BlueZ, CoreBluetooth, WinRT) or a Bleak
scanner backend class (the Bumble one, for the simulated sensor or a USB dongle).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bleak import BleakScanner
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData
from bleak.exc import BleakError

from firmware_protocol.registry import PROFILES, SensorProfile, match_advertisement
from rehablink.text import printable

BATTERY_SERVICE = "0000180f-0000-1000-8000-00805f9b34fb"
#: Test company id under which the simulated RehabLink sensor advertises
#: [protocol version, battery %] (firmware_protocol/simulated/rehablink_sim.py).
TEST_COMPANY_ID = 0xFFFF


class ScanError(RuntimeError):
    """Scanning is impossible (no Bluetooth adapter, Bluetooth off, no permission)."""


NO_BLUETOOTH_ADVICE = ("switch Bluetooth on (and check this program may use it), or try the "
                       "simulated sensor with --transport sim:RECORDING")


@dataclass(frozen=True)
class FoundSensor:
    """A supported sensor seen advertising.

    Attributes
    ----------
    profile : SensorProfile
        How to talk to it.
    name, address : str
        Advertised name and Bluetooth address (a UUID on macOS).
    rssi : int
        Signal strength, dBm.
    battery_pct : int or None
        Battery level when the advertisement carries it (Battery service data), %.
    """

    profile: SensorProfile
    name: str
    address: str
    rssi: int
    battery_pct: int | None = None
    device: BLEDevice | None = field(default=None, compare=False, repr=False)

    def to_json(self) -> dict[str, Any]:
        return {"profile": self.profile.id, "name": self.name, "address": self.address,
                "rssi": self.rssi, "battery_pct": self.battery_pct}


def recognise(device: BLEDevice, adv: AdvertisementData) -> FoundSensor | None:
    """The sensor behind one advertisement, or None when it is not a supported one."""
    profile = match_advertisement(adv.local_name or device.name, adv.service_uuids)
    if profile is None:
        return None
    battery = None
    data = adv.service_data.get(BATTERY_SERVICE)
    maker = adv.manufacturer_data.get(TEST_COMPANY_ID)
    if data and 0 <= data[0] <= 100:
        battery = int(data[0])
    elif profile.id == "rehablink" and maker and len(maker) >= 2 and maker[1] <= 100:
        battery = int(maker[1])
    return FoundSensor(profile, printable(adv.local_name or device.name or ""),
                       printable(device.address), int(adv.rssi), battery, device)


async def scan(timeout_s: float = 5.0, backend: type[Any] | None = None,
               profile_id: str | None = None) -> list[FoundSensor]:
    """Supported sensors advertising within ``timeout_s``, strongest signal first.

    Parameters
    ----------
    timeout_s : float
        Scan duration, s.
    backend : type or None
        Bleak scanner backend class; None for the OS stack.
    profile_id : str or None
        Keep only sensors of this profile (a key of ``firmware_protocol.registry.PROFILES``).
    """
    if profile_id is not None and profile_id not in PROFILES:
        raise ValueError(f"unknown sensor profile {profile_id!r}; known: {', '.join(PROFILES)}")
    kwargs: dict[str, Any] = {} if backend is None else {"backend": backend}
    try:
        found = await BleakScanner.discover(timeout=timeout_s, return_adv=True, **kwargs)
    except (BleakError, OSError) as exc:
        raise ScanError(f"Bluetooth is not available ({exc or type(exc).__name__}): "
                        f"{NO_BLUETOOTH_ADVICE}") from None
    sensors = [s for d, adv in found.values() if (s := recognise(d, adv)) is not None]
    if profile_id is not None:
        sensors = [s for s in sensors if s.profile.id == profile_id]
    return sorted(sensors, key=lambda s: -s.rssi)


async def find_again(address: str, timeout_s: float, backend: type[Any] | None) -> BLEDevice | None:
    """Scan for a known sensor before reconnecting (BlueZ forgets devices after a while)."""
    kwargs: dict[str, Any] = {} if backend is None else {"backend": backend}
    try:
        return await BleakScanner.find_device_by_address(address, timeout=timeout_s, **kwargs)
    except (BleakError, OSError) as exc:
        raise ScanError(f"Bluetooth is not available ({exc or type(exc).__name__}): "
                        f"{NO_BLUETOOTH_ADVICE}") from None
