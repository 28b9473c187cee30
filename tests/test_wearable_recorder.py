"""SetRecorder: a set's samples to the live detector and the store, with gaps and pauses."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rehablink.simulator.core import simulate
from rehablink.simulator.spec import SetSpec as SimSpec
from wearable.pipeline import SampleBlock
from wearable.plan import SetSpec
from wearable.recorder import SetRecorder
from wearable.store import CompanionStore


def _blocks(t: np.ndarray, acc: np.ndarray, gyro: np.ndarray, size: int = 10
            ) -> list[SampleBlock]:
    return [SampleBlock(t[i:i + size], acc[i:i + size], gyro[i:i + size], 0.0)
            for i in range(0, len(t), size)]


@pytest.fixture(scope="module")
def bridge() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rec, truth = simulate(SimSpec("bridge", n_reps=3, rate_hz=50.0), seed=8)
    assert truth.rep_count == 3 and rec.gyro is not None
    return rec.t + 1000.0, rec.acc, rec.gyro  # the stream clock has its own origin


def _recorder(tmp_path: Path) -> tuple[CompanionStore, SetRecorder, str]:
    store = CompanionStore.open(tmp_path / "c.db")
    sid = store.create_session("record")
    clock = iter(np.arange(0.0, 1e6, 0.01)).__next__
    rec = SetRecorder(SetSpec(0, "bridge", 1, 1, None, None), store, sid, 50.0,
                      host_time=lambda t: t, clock=lambda: float(clock()))
    return store, rec, sid


def test_recorder_counts_stores_and_reports_a_hole_as_a_gap(
        tmp_path: Path, bridge: tuple[np.ndarray, np.ndarray, np.ndarray]) -> None:
    t, acc, gyro = bridge
    keep = np.ones(len(t), dtype=bool)
    keep[500:510] = False  # 0.2 s the link lost
    store, rec, sid = _recorder(tmp_path)
    with store:
        for block in _blocks(t[keep], acc[keep], gyro[keep]):
            rec.feed(block)
        out = rec.finish(skipped=False, reconnects_now=0)
        assert out.result is not None and out.result.rep_count == 3
        assert len(out.gaps) == 1 and out.samples_lost == 10
        assert out.gaps[0].start == pytest.approx(t[499] - t[0])
        assert out.gaps[0].duration_s == pytest.approx(0.2, abs=1e-6)
        assert out.samples_received == int(keep.sum())
        assert len(out.latencies_s) == 3
        stored = store.set_recording(sid, 0)
        assert len(stored) == out.samples_received and stored.t[0] == 0.0
        assert store.session_document(sid)["sets"][0]["gaps"] == [g.to_json() for g in out.gaps]


def test_recorder_pause_is_not_a_gap_and_late_samples_are_dropped(
        tmp_path: Path, bridge: tuple[np.ndarray, np.ndarray, np.ndarray]) -> None:
    t, acc, gyro = bridge
    store, rec, _ = _recorder(tmp_path)
    with store:
        blocks = _blocks(t, acc, gyro)
        for block in blocks[:20]:
            rec.feed(block)
        rec.pause()  # the patient paused for 20 blocks
        for block in blocks[40:]:
            rec.feed(block)
        rec.feed(blocks[10])  # an old block again: already given, not counted twice
        out = rec.finish(skipped=False, reconnects_now=0)
        assert out.gaps == [] and out.samples_lost == 0
        assert out.samples_received == len(t) - 200
