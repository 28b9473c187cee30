"""Movesense GATT Sensor Data Protocol: vectors from movesense-device-lib
samples/gatt_sensordata_app/GATTSensorDataClient.cpp (commands, HELLO and error replies, data
notification header) and the Movesense IMU6Data type (u32 ms timestamp, ArrayAcc m/s²,
ArrayGyro deg/s, float32 little-endian)."""

from __future__ import annotations

from firmware_protocol import movesense
from firmware_protocol.movesense import MovesenseDecoder

G = 9.80665  # standard gravity: the sensor reports m/s²

# 02 63            data for client reference 99
# e8 03 00 00      timestamp 1000 ms
# 00 00 80 3f | 00 00 20 c0 | 00 00 1c 41   acc 1.0, -2.5, 9.75 m/s²
# 00 00 00 3f | 00 00 00 00 | 00 00 24 c1   gyro 0.5, 0.0, -10.25 deg/s
IMU6_ONE = bytes.fromhex(
    "0263e80300000000803f000020c000001c410000003f000000000000 24c1".replace(" ", "")
)


def test_movesense_imu6_decodes() -> None:
    decoder = MovesenseDecoder(rate_hz=52)
    (batch,) = decoder.feed(IMU6_ONE)
    assert batch.acc_g.tolist() == [[1.0 / G, -2.5 / G, 9.75 / G]]
    assert batch.gyro_dps is not None and batch.gyro_dps.tolist() == [[0.5, 0.0, -10.25]]
    assert batch.sensor_time_s is not None and batch.sensor_time_s.tolist() == [1.0]
    assert decoder.dropped == 0


def test_movesense_imu6_encodes() -> None:
    assert movesense.encode_imu6(99, 1000, [[1.0, -2.5, 9.75]], [[0.5, 0.0, -10.25]]) == IMU6_ONE


def test_movesense_commands() -> None:
    assert movesense.hello_command(1) == bytes.fromhex("0001")
    assert movesense.subscribe_command(99, "/Meas/IMU6/52") == b"\x01\x63/Meas/IMU6/52"
    assert movesense.unsubscribe_command(99) == bytes.fromhex("0263")


def test_movesense_command_results_are_kept_not_samples() -> None:
    decoder = MovesenseDecoder()
    assert decoder.feed(b"\x01\x01Hello") == []  # HELLO reply
    assert decoder.feed(bytes.fromhex("016301fb")) == []  # 507 big-endian: no free slot
    assert decoder.results == [(1, None), (99, 507)]
    assert decoder.dropped == 0


def test_movesense_split_value_joined() -> None:
    samples = [[float(i), 0.0, 9.0] for i in range(8)]
    whole = movesense.encode_imu6(99, 5, samples, samples)
    decoder = MovesenseDecoder(rate_hz=104)
    assert decoder.feed(whole[:100]) == []
    (batch,) = decoder.feed(b"\x03\x63" + whole[100:])
    assert len(batch) == 8 and decoder.dropped == 0


def test_movesense_foreign_reference_and_garbage_dropped() -> None:
    decoder = MovesenseDecoder()
    assert decoder.feed(b"\x02\x05" + IMU6_ONE[2:]) == []  # subscription we did not make
    assert decoder.feed(b"\x03\x63\x00") == []  # second part with no first part
    assert decoder.feed(b"\x07") == []
    assert decoder.dropped == 3
