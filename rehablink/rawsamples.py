"""Compact binary form of a recording, for uploading raw samples (companion -> server).

Wire layout, little-endian::

    offset  size  type      field
    0       4     bytes     magic b"RLS1"
    4       1     uint8     format version (1)
    5       1     uint8     flags: bit 0 = has gyro
    6       2     uint16    reserved, 0
    8       4     uint32    n, number of samples
    12      8     float64   t0, time of the first sample, s
    20      n*4w  float32   n rows of w values: t - t0 [s], ax, ay, az [g] (, gx, gy, gz [deg/s])
                            with w = 4, or 7 with gyro

About 28 bytes per sample with a gyro (a CSV line is ~60).
"""

from __future__ import annotations

import struct

import numpy as np

from rehablink.recording import Recording, RecordingError

MAGIC = b"RLS1"
VERSION = 1
FLAG_GYRO = 0x01
HEADER = struct.Struct("<4sBBHId")
MAX_SAMPLES = 10_000_000
_ROW = np.dtype("<f4")


def encode(rec: Recording) -> bytes:
    """The recording in the compact binary form."""
    n = len(rec)
    t0 = float(rec.t[0]) if n else 0.0
    columns = [(rec.t - t0)[:, None], rec.acc] + ([rec.gyro] if rec.gyro is not None else [])
    table = np.hstack(columns).astype(_ROW) if n else np.zeros((0, 4), _ROW)
    flags = FLAG_GYRO if rec.gyro is not None else 0
    return HEADER.pack(MAGIC, VERSION, flags, 0, n, t0) + table.tobytes()


def expected_size(header: bytes) -> int:
    """Total size announced by a header (raises RecordingError on a bad header)."""
    if len(header) < HEADER.size:
        raise RecordingError(f"samples: header needs {HEADER.size} bytes, got {len(header)}")
    magic, version, flags, _reserved, n, t0 = HEADER.unpack_from(header)
    if magic != MAGIC or version != VERSION:
        raise RecordingError("samples: not RLS1 version 1 data")
    if flags & ~FLAG_GYRO or n > MAX_SAMPLES or not np.isfinite(t0):
        raise RecordingError("samples: impossible header")
    width = 7 if flags & FLAG_GYRO else 4
    return HEADER.size + n * width * 4


def decode(data: bytes) -> Recording:
    """Inverse of :func:`encode`; raises RecordingError on anything malformed."""
    size = expected_size(data)
    if len(data) != size:
        raise RecordingError(f"samples: expected {size} bytes, got {len(data)}")
    _magic, _version, flags, _reserved, n, t0 = HEADER.unpack_from(data)
    width = 7 if flags & FLAG_GYRO else 4
    raw = np.frombuffer(data, dtype=_ROW, offset=HEADER.size).reshape(n, width)
    table = raw.astype(np.float64)
    if not np.all(np.isfinite(table)):
        raise RecordingError("samples: non-finite values")
    t = table[:, 0] + t0
    if n > 1 and np.any(np.diff(t) < 0):
        raise RecordingError("samples: times go backwards")
    gyro = table[:, 4:7].copy() if width == 7 else None
    return Recording(t=t, acc=table[:, 1:4].copy(), gyro=gyro)
