"""The pure sample pipeline on packets built by the profile's own packetizer (no Bluetooth):
resent packets fill holes in order, a reboot opens a gap placed by the host clock, malformed
frames are counted and dropped."""

from __future__ import annotations

import numpy as np

from firmware_protocol import rehablink_profile as rl
from firmware_protocol.registry import PROFILES
from wearable.pipeline import SamplePipeline
from wearable.timeline import find_gaps

RATE = 100


def _packets(seconds: float, first_sequence: int = 0) -> list[bytes]:
    """Packets of a sensor sampling ``seconds`` at 100 Hz from its clock's 0 (MTU 23)."""
    pk = rl.Packetizer(23, True, RATE, first_sequence=first_sequence)
    out: list[rl.DataPacket] = []
    for k in range(round(seconds * RATE)):
        out += pk.push(k * 10_000, (0.0, 0.0, 1.0), (0.0, 0.0, 0.0))
    out += pk.flush()
    return [bytes(p) for p in out]


def _times(pipe: SamplePipeline) -> np.ndarray:
    block = pipe.take_block()
    return np.zeros(0) if block is None else block.t


def test_pipeline_holes_wait_for_the_resend_and_come_out_in_order() -> None:
    pipe = SamplePipeline(PROFILES["rehablink"], RATE)
    packets = _packets(2.0)
    lost = set(range(20, 200, 7))
    for i, p in enumerate(packets):  # arrival: 10 ms per packet
        if i not in lost:
            pipe.data(p, 1000.0 + i * 0.01)
    held = _times(pipe)
    assert len(held) == 20  # everything after the first hole waits
    assert pipe.ledger.missing == len(lost)
    for i in sorted(lost):  # the resend
        pipe.data(packets[i], 1003.0)
    pipe.data(packets[20], 1003.0)  # a duplicate of a resent packet
    t = np.concatenate([held, _times(pipe)])
    assert len(t) == 200 and np.allclose(np.diff(t), 0.01)
    assert pipe.ledger.duplicates == 1 and pipe.counters.received == 200


def test_pipeline_reboot_starts_a_new_epoch_after_the_downtime() -> None:
    pipe = SamplePipeline(PROFILES["rehablink"], RATE)
    for i, p in enumerate(_packets(3.0)):
        pipe.data(p, 500.0 + i * 0.01 + 0.01)
    before = _times(pipe)
    pipe.sensor_rebooted(504.0)
    for i, p in enumerate(_packets(1.0)):  # clock and numbering from 0 again, 1.5 s later
        pipe.data(p, 504.5 + i * 0.01 + 0.01)
    after = _times(pipe)
    t = np.concatenate([before, after])
    assert np.all(np.diff(t) > 0) and pipe.counters.reboots == 1
    gaps, _ = find_gaps(t - t[0], RATE)
    assert len(gaps) == 1 and abs(gaps[0].duration_s - 1.5) < 0.05


def test_pipeline_counts_malformed_frames_and_carries_on() -> None:
    pipe = SamplePipeline(PROFILES["rehablink"], RATE)
    good = _packets(0.1)
    pipe.data(b"\x00\x01", 1.0)
    pipe.data(good[0][:-3], 1.0)
    for p in good:
        pipe.data(p, 1.1)
    pipe.control(b"\xff", 1.2)
    assert pipe.counters.malformed == 3
    assert len(_times(pipe)) == 10


def _resend_answer(first: int, count: int, result: rl.ResultCode = rl.ResultCode.OK) -> bytes:
    """The sensor's answer to RESEND_FROM: (first sequence resent, packets that follow)."""
    return bytes(rl.Response(rl.Opcode.RESEND_FROM, 11, result, bytes(rl.ResendPlan(first,
                                                                                 count))))


def test_pipeline_answer_to_the_tail_request_keeps_an_older_hole() -> None:
    """Seen once in ~40 lossy companion runs: at the end of a stream the companion asks for the
    tail from after the last packet seen, while a hole before it still waited for its resend.
    The OK answer ``(last + 1, 0)`` was read as "nothing older can be resent", so the hole was
    counted lost (a 0.19 s gap and 19 samples short, though the sensor's ring still held it)."""
    pipe = SamplePipeline(PROFILES["rehablink"], RATE)
    packets = _packets(0.5)
    for i, p in enumerate(packets):
        if i != 45:  # lost on the air near the end
            pipe.data(p, 10.0 + i * 0.01)
    pipe.control(_resend_answer(len(packets), 0), 10.6)  # the tail: nothing after the last
    assert pipe.ledger.missing == 1 and pipe.ledger.lost_packets == 0
    pipe.data(packets[45], 10.7)  # the resend asked for the hole
    t = _times(pipe)
    assert len(t) == 50 and np.allclose(np.diff(t), 0.01)


def test_pipeline_last_packets_lost_are_holes_once_the_sensor_says_where_it_is() -> None:
    """A lost last packet has nothing after it to show the hole: the Status's next sequence (sent
    when the sensor goes idle) and a resend plan's end both reveal it."""
    for tell in ("status", "plan"):
        pipe = SamplePipeline(PROFILES["rehablink"], RATE)
        packets = _packets(0.5)
        for i, p in enumerate(packets[:47]):
            pipe.data(p, 10.0 + i * 0.01)
        if tell == "status":
            status = rl.Status(rl.State.IDLE, 80, (1, 0, 0), next_sequence=len(packets))
            assert pipe.status(bytes(status), 10.6) == status
        else:  # the tail request's answer: 47 and on are resent, three packets
            pipe.control(_resend_answer(47, 3), 10.6)
        assert pipe.ledger.missing == 3, tell
        assert pipe.ledger.resend_request(10.6) == 47
        assert pipe.ledger.lost_packets == 0


def test_pipeline_not_in_buffer_loses_the_holes_before_the_oldest_packet_held() -> None:
    pipe = SamplePipeline(PROFILES["rehablink"], RATE)
    packets = _packets(0.5)
    for i, p in enumerate(packets):
        if i not in (5, 6, 30):
            pipe.data(p, 10.0 + i * 0.01)
    pipe.control(_resend_answer(20, 30, rl.ResultCode.NOT_IN_BUFFER), 10.6)
    assert pipe.ledger.lost_packets == 2 and pipe.ledger.missing == 1  # 30 can still come
    assert pipe.ledger.resend_request(10.6) == 30
    pipe.control(_resend_answer(30, 20, rl.ResultCode.BUSY), 10.7)  # no plan: nothing changes
    assert pipe.ledger.missing == 1
    pipe.status(b"\x01\x02", 10.8)
    assert pipe.counters.malformed == 1
