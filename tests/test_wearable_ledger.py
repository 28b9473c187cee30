"""Packet ledger (order, resend, losses) and the timelines of sensors with and without stamps."""

from __future__ import annotations

import numpy as np
import pytest

from wearable.ledger import PacketLedger
from wearable.store import Gap
from wearable.timeline import UntimedTimeline, find_gaps


def test_ledger_five_percent_loss_with_resend_releases_everything_in_order() -> None:
    rng = np.random.default_rng(3)
    ledger: PacketLedger[int] = PacketLedger(can_resend=True)
    out: list[int] = []
    ring: list[int] = []
    now = 0.0
    for seq in range(2000):
        now += 0.01
        ring.append(seq)
        if rng.random() >= 0.05:
            out += ledger.push(seq % 65536, seq, now)
        request = ledger.resend_request(now)
        if request is not None:  # the sensor resends from its ring; the resend itself is lossy
            for old in ring[ring.index(request):]:
                if rng.random() >= 0.05:
                    out += ledger.push(old, old, now)
    for old in ring[-50:]:  # a final resend round at the end of the set
        out += ledger.push(old, old, now)
    out += ledger.flush()
    assert out == list(range(2000))
    assert ledger.lost_packets == 0 and ledger.duplicates > 0


def test_ledger_sequence_wraps_at_65536() -> None:
    ledger: PacketLedger[int] = PacketLedger(can_resend=False)
    out = []
    for seq in range(65530, 65545):
        out += ledger.push(seq % 65536, seq, 0.0)
    assert out == list(range(65530, 65545))


def test_ledger_without_resend_counts_holes_lost_at_once() -> None:
    ledger: PacketLedger[str] = PacketLedger(can_resend=False)
    assert ledger.push(1, "a", 0.0) == ["a"]
    assert ledger.push(4, "d", 0.1) == ["d"]
    assert ledger.lost_packets == 2 and ledger.resend_request(0.2) is None


def test_ledger_reconnect_resends_from_after_the_last_packet_and_waits_while_down() -> None:
    ledger: PacketLedger[int] = PacketLedger(can_resend=True, give_up_s=1.0)
    for seq in range(10):
        ledger.push(seq, seq, 0.0)
    ledger.set_connected(False, 0.1)
    assert ledger.poll(50.0) == []  # no give-up while the link is down
    ledger.set_connected(True, 50.0)
    assert ledger.resend_after_reconnect() == 10
    assert ledger.push(15, 15, 50.1) == []  # live data arrives before the resend
    assert ledger.missing == 5
    assert ledger.push(10, 10, 50.2) == [10]


def test_ledger_hole_beyond_the_ring_is_lost_and_the_stream_goes_on() -> None:
    ledger: PacketLedger[int] = PacketLedger(can_resend=True)
    ledger.push(0, 0, 0.0)
    ledger.push(5, 5, 0.1)
    assert ledger.resend_unavailable(3) == []  # 1, 2 lost; 3 and 4 still come
    assert ledger.lost_packets == 2
    assert ledger.push(3, 3, 0.2) + ledger.push(4, 4, 0.2) == [3, 4, 5]


def test_ledger_gives_up_a_hole_after_give_up_s_connected() -> None:
    ledger: PacketLedger[int] = PacketLedger(can_resend=True, give_up_s=1.0)
    ledger.push(0, 0, 0.0)
    ledger.push(2, 2, 0.0)
    assert ledger.poll(0.5) == []
    assert ledger.poll(1.0) == [2]
    assert ledger.lost_packets == 1


def test_ledger_restart_after_reboot_accepts_the_new_numbering() -> None:
    ledger: PacketLedger[int] = PacketLedger(can_resend=True)
    for seq in range(100, 105):
        ledger.push(seq, seq, 0.0)
    assert ledger.restart() == []
    assert ledger.push(0, 1000, 1.0) == [1000]


def test_untimed_timeline_measures_a_three_second_disconnect() -> None:
    rng = np.random.default_rng(5)
    tl = UntimedTimeline(50.0)
    times = []
    for i in range(0, 1500):  # one sample per notification at 50 Hz, 30 s
        true_t = i / 50.0
        if 500 <= i < 650:  # 3 s without notifications
            continue
        times.append(tl.place(1, host_s=true_t + 0.01 + rng.exponential(0.01))[0])
    t = np.array(times)
    gaps, lost = find_gaps(t, 50.0)
    assert len(gaps) == 1
    assert gaps[0].start == pytest.approx(499 / 50, abs=0.2)  # opens up to confirm_s late
    assert gaps[0].duration_s == pytest.approx(3.0, abs=0.06)
    assert tl.samples_lost == pytest.approx(150, abs=3) and lost == pytest.approx(150, abs=3)


def test_find_gaps_edge_cases() -> None:
    assert find_gaps(np.zeros(0), 50.0) == ([], 0)
    assert find_gaps(np.arange(100) / 50.0, 50.0) == ([], 0)
    gaps, lost = find_gaps(np.array([0.0, 0.02, 0.1]), 50.0)
    assert gaps == [Gap(0.02, 0.06)] and lost == 3


def test_a_lost_first_packet_is_a_hole_when_the_sensor_said_where_it_starts() -> None:
    """With two sensors and 5 % loss, a dropped first packet went unnoticed: the ledger took the
    first packet it saw as the start. The Status characteristic's next sequence tells it."""
    ledger: PacketLedger[str] = PacketLedger(can_resend=True)
    ledger.expect_first(7)
    assert ledger.push(8, "b", now=0.0) == []  # 7 was lost on the air
    assert ledger.resend_request(now=0.0) == 7
    assert ledger.push(7, "a", now=0.1) == ["a", "b"]


def test_expect_first_across_the_sequence_wrap() -> None:
    ledger: PacketLedger[str] = PacketLedger(can_resend=True)
    ledger.expect_first(65535)
    assert ledger.push(0, "b", now=0.0) == []  # 65535 lost, 0 is after it, not before
    assert ledger.push(65535, "a", now=0.1) == ["a", "b"]
    assert ledger.duplicates == 0


def test_sent_before_opens_holes_for_the_last_packets_across_the_wrap() -> None:
    ledger: PacketLedger[str] = PacketLedger(can_resend=True)
    assert ledger.push(65534, "a", now=0.0) == ["a"]
    ledger.sent_before(1, now=0.1)  # the sensor is at 1: 65535 and 0 were lost
    assert ledger.missing == 2 and ledger.resend_request(now=0.1) == 65535
    ledger.sent_before(65535, now=0.2)  # an older answer, read late: nothing changes
    assert ledger.missing == 2 and ledger.last_sequence == 0
    assert ledger.push(65535, "b", now=0.3) + ledger.push(0, "c", now=0.3) == ["b", "c"]
    assert ledger.lost_packets == 0 and ledger.missing == 0
