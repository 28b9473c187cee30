"""Polar Measurement Data (PMD) accelerometer stream: Verity Sense, H10, OH1.

Sources: polar-ble-sdk ``technical_documentation/Polar_Measurement_Data_Specification.pdf``
(service, control point, start command, data frame header), and the SDK's reference parsers
``BlePMDClient.parseDeltaFramesAll`` / ``parseDeltaFrameRefSamples`` / ``parseDeltaFrame`` and
``AccData.parseDataFromDataFrame`` (frame types and units).

Data notification (0xFB005C82), little-endian::

    offset  size  type   field
    0       1     u8     measurement type: 0x02 = ACC
    1       8     u64    timestamp of the LAST sample in the frame, ns since 2000-01-01
    9       1     u8     frame type: bit 7 = compressed, bits 6-0 = type
    10      ...          content

Uncompressed types: 0x00 int8, 0x01 int16, 0x02 int24 triples x, y, z in milli-g.
Compressed (delta) types 0x80 / 0x81: a reference sample (3 × int16), then blocks of
``delta bit width u8, sample count u8, count × 3 deltas packed LSB first`` (each block padded to
a whole byte); deltas are signed and accumulate onto the previous sample. Type 0x80 values times
the stream ``factor`` are g (the SDK multiplies by factor × 1000 for milli-g); type 0x81 values
times ``factor`` are milli-g. The factor arrives as setting 0x05 (float32) in the response to
the start command; without it, 0x80 uses range / 32768 (8 g range: 1/4096 g).

The control point (settings lists, start, stop, responses) is
:mod:`firmware_protocol.polar_pmd_control`.
"""

from __future__ import annotations

import math
import struct

import numpy as np

from firmware_protocol.polar_pmd_control import (
    MEASUREMENT_ACC,
    OP_START,
    SETTING_FACTOR,
    ControlResponse,
)
from firmware_protocol.samples import SampleBatch

SERVICE_UUID = "fb005c80-02e7-f387-1cad-8acd2d8df0c8"
CONTROL_UUID = "fb005c81-02e7-f387-1cad-8acd2d8df0c8"
DATA_UUID = "fb005c82-02e7-f387-1cad-8acd2d8df0c8"

COMPRESSED = 0x80
HEADER = struct.Struct("<BQB")
EPOCH_2000_UNIX_S = 946_684_800
_RAW_WIDTH = {0x00: 1, 0x01: 2, 0x02: 3}


def pack_delta_block(deltas: np.ndarray, bit_width: int) -> bytes:
    """Pack an (n, channels) int array of deltas into one block (encoder side, for tests/sims)."""
    n = deltas.shape[0]
    mask = (1 << bit_width) - 1
    values = (deltas.astype(np.int64).ravel() & mask).astype(np.uint64)
    bits = ((values[:, None] >> np.arange(bit_width, dtype=np.uint64)) & 1).astype(np.uint8)
    packed = np.packbits(bits.ravel(), bitorder="little").tobytes()
    return bytes([bit_width, n]) + packed


def encode_compressed_acc(
    samples: np.ndarray, timestamp_ns: int, block: int = 16, frame_type: int = COMPRESSED
) -> bytes:
    """A compressed frame from int16 counts of shape (n, 3): reference, then delta blocks.

    ``frame_type`` 0x80: counts × factor are g; 0x81: counts × factor are milli-g.
    """
    counts = np.asarray(samples, dtype=np.int64)
    out = HEADER.pack(MEASUREMENT_ACC, timestamp_ns, frame_type)
    out += counts[0].astype("<i2").tobytes()
    deltas = np.diff(counts, axis=0)
    for start in range(0, len(deltas), block):
        part = deltas[start : start + block]
        peak = int(np.max(np.abs(part))) if part.size else 0
        out += pack_delta_block(part, max(1, peak.bit_length() + 1))
    return out


def encode_raw_acc(milli_g: np.ndarray, timestamp_ns: int) -> bytes:
    """An uncompressed frame (type 0x01) from int16 milli-g of shape (n, 3)."""
    counts = np.asarray(milli_g, dtype="<i2")
    return HEADER.pack(MEASUREMENT_ACC, timestamp_ns, 0x01) + counts.tobytes()


def decode_delta_frames(content: bytes, channels: int = 3, resolution: int = 16) -> np.ndarray:
    """Decompress a delta frame into an (n, channels) int64 array; ``ValueError`` if malformed."""
    ref_width = math.ceil(resolution / 8)
    if len(content) < channels * ref_width:
        raise ValueError("compressed frame shorter than its reference sample")
    ref = [
        int.from_bytes(content[i * ref_width : (i + 1) * ref_width], "little", signed=True)
        for i in range(channels)
    ]
    rows = [np.array([ref], dtype=np.int64)]
    offset = channels * ref_width
    while offset < len(content):
        if offset + 2 > len(content):
            raise ValueError("truncated delta block header")
        width, count = content[offset], content[offset + 1]
        offset += 2
        if not 1 <= width <= 32 or count == 0:
            raise ValueError(f"impossible delta block: width {width}, count {count}")
        nbytes = math.ceil(width * count * channels / 8)
        if offset + nbytes > len(content):
            raise ValueError("truncated delta block")
        bits = np.unpackbits(
            np.frombuffer(content, dtype=np.uint8, count=nbytes, offset=offset), bitorder="little"
        )[: width * count * channels].reshape(-1, width)
        values = bits.astype(np.int64) @ (np.int64(1) << np.arange(width, dtype=np.int64))
        values = np.where(values >= 1 << (width - 1), values - (1 << width), values)
        rows.append(values.reshape(count, channels))
        offset += nbytes
    return np.cumsum(np.concatenate(rows), axis=0)


class PolarPmdDecoder:
    """Stream decoder of PMD ACC data frames with per-sample times (s since 2000-01-01).

    Parameters
    ----------
    rate_hz : float
        Nominal rate, used to space the samples of the first frame (later frames are spaced
        by the time since the previous frame, as the SDK does).
    factor : float or None
        Stream factor from the start response (see :meth:`on_control_response`).
    range_g : int
        Range requested, for compressed frames when no factor was reported.
    """

    def __init__(self, rate_hz: float = 52.0, factor: float | None = None, range_g: int = 8):
        self.dropped = 0
        self.rate_hz = rate_hz
        self.factor = factor
        self.range_g = range_g
        self._previous_ns: int | None = None

    def on_started(self, rate_hz: float) -> None:
        """The rate the sensor was started at, Hz: spaces the first frame's samples."""
        self.rate_hz = rate_hz

    def on_control_response(self, payload: bytes) -> None:
        """Read the factor from a control-point response ``F0 op type status more settings``."""
        try:
            response = ControlResponse.from_bytes(bytes(payload))
        except ValueError:
            return
        factor = response.settings.get(SETTING_FACTOR)
        if response.op_code == OP_START and factor and math.isfinite(factor[0]) and factor[0] > 0:
            self.factor = factor[0]

    def _acc_g(self, frame_type: int, content: bytes) -> np.ndarray:
        if frame_type in _RAW_WIDTH:
            width = _RAW_WIDTH[frame_type]
            if not content or len(content) % (3 * width):
                raise ValueError("raw ACC content is not whole x, y, z samples")
            raw = np.frombuffer(content, dtype=np.uint8).reshape(-1, width)
            values = raw.astype(np.int64) @ (np.int64(1) << (8 * np.arange(width, dtype=np.int64)))
            values = np.where(values >= 1 << (8 * width - 1), values - (1 << (8 * width)), values)
            return values.reshape(-1, 3) / 1000.0
        if frame_type == COMPRESSED | 0x00:
            factor = self.factor if self.factor is not None else self.range_g / 32768.0
            return decode_delta_frames(content) * factor
        if frame_type == COMPRESSED | 0x01:
            return decode_delta_frames(content) * (self.factor or 1.0) / 1000.0
        raise ValueError(f"unsupported ACC frame type {frame_type:#04x}")

    def feed(self, payload: bytes) -> list[SampleBatch]:
        """Decode one data notification; malformed or non-ACC frames count in ``dropped``."""
        data = bytes(payload)
        try:
            if len(data) <= HEADER.size:
                raise ValueError("frame has no content")
            kind, timestamp_ns, frame_type = HEADER.unpack_from(data)
            if kind != MEASUREMENT_ACC:
                raise ValueError(f"measurement type {kind} is not ACC")
            acc = self._acc_g(frame_type, data[HEADER.size :])
        except ValueError:
            self.dropped += 1
            return []
        n = len(acc)
        if self._previous_ns is not None and 0 < timestamp_ns - self._previous_ns < 10**10:
            step_s = (timestamp_ns - self._previous_ns) * 1e-9 / n
        else:
            step_s = 1.0 / self.rate_hz
        self._previous_ns = timestamp_ns
        times = timestamp_ns * 1e-9 - step_s * np.arange(n - 1, -1, -1, dtype=np.float64)
        return [SampleBatch(acc_g=acc, sensor_time_s=times, rate_hz=self.rate_hz)]
