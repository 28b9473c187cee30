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
