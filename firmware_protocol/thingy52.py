"""Nordic Thingy:52 motion service: raw accelerometer, gyroscope and compass data.

Sources (Nordic-Thingy52-FW): ``include/ble_services/ble_tms.h`` (UUIDs, ``ble_tms_raw_t``,
``ble_tms_config_t``, ``BLE_TMS_CONFIG_MPUF_MIN`` = 1 / ``_MAX`` = 200 Hz),
``source/modules/m_motion.c`` (``DRV_MOTION_EVT_RAW``: 16Q16 values shifted right by the integer
bit counts 6, 11 and 12, giving Q6.10, Q11.5 and Q12.4) and ``include/modules/m_motion.h``
(``MOTION_DEFAULT_CONFIG``: 1000, 500, 500 ms, 10 Hz, wake on motion 1).

Note: Nordic's Thingy.js web client divides by 64, 2048 and 4096; that uses the integer bit
counts as if they were fraction bits and disagrees with the firmware (1 g would read 16 g).
The firmware is authoritative here.

Raw data notification (0x0406), 18 bytes, little-endian::

    offset  size  type     field
    0       6     i16[3]   accelerometer x, y, z   g     = v / 1024  (Q6.10)
    6       6     i16[3]   gyroscope x, y, z       deg/s = v / 32    (Q11.5)
    12      6     i16[3]   compass x, y, z         µT    = v / 16    (Q12.4)

Configuration (0x0401, read/write), 9 bytes ``<HHHHB``: pedometer interval ms, temperature
compensation interval ms, compass compensation interval ms, motion processing frequency Hz,
wake on motion (0/1).
"""

from __future__ import annotations

import struct

import numpy as np
import numpy.typing as npt

from firmware_protocol.samples import SampleBatch

UUID_BASE = "ef68{:04x}-9b35-4933-9b10-52ffa9740042"
CONFIGURATION_SERVICE_UUID = UUID_BASE.format(0x0100)
SERVICE_UUID = UUID_BASE.format(0x0400)
CONFIG_UUID = UUID_BASE.format(0x0401)
RAW_UUID = UUID_BASE.format(0x0406)

ACC_LSB_PER_G = 1024.0
GYRO_LSB_PER_DPS = 32.0
COMPASS_LSB_PER_UT = 16.0
MIN_RATE_HZ, MAX_RATE_HZ = 1, 200
RAW_LENGTH = 18
_CONFIG = struct.Struct("<HHHHB")


def encode_raw(
    acc_g: npt.ArrayLike, gyro_dps: npt.ArrayLike, compass_ut: npt.ArrayLike = (0, 0, 0)
) -> bytes:
    """One raw-data notification (values rounded to the fixed-point step and clipped)."""
    parts = [
        np.asarray(acc_g, dtype=np.float64) * ACC_LSB_PER_G,
        np.asarray(gyro_dps, dtype=np.float64) * GYRO_LSB_PER_DPS,
        np.asarray(compass_ut, dtype=np.float64) * COMPASS_LSB_PER_UT,
    ]
    counts = np.clip(np.rint(np.concatenate(parts)), -32768, 32767).astype("<i2")
    return counts.tobytes()


def encode_config(
    rate_hz: int,
    pedometer_interval_ms: int = 1000,
    temperature_interval_ms: int = 500,
    compass_interval_ms: int = 500,
    wake_on_motion: bool = True,
) -> bytes:
    """Configuration value with motion processing frequency ``rate_hz`` (1..200 Hz)."""
    if not MIN_RATE_HZ <= rate_hz <= MAX_RATE_HZ:
        raise ValueError(f"Thingy:52 motion frequency is {MIN_RATE_HZ}..{MAX_RATE_HZ} Hz")
    return _CONFIG.pack(
        pedometer_interval_ms, temperature_interval_ms, compass_interval_ms,
        int(rate_hz), int(wake_on_motion),
    )  # fmt: skip


def decode_config(data: bytes) -> tuple[int, int, int, int, int]:
    """(pedometer ms, temperature ms, compass ms, motion Hz, wake on motion)."""
    if len(data) != _CONFIG.size:
        raise ValueError(f"Thingy:52 motion configuration is 9 bytes, got {len(data)}")
    return _CONFIG.unpack(data)


class Thingy52Decoder:
    """Stream decoder: each raw-data notification is one sample; no sensor timestamps."""

    def __init__(self, rate_hz: float | None = None) -> None:
        self.dropped = 0
        self.rate_hz = rate_hz

    def feed(self, payload: bytes) -> list[SampleBatch]:
        """Decode one 18-byte notification; any other length counts in ``dropped``."""
        if len(payload) != RAW_LENGTH:
            self.dropped += 1
            return []
        raw = np.frombuffer(bytes(payload), dtype="<i2").astype(np.float64)
        return [
            SampleBatch(
                acc_g=(raw[0:3] / ACC_LSB_PER_G).reshape(1, 3),
                gyro_dps=(raw[3:6] / GYRO_LSB_PER_DPS).reshape(1, 3),
                rate_hz=self.rate_hz,
            )
        ]
