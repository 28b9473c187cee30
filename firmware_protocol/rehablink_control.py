"""RehabLink profile v1: Control commands and responses, and the Status record.

Control characteristic (write with response). Command, little-endian::

    offset  size  type  field
    0       1     u8    opcode (see Opcode)
    1       1     u8    token: chosen by the host, echoed in the response
    2       0..4  -     parameters (per opcode, see SPEC.md section 5)

Response (notification on Control)::

    0       1     u8    0x80 | opcode
    1       1     u8    token of the command
    2       1     u8    result code (see ResultCode)
    3       0..16 -     payload (per opcode)

Status characteristic (read / notify), 12 bytes::

    0 u8 protocol version | 1 u8 state | 2 u8 battery % | 3..5 u8 firmware major, minor, patch
    6 u8 configuration (same bit layout as the Data flags, bit 7 zero) | 7 u8 reserved (0)
    8 u16 backlog: packets held in the resend ring | 10 u16 next sequence number
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum

#: Code tables shared by the Data flags, the commands and the Status configuration byte.
RATES_HZ = (25, 50, 100, 200)
ACC_RANGES_G = (2, 4, 8, 16)
GYRO_RANGES_DPS = (250, 500, 1000, 2000)

RESPONSE_BIT = 0x80
_COMMAND_HEAD = struct.Struct("<BB")
_RESPONSE_HEAD = struct.Struct("<BBB")
_STATUS = struct.Struct("<BBBBBBBBHH")


def code_for(value: int, table: tuple[int, ...]) -> int:
    """Index of ``value`` in a code table; raises ``ValueError`` if it is not a listed value."""
    if value not in table:
        raise ValueError(f"{value} is not one of {', '.join(map(str, table))}")
    return table.index(value)


class Opcode(IntEnum):
    """Control opcodes and their parameters."""

    START = 0x01  # no parameters
    STOP = 0x02  # no parameters
    SET_RATE = 0x03  # u8 rate code
    SET_RANGES = 0x04  # u8 acc range code, u8 gyro range code
    GET_INFO = 0x05  # no parameters; response payload: see Info in SPEC.md
    RESEND_FROM = 0x06  # u16 first sequence wanted


#: Parameter length in bytes for each opcode.
PARAM_LENGTH = {
    Opcode.START: 0,
    Opcode.STOP: 0,
    Opcode.SET_RATE: 1,
    Opcode.SET_RANGES: 2,
    Opcode.GET_INFO: 0,
    Opcode.RESEND_FROM: 2,
}


class ResultCode(IntEnum):
    """Result of a command, byte 2 of a response."""

    OK = 0x00
    UNKNOWN_OPCODE = 0x01
    BAD_LENGTH = 0x02
    BAD_PARAMETER = 0x03
    WRONG_STATE = 0x04  # e.g. SET_RATE while streaming
    NOT_IN_BUFFER = 0x05  # RESEND_FROM a sequence no longer held
    BUSY = 0x06  # a resend is already in progress


class State(IntEnum):
    """Sensor state machine (SPEC.md section 6)."""

    IDLE = 0
    STREAMING = 1
    RESENDING = 2
    ERROR = 3


@dataclass(frozen=True)
class Command:
    """A Control command: opcode, host token and raw parameters."""

    opcode: Opcode
    token: int = 1
    params: bytes = b""

    def __post_init__(self) -> None:
        if not 0 <= self.token <= 0xFF:
            raise ValueError("token is a u8")
        if len(self.params) != PARAM_LENGTH[Opcode(self.opcode)]:
            raise ValueError(f"{Opcode(self.opcode).name} takes {PARAM_LENGTH[self.opcode]} bytes")

    def __bytes__(self) -> bytes:
        return _COMMAND_HEAD.pack(self.opcode, self.token) + self.params

    @classmethod
    def from_bytes(cls, data: bytes) -> Command:
        """Parse a command; raises ``ValueError`` (with the result code to answer) if malformed."""
        if len(data) < _COMMAND_HEAD.size:
            raise ValueError(ResultCode.BAD_LENGTH)
        opcode, token = _COMMAND_HEAD.unpack_from(data)
        if opcode not in PARAM_LENGTH:
            raise ValueError(ResultCode.UNKNOWN_OPCODE)
        params = bytes(data[_COMMAND_HEAD.size :])
        if len(params) != PARAM_LENGTH[Opcode(opcode)]:
            raise ValueError(ResultCode.BAD_LENGTH)
        if opcode in (Opcode.SET_RATE, Opcode.SET_RANGES) and max(params) > 3:
            raise ValueError(ResultCode.BAD_PARAMETER)
        return cls(Opcode(opcode), token, params)

    @classmethod
    def start(cls, token: int = 1) -> Command:
        return cls(Opcode.START, token)

    @classmethod
    def stop(cls, token: int = 1) -> Command:
        return cls(Opcode.STOP, token)

    @classmethod
    def set_rate(cls, rate_hz: int, token: int = 1) -> Command:
        return cls(Opcode.SET_RATE, token, bytes([code_for(rate_hz, RATES_HZ)]))

    @classmethod
    def set_ranges(cls, acc_range_g: int, gyro_range_dps: int, token: int = 1) -> Command:
        codes = (code_for(acc_range_g, ACC_RANGES_G), code_for(gyro_range_dps, GYRO_RANGES_DPS))
        return cls(Opcode.SET_RANGES, token, bytes(codes))

    @classmethod
    def get_info(cls, token: int = 1) -> Command:
        return cls(Opcode.GET_INFO, token)

    @classmethod
    def resend_from(cls, sequence: int, token: int = 1) -> Command:
        return cls(Opcode.RESEND_FROM, token, struct.pack("<H", sequence & 0xFFFF))


@dataclass(frozen=True)
class Response:
    """A Control response: echoes opcode and token, a result code and an optional payload."""

    opcode: int
    token: int
    result: ResultCode
    payload: bytes = b""

    def __post_init__(self) -> None:
        if not (0 <= self.opcode <= 0x7F and 0 <= self.token <= 0xFF):
            raise ValueError("opcode is 7 bits and token a u8")
        if len(self.payload) > 16:
            raise ValueError("a response payload is at most 16 bytes (fits MTU 23)")

    @property
    def ok(self) -> bool:
        return self.result == ResultCode.OK

    def __bytes__(self) -> bytes:
        head = _RESPONSE_HEAD.pack(RESPONSE_BIT | self.opcode, self.token, self.result)
        return head + self.payload

    @classmethod
    def from_bytes(cls, data: bytes) -> Response:
        """Parse a response notification; raises ``ValueError`` if malformed."""
        if len(data) < _RESPONSE_HEAD.size or len(data) > _RESPONSE_HEAD.size + 16:
            raise ValueError(f"a response is 3..19 bytes, got {len(data)}")
        op, token, result = _RESPONSE_HEAD.unpack_from(data)
        if not op & RESPONSE_BIT:
            raise ValueError("byte 0 of a response has bit 7 set")
        try:
            code = ResultCode(result)
        except ValueError:
            raise ValueError(f"unknown result code {result:#04x}") from None
        return cls(op & 0x7F, token, code, bytes(data[_RESPONSE_HEAD.size :]))


@dataclass(frozen=True)
class Status:
    """The Status characteristic: state, battery, firmware version, configuration, backlog."""

    state: State
    battery_pct: int
    firmware: tuple[int, int, int]
    rate_hz: int = 100
    acc_range_g: int = 8
    gyro_range_dps: int = 2000
    has_gyro: bool = True
    backlog_packets: int = 0
    next_sequence: int = 0
    version: int = 1

    def __post_init__(self) -> None:
        if not 0 <= self.battery_pct <= 100:
            raise ValueError("battery_pct is 0..100")
        if not all(0 <= part <= 0xFF for part in self.firmware) or len(self.firmware) != 3:
            raise ValueError("firmware is three u8 parts")
        if not (0 <= self.backlog_packets <= 0xFFFF and 0 <= self.next_sequence <= 0xFFFF):
            raise ValueError("backlog_packets and next_sequence are u16")

    @property
    def configuration(self) -> int:
        """Byte 6: the Data flags layout (acc range, gyro present, gyro range, rate)."""
        value = code_for(self.acc_range_g, ACC_RANGES_G) | (0x04 if self.has_gyro else 0)
        value |= code_for(self.gyro_range_dps, GYRO_RANGES_DPS) << 3
        return value | code_for(self.rate_hz, RATES_HZ) << 5

    def __bytes__(self) -> bytes:
        return _STATUS.pack(
            self.version, self.state, self.battery_pct, *self.firmware,
            self.configuration, 0, self.backlog_packets, self.next_sequence,
        )  # fmt: skip

    @classmethod
    def from_bytes(cls, data: bytes) -> Status:
        """Parse the Status value (12 bytes; longer values from later versions are accepted)."""
        if len(data) < _STATUS.size:
            raise ValueError(f"status is at least {_STATUS.size} bytes, got {len(data)}")
        version, state, battery, major, minor, patch, config, _, backlog, nxt = _STATUS.unpack_from(
            data
        )
        try:
            state_value = State(state)
        except ValueError:
            raise ValueError(f"unknown state {state}") from None
        if battery > 100:
            raise ValueError(f"battery {battery}% is impossible")
        return cls(
            state=state_value,
            battery_pct=battery,
            firmware=(major, minor, patch),
            rate_hz=RATES_HZ[(config >> 5) & 0x03],
            acc_range_g=ACC_RANGES_G[config & 0x03],
            gyro_range_dps=GYRO_RANGES_DPS[(config >> 3) & 0x03],
            has_gyro=bool(config & 0x04),
            backlog_packets=backlog,
            next_sequence=nxt,
            version=version,
        )


_INFO = struct.Struct("<BBBBBH")
_RESEND = struct.Struct("<HH")


@dataclass(frozen=True)
class Info:
    """Payload of a GET_INFO response: what the sensor can do."""

    firmware: tuple[int, int, int]
    has_gyro: bool
    can_resend: bool
    ring_capacity_packets: int
    version: int = 1

    def __bytes__(self) -> bytes:
        caps = (0x01 if self.has_gyro else 0) | (0x02 if self.can_resend else 0)
        return _INFO.pack(self.version, *self.firmware, caps, self.ring_capacity_packets)

    @classmethod
    def from_bytes(cls, data: bytes) -> Info:
        """Parse the payload (7 bytes; later versions may append fields)."""
        if len(data) < _INFO.size:
            raise ValueError(f"info payload is at least {_INFO.size} bytes, got {len(data)}")
        version, major, minor, patch, caps, ring = _INFO.unpack_from(data)
        return cls((major, minor, patch), bool(caps & 1), bool(caps & 2), ring, version)


@dataclass(frozen=True)
class ResendPlan:
    """Payload of a RESEND_FROM response: the first sequence resent and how many packets follow."""

    first_sequence: int
    count: int

    def __bytes__(self) -> bytes:
        return _RESEND.pack(self.first_sequence, self.count)

    @classmethod
    def from_bytes(cls, data: bytes) -> ResendPlan:
        if len(data) != _RESEND.size:
            raise ValueError(f"resend payload is {_RESEND.size} bytes, got {len(data)}")
        return cls(*_RESEND.unpack(data))
