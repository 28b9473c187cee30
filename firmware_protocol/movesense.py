"""Movesense GATT Sensor Data Protocol (GSP), IMU6 subscription.

Sources: Movesense documentation "GATT Sensor Data Protocol"; movesense-device-lib
``samples/gatt_sensordata_app/GATTSensorDataClient.cpp`` (command layout, HELLO reply
``01 ref 'Hello'``, error reply ``01 ref 01 FB`` = status 507 as a big-endian u16, data
notifications ``02 ref`` + SBEM value) and the ``IMU6Data`` type (``Timestamp`` u32 ms, then
``ArrayAcc`` then ``ArrayGyro``, FloatVector3D float32 little-endian).

Commands (write, characteristic 0x0001)::

    0  u8   command: HELLO = 0, SUBSCRIBE = 1, UNSUBSCRIBE = 2
    1  u8   client reference, non-zero, chosen by the client
    2  ...  SUBSCRIBE: ASCII resource path, e.g. "/Meas/IMU6/104"

Notifications (characteristic 0x0002)::

    0  u8   1 = command result, 2 = data, 3 = second part of a data value too long for one
    1  u8   client reference
    2  ...  result: u16 big-endian status (HTTP-like; HELLO answers "Hello");
            data (IMU6): u32 timestamp ms, n × 3 float32 acc (m/s²), n × 3 float32 gyro (deg/s)
"""

from __future__ import annotations

import struct

import numpy as np
import numpy.typing as npt

from firmware_protocol.samples import SampleBatch, TimestampUnwrapper

SERVICE_UUID = "34802252-7185-4d5d-b431-630e7050e8f0"
WRITE_UUID = "34800001-7185-4d5d-b431-630e7050e8f0"
NOTIFY_UUID = "34800002-7185-4d5d-b431-630e7050e8f0"

HELLO, SUBSCRIBE, UNSUBSCRIBE = 0, 1, 2
COMMAND_RESULT, DATA, DATA_PART2 = 1, 2, 3
HELLO_REFERENCE, IMU_REFERENCE = 1, 99
IMU_RATES_HZ = (13, 26, 52, 104, 208, 416, 833, 1666)
STANDARD_GRAVITY = 9.80665
_TIMESTAMP = struct.Struct("<I")
_SAMPLE_BYTES = 24  # one acc + one gyro FloatVector3D


def _check_reference(reference: int) -> None:
    if not 1 <= reference <= 0xFF:
        raise ValueError("a Movesense client reference is 1..255")


def hello_command(reference: int = HELLO_REFERENCE) -> bytes:
    _check_reference(reference)
    return bytes([HELLO, reference])


def subscribe_command(reference: int, path: str) -> bytes:
    """SUBSCRIBE to a resource path such as ``/Meas/IMU6/104``."""
    _check_reference(reference)
    return bytes([SUBSCRIBE, reference]) + path.encode("ascii")


def unsubscribe_command(reference: int) -> bytes:
    _check_reference(reference)
    return bytes([UNSUBSCRIBE, reference])


def encode_imu6(
    reference: int, timestamp_ms: int, acc_ms2: npt.ArrayLike,
    gyro_dps: npt.ArrayLike,
) -> bytes:  # fmt: skip
    """A data notification for IMU6 (acceleration in m/s², as the sensor sends it)."""
    acc = np.asarray(acc_ms2, dtype="<f4").reshape(-1, 3)
    gyro = np.asarray(gyro_dps, dtype="<f4").reshape(-1, 3)
    if acc.shape != gyro.shape:
        raise ValueError("IMU6 needs as many gyro as acc vectors")
    head = bytes([DATA, reference]) + _TIMESTAMP.pack(timestamp_ms & 0xFFFFFFFF)
    return head + acc.tobytes() + gyro.tobytes()


def parse_result(payload: bytes) -> tuple[int, int | None]:
    """``(reference, status)`` of a command result; status None for the HELLO reply."""
    if len(payload) < 2 or payload[0] != COMMAND_RESULT:
        raise ValueError("not a Movesense command result")
    if len(payload) == 4:
        return payload[1], int.from_bytes(payload[2:4], "big")
    return payload[1], None


class MovesenseDecoder:
    """Stream decoder of IMU6 data notifications; command results are kept, not decoded."""

    def __init__(self, rate_hz: float = 52.0, reference: int = IMU_REFERENCE) -> None:
        self.dropped = 0
        self.rate_hz = rate_hz
        self.reference = reference
        self.results: list[tuple[int, int | None]] = []
        self._pending = b""
        self._clock = TimestampUnwrapper(32)

    @property
    def pending_bytes(self) -> int:
        """Bytes of a first data part waiting for its second part."""
        return len(self._pending)

    def _decode(self, body: bytes) -> SampleBatch:
        if len(body) < 4 + _SAMPLE_BYTES or (len(body) - 4) % _SAMPLE_BYTES:
            raise ValueError("IMU6 body is not a timestamp and whole acc+gyro vectors")
        n = (len(body) - 4) // _SAMPLE_BYTES
        values = np.frombuffer(body, dtype="<f4", offset=4).astype(np.float64).reshape(2 * n, 3)
        if not np.all(np.isfinite(values)):
            raise ValueError("non-finite value")
        t0 = self._clock.unwrap(_TIMESTAMP.unpack_from(body)[0]) / 1000.0
        return SampleBatch(
            acc_g=values[:n] / STANDARD_GRAVITY,
            gyro_dps=values[n:],
            sensor_time_s=t0 + np.arange(n, dtype=np.float64) / self.rate_hz,
            rate_hz=self.rate_hz,
        )

    def feed(self, payload: bytes) -> list[SampleBatch]:
        """Decode one notification; malformed data or foreign references count in ``dropped``."""
        data = bytes(payload)
        if len(data) >= 2 and data[0] == COMMAND_RESULT:
            self.results.append(parse_result(data))
            return []
        try:
            if len(data) < 3 or data[0] not in (DATA, DATA_PART2) or data[1] != self.reference:
                raise ValueError("not IMU6 data for our subscription")
            if data[0] == DATA_PART2:
                if not self._pending:
                    raise ValueError("second part without a first part")
                body, self._pending = self._pending + data[2:], b""
                return [self._decode(body)]
            if self._pending:  # a first part never completed
                self._pending = b""
                self.dropped += 1
            body = data[2:]
            if len(body) >= 4 and (len(body) - 4) % _SAMPLE_BYTES:
                self._pending = body  # a long value split in two notifications
                return []
            return [self._decode(body)]
        except ValueError:
            self.dropped += 1
            return []
