"""A Polar sensor on the simulated sensor: the PMD service, answered as Polar documents it.

Source: polar-ble-sdk "Polar Measurement Data Specification" (see
:mod:`firmware_protocol.polar_pmd_control`). The central enables indications on the control
point and asks GET_MEASUREMENT_SETTINGS for ACC; the answer is the model's settings list. A
START giving exactly one offered value for every offered setting is answered with success and
the stream begins; anything else gets the specification's error code (a missing or unknown
setting: invalid parameter, as the H10 does, polar-ble-sdk issue #124; an unoffered rate:
invalid sample rate...). STOP ends the stream. A link loss or a reboot ends it too, as on the
real devices: the companion starts it again.

Frames carry the device's own clock (ns since 2000-01-01, stamping the last sample; it reads
:data:`CLOCK_AT_BOOT_NS` at boot) and as many samples as fit one notification. The H10 sends
uncompressed int16 milli-g (frame type 0x01); the Verity Sense delta-compressed milli-g (0x81)
and reports factor 1.0 in its start response.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from bumble import gatt
from bumble.core import UUID

from firmware_protocol import polar_pmd
from firmware_protocol import polar_pmd_control as pmd
from firmware_protocol.polar_pmd_control import ControlResponse, ControlStatus
from firmware_protocol.simulated.personality import (
    Personality,
    SensorPort,
    command_characteristic,
    data_characteristic,
)
from firmware_protocol.simulated.replay import Samples

#: The device clock at boot: 2024-01-01 00:00, ns since 2000-01-01 (no host ever set it).
CLOCK_AT_BOOT_NS = 757_382_400 * 10**9

_WRONG_VALUE = {
    pmd.SETTING_SAMPLE_RATE: ControlStatus.INVALID_SAMPLE_RATE,
    pmd.SETTING_RESOLUTION: ControlStatus.INVALID_RESOLUTION,
    pmd.SETTING_RANGE: ControlStatus.INVALID_RANGE,
    pmd.SETTING_CHANNELS: ControlStatus.INVALID_NUMBER_OF_CHANNELS,
}


@dataclass(frozen=True)
class PolarModel:
    """What one Polar model offers for ACC and how it frames it."""

    name_prefix: str
    model: str
    settings: dict[int, list[float]]
    compressed: bool


#: Simulated models, by the name given to ``SimulatedSensor(model=...)``.
MODELS = {
    "verity_sense": PolarModel(
        "Polar Sense",
        "Polar Verity Sense (simulated)",
        {
            pmd.SETTING_SAMPLE_RATE: [52],
            pmd.SETTING_RESOLUTION: [16],
            pmd.SETTING_RANGE: [8],
            pmd.SETTING_CHANNELS: [3],
        },
        compressed=True,
    ),
    "h10": PolarModel(
        "Polar H10",
        "Polar H10 (simulated)",
        {
            pmd.SETTING_SAMPLE_RATE: [25, 50, 100, 200],
            pmd.SETTING_RESOLUTION: [16],
            pmd.SETTING_RANGE: [2, 4, 8],
        },
        compressed=False,
    ),
}


class PolarPmdPersonality(Personality):
    """A Polar Verity Sense or H10 streaming ACC over PMD.

    Set :attr:`in_charger` (or ``Faults.charger_at_s``, from a time on) to have it refuse to
    start, as a device on its charger does (error 13, device in charger). Set
    :attr:`unresponsive` to have it take writes to the control point (the stack acknowledges
    them) and neither answer nor act on them, as a device whose firmware has hung does: a
    central waiting for an answer waits in vain.
    """

    profile_id = "polar_pmd"
    models = tuple(MODELS)

    def __init__(self, port: SensorPort, serial: str, model: str = "verity_sense") -> None:
        if model not in MODELS:
            raise ValueError(f"the simulated Polar sensor is one of {', '.join(MODELS)}; "
                             f"not '{model}'")
        super().__init__(port, serial)
        self.spec = MODELS[model]
        self.model = self.spec.model
        self.in_charger = False
        self.unresponsive = False
        self.range_g = 8
        self._acc_mg: list[np.ndarray] = []
        self._clock_s: list[np.ndarray] = []
        self.control = command_characteristic(
            polar_pmd.CONTROL_UUID, self._on_control_write, gatt.Characteristic.Properties.INDICATE
        )
        self.data = data_characteristic(polar_pmd.DATA_UUID)

    @property
    def local_name(self) -> str:
        return f"{self.spec.name_prefix} {self.serial}"

    def profile_services(self) -> list[gatt.Service]:
        return [gatt.Service(UUID(polar_pmd.SERVICE_UUID), [self.control, self.data])]

    # -- the control point -------------------------------------------------------------------

    def _on_control_write(self, _connection: Any, value: bytes) -> None:
        if self.unresponsive:
            return
        self.port.send(self.control, bytes(self.answer(bytes(value))), data=False)

    def answer(self, command: bytes) -> ControlResponse:
        """The control point's response to ``command`` (acting on it)."""
        if len(command) < 2:
            return ControlResponse(command[0] if command else 0, 0, ControlStatus.INVALID_LENGTH)
        op, kind = command[0], command[1]
        if op not in (pmd.OP_GET_SETTINGS, pmd.OP_START, pmd.OP_STOP):
            return ControlResponse(op, kind, ControlStatus.INVALID_OP_CODE)
        if kind != pmd.MEASUREMENT_ACC:
            return ControlResponse(op, kind, ControlStatus.NOT_SUPPORTED)
        replay = self.port.replay
        if op == pmd.OP_GET_SETTINGS:
            return ControlResponse(op, kind, ControlStatus.SUCCESS, self.spec.settings)
        if op == pmd.OP_STOP:
            if not replay.streaming:
                return ControlResponse(op, kind, ControlStatus.ALREADY_IN_STATE)
            self._stop()
            return ControlResponse(op, kind, ControlStatus.SUCCESS)
        if replay.streaming:
            return ControlResponse(op, kind, ControlStatus.ALREADY_IN_STATE)
        charger_at = self.port.faults.charger_at_s
        if self.in_charger or (charger_at is not None and self.port.tau_now() >= charger_at):
            return ControlResponse(op, kind, ControlStatus.DEVICE_IN_CHARGER)
        try:
            asked = pmd.parse_settings(command[2:])
        except ValueError:
            return ControlResponse(op, kind, ControlStatus.INVALID_LENGTH)
        status = self._check_start(asked)
        if status != ControlStatus.SUCCESS:
            return ControlResponse(op, kind, status)
        self.range_g = int(asked[pmd.SETTING_RANGE][0])
        replay.set_rate(asked[pmd.SETTING_SAMPLE_RATE][0])
        replay.start(self.port.tau_now(), self.port.boot_tau_s)
        self.port.wake()
        factor = {pmd.SETTING_FACTOR: [1.0]} if self.spec.compressed else {}
        return ControlResponse(op, kind, ControlStatus.SUCCESS, factor)

    def _check_start(self, asked: dict[int, list[float]]) -> ControlStatus:
        offered = self.spec.settings
        if set(asked) != set(offered):
            return ControlStatus.INVALID_PARAMETER
        for kind, values in asked.items():
            if len(values) != 1 or values[0] not in offered[kind]:
                return _WRONG_VALUE.get(kind, ControlStatus.INVALID_PARAMETER)
        return ControlStatus.SUCCESS

    def _stop(self) -> None:
        self.port.replay.stop()
        self._acc_mg, self._clock_s = [], []

    # -- the stream --------------------------------------------------------------------------

    def on_samples(self, samples: Samples) -> None:
        full_scale = self.range_g * 1000
        self._acc_mg.append(np.clip(np.rint(samples.acc_g * 1000), -full_scale, full_scale))
        self._clock_s.append(samples.sensor_time_s)
        self._flush(final=False)

    def on_finished(self) -> None:
        self._flush(final=True)

    def _flush(self, final: bool) -> None:
        """Send the frames that are full (all that is held, when ``final``)."""
        if not self._acc_mg:
            return
        acc, clock = np.concatenate(self._acc_mg), np.concatenate(self._clock_s)
        per_frame = max(1, (self.port.att_mtu - 3 - polar_pmd.HEADER.size) // 6)
        end = len(acc) if final else len(acc) - len(acc) % per_frame
        for start in range(0, end, per_frame):
            stop = min(start + per_frame, end)
            self._send(acc[start:stop], clock[start:stop])
        self._acc_mg, self._clock_s = [acc[end:]], [clock[end:]]

    def _send(self, acc_mg: np.ndarray, clock_s: np.ndarray) -> None:
        timestamp_ns = CLOCK_AT_BOOT_NS + round(float(clock_s[-1]) * 1e9)
        if self.spec.compressed:
            frame = polar_pmd.encode_compressed_acc(
                acc_mg, timestamp_ns, frame_type=polar_pmd.COMPRESSED | 0x01
            )
        else:
            frame = polar_pmd.encode_raw_acc(acc_mg, timestamp_ns)
        if len(frame) > self.port.att_mtu - 3 and len(acc_mg) > 1:  # deltas too wide: split
            half = len(acc_mg) // 2
            self._send(acc_mg[:half], clock_s[:half])
            self._send(acc_mg[half:], clock_s[half:])
            return
        self.port.send(self.data, frame, data=True)

    def on_disconnection(self) -> None:
        self._stop()

    def on_reboot(self) -> None:
        self._stop()
