"""Commodity sensors on the simulated sensor: WitMotion WT901BLECL and the BBC micro:bit.

Both stream as soon as the central enables notifications and stop when it disables them or the
link drops; neither can resend, so whatever happens while the link is down is lost (the
companion must report the gap). Frames come from the codec modules' encoders.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from bumble import gatt
from bumble.core import UUID, AdvertisingData

from firmware_protocol import microbit, witmotion
from firmware_protocol.simulated.personality import AdStructures, Personality, SensorPort
from firmware_protocol.simulated.replay import Samples

#: WitMotion output-rate register codes back to Hz.
_WIT_RATE_BY_CODE = {code: rate for rate, code in witmotion.RATE_CODES.items()}


def _restart(port: SensorPort, rate_hz: float) -> None:
    """Change the replay's rate, restarting it at the current time if it was streaming."""
    replay = port.replay
    if rate_hz == replay.rate_hz:
        return
    streaming = replay.streaming
    replay.stop()
    replay.set_rate(rate_hz)
    if streaming:
        replay.start(port.tau_now(), port.boot_tau_s)


class _SubscriptionStreaming(Personality):
    """Streams while the data characteristic has notifications enabled."""

    data: gatt.Characteristic[bytes]

    def on_subscription(
        self, characteristic: gatt.Characteristic[Any], notify: bool, indicate: bool
    ) -> None:
        if characteristic is not self.data:
            return
        replay = self.port.replay
        if notify and not replay.streaming:
            replay.start(self.port.tau_now(), self.port.boot_tau_s)
        elif not notify:
            replay.stop()

    def on_disconnection(self) -> None:
        self.port.replay.stop()

    def on_reboot(self) -> None:
        self.port.replay.stop()


class WitMotionPersonality(_SubscriptionStreaming):
    """A WitMotion WT901BLECL: 20-byte 0x55 0x61 frames on FFE4, commands on FFE9."""

    profile_id = "witmotion"
    model = "WT901BLECL (simulated)"

    def __init__(self, port: SensorPort, serial: str) -> None:
        super().__init__(port, serial)
        rate, _code = witmotion.rate_code(min(port.replay.rate_hz, 200.0))
        port.replay.set_rate(rate)
        self.data: gatt.Characteristic[bytes] = gatt.Characteristic(
            UUID(witmotion.NOTIFY_UUID),
            gatt.Characteristic.Properties.NOTIFY | gatt.Characteristic.Properties.READ,
            gatt.Characteristic.READABLE,
            b"",
        )
        self.write: gatt.Characteristic[bytes] = gatt.Characteristic(
            UUID(witmotion.WRITE_UUID),
            gatt.Characteristic.Properties.WRITE
            | gatt.Characteristic.Properties.WRITE_WITHOUT_RESPONSE,
            gatt.Characteristic.WRITEABLE,
            gatt.CharacteristicValue(write=self._on_write),
        )
        self.unlocked = False

    @property
    def local_name(self) -> str:
        return f"WT901BLE{self.serial[-2:]}"

    def advertising_structures(self) -> AdStructures:
        return [
            (
                AdvertisingData.Type.COMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS,
                bytes(UUID(witmotion.SERVICE_UUID)),
            )
        ]

    def profile_services(self) -> list[gatt.Service]:
        return [gatt.Service(UUID(witmotion.SERVICE_UUID), [self.data, self.write])]

    def _on_write(self, _connection: Any, value: bytes) -> None:
        command = bytes(value)
        if len(command) != 5 or command[:2] != b"\xff\xaa":
            return  # the real firmware ignores what it does not understand
        register, low = command[2], command[3]
        if command == witmotion.UNLOCK:
            self.unlocked = True
        elif register == witmotion.REG_RRATE and self.unlocked and low in _WIT_RATE_BY_CODE:
            _restart(self.port, _WIT_RATE_BY_CODE[low])

    def on_samples(self, samples: Samples) -> None:
        gyro = samples.gyro_dps if samples.gyro_dps is not None else np.zeros_like(samples.acc_g)
        frames = [
            witmotion.encode_frame(acc, rate, _angles(acc))
            for acc, rate in zip(samples.acc_g, gyro, strict=True)
        ]
        # One frame per notification at MTU 23; at a larger MTU frames due together share one.
        per_notification = max(1, (self.port.att_mtu - 3) // witmotion.FRAME_LENGTH)
        for i in range(0, len(frames), per_notification):
            self.port.send(self.data, b"".join(frames[i : i + per_notification]), data=True)


def _angles(acc: np.ndarray) -> tuple[float, float, float]:
    """Roll and pitch from gravity, deg (yaw unknown without a magnetometer: 0)."""
    ax, ay, az = (float(v) for v in acc)
    roll = math.degrees(math.atan2(ay, az))
    pitch = math.degrees(math.atan2(-ax, math.hypot(ay, az)))
    return roll, pitch, 0.0


class MicrobitPersonality(_SubscriptionStreaming):
    """A BBC micro:bit running the accelerometer service: one X, Y, Z sample per notification."""

    profile_id = "microbit"
    model = "BBC micro:bit v2 (simulated)"

    def __init__(self, port: SensorPort, serial: str) -> None:
        super().__init__(port, serial)
        self.period_ms = microbit.period_for(min(port.replay.rate_hz, 1000.0))
        self._latest: bytes = microbit.encode_sample((0.0, 0.0, 1.0))
        port.replay.set_rate(1000.0 / self.period_ms)
        self.data: gatt.Characteristic[bytes] = gatt.Characteristic(
            UUID(microbit.DATA_UUID),
            gatt.Characteristic.Properties.READ | gatt.Characteristic.Properties.NOTIFY,
            gatt.Characteristic.READABLE,
            gatt.CharacteristicValue(read=lambda _connection: self._latest),
        )
        self.period: gatt.Characteristic[bytes] = gatt.Characteristic(
            UUID(microbit.PERIOD_UUID),
            gatt.Characteristic.Properties.READ | gatt.Characteristic.Properties.WRITE,
            gatt.Characteristic.READABLE | gatt.Characteristic.WRITEABLE,
            gatt.CharacteristicValue(
                read=lambda _connection: microbit.encode_period(self.period_ms),
                write=self._on_period_write,
            ),
        )

    @property
    def local_name(self) -> str:
        return f"BBC micro:bit [{self.serial[-5:].lower()}]"

    def profile_services(self) -> list[gatt.Service]:
        return [gatt.Service(UUID(microbit.SERVICE_UUID), [self.data, self.period])]

    def _on_period_write(self, _connection: Any, value: bytes) -> None:
        try:
            period = microbit.decode_period(bytes(value))
        except ValueError:
            return
        # The runtime rounds an unlisted period to the nearest one it supports.
        self.period_ms = min(microbit.VALID_PERIODS_MS, key=lambda p: abs(p - period))
        _restart(self.port, 1000.0 / self.period_ms)

    def on_samples(self, samples: Samples) -> None:
        for acc in samples.acc_g:
            self._latest = microbit.encode_sample(acc)
            self.port.send(self.data, self._latest, data=True)
