"""Hostile bytes never raise out of a decoder; encode -> decode round trips are exact."""

from __future__ import annotations

import contextlib
import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from firmware_protocol import microbit, movesense, polar_pmd, thingy52, witmotion
from firmware_protocol.registry import PROFILES
from firmware_protocol.rehablink_profile import (
    ACC_RANGES_G,
    GYRO_RANGES_DPS,
    RATES_HZ,
    Command,
    DataPacket,
    Response,
    Status,
)

int16 = st.integers(-32768, 32767)
FAST = settings(max_examples=150, deadline=None)


@pytest.mark.parametrize("profile_id", list(PROFILES))
def test_fuzz_random_bytes_never_raise(profile_id: str) -> None:
    rng = np.random.default_rng(20261121)
    decoder = PROFILES[profile_id].new_decoder()
    for _ in range(1500):
        payload = rng.integers(0, 256, int(rng.integers(0, 260)), dtype=np.uint8).tobytes()
        for batch in decoder.feed(payload):
            assert batch.acc_g.shape[1] == 3
    assert decoder.dropped > 0


def _valid_payloads() -> dict[str, bytes]:
    rl = DataPacket(3, 1000, 100, 8, np.ones((4, 3), np.int16), 2000, np.ones((4, 3), np.int16))
    return {
        "rehablink": bytes(rl),
        "witmotion": witmotion.encode_frame((0, 0, 1), (1, 2, 3)) * 2,
        "microbit": microbit.encode_sample((0.1, 0.2, 0.9)),
        "polar_pmd": polar_pmd.encode_compressed_acc(np.arange(30).reshape(10, 3) * 7, 5),
        "movesense": movesense.encode_imu6(99, 7, [[0, 0, 9.8]] * 4, [[1, 2, 3]] * 4),
        "thingy52": thingy52.encode_raw((0, 0, 1), (1, 2, 3)),
    }


@pytest.mark.parametrize("profile_id", list(PROFILES))
def test_fuzz_mutated_valid_frames_never_raise(profile_id: str) -> None:
    """Bit flips and truncations of real frames: decoded or counted, never raised."""
    rng = np.random.default_rng(7)
    valid = _valid_payloads()[profile_id]
    decoder = PROFILES[profile_id].new_decoder()
    for _ in range(800):
        data = bytearray(valid)
        for _ in range(int(rng.integers(1, 4))):
            data[int(rng.integers(0, len(data)))] = int(rng.integers(0, 256))
        cut = int(rng.integers(0, len(data) + 1))
        for batch in decoder.feed(bytes(data[:cut] if rng.random() < 0.5 else data)):
            assert np.isfinite(batch.acc_g).all() and len(batch) >= 1
    assert decoder.dropped > 0


@FAST
@given(st.binary(max_size=300))
def test_fuzz_control_parsers_raise_only_value_error(data: bytes) -> None:
    for parse in (
        Command.from_bytes,
        Response.from_bytes,
        Status.from_bytes,
        DataPacket.from_bytes,
    ):
        with contextlib.suppress(ValueError):  # anything else fails the test
            parse(data)


@FAST
@given(
    n=st.integers(1, 19),
    gyro=st.booleans(),
    rate=st.sampled_from(RATES_HZ),
    acc_range=st.sampled_from(ACC_RANGES_G),
    gyro_range=st.sampled_from(GYRO_RANGES_DPS),
    sequence=st.integers(0, 0xFFFF),
    timestamp=st.integers(0, 0xFFFFFFFF),
    resent=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
)
def test_fuzz_rehablink_round_trip(
    n: int, gyro: bool, rate: int, acc_range: int, gyro_range: int, sequence: int,
    timestamp: int, resent: bool, seed: int,
) -> None:  # fmt: skip
    rng = np.random.default_rng(seed)
    acc = rng.integers(-32768, 32768, (n, 3)).astype(np.int16)
    gyr = rng.integers(-32768, 32768, (n, 3)).astype(np.int16) if gyro else None
    packet = DataPacket(sequence, timestamp, rate, acc_range, acc, gyro_range, gyr, resent)
    back = DataPacket.from_bytes(bytes(packet))
    assert back == packet
    assert np.array_equal(back.acc_raw, acc)
    assert back.acc_g().tolist() == (acc * (acc_range / 32768)).tolist()


@FAST
@given(st.lists(st.tuples(*[int16] * 9), min_size=1, max_size=20))
def test_fuzz_witmotion_round_trip(rows: list[tuple[int, ...]]) -> None:
    stream = b"".join(b"\x55\x61" + struct.pack("<9h", *row) for row in rows)
    (batch,) = witmotion.WitMotionDecoder().feed(stream)
    counts = np.array(rows, dtype=np.float64)
    assert batch.acc_g.tolist() == (counts[:, 0:3] / 32768 * 16).tolist()
    assert batch.gyro_dps is not None
    assert batch.gyro_dps.tolist() == (counts[:, 3:6] / 32768 * 2000).tolist()
    again = [witmotion.encode_frame(a, g, r) for a, g, r in zip(
        batch.acc_g, batch.gyro_dps, counts[:, 6:9] / 32768 * 180, strict=True)]  # fmt: skip
    assert b"".join(again) == stream


@FAST
@given(st.tuples(int16, int16, int16))
def test_fuzz_microbit_round_trip(milli_g: tuple[int, int, int]) -> None:
    payload = struct.pack("<3h", *milli_g)
    (batch,) = microbit.MicrobitDecoder().feed(payload)
    assert microbit.encode_sample(batch.acc_g[0]) == payload


@FAST
@given(st.lists(st.tuples(int16, int16, int16), min_size=1, max_size=60), st.integers(1, 40))
def test_fuzz_polar_compressed_round_trip(rows: list[tuple[int, int, int]], block: int) -> None:
    counts = np.array(rows, dtype=np.int64)
    frame = polar_pmd.encode_compressed_acc(counts, timestamp_ns=10**9, block=block)
    decoder = polar_pmd.PolarPmdDecoder(factor=1 / 4096)
    (batch,) = decoder.feed(frame)
    assert batch.acc_g.tolist() == (counts * (1 / 4096)).tolist()


@FAST
@given(
    st.lists(st.tuples(*[st.floats(-1e4, 1e4, width=32)] * 6), min_size=1, max_size=9),
    st.integers(0, 0xFFFFFFFF),
)
def test_fuzz_movesense_round_trip(rows: list[tuple[float, ...]], timestamp: int) -> None:
    values = np.array(rows, dtype=np.float32)
    payload = movesense.encode_imu6(99, timestamp, values[:, :3], values[:, 3:])
    (batch,) = movesense.MovesenseDecoder().feed(payload)
    assert batch.acc_g.tolist() == (values[:, :3].astype(np.float64) / 9.80665).tolist()
    assert batch.gyro_dps is not None
    assert batch.gyro_dps.tolist() == values[:, 3:].astype(np.float64).tolist()


@FAST
@given(st.tuples(*[int16] * 9))
def test_fuzz_thingy52_round_trip(counts: tuple[int, ...]) -> None:
    payload = struct.pack("<9h", *counts)
    (batch,) = thingy52.Thingy52Decoder().feed(payload)
    assert batch.gyro_dps is not None
    compass = np.array(counts[6:9]) / 16
    assert thingy52.encode_raw(batch.acc_g[0], batch.gyro_dps[0], compass) == payload
