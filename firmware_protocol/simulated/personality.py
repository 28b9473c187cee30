"""What a simulated sensor is: its GATT services, its advertisement and how it streams.

A :class:`Personality` is one sensor family's behaviour (our open profile, WitMotion, micro:bit,
Polar PMD);
the :class:`~firmware_protocol.simulated.sensor.SimulatedSensor` runs the radio side (controller,
advertising, connections, faults, the world clock) and hands it samples. Personalities send
through :meth:`SensorPort.send` and never touch Bumble's event loop plumbing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from bumble import att, gatt
from bumble.core import UUID, AdvertisingData
from bumble.device import Connection
from bumble.profiles.battery_service import BatteryService
from bumble.profiles.device_information_service import DeviceInformationService

from firmware_protocol.simulated.faults import Faults
from firmware_protocol.simulated.replay import Replay, Samples

#: Firmware version the simulated sensors report (major, minor, patch).
FIRMWARE = (1, 0, 0)

#: Advertising data structures: (AD type, value bytes).
AdStructures = list[tuple[int, bytes]]


class SensorPort(Protocol):
    """What a personality may ask of the sensor that runs it."""

    faults: Faults
    replay: Replay

    def send(self, characteristic: gatt.Characteristic[Any], value: bytes, *, data: bool) -> None:
        """Queue a notification to the connected central (``data``: subject to loss)."""

    def tau_now(self) -> float:
        """The world clock, s of recording time."""

    @property
    def boot_tau_s(self) -> float:
        """World time of the sensor's last boot (zero of its clock), s."""

    @property
    def att_mtu(self) -> int:
        """ATT MTU of the current connection (the sensor's maximum when not connected)."""

    def after_sent(self, action: Callable[[], None]) -> None:
        """Run ``action`` once every notification queued so far has been sent."""

    def wake(self) -> None:
        """Tell the sensor something changed (streaming started, rate changed)."""


_WRITES = (
    gatt.Characteristic.Properties.WRITE | gatt.Characteristic.Properties.WRITE_WITHOUT_RESPONSE
)


class PropertyGuard(att.AttributeValue[Any]):
    """A characteristic value that refuses what the characteristic's properties do not allow.

    Bumble's GATT server leaves this check to the application; a real sensor's stack answers a
    read of a write-only characteristic with Read Not Permitted (0x02) and a write to a
    read-only one with Write Not Permitted (0x03) (Core spec Vol 3 Part F 3.4.1.1).
    """

    def __init__(self, inner: Any, properties: gatt.Characteristic.Properties) -> None:
        super().__init__(read=self._read, write=self._write)
        self.inner = inner
        self.properties = properties

    def _read(self, connection: Any) -> Any:
        if not self.properties & gatt.Characteristic.Properties.READ:
            raise att.ATT_Error(att.ErrorCode.READ_NOT_PERMITTED)
        if isinstance(self.inner, att.AttributeValue):
            return self.inner.read(connection)
        return self.inner

    def _write(self, connection: Any, value: Any) -> Any:
        if not self.properties & _WRITES:
            raise att.ATT_Error(att.ErrorCode.WRITE_NOT_PERMITTED)
        if isinstance(self.inner, att.AttributeValue):
            return self.inner.write(connection, value)
        self.inner = value
        return None


def data_characteristic(uuid: str) -> gatt.Characteristic[bytes]:
    """A characteristic the sensor only notifies (its sample stream)."""
    return gatt.Characteristic(
        UUID(uuid), gatt.Characteristic.Properties.NOTIFY, gatt.Characteristic.Permissions(0), b""
    )


def command_characteristic(
    uuid: str, on_write: Callable[[Any, bytes], None], answers_by: gatt.Characteristic.Properties
) -> gatt.Characteristic[bytes]:
    """A characteristic the central writes commands to; the answers come back ``answers_by``
    (NOTIFY or INDICATE) on the same characteristic."""
    return gatt.Characteristic(
        UUID(uuid),
        gatt.Characteristic.Properties.WRITE | answers_by,
        gatt.Characteristic.WRITEABLE,
        gatt.CharacteristicValue(write=on_write),
    )


class Personality:
    """Base class: standard services and no-op hooks.

    Parameters
    ----------
    port : SensorPort
        The sensor running this personality.
    serial : str
        Serial number (also the suffix of the advertised name).
    """

    profile_id = ""
    model = ""
    #: Models a family can be played as (``SimulatedSensor(model=...)``); empty: just one.
    models: tuple[str, ...] = ()

    def __init__(self, port: SensorPort, serial: str) -> None:
        self.port = port
        self.serial = serial

    # -- identity -------------------------------------------------------------------------------

    @property
    def local_name(self) -> str:
        """The advertised local name."""
        raise NotImplementedError

    def advertising_structures(self) -> AdStructures:
        """Advertising data besides flags and the name (service UUIDs, manufacturer data)."""
        return []

    def advertising_data(self) -> bytes:
        """The complete advertising payload."""
        structures: AdStructures = [
            (AdvertisingData.Type.FLAGS, bytes([0x06])),  # LE General Discoverable, no BR/EDR
            (AdvertisingData.Type.COMPLETE_LOCAL_NAME, self.local_name.encode()),
        ]
        return bytes(AdvertisingData(structures + self.advertising_structures()))

    def services(self) -> list[gatt.Service]:
        """GATT services: the profile's own plus Battery and Device Information."""
        battery = BatteryService(lambda _connection: self.port.faults.battery_pct)
        info = DeviceInformationService(
            manufacturer_name="RehabLink simulated sensors",
            model_number=self.model,
            serial_number=self.serial,
            firmware_revision=".".join(map(str, FIRMWARE)),
        )
        services = [*self.profile_services(), battery, info]
        for service in services:
            for characteristic in service.characteristics:
                characteristic.value = PropertyGuard(
                    characteristic.value, characteristic.properties
                )
        return services

    def profile_services(self) -> list[gatt.Service]:
        """The profile's own services."""
        raise NotImplementedError

    # -- behaviour hooks ------------------------------------------------------------------------

    def on_samples(self, samples: Samples) -> None:
        """New samples taken by the sensor (only while the replay is streaming)."""

    def on_subscription(
        self, characteristic: gatt.Characteristic[Any], notify: bool, indicate: bool
    ) -> None:
        """The central enabled or disabled notifications on a characteristic."""

    def on_connection(self, connection: Connection) -> None:
        """A central connected."""

    def on_disconnection(self) -> None:
        """The link went down (fault, reboot or the central's choice)."""

    def on_mtu_change(self) -> None:
        """The central negotiated a new ATT MTU."""

    def on_finished(self) -> None:
        """The recording is over: flush what is pending."""

    def on_reboot(self) -> None:
        """The sensor rebooted: forget everything held in RAM."""

    def status_value(self) -> bytes | None:
        """The current Status value, for profiles that have one."""
        return None
