"""BBC micro:bit accelerometer service: vectors from the Lancaster University micro:bit runtime
docs (Bluetooth profile, Accelerometer Service: Data = 3 × int16 LE milli-g, Period = u16 ms in
1, 2, 5, 10, 20, 80, 160, 640)."""

from __future__ import annotations

import pytest

from firmware_protocol import microbit
from firmware_protocol.microbit import MicrobitDecoder

# 18 fc -> 0xfc18 = -1000 mg = -1.0 g ; 00 00 -> 0 ; 00 04 -> 0x0400 = 1024 mg = 1.024 g
DATA = bytes.fromhex("18fc00000004")


def test_microbit_data_decodes() -> None:
    decoder = MicrobitDecoder()
    (batch,) = decoder.feed(DATA)
    assert batch.acc_g.tolist() == [[-1.0, 0.0, 1.024]]
    assert batch.gyro_dps is None and batch.sensor_time_s is None


def test_microbit_data_encodes() -> None:
    assert microbit.encode_sample((-1.0, 0.0, 1.024)) == DATA


def test_microbit_wrong_length_dropped() -> None:
    decoder = MicrobitDecoder()
    assert decoder.feed(DATA[:4]) == [] and decoder.feed(DATA + b"\x00") == []
    assert decoder.dropped == 2


def test_microbit_period() -> None:
    assert microbit.encode_period(20) == bytes.fromhex("1400")  # 20 ms -> 50 Hz
    assert microbit.decode_period(bytes.fromhex("5000")) == 80
    assert [microbit.period_for(r) for r in (25, 50, 100, 200)] == [20, 20, 10, 5]
    with pytest.raises(ValueError):
        microbit.encode_period(15)
