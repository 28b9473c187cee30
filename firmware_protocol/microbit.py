"""BBC micro:bit accelerometer service (v1 and v2).

Source: Lancaster University micro:bit runtime documentation, "Bluetooth" / GATT profile
(``MicroBitAccelerometerService``): Accelerometer Data characteristic (read, notify) holding
three little-endian int16 values X, Y, Z in milli-g; Accelerometer Period characteristic
(read, write) holding a u16 period in milliseconds, one of 1, 2, 5, 10, 20, 80, 160, 640.

Data notification, 6 bytes::

    offset  size  type     field
    0       6     i16[3]   x, y, z   g = v / 1000
"""

from __future__ import annotations

import struct

import numpy as np
import numpy.typing as npt

from firmware_protocol.samples import SampleBatch

SERVICE_UUID = "e95d0753-251d-470a-a062-fa1922dfa9a8"
DATA_UUID = "e95dca4b-251d-470a-a062-fa1922dfa9a8"
PERIOD_UUID = "e95dfb24-251d-470a-a062-fa1922dfa9a8"

#: Periods (ms) the runtime accepts; other values are rounded by the runtime.
VALID_PERIODS_MS = (1, 2, 5, 10, 20, 80, 160, 640)
_XYZ = struct.Struct("<hhh")


def encode_sample(acc_g: npt.ArrayLike) -> bytes:
    """One Accelerometer Data value from acceleration in g (rounded to milli-g, clipped)."""
    milli = np.clip(np.rint(np.asarray(acc_g, dtype=np.float64) * 1000.0), -32768, 32767)
    return _XYZ.pack(*(int(v) for v in milli))


def decode_sample(data: bytes) -> tuple[float, float, float]:
    """Acceleration in g from one 6-byte value; raises ``ValueError`` on another length."""
    if len(data) != _XYZ.size:
        raise ValueError(f"micro:bit accelerometer data is 6 bytes, got {len(data)}")
    x, y, z = _XYZ.unpack(data)
    return x / 1000.0, y / 1000.0, z / 1000.0


def period_for(rate_hz: float) -> int:
    """The longest valid period (ms) giving at least ``rate_hz`` samples per second."""
    candidates = [p for p in VALID_PERIODS_MS if 1000.0 / p >= rate_hz]
    if not candidates:
        raise ValueError(f"the micro:bit samples at most 1000 Hz, not {rate_hz}")
    return max(candidates)


def encode_period(period_ms: int) -> bytes:
    """Accelerometer Period value: u16 little-endian milliseconds."""
    if period_ms not in VALID_PERIODS_MS:
        raise ValueError(f"period {period_ms} ms is not one of {VALID_PERIODS_MS}")
    return struct.pack("<H", period_ms)


def decode_period(data: bytes) -> int:
    """Period in ms from the Accelerometer Period value."""
    if len(data) != 2:
        raise ValueError(f"the period is 2 bytes, got {len(data)}")
    return int(struct.unpack("<H", data)[0])


class MicrobitDecoder:
    """Stream decoder: each notification is one sample; no sensor timestamps."""

    def __init__(self, rate_hz: float | None = None) -> None:
        self.dropped = 0
        self.rate_hz = rate_hz

    def feed(self, payload: bytes) -> list[SampleBatch]:
        """Decode one notification; a value that is not 6 bytes counts in ``dropped``."""
        try:
            acc = decode_sample(bytes(payload))
        except ValueError:
            self.dropped += 1
            return []
        return [SampleBatch(acc_g=np.array([acc]), rate_hz=self.rate_hz)]
