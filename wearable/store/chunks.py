"""Compact raw samples: one chunk of a set's stream as zlib-compressed little-endian integers.

Pure: arrays in, bytes out, and back. Layout of the decompressed payload for ``n`` samples
(the chunk's first time ``t0_s`` and ``n`` live in their own columns):

======  ================  =======  ===============================================
offset  type              count    meaning
======  ================  =======  ===============================================
0       int32 LE          n        t - t0, microseconds
4n      int16 LE          3n       acceleration x, y, z interleaved, 1/2048 g (±16 g)
10n     int16 LE          3n       angular rate x, y, z, 1/16 deg/s (±2048 deg/s),
                                   present only when the chunk has a gyro
======  ================  =======  ===============================================

Resolution (0.5 mg, 0.0625 deg/s, 1 µs) is finer than any supported sensor sends, so a stored
set re-analyses to the same result.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

ACC_LSB_PER_G = 2048.0
GYRO_LSB_PER_DPS = 16.0
TIME_LSB_PER_S = 1_000_000.0
_I16 = np.iinfo(np.int16)


class ChunkError(ValueError):
    """A stored chunk that does not decode (corrupt database)."""


@dataclass(frozen=True, eq=False)
class Chunk:
    """Decoded samples of one chunk: times, s; acceleration, g; angular rate, deg/s or None."""

    t: FloatArray
    acc: FloatArray
    gyro: FloatArray | None


def _to_int16(values: FloatArray, scale: float) -> npt.NDArray[np.int16]:
    scaled = np.rint(np.nan_to_num(values) * scale)
    return np.clip(scaled, _I16.min, _I16.max).astype("<i2")


def encode_chunk(t: FloatArray, acc: FloatArray, gyro: FloatArray | None) -> tuple[float, bytes]:
    """Encode samples; returns ``(t0_s, blob)``.

    Parameters
    ----------
    t : ndarray, shape (n,)
        Sample times, s (a chunk must span less than 35 minutes).
    acc : ndarray, shape (n, 3)
        Acceleration, g.
    gyro : ndarray, shape (n, 3) or None
        Angular rate, deg/s.
    """
    n = len(t)
    if n == 0:
        raise ValueError("empty chunk")
    t0 = float(t[0])
    dt_us = np.rint((np.asarray(t, dtype=np.float64) - t0) * TIME_LSB_PER_S)
    if dt_us.min() < np.iinfo(np.int32).min or dt_us.max() > np.iinfo(np.int32).max:
        raise ValueError("chunk spans too long a time")
    parts = [dt_us.astype("<i4").tobytes(), _to_int16(acc, ACC_LSB_PER_G).tobytes()]
    if gyro is not None:
        parts.append(_to_int16(gyro, GYRO_LSB_PER_DPS).tobytes())
    return t0, zlib.compress(b"".join(parts), 6)


def decode_chunk(t0_s: float, n: int, has_gyro: bool, blob: bytes) -> Chunk:
    """Inverse of :func:`encode_chunk`; raises :class:`ChunkError` on a corrupt blob."""
    try:
        raw = zlib.decompress(blob)
    except zlib.error as exc:
        raise ChunkError(f"corrupt sample chunk: {exc}") from None
    expected = n * (4 + 6 + (6 if has_gyro else 0))
    if len(raw) != expected:
        raise ChunkError(f"corrupt sample chunk: {len(raw)} bytes, expected {expected}")
    t = t0_s + np.frombuffer(raw, "<i4", n, 0).astype(np.float64) / TIME_LSB_PER_S
    acc = np.frombuffer(raw, "<i2", 3 * n, 4 * n).reshape(n, 3) / ACC_LSB_PER_G
    gyro = None
    if has_gyro:
        gyro = np.frombuffer(raw, "<i2", 3 * n, 10 * n).reshape(n, 3) / GYRO_LSB_PER_DPS
    return Chunk(t=t, acc=acc, gyro=gyro)
