"""Polar PMD accelerometer: vectors from polar-ble-sdk technical_documentation/
Polar_Measurement_Data_Specification.pdf ("Frame types ACC", "Delta frame sample example from
Polar Verity Sense", "Start Stream"), and a Verity Sense frame recorded in polar-ble-sdk
issue #443 ("Questions on ACC data format")."""

from __future__ import annotations

import re
import struct

import numpy as np
import pytest

from firmware_protocol import polar_pmd
from firmware_protocol import polar_pmd_control as pmd
from firmware_protocol.polar_pmd import PolarPmdDecoder, decode_delta_frames

# Issue #443: Verity Sense ACC notification, 227 bytes.
#   02                       measurement type ACC
#   00 41 6f c4 12 45 93 0a  timestamp (ns since 2000-01-01) of the last sample
#   81                       compressed frame, type 1 (values in milli-g, factor 1)
#   ee 02 1f fe 82 ff        reference sample x 750, y -481, z -126 mg
#   08 0a + 30 bytes         10 samples of 8-bit deltas; first: 10 da 20 -> +16, -38, +32
#   0a 2f + 177 bytes        47 samples of 10-bit deltas
ISSUE_443 = bytes.fromhex(
    "0200416fc41245930a81ee021ffe82ff080a10da20d6a30bd9cbe7d6f6c4e6f1e1f3e0151afe281bf8372c2520"
    "1319110a2fed4fc07ef4e9bb6e800dc82fb03e14d1afb07f16c4cc2087340354128bff8d00c142fbe6d3dfb5e191"
    "532fbef9ed43b03efddb9b903df503605f7bfad9dfae000b2464704012cccfbf04e4c533b038084180efc212ec17"
    "8146fdfe5bb001f3d1d76f81ffcd7b0fc20136607f43d35f3f3f78cb06484eff000efc820551ab55e34a2d1d0c5f"
    "bde858734dbdeba06751020cc47041ca267fa0028919fe3f5f74e72244203f1566b0524d055ca41fbee96800"
)


def test_polar_verity_sense_recorded_compressed_frame() -> None:
    decoder = PolarPmdDecoder()
    (batch,) = decoder.feed(ISSUE_443)
    assert decoder.dropped == 0
    assert len(batch) == 1 + 10 + 47
    assert batch.acc_g[:2].tolist() == [[0.75, -0.481, -0.126], [0.766, -0.519, -0.094]]
    # a sensor at rest-ish on a person: every sample is within 0.5 g of gravity
    assert np.all(np.abs(np.linalg.norm(batch.acc_g, axis=1) - 1.0) < 0.5)
    last_ns = int.from_bytes(bytes.fromhex("00416fc41245930a"), "little")
    assert batch.sensor_time_s is not None and batch.sensor_time_s[-1] == last_ns * 1e-9


def test_polar_spec_delta_example_reference() -> None:
    # Spec example: reference d0 ff 65 01 e4 0f = x -48, y 357, z 4068; then (our block) delta
    # width 8, count 1: 01 ff 02 = +1, -1, +2.
    content = bytes.fromhex("d0ff6501e40f080101ff02")
    assert decode_delta_frames(content).tolist() == [[-48, 357, 4068], [-47, 356, 4070]]
    frame = struct.pack("<BQB", 2, 0, 0x80) + content
    (batch,) = PolarPmdDecoder(range_g=8).feed(frame)  # 0x80 without a factor: 8 g / 32768
    assert batch.acc_g.tolist() == [
        [-48 / 4096, 357 / 4096, 4068 / 4096],
        [-47 / 4096, 356 / 4096, 4070 / 4096],
    ]


def test_polar_uncompressed_int16_milli_g() -> None:
    # 02 | 00 ca 9a 3b 00 00 00 00 (1e9 ns) | 01 (16-bit mG) | d0 ff 65 01 e8 03
    frame = bytes.fromhex("0200ca9a3b0000000001d0ff6501e803")
    (batch,) = PolarPmdDecoder().feed(frame)
    assert batch.acc_g.tolist() == [[-0.048, 0.357, 1.0]]
    assert batch.sensor_time_s is not None and batch.sensor_time_s.tolist() == [1.0]


def test_polar_start_and_stop_commands() -> None:
    # Spec "Start Stream": 02 02 | 00 01 c8 00 (200 Hz) | 01 01 10 00 (16 bit) | 02 01 08 00 (8 G)
    start = pmd.start_command({0x00: 200, 0x01: 16, 0x02: 8})
    assert start == bytes.fromhex("02020001c8000101100002010800")
    assert bytes.fromhex("0302") == pmd.STOP_ACC
    assert bytes.fromhex("0102") == pmd.GET_ACC_SETTINGS


def test_polar_factor_from_start_response() -> None:
    # F0 02 02 00 00 | 05 01 00 00 80 39 : factor float32 2**-12 = 0.000244140625
    decoder = PolarPmdDecoder()
    decoder.on_control_response(bytes.fromhex("f002020000050100008039"))
    assert decoder.factor == 2.0**-12


def test_polar_truncated_frame_dropped() -> None:
    decoder = PolarPmdDecoder()
    assert decoder.feed(ISSUE_443[:-5]) == []
    assert decoder.feed(ISSUE_443[:10]) == []
    assert decoder.dropped == 2


def test_polar_other_measurement_dropped() -> None:
    # measurement type 0x00 = ECG: not ours
    decoder = PolarPmdDecoder()
    assert decoder.feed(b"\x00" + ISSUE_443[1:]) == []
    assert decoder.dropped == 1


def test_polar_compressed_encoder_round_trip() -> None:
    counts = np.array([[0, 0, 4096], [5, -3, 4090], [300, -200, 3000], [-32768, 32767, 0]])
    frame = polar_pmd.encode_compressed_acc(counts, timestamp_ns=123)
    assert decode_delta_frames(frame[10:]).tolist() == counts.tolist()


#: GET_SETTINGS answers, as in the PMD spec "Request Stream Settings" (H10) and issue #443
#: (Verity Sense: 52 Hz only, 16 bit, 8 G, 3 channels).
H10_SETTINGS = bytes.fromhex("f001020000000419003200640" "0c800010110000203020004000800")
VERITY_SETTINGS = bytes.fromhex("f001020000000134000101100002010800040103")


def test_polar_settings_response_picks_offered_values() -> None:
    # f0 01 02 00 00 | 00 04 19 00 32 00 64 00 c8 00 (rates 25, 50, 100, 200)
    #                | 01 01 10 00 (16 bit) | 02 03 02 00 04 00 08 00 (2, 4, 8 G)
    h10 = pmd.start_from_settings(H10_SETTINGS, 52)
    assert h10 == bytes.fromhex("0202000132000101100002010800")  # 50 Hz, 16 bit, 8 G
    # the Verity Sense start of issue #443: 52 Hz, 16 bit, 8 G, channels 3
    verity = pmd.start_from_settings(VERITY_SETTINGS, 50)
    assert verity == bytes.fromhex("0202000134000101100002010800040103")


def test_polar_settings_response_range_closest_offered() -> None:
    # the H10 offers 2/4/8 G: 3 G asks for the closest, 2 G (first of the tie 2/4)
    assert pmd.start_from_settings(H10_SETTINGS, 200, range_g=3) == bytes.fromhex(
        "02020001c8000101100002010200"
    )


def test_polar_error_response_message() -> None:
    response = pmd.ControlResponse.from_bytes(bytes.fromhex("f0020208"))
    assert (response.ok, response.message) == (False, "invalid sample rate")
    assert pmd.ERRORS[10] == "invalid MTU" and pmd.ERRORS[13] == "device in charger"


def test_polar_control_response_round_trip() -> None:
    for response in (
        pmd.ControlResponse.from_bytes(H10_SETTINGS),
        pmd.ControlResponse.from_bytes(VERITY_SETTINGS),
        pmd.ControlResponse(0x02, 0x02, 0, {0x05: [1.0]}),
        pmd.ControlResponse(0x02, 0x02, 13),
    ):
        assert pmd.ControlResponse.from_bytes(bytes(response)) == response
    assert bytes(pmd.ControlResponse.from_bytes(H10_SETTINGS)) == H10_SETTINGS
    # an error is four bytes: F0 op type status, neither "more" nor settings
    assert bytes(pmd.ControlResponse(0x02, 0x02, 8)) == bytes.fromhex("f0020208")
    with pytest.raises(ValueError, match="bytes"):
        pmd.ControlResponse(0x100, 0x02, 0)


@pytest.mark.parametrize(
    ("response", "message"),
    [
        (b"", "not a PMD control point response"),
        (bytes.fromhex("f001"), "not a PMD control point response"),
        (bytes.fromhex("0a01020000"), "not a PMD control point response"),
        # the settings list stops inside the rates (4 announced, 1 given)
        (bytes.fromhex("f00102000000041900"), "malformed PMD setting 0x00"),
        # a lone setting type byte with no count
        (bytes.fromhex("f0010200000001340001"), "truncated PMD setting"),
        # setting type 0x07 is not in the specification
        (bytes.fromhex("f001020000070100"), "malformed PMD setting 0x07"),
        # an error answer: ACC is not supported
        (bytes.fromhex("f0010203"), "refused: not supported (PMD error 3)"),
        # the answer to another command, or for another measurement (ECG = 0x00)
        (bytes.fromhex("f00202000000013400"), "not to the ACC settings request"),
        (bytes.fromhex("f00100000000013400"), "not to the ACC settings request"),
        # success with nothing listed, with no rate, with only 0 Hz
        (bytes.fromhex("f001020000"), "offers no accelerometer sample rate"),
        (bytes.fromhex("f00102000001011000"), "offers no accelerometer sample rate"),
        (bytes.fromhex("f00102000000010000"), "offers no usable accelerometer sample rate"),
        (bytes.fromhex("f00102000000000101100002010800"), "no usable accelerometer sample"),
        # resolutions or channels the decoder cannot read
        (bytes.fromhex("f0010200000001340001011800"), "resolution 24, not 16"),
        (bytes.fromhex("f0010200000001340001011000040101"), "channel count 1, not 3"),
    ],
)
def test_polar_hostile_settings_response_is_a_clean_error(response: bytes, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        pmd.start_from_settings(response, 52)


def test_polar_settings_answers_mutated_at_random_start_or_raise_value_error() -> None:
    """Real answers with random bytes changed and random truncation: each either builds a start
    listing an offered-looking rate or raises ValueError, nothing else."""
    rng = np.random.default_rng(443)
    outcomes = {"started": 0, "refused": 0}
    for _ in range(3000):
        answer = bytearray(H10_SETTINGS if rng.random() < 0.5 else VERITY_SETTINGS)
        for _ in range(rng.integers(1, 3)):
            answer[rng.integers(0, len(answer))] = rng.integers(0, 256)
        answer = answer[: rng.integers(len(answer) - 6, len(answer) + 1)]
        try:
            command = pmd.start_from_settings(bytes(answer), 52)
        except ValueError:
            outcomes["refused"] += 1
            continue
        outcomes["started"] += 1
        assert command[:2] == b"\x02\x02" and pmd.parse_settings(command[2:])[0x00][0] > 0
    assert outcomes["started"] > 100 and outcomes["refused"] > 100


def test_polar_started_check() -> None:
    pmd.check_started(bytes.fromhex("f002020000050100008039"))  # success with a factor
    with pytest.raises(ValueError, match=r"^device in charger \(PMD error 13\)$"):
        pmd.check_started(bytes.fromhex("f002020d"))
    with pytest.raises(ValueError, match="not to the start command"):
        pmd.check_started(bytes.fromhex("f001020000"))


def test_polar_raw_and_milli_g_compressed_encoders_round_trip() -> None:
    milli_g = np.array([[-48, 357, 1000], [-47, 356, 1002], [8000, -8000, 0]])
    raw = polar_pmd.encode_raw_acc(milli_g, 5 * 10**9)
    assert raw[:10] == bytes.fromhex("0200f2052a0100000001")  # ACC, 5e9 ns, type 0x01
    (batch,) = PolarPmdDecoder().feed(raw)
    assert batch.acc_g.tolist() == (milli_g / 1000).tolist()
    compressed = polar_pmd.encode_compressed_acc(milli_g, 5 * 10**9, frame_type=0x81)
    assert compressed[9] == 0x81
    (batch,) = PolarPmdDecoder().feed(compressed)  # type 0x81 without a factor: milli-g
    assert batch.acc_g.tolist() == (milli_g / 1000).tolist()
