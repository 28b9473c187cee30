"""The open RehabLink GATT profile, version 1: UUIDs, data packets, packetizer and decoder.

The normative description is ``firmware_protocol/SPEC.md``; this module implements it. Control
commands, responses and the status record are in :mod:`firmware_protocol.rehablink_control` and
re-exported here.

Data packet (notification on the Data characteristic), all little-endian::

    offset  size  type   field
    0       1     u8     bits 7-6 protocol version (1); bits 5-0 sample count n (1..63)
    1       1     u8     flags: bits 1-0 acc range code, bit 2 gyro present,
                         bits 4-3 gyro range code, bits 6-5 rate code, bit 7 resent
    2       2     u16    sequence number, wraps 65535 -> 0
    4       4     u32    sensor time of the first sample, microseconds, wraps after 2**32 us
    8       6|12  i16[]  n samples: ax, ay, az [, gx, gy, gz]; value = raw * range / 32768
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import IntFlag

import numpy as np

from firmware_protocol.rehablink_control import (
    ACC_RANGES_G,
    GYRO_RANGES_DPS,
    RATES_HZ,
    Command,
    Info,
    Opcode,
    ResendPlan,
    Response,
    ResultCode,
    State,
    Status,
    code_for,
)
from firmware_protocol.samples import SampleBatch, TimestampUnwrapper

__all__ = [
    "ACC_RANGES_G",
    "BATTERY_LEVEL_UUID",
    "BATTERY_SERVICE_UUID",
    "CONTROL_UUID",
    "DATA_UUID",
    "DEVICE_INFO_SERVICE_UUID",
    "GYRO_RANGES_DPS",
    "HEADER",
    "MAX_BATCH_LATENCY_S",
    "PROTOCOL_VERSION",
    "RATES_HZ",
    "SERVICE_UUID",
    "STATUS_UUID",
    "Command",
    "DataFlag",
    "DataPacket",
    "Info",
    "Opcode",
    "Packetizer",
    "RehabLinkDecoder",
    "ResendPlan",
    "Response",
    "ResultCode",
    "State",
    "Status",
    "code_for",
    "packet_capacity",
]

#: UUID base of the profile; 16-bit ids replace the first group's low half ("e65cXXXX").
UUID_BASE = "e65c{:04x}-123c-4349-bdb8-54252932f22f"
SERVICE_UUID = UUID_BASE.format(0x0001)
DATA_UUID = UUID_BASE.format(0x0002)
CONTROL_UUID = UUID_BASE.format(0x0003)
STATUS_UUID = UUID_BASE.format(0x0004)
BATTERY_SERVICE_UUID = "0000180f-0000-1000-8000-00805f9b34fb"
BATTERY_LEVEL_UUID = "00002a19-0000-1000-8000-00805f9b34fb"
DEVICE_INFO_SERVICE_UUID = "0000180a-0000-1000-8000-00805f9b34fb"

PROTOCOL_VERSION = 1
HEADER = struct.Struct("<BBHI")
MAX_SAMPLES = 63
ATT_OVERHEAD = 3
#: A sensor sends a packet at most this long after its first sample was taken (SPEC.md 4.2).
MAX_BATCH_LATENCY_S = 0.2


class DataFlag(IntFlag):
    """Single-bit fields of the flags byte (offset 1); the code fields are 2-bit numbers."""

    GYRO = 0x04
    RESENT = 0x80


def packet_capacity(mtu: int, has_gyro: bool) -> int:
    """Samples that fit in one Data notification at ATT MTU ``mtu`` (bytes).

    >>> packet_capacity(23, True), packet_capacity(247, True), packet_capacity(247, False)
    (1, 19, 39)
    """
    per_sample = 12 if has_gyro else 6
    n = (mtu - ATT_OVERHEAD - HEADER.size) // per_sample
    if n < 1:
        raise ValueError(f"ATT MTU {mtu} is too small for one sample (minimum 23)")
    return min(n, MAX_SAMPLES)


@dataclass(frozen=True, eq=False)
class DataPacket:
    """One Data notification: a header and ``n`` raw int16 samples.

    ``acc_raw`` and ``gyro_raw`` are int16 arrays of shape (n, 3); ``gyro_raw`` is None when the
    packet carries accelerometer only. Physical values are ``raw * range / 32768``.
    """

    sequence: int
    timestamp_us: int
    rate_hz: int
    acc_range_g: int
    acc_raw: np.ndarray = field(repr=False)
    gyro_range_dps: int = 2000
    gyro_raw: np.ndarray | None = field(default=None, repr=False)
    resent: bool = False
    version: int = PROTOCOL_VERSION

    def __post_init__(self) -> None:
        n = len(self.acc_raw)
        if not 1 <= n <= MAX_SAMPLES:
            raise ValueError(f"a packet holds 1..{MAX_SAMPLES} samples, got {n}")
        if self.gyro_raw is not None and np.shape(self.gyro_raw) != (n, 3):
            raise ValueError("gyro_raw must have the same number of samples as acc_raw")
        if not 0 <= self.sequence <= 0xFFFF or not 0 <= self.timestamp_us <= 0xFFFFFFFF:
            raise ValueError("sequence is u16 and timestamp_us is u32")
        if not 1 <= self.version <= 3:
            raise ValueError("version is a 2-bit field (1..3)")
        code_for(self.rate_hz, RATES_HZ)
        code_for(self.acc_range_g, ACC_RANGES_G)
        code_for(self.gyro_range_dps, GYRO_RANGES_DPS)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, DataPacket):
            return NotImplemented
        return bytes(self) == bytes(other)

    def __hash__(self) -> int:
        return hash(bytes(self))

    @property
    def flags(self) -> int:
        """The flags byte (offset 1)."""
        value = code_for(self.acc_range_g, ACC_RANGES_G)
        value |= code_for(self.rate_hz, RATES_HZ) << 5
        if self.gyro_raw is not None:  # gyro range bits stay zero without gyro
            value |= DataFlag.GYRO | code_for(self.gyro_range_dps, GYRO_RANGES_DPS) << 3
        if self.resent:
            value |= DataFlag.RESENT
        return value

    def __bytes__(self) -> bytes:
        n = len(self.acc_raw)
        head = HEADER.pack((self.version << 6) | n, self.flags, self.sequence, self.timestamp_us)
        acc = np.asarray(self.acc_raw, dtype="<i2").reshape(n, 3)
        body = acc if self.gyro_raw is None else np.hstack([acc, np.asarray(self.gyro_raw)])
        return head + np.ascontiguousarray(body, dtype="<i2").tobytes()

    @classmethod
    def from_bytes(cls, data: bytes) -> DataPacket:
        """Parse one Data notification; raises ``ValueError`` when it is malformed."""
        if len(data) < HEADER.size:
            raise ValueError(f"packet of {len(data)} bytes is shorter than the 8-byte header")
        ver_count, flags, sequence, timestamp_us = HEADER.unpack_from(data)
        version, n = ver_count >> 6, ver_count & 0x3F
        if version != PROTOCOL_VERSION:
            raise ValueError(f"unsupported data packet version {version}")
        has_gyro = bool(flags & DataFlag.GYRO)
        width = 6 if has_gyro else 3
        if n == 0 or len(data) != HEADER.size + 2 * width * n:
            raise ValueError(f"{len(data)} bytes do not hold {n} samples of {width} axes")
        raw = np.frombuffer(data, dtype="<i2", offset=HEADER.size).reshape(n, width)
        return cls(
            sequence=sequence,
            timestamp_us=timestamp_us,
            rate_hz=RATES_HZ[(flags >> 5) & 0x03],
            acc_range_g=ACC_RANGES_G[flags & 0x03],
            acc_raw=raw[:, :3].astype(np.int16),
            gyro_range_dps=GYRO_RANGES_DPS[(flags >> 3) & 0x03],
            gyro_raw=raw[:, 3:].astype(np.int16) if has_gyro else None,
            resent=bool(flags & DataFlag.RESENT),
        )

    def acc_g(self) -> np.ndarray:
        """Acceleration in g, shape (n, 3)."""
        return np.asarray(self.acc_raw, dtype=np.float64) * (self.acc_range_g / 32768.0)

    def gyro_dps(self) -> np.ndarray | None:
        """Angular rate in deg/s, shape (n, 3), or None."""
        if self.gyro_raw is None:
            return None
        return np.asarray(self.gyro_raw, dtype=np.float64) * (self.gyro_range_dps / 32768.0)


def quantize(values: np.ndarray, full_scale: float) -> np.ndarray:
    """Physical values to int16 counts for ``full_scale`` (clipped, rounded to nearest)."""
    counts = np.rint(np.asarray(values, dtype=np.float64) * (32768.0 / full_scale))
    return np.clip(counts, -32768, 32767).astype(np.int16)


class Packetizer:
    """Batch samples into Data packets sized from the negotiated ATT MTU (sensor side).

    Parameters
    ----------
    mtu : int
        Negotiated ATT MTU in bytes (23 .. 517).
    has_gyro : bool
        Whether samples carry angular rate.
    rate_hz : int
        Sampling rate, one of 25, 50, 100, 200 Hz.
    acc_range_g, gyro_range_dps : int
        Full-scale ranges used to quantize.
    max_samples : int, optional
        Upper bound on samples per packet; default: MTU capacity.
    max_latency_s : float or None
        Batching latency bound (SPEC.md 4.2): a packet holds at most ``rate * max_latency_s``
        samples, so its first sample is sent at most this long after it was taken (default
        0.2 s); None disables the bound.
    first_sequence : int
        Sequence number of the first packet (0 after a boot).
    """

    def __init__(
        self,
        mtu: int,
        has_gyro: bool,
        rate_hz: int = 100,
        acc_range_g: int = 8,
        gyro_range_dps: int = 2000,
        max_samples: int | None = None,
        first_sequence: int = 0,
        max_latency_s: float | None = MAX_BATCH_LATENCY_S,
    ) -> None:
        code_for(rate_hz, RATES_HZ)
        self.capacity = packet_capacity(mtu, has_gyro)
        if max_latency_s is not None:
            self.capacity = max(1, min(self.capacity, int(rate_hz * max_latency_s)))
        if max_samples is not None:
            self.capacity = max(1, min(self.capacity, max_samples))
        self.has_gyro = has_gyro
        self.rate_hz = rate_hz
        self.acc_range_g = acc_range_g
        self.gyro_range_dps = gyro_range_dps
        self.next_sequence = first_sequence & 0xFFFF
        self._t0_us: int | None = None
        self._acc: list[Sequence[float]] = []
        self._gyro: list[Sequence[float]] = []

    def push(
        self, timestamp_us: int, acc_g: Sequence[float], gyro_dps: Sequence[float] | None = None
    ) -> list[DataPacket]:
        """Add one sample taken at ``timestamp_us`` (sensor clock, µs); return completed packets."""
        if self.has_gyro and gyro_dps is None:
            raise ValueError("this packetizer carries gyro: pass gyro_dps")
        if self._t0_us is None:
            self._t0_us = timestamp_us
        self._acc.append(acc_g)
        if self.has_gyro and gyro_dps is not None:
            self._gyro.append(gyro_dps)
        return self.flush() if len(self._acc) >= self.capacity else []

    def flush(self) -> list[DataPacket]:
        """Emit the samples pending in a (possibly short) packet."""
        if not self._acc or self._t0_us is None:
            return []
        packet = DataPacket(
            sequence=self.next_sequence,
            timestamp_us=self._t0_us & 0xFFFFFFFF,
            rate_hz=self.rate_hz,
            acc_range_g=self.acc_range_g,
            acc_raw=quantize(np.asarray(self._acc), self.acc_range_g),
            gyro_range_dps=self.gyro_range_dps,
            gyro_raw=quantize(np.asarray(self._gyro), self.gyro_range_dps)
            if self.has_gyro
            else None,
        )
        self.next_sequence = (self.next_sequence + 1) & 0xFFFF
        self._t0_us, self._acc, self._gyro = None, [], []
        return [packet]


class RehabLinkDecoder:
    """Decoder of Data notifications; unwraps the u32 µs sensor clock into seconds."""

    def __init__(self) -> None:
        self.dropped = 0
        self._clock = TimestampUnwrapper(32)

    def reset_clock(self) -> None:
        """Forget the sensor clock (call after the sensor rebooted, SPEC.md 7.3)."""
        self._clock = TimestampUnwrapper(32)

    def feed(self, payload: bytes) -> list[SampleBatch]:
        """Decode one Data notification (one packet); malformed packets count in ``dropped``."""
        try:
            packet = DataPacket.from_bytes(bytes(payload))
        except ValueError:
            self.dropped += 1
            return []
        t0_s = self._clock.unwrap(packet.timestamp_us) * 1e-6
        n = len(packet.acc_raw)
        times = t0_s + np.arange(n, dtype=np.float64) / packet.rate_hz
        return [
            SampleBatch(
                acc_g=packet.acc_g(),
                gyro_dps=packet.gyro_dps(),
                sensor_time_s=times,
                sequence=packet.sequence,
                rate_hz=float(packet.rate_hz),
            )
        ]
