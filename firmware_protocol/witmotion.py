"""WitMotion WT901BLECL / BWT901BLE 5.0 family: frame codec, encoder, stream reassembler.

Source: WITMOTION/WitBluetooth_BWT901BLE5_0, ``Python/BWT901BLE5.0_python_sdk/device_model.py``
(``onDataReceived``, ``processData``, ``get_readBytes``, ``get_writeBytes``, ``unlock``, ``save``)
and the WitMotion SDK register header ``REG.h`` (``RRATE_*`` output-rate codes).

Notifications on 0xFFE4 are a byte stream of 20-byte frames, which may be split across or merged
within notifications. Data frame, little-endian, no checksum on the BLE 5.0 firmware::

    offset  size  type     field
    0       2     u8[2]    0x55 0x61
    2       6     i16[3]   ax, ay, az     g     = v / 32768 * 16
    8       6     i16[3]   wx, wy, wz     deg/s = v / 32768 * 2000
    14      6     i16[3]   roll, pitch, yaw  deg = v / 32768 * 180

Register reply (to ``FF AA 27 <reg> 00``): ``0x55 0x71``, u16 start register, then eight i16
register values (20 bytes). Commands are ``FF AA <reg> <lo> <hi>`` written to 0xFFE9.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from firmware_protocol.samples import SampleBatch

SERVICE_UUID = "0000ffe5-0000-1000-8000-00805f9a34fb"
NOTIFY_UUID = "0000ffe4-0000-1000-8000-00805f9a34fb"
WRITE_UUID = "0000ffe9-0000-1000-8000-00805f9a34fb"

FRAME_LENGTH = 20
HEADER = 0x55
TYPE_DATA = 0x61
TYPE_REGISTERS = 0x71
ACC_FULL_SCALE_G = 16.0
GYRO_FULL_SCALE_DPS = 2000.0
ANGLE_FULL_SCALE_DEG = 180.0

REG_SAVE = 0x00
REG_RRATE = 0x03
REG_KEY = 0x69
KEY_UNLOCK = 0xB588
#: Output-rate register codes (WitMotion SDK REG.h; 0x0A = 125 Hz exists on the WT931 only).
RATE_CODES = {10: 0x06, 20: 0x07, 50: 0x08, 100: 0x09, 200: 0x0B}


@dataclass(frozen=True)
class WitFrame:
    """One 0x61 data frame in physical units (g, deg/s, deg)."""

    acc_g: tuple[float, float, float]
    gyro_dps: tuple[float, float, float]
    angle_deg: tuple[float, float, float]

    @classmethod
    def from_bytes(cls, data: bytes) -> WitFrame:
        """Decode a 20-byte ``55 61`` frame; raises ``ValueError`` otherwise."""
        if len(data) != FRAME_LENGTH or data[0] != HEADER or data[1] != TYPE_DATA:
            raise ValueError("not a 20-byte 0x55 0x61 WitMotion data frame")
        raw = np.frombuffer(data, dtype="<i2", offset=2).astype(np.float64) / 32768.0
        acc, gyro, angle = raw[0:3] * 16.0, raw[3:6] * 2000.0, raw[6:9] * 180.0
        return cls(
            (float(acc[0]), float(acc[1]), float(acc[2])),
            (float(gyro[0]), float(gyro[1]), float(gyro[2])),
            (float(angle[0]), float(angle[1]), float(angle[2])),
        )

    def __bytes__(self) -> bytes:
        return encode_frame(self.acc_g, self.gyro_dps, self.angle_deg)


def _counts(values: npt.ArrayLike, full_scale: float) -> np.ndarray:
    scaled = np.rint(np.asarray(values, dtype=np.float64) * (32768.0 / full_scale))
    return np.clip(scaled, -32768, 32767).astype("<i2")


def encode_frame(
    acc_g: npt.ArrayLike,
    gyro_dps: npt.ArrayLike,
    angle_deg: npt.ArrayLike = (0.0, 0.0, 0.0),
) -> bytes:
    """Encode one 0x61 data frame (values are rounded to counts and clipped to full scale)."""
    body = np.concatenate(
        [
            _counts(acc_g, ACC_FULL_SCALE_G),
            _counts(gyro_dps, GYRO_FULL_SCALE_DPS),
            _counts(angle_deg, ANGLE_FULL_SCALE_DEG),
        ]
    )
    return bytes([HEADER, TYPE_DATA]) + body.tobytes()


def write_register(register: int, value: int) -> bytes:
    """Command ``FF AA <reg> <value lo> <value hi>``."""
    return bytes([0xFF, 0xAA, register & 0xFF, value & 0xFF, (value >> 8) & 0xFF])


def read_register(register: int) -> bytes:
    """Command ``FF AA 27 <reg> 00``; the reply is a ``55 71`` frame."""
    return bytes([0xFF, 0xAA, 0x27, register & 0xFF, 0x00])


UNLOCK = write_register(REG_KEY, KEY_UNLOCK)  # FF AA 69 88 B5
SAVE = write_register(REG_SAVE, 0x0000)  # FF AA 00 00 00


def rate_code(rate_hz: float) -> tuple[int, int]:
    """The lowest supported output rate >= ``rate_hz`` and its register code ``(rate, code)``."""
    for rate in sorted(RATE_CODES):
        if rate >= rate_hz:
            return rate, RATE_CODES[rate]
    raise ValueError(f"WitMotion output rates are {sorted(RATE_CODES)} Hz, not {rate_hz}")


def set_rate(rate_hz: float) -> bytes:
    """Command that sets the output rate (send after :data:`UNLOCK`)."""
    return write_register(REG_RRATE, rate_code(rate_hz)[1])


class FrameReassembler:
    """Cut a WitMotion byte stream into 20-byte frames, whatever the notification boundaries.

    Bytes that do not start a known frame (``55 61`` or ``55 71``) are skipped; each skipped run
    counts once in ``dropped``.
    """

    def __init__(self) -> None:
        self._buffer = bytearray()
        self.dropped = 0
        self._skipping = False

    def _skip(self, count: int) -> None:
        del self._buffer[:count]
        if not self._skipping:
            self.dropped += 1
            self._skipping = True

    def feed(self, chunk: bytes) -> list[bytes]:
        """Add bytes; return the complete frames now available, in order."""
        self._buffer += chunk
        frames: list[bytes] = []
        while self._buffer:
            start = self._buffer.find(HEADER)
            if start < 0:
                self._skip(len(self._buffer))
                break
            if start > 0:
                self._skip(start)
            if len(self._buffer) < 2:
                break
            if self._buffer[1] not in (TYPE_DATA, TYPE_REGISTERS):
                self._skip(1)
                continue
            if len(self._buffer) < FRAME_LENGTH:
                break
            frames.append(bytes(self._buffer[:FRAME_LENGTH]))
            del self._buffer[:FRAME_LENGTH]
            self._skipping = False
        return frames

    @property
    def pending_bytes(self) -> int:
        """Bytes held waiting for the rest of a frame."""
        return len(self._buffer)


class WitMotionDecoder:
    """Stream decoder: reassembles frames and returns the 0x61 data frames as one batch."""

    def __init__(self) -> None:
        self._frames = FrameReassembler()
        self.register_replies: list[bytes] = []

    @property
    def dropped(self) -> int:
        return self._frames.dropped

    @property
    def pending_bytes(self) -> int:
        return self._frames.pending_bytes

    def feed(self, payload: bytes) -> list[SampleBatch]:
        """Decode the data frames completed by this notification (no sensor timestamps)."""
        frames = self._frames.feed(bytes(payload))
        data = [f for f in frames if f[1] == TYPE_DATA]
        self.register_replies += [f for f in frames if f[1] == TYPE_REGISTERS]
        if not data:
            return []
        raw = np.frombuffer(b"".join(f[2:] for f in data), dtype="<i2").reshape(-1, 9)
        scaled = raw.astype(np.float64) / 32768.0
        return [
            SampleBatch(
                acc_g=scaled[:, 0:3] * ACC_FULL_SCALE_G,
                gyro_dps=scaled[:, 3:6] * GYRO_FULL_SCALE_DPS,
            )
        ]
