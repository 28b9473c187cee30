"""WitMotion WT901BLECL: vectors computed from WITMOTION/WitBluetooth_BWT901BLE5_0,
Python/BWT901BLE5.0_python_sdk/device_model.py (processData scales, onDataReceived framing,
unlock/save/get_readBytes/get_writeBytes) and the WitMotion SDK REG.h output-rate codes."""

from __future__ import annotations

import numpy as np

from firmware_protocol import witmotion
from firmware_protocol.witmotion import FrameReassembler, WitFrame, WitMotionDecoder

# 55 61 | ax 0000 ay 0000 az 0008 -> 0x0800 = 2048 / 32768 * 16 = 1.0 g
#       | wx 0000 wy 0000 wz 0001 -> 0x0100 = 256 / 32768 * 2000 = 15.625 deg/s
#       | roll 0020 -> 0x2000 = 8192 / 32768 * 180 = 45 deg, pitch 0, yaw 00c0 -> -16384 -> -90 deg
FRAME = bytes.fromhex("55610000000000080000000000010020000000c0")


def test_witmotion_frame_decodes() -> None:
    assert WitFrame.from_bytes(FRAME) == WitFrame(
        (0.0, 0.0, 1.0), (0.0, 0.0, 15.625), (45.0, 0.0, -90.0)
    )


def test_witmotion_frame_encodes() -> None:
    assert witmotion.encode_frame((0, 0, 1), (0, 0, 15.625), (45, 0, -90)) == FRAME


def test_witmotion_commands() -> None:
    assert bytes.fromhex("ffaa6988b5") == witmotion.UNLOCK  # unlock(): writeBytes(0x69, 0xb588)
    assert bytes.fromhex("ffaa000000") == witmotion.SAVE  # save(): writeBytes(0x00, 0x0000)
    assert witmotion.read_register(0x03) == bytes.fromhex("ffaa270300")  # get_readBytes
    assert witmotion.set_rate(200) == bytes.fromhex("ffaa030b00")  # REG.h RRATE_200HZ = 0x0b
    assert witmotion.set_rate(100) == bytes.fromhex("ffaa030900")  # RRATE_100HZ = 0x09
    assert witmotion.set_rate(25) == bytes.fromhex("ffaa030800")  # no 25 Hz: next is 50 (0x08)


def test_witmotion_two_frames_in_one_notification() -> None:
    decoder = WitMotionDecoder()
    (batch,) = decoder.feed(FRAME + FRAME)
    assert batch.acc_g.tolist() == [[0.0, 0.0, 1.0]] * 2
    assert batch.gyro_dps is not None and batch.gyro_dps.tolist() == [[0.0, 0.0, 15.625]] * 2
    assert batch.sensor_time_s is None and decoder.dropped == 0


def test_witmotion_frame_split_across_notifications() -> None:
    decoder = WitMotionDecoder()
    assert decoder.feed(FRAME[:7]) == []
    assert decoder.pending_bytes == 7
    (batch,) = decoder.feed(FRAME[7:])
    assert batch.acc_g.tolist() == [[0.0, 0.0, 1.0]]
    assert decoder.dropped == 0 and decoder.pending_bytes == 0


def test_witmotion_garbage_skipped_and_counted() -> None:
    decoder = WitMotionDecoder()
    (batch,) = decoder.feed(b"\x01\x02\x55\x00" + FRAME)
    assert len(batch) == 1
    assert decoder.dropped == 1


def test_witmotion_register_reply_is_not_a_sample() -> None:
    # 55 71 | 03 00 (register RRATE) | 09 00 (100 Hz) | seven more registers
    reply = bytes.fromhex("557103000900" + "0000" * 7)
    decoder = WitMotionDecoder()
    assert decoder.feed(reply) == []
    assert decoder.register_replies == [reply] and decoder.dropped == 0


def test_witmotion_reassembler_random_chunks_same_frames() -> None:
    rng = np.random.default_rng(3)
    frames = [
        witmotion.encode_frame(
            rng.uniform(-2, 2, 3), rng.uniform(-300, 300, 3), rng.uniform(-90, 90, 3)
        )
        for _ in range(200)
    ]
    stream = b"".join(frames)
    for seed in range(5):
        chunker = np.random.default_rng(seed)
        reassembler = FrameReassembler()
        got: list[bytes] = []
        offset = 0
        while offset < len(stream):
            size = int(chunker.integers(1, 10))
            got += reassembler.feed(stream[offset : offset + size])
            offset += size
        assert got == frames
        assert reassembler.dropped == 0
