"""Nordic Thingy:52 raw motion data: vectors from Nordic-Thingy52-FW source/modules/m_motion.c
(DRV_MOTION_EVT_RAW: 16Q16 >> 6, 11, 12 = Q6.10 g, Q11.5 deg/s, Q12.4 µT), ble_tms.h
(ble_tms_raw_t, ble_tms_config_t) and m_motion.h (MOTION_DEFAULT_CONFIG)."""

from __future__ import annotations

import pytest

from firmware_protocol import thingy52
from firmware_protocol.thingy52 import Thingy52Decoder

# acc  00 00 | 00 fe | 00 04 -> 0, -512/1024 = -0.5, 1024/1024 = 1.0 g
# gyro 40 01 | 00 00 | b0 ff -> 320/32 = 10.0, 0, -80/32 = -2.5 deg/s
# comp 90 01 | 00 00 | 00 00 -> 400/16 = 25 µT (not a sample field)
RAW = bytes.fromhex("000000fe000440010000b0ff900100000000")


def test_thingy52_raw_decodes() -> None:
    (batch,) = Thingy52Decoder().feed(RAW)
    assert batch.acc_g.tolist() == [[0.0, -0.5, 1.0]]
    assert batch.gyro_dps is not None and batch.gyro_dps.tolist() == [[10.0, 0.0, -2.5]]


def test_thingy52_raw_encodes() -> None:
    assert thingy52.encode_raw((0, -0.5, 1.0), (10, 0, -2.5), (25, 0, 0)) == RAW


def test_thingy52_config() -> None:
    # <HHHHB>: 1000 ms, 500 ms, 500 ms (defaults), 100 Hz, wake on motion 1
    assert thingy52.encode_config(100) == bytes.fromhex("e803f401f401640001")
    assert thingy52.decode_config(bytes.fromhex("e803f401f4010a0001")) == (1000, 500, 500, 10, 1)
    with pytest.raises(ValueError):
        thingy52.encode_config(400)


def test_thingy52_wrong_length_dropped() -> None:
    decoder = Thingy52Decoder()
    assert decoder.feed(RAW[:-1]) == [] and decoder.feed(RAW + RAW) == []
    assert decoder.dropped == 2
