"""RehabLink open profile v1: vectors from firmware_protocol/SPEC.md (section 9, worked example)."""

from __future__ import annotations

import numpy as np
import pytest

from firmware_protocol.rehablink_profile import (
    Command,
    DataPacket,
    Info,
    Opcode,
    Packetizer,
    RehabLinkDecoder,
    ResendPlan,
    Response,
    ResultCode,
    State,
    Status,
    packet_capacity,
)

# SPEC.md section 9: one 6-axis sample at MTU 23.
#   41        version 1 (bits 7-6 = 01), sample count 1
#   5e        flags 0101 1110: acc range code 2 (±8 g), gyro present, gyro code 3 (±2000 dps),
#             rate code 2 (100 Hz), not resent
#   02 01     sequence 0x0102 = 258
#   40 42 0f 00  first-sample time 1 000 000 µs
#   00 00 00 00 00 10   ax 0, ay 0, az 0x1000 = 4096 -> 4096 * 8 / 32768 = 1 g
#   00 08 00 00 00 00   gx 0x0800 = 2048 -> 2048 * 2000 / 32768 = 125 deg/s, gy 0, gz 0
SPEC_EXAMPLE = bytes.fromhex("415e0201 40420f00 000000000010 000800000000".replace(" ", ""))


def test_rehablink_spec_worked_example_decodes() -> None:
    decoder = RehabLinkDecoder()
    (batch,) = decoder.feed(SPEC_EXAMPLE)
    assert batch.acc_g.tolist() == [[0.0, 0.0, 1.0]]
    assert batch.gyro_dps is not None and batch.gyro_dps.tolist() == [[125.0, 0.0, 0.0]]
    assert batch.sensor_time_s is not None and batch.sensor_time_s.tolist() == [1.0]
    assert (batch.sequence, batch.rate_hz, decoder.dropped) == (258, 100.0, 0)


def test_rehablink_packetizer_encodes_spec_example() -> None:
    packetizer = Packetizer(mtu=23, has_gyro=True, rate_hz=100, first_sequence=0x0102)
    (packet,) = packetizer.push(1_000_000, (0.0, 0.0, 1.0), (125.0, 0.0, 0.0))
    assert bytes(packet) == SPEC_EXAMPLE
    assert DataPacket.from_bytes(SPEC_EXAMPLE) == packet


def test_rehablink_capacity_from_mtu() -> None:
    # SPEC.md section 4: (MTU - 3 - 8) // (6 or 12), at most 63.
    assert packet_capacity(23, True) == 1
    assert packet_capacity(23, False) == 2
    assert packet_capacity(247, True) == 19
    assert packet_capacity(247, False) == 39
    assert packet_capacity(517, False) == 63
    with pytest.raises(ValueError):
        packet_capacity(20, True)


def test_rehablink_packetizer_batches_and_flushes() -> None:
    packetizer = Packetizer(mtu=247, has_gyro=False, rate_hz=50, acc_range_g=2, max_latency_s=None)
    packets = []
    for i in range(45):
        packets += packetizer.push(i * 20_000, (0.5, -0.5, 1.0))
    packets += packetizer.flush()
    assert [len(p.acc_raw) for p in packets] == [39, 6]
    assert [p.sequence for p in packets] == [0, 1]
    assert [p.timestamp_us for p in packets] == [0, 39 * 20_000]
    assert all(len(bytes(p)) <= 244 for p in packets)


def test_rehablink_truncated_packet_dropped() -> None:
    decoder = RehabLinkDecoder()
    assert decoder.feed(SPEC_EXAMPLE[:-1]) == []
    assert decoder.feed(SPEC_EXAMPLE[:5]) == []
    assert decoder.dropped == 2


def test_rehablink_unknown_version_dropped() -> None:
    # byte 0 = 0x81: version 2 (bits 7-6 = 10), count 1: a v1 host must drop it
    decoder = RehabLinkDecoder()
    assert decoder.feed(b"\x81" + SPEC_EXAMPLE[1:]) == []
    assert decoder.dropped == 1


def test_rehablink_zero_count_dropped() -> None:
    decoder = RehabLinkDecoder()
    assert decoder.feed(bytes.fromhex("405e020140420f00")) == []
    assert decoder.dropped == 1


def test_rehablink_timestamp_wrap_unwrapped() -> None:
    """The u32 µs clock wraps after 4294.967296 s; the host keeps counting (SPEC.md 3.3)."""
    first = DataPacket(1, 0xFFFF_FC18, 100, 8, np.zeros((1, 3), np.int16))  # 2**32 - 1000 µs
    second = DataPacket(2, 9000, 100, 8, np.zeros((1, 3), np.int16))  # 10 ms later, wrapped
    decoder = RehabLinkDecoder()
    t1 = decoder.feed(bytes(first))[0].sensor_time_s
    t2 = decoder.feed(bytes(second))[0].sensor_time_s
    assert t1 is not None and t2 is not None
    assert round(float(t2[0] - t1[0]), 9) == 0.01


def test_rehablink_resent_flag_round_trip() -> None:
    packet = DataPacket(7, 5, 200, 16, np.ones((2, 3), np.int16), resent=True)
    assert bytes(packet)[1] == 0x80 | 0x60 | 0x03  # resent, rate code 3, acc code 3, no gyro
    assert DataPacket.from_bytes(bytes(packet)) == packet


def test_rehablink_commands_bytes() -> None:
    # SPEC.md section 5: opcode, token, parameters
    assert bytes(Command.start(token=9)) == bytes.fromhex("0109")
    assert bytes(Command.set_rate(200, token=1)) == bytes.fromhex("030103")
    assert bytes(Command.set_ranges(4, 500, token=2)) == bytes.fromhex("04020101")
    assert bytes(Command.resend_from(0x1234, token=3)) == bytes.fromhex("06033412")
    assert Command.from_bytes(bytes.fromhex("06033412")) == Command(
        Opcode.RESEND_FROM, 3, b"\x34\x12"
    )


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("01", ResultCode.BAD_LENGTH),
        ("7f01", ResultCode.UNKNOWN_OPCODE),
        ("0301", ResultCode.BAD_LENGTH),  # SET_RATE without its rate code
        ("030107", ResultCode.BAD_PARAMETER),  # rate code 7 does not exist
        ("0401020a", ResultCode.BAD_PARAMETER),  # gyro range code 10 does not exist
    ],
)
def test_rehablink_malformed_command_names_result_code(raw: str, code: ResultCode) -> None:
    with pytest.raises(ValueError) as info:
        Command.from_bytes(bytes.fromhex(raw))
    assert info.value.args[0] == code


def test_rehablink_response_and_payloads() -> None:
    # 86 03 00 | 34 12 0a 00: RESEND_FROM answered OK, resending 10 packets from 0x1234
    raw = bytes.fromhex("860300" + "34120a00")
    response = Response.from_bytes(raw)
    assert response == Response(Opcode.RESEND_FROM, 3, ResultCode.OK, bytes.fromhex("34120a00"))
    assert ResendPlan.from_bytes(response.payload) == ResendPlan(0x1234, 10)
    assert bytes(response) == raw
    error = Response.from_bytes(bytes.fromhex("860405"))
    assert (error.ok, error.result) == (False, ResultCode.NOT_IN_BUFFER)
    info = Info((1, 2, 3), True, True, 2400)
    assert bytes(info) == bytes.fromhex("0101020303" + "6009")
    assert Info.from_bytes(bytes(info)) == info
    with pytest.raises(ValueError):
        Response.from_bytes(bytes.fromhex("0603"))


def test_rehablink_status_bytes() -> None:
    # 01 01 57 | 01 02 03 | 5e 00 | e8 03 | 34 12
    # version 1, streaming, battery 87 %, firmware 1.2.3, config 0x5e (as the example flags),
    # backlog 1000 packets, next sequence 0x1234
    raw = bytes.fromhex("010157010203 5e00 e803 3412".replace(" ", ""))
    status = Status(State.STREAMING, 87, (1, 2, 3), 100, 8, 2000, True, 1000, 0x1234)
    assert Status.from_bytes(raw) == status
    assert bytes(status) == raw
    with pytest.raises(ValueError):
        Status.from_bytes(bytes.fromhex("0101ff010203 5e00 e803 3412".replace(" ", "")))


def test_rehablink_packetizer_bounds_batching_latency() -> None:
    """SPEC.md 4.2: at most rate * 0.2 s samples per packet (5 at 25 Hz, 10 at 50 Hz)."""
    assert Packetizer(247, True, rate_hz=25).capacity == 5
    assert Packetizer(247, True, rate_hz=50).capacity == 10
    assert Packetizer(247, True, rate_hz=100).capacity == 19  # MTU bound first
    assert Packetizer(23, True, rate_hz=200).capacity == 1


def test_rehablink_spec_control_exchange() -> None:
    """SPEC.md section 9, "Configure and start" and "Resend after a reconnect" tables."""
    assert bytes(Command.set_rate(100, token=1)) == bytes.fromhex("030102")
    assert bytes(Command.set_ranges(8, 2000, token=2)) == bytes.fromhex("04020203")
    assert bytes(Command.get_info(token=3)) == bytes.fromhex("0503")
    assert bytes(Command.start(token=4)) == bytes.fromhex("0104")
    assert bytes(Command.resend_from(0x0102, token=7)) == bytes.fromhex("06070201")
    info = Response.from_bytes(bytes.fromhex("85030001010203036009"))
    assert Info.from_bytes(info.payload) == Info((1, 2, 3), True, True, 2400)
    assert Response.from_bytes(bytes.fromhex("830504")).result == ResultCode.WRONG_STATE
    plan = Response.from_bytes(bytes.fromhex("86070002010a00"))
    assert ResendPlan.from_bytes(plan.payload) == ResendPlan(0x0102, 10)
    resent = DataPacket.from_bytes(bytes.fromhex("41de") + SPEC_EXAMPLE[2:])
    assert resent.resent and resent.sequence == 0x0102
