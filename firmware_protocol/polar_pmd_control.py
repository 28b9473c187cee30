"""Polar PMD control point (0xFB005C81): settings lists, start and stop, responses.

Sources: polar-ble-sdk ``technical_documentation/Polar_Measurement_Data_Specification.pdf``
("Control point", "Request Stream Settings", "Start Stream", "Control Point Error Codes") and
the SDK's ``PmdSetting`` / ``PmdControlPointResponse``.

The central enables indications on the control point, writes a command (with response) and
gets the answer as an indication on the same characteristic::

    GET_MEASUREMENT_SETTINGS   01 type
    START_MEASUREMENT          02 type settings
    STOP_MEASUREMENT           03 type
    response                   F0 op type status [more settings]   (more + settings on success)

Settings list, little-endian: repeated ``setting type u8, count u8, count values``, each value
``SETTING_SIZES[type]`` bytes wide; the factor (0x05) is float32, the others unsigned. The answer
to GET lists every value the device offers; START gives exactly one value per offered setting
(the H10 refuses a start that omits one: polar-ble-sdk issue #124). Examples::

    H10 GET answer     f0 01 02 00 00 | 00 04 19 00 32 00 64 00 c8 00 | 01 01 10 00 |
                       02 03 02 00 04 00 08 00          (25/50/100/200 Hz, 16 bit, 2/4/8 g)
    Verity Sense GET   f0 01 02 00 00 | 00 01 34 00 | 01 01 10 00 | 02 01 08 00 | 04 01 03
                                                        (52 Hz, 16 bit, 8 g, 3 channels)
"""

from __future__ import annotations

import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import IntEnum

MEASUREMENT_ACC = 0x02
OP_GET_SETTINGS, OP_START, OP_STOP = 0x01, 0x02, 0x03
SETTING_SAMPLE_RATE, SETTING_RESOLUTION, SETTING_RANGE = 0x00, 0x01, 0x02
SETTING_CHANNELS, SETTING_FACTOR = 0x04, 0x05
CONTROL_RESPONSE = 0xF0
#: Byte width of each setting's values (SDK ``PmdSetting``).
SETTING_SIZES = {0x00: 2, 0x01: 2, 0x02: 2, 0x03: 4, 0x04: 1, 0x05: 4, 0x06: 16}
#: The only resolution the decoder reads from compressed frames, bits.
RESOLUTION_BITS = 16
#: Accelerometer axes.
CHANNELS = 3

GET_ACC_SETTINGS = bytes([OP_GET_SETTINGS, MEASUREMENT_ACC])
STOP_ACC = bytes([OP_STOP, MEASUREMENT_ACC])


class ControlStatus(IntEnum):
    """Control point error codes (PMD specification, "Control Point Error Codes")."""

    SUCCESS = 0
    INVALID_OP_CODE = 1
    INVALID_MEASUREMENT_TYPE = 2
    NOT_SUPPORTED = 3
    INVALID_LENGTH = 4
    INVALID_PARAMETER = 5
    ALREADY_IN_STATE = 6
    INVALID_RESOLUTION = 7
    INVALID_SAMPLE_RATE = 8
    INVALID_RANGE = 9
    INVALID_MTU = 10
    INVALID_NUMBER_OF_CHANNELS = 11
    INVALID_STATE = 12
    DEVICE_IN_CHARGER = 13
    DISK_FULL = 14


#: Messages of the error codes ("invalid sample rate").
ERRORS = {s.value: s.name.lower().replace("_", " ").replace("mtu", "MTU") for s in ControlStatus}


def parse_settings(data: bytes) -> dict[int, list[float]]:
    """Settings list ``type u8, count u8, count values``; ``ValueError`` if malformed."""
    settings: dict[int, list[float]] = {}
    offset = 0
    while offset < len(data):
        if offset + 2 > len(data):
            raise ValueError(f"truncated PMD setting at byte {offset}")
        kind, count = data[offset], data[offset + 1]
        size = SETTING_SIZES.get(kind)
        offset += 2
        if size is None or offset + size * count > len(data):
            raise ValueError(f"malformed PMD setting {kind:#04x} at byte {offset - 2}")
        chunk = data[offset : offset + size * count]
        if kind == SETTING_FACTOR:
            settings[kind] = [v for (v,) in struct.iter_unpack("<f", chunk)]
        else:
            settings[kind] = [
                int.from_bytes(chunk[i : i + size], "little") for i in range(0, len(chunk), size)
            ]
        offset += size * count
    return settings


def encode_settings(settings: Mapping[int, Sequence[float]]) -> bytes:
    """The settings list of :func:`parse_settings` (device side, and start commands).

    >>> encode_settings({SETTING_SAMPLE_RATE: [52], SETTING_CHANNELS: [3]}).hex(" ")
    '00 01 34 00 04 01 03'
    """
    out = b""
    for kind, values in settings.items():
        out += bytes([kind, len(values)])
        for value in values:
            if kind == SETTING_FACTOR:
                out += struct.pack("<f", value)
            else:
                out += int(value).to_bytes(SETTING_SIZES[kind], "little")
    return out


def start_command(settings: Mapping[int, int]) -> bytes:
    """START for ACC with one value per setting.

    >>> start_command({SETTING_SAMPLE_RATE: 200, SETTING_RESOLUTION: 16, SETTING_RANGE: 8}).hex(" ")
    '02 02 00 01 c8 00 01 01 10 00 02 01 08 00'
    """
    return bytes([OP_START, MEASUREMENT_ACC]) + encode_settings(
        {kind: [value] for kind, value in settings.items()}
    )


@dataclass(frozen=True)
class ControlResponse:
    """A control-point indication ``F0 op type status [more settings]``."""

    op_code: int
    measurement_type: int
    status: int
    settings: dict[int, list[float]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not all(0 <= v <= 0xFF for v in (self.op_code, self.measurement_type, self.status)):
            raise ValueError("op code, measurement type and status are bytes")

    @property
    def ok(self) -> bool:
        return self.status == ControlStatus.SUCCESS

    @property
    def message(self) -> str:
        return ERRORS.get(self.status, f"error {self.status}")

    @classmethod
    def from_bytes(cls, data: bytes) -> ControlResponse:
        """Parse; raises ``ValueError`` if it is not a well-formed control-point response."""
        if len(data) < 4 or data[0] != CONTROL_RESPONSE:
            raise ValueError("not a PMD control point response")
        settings = parse_settings(data[5:]) if len(data) > 5 else {}
        return cls(data[1], data[2], data[3], settings)

    def __bytes__(self) -> bytes:
        head = bytes([CONTROL_RESPONSE, self.op_code, self.measurement_type, self.status])
        if not self.ok:
            return head  # an error carries neither "more" nor settings
        return head + b"\x00" + encode_settings(self.settings)


def _offered(settings: dict[int, list[float]], kind: int, name: str) -> list[float] | None:
    """The positive values offered for ``kind`` (None when the setting is not listed)."""
    if kind not in settings:
        return None
    values = [v for v in settings[kind] if v > 0]
    if not values:
        raise ValueError(f"the sensor offers no usable accelerometer {name}")
    return values


def start_from_settings(settings_response: bytes, rate_hz: float, range_g: int = 8) -> bytes:
    """Start command built from a GET_SETTINGS response, choosing values the device offers.

    The rate is the offered one closest to ``rate_hz`` (H10: 25/50/100/200 Hz; Verity Sense:
    52 Hz), the range ``range_g`` if offered, else the closest; resolution must offer 16 bit
    and channels 3 where they are listed (the decoder reads nothing else).

    Raises
    ------
    ValueError
        The response is malformed, is not the answer to a GET for ACC, is an error, or offers
        nothing usable; the message says which, for the user.
    """
    offered = ControlResponse.from_bytes(settings_response)
    if (offered.op_code, offered.measurement_type) != (OP_GET_SETTINGS, MEASUREMENT_ACC):
        raise ValueError(
            f"the answer is not to the ACC settings request (op {offered.op_code:#04x}, "
            f"measurement type {offered.measurement_type:#04x})"
        )
    if not offered.ok:
        raise ValueError(
            f"the ACC settings request was refused: {offered.message} (PMD error {offered.status})"
        )
    rates = _offered(offered.settings, SETTING_SAMPLE_RATE, "sample rate")
    if rates is None:
        raise ValueError("the sensor offers no accelerometer sample rate")
    chosen = {SETTING_SAMPLE_RATE: int(min(rates, key=lambda v: abs(v - rate_hz)))}
    for kind, name, wanted in (
        (SETTING_RESOLUTION, "resolution", RESOLUTION_BITS),
        (SETTING_RANGE, "range", range_g),
        (SETTING_CHANNELS, "channel count", CHANNELS),
    ):
        values = _offered(offered.settings, kind, name)
        if values is None:
            continue
        if kind != SETTING_RANGE and wanted not in values:
            listed = ", ".join(f"{v:g}" for v in values)
            raise ValueError(f"the sensor offers accelerometer {name} {listed}, not {wanted}")
        chosen[kind] = int(min(values, key=lambda v: abs(v - wanted)))
    return start_command(chosen)


def check_started(response: bytes) -> None:
    """Accept the control point's answer to START; ``ValueError`` saying why it is not success."""
    answer = ControlResponse.from_bytes(response)
    if answer.op_code != OP_START:
        raise ValueError(f"the answer is not to the start command (op {answer.op_code:#04x})")
    if not answer.ok:
        raise ValueError(f"{answer.message} (PMD error {answer.status})")
