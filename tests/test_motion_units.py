"""Pure pieces of the motion engine against empty, constant, too-short and exact synthetic input."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
from scipy import signal

from rehablink.recording import Recording
from rehablink.results import Rep
from wearable.motion.analyze import analyze
from wearable.motion.anchor import AnchorTracker
from wearable.motion.orientation import GravityTracker, angle_deg, plane_angles, unit_rows
from wearable.motion.preprocess import (
    GRID_HZ,
    TILT_CUTOFF_HZ,
    ImpactMeter,
    LowPass,
    Resampler,
    zero_phase_lowpass,
)
from wearable.motion.profiles import TRANSLATION_CUTOFF_HZ, get_profile
from wearable.motion.reps import (
    RepTiming,
    classify,
    minjerk_ratio,
    refine,
    stop_time,
    turned_in_hole,
    typical_range,
)
from wearable.motion.review import (
    EDGE_NO_HOLD_S,
    STEP_LEAN_APART_S,
    cut_reps,
    fragments,
    full_rep_s,
    hidden_reps,
    is_inside_out,
    is_step_partial,
    join_at_gaps,
    other_posture,
    overshoots,
    real_walks,
    split_at_gaps,
    turn_inside_out,
)
from wearable.motion.segment import TICK_HZ, Excursion, Segmenter, TickEvent
from wearable.motion.synthetic import SyntheticRep, synthetic_set


def _empty() -> Recording:
    return Recording(t=np.zeros(0), acc=np.zeros((0, 3)))


def _constant(seconds: float = 20.0, rate: float = 50.0) -> Recording:
    t = np.arange(int(seconds * rate)) / rate
    return Recording(t=t, acc=np.tile([0.3, -0.2, 0.93], (t.size, 1)))


@pytest.mark.parametrize("rec", [_empty(), _constant(0.02), _constant(0.5), _constant()],
                         ids=["empty", "one sample", "half a second", "constant"])
@pytest.mark.parametrize("exercise", ["bridge", "clamshell", "generic"])
def test_no_movement_gives_no_reps(rec: Recording, exercise: str) -> None:
    result = analyze(rec, exercise)
    assert result.rep_count == 0
    assert result.partial_count == 0
    assert result.duration_s == pytest.approx(rec.duration_s)


def test_unknown_exercise_and_placement() -> None:
    with pytest.raises(KeyError, match="known: bridge"):
        analyze(_constant(), "plank")
    with pytest.raises(ValueError, match="known: pelvis, thigh"):
        analyze(_constant(), "bridge", placement="ankle")


def test_resampler_is_chunk_invariant() -> None:
    rng = np.random.default_rng(1)
    t = np.cumsum(rng.uniform(0.005, 0.015, 2000))
    acc = rng.normal(size=(2000, 3))
    whole = Resampler().push(t, acc)
    r = Resampler()
    parts = []
    i = 0
    while i < t.size:
        k = int(rng.integers(1, 21))
        parts.append(r.push(t[i:i + k], acc[i:i + k]))
        i += k
    np.testing.assert_array_equal(np.concatenate([p.index for p in parts]), whole.index)
    np.testing.assert_allclose(np.vstack([p.acc for p in parts]), whole.acc, atol=1e-12)


def test_resampler_grid_and_gap() -> None:
    t = np.concatenate([np.arange(0, 2, 0.01), 3.0 + np.arange(0, 1, 0.01)])  # 1 s hole
    acc = np.tile([0.0, 0.0, 1.0], (t.size, 1))
    chunk = Resampler().push(t, acc)
    assert np.allclose(np.diff(chunk.t), 1 / GRID_HZ)
    assert chunk.gap[(chunk.t > 2.05) & (chunk.t < 2.95)].all()
    assert not chunk.gap[chunk.t < 1.9].any()


def test_resampler_drops_out_of_order_and_empty_batches() -> None:
    r = Resampler()
    assert len(r.push(np.zeros(0), np.zeros((0, 3)))) == 0
    r.push(np.array([0.0, 0.1]), np.zeros((2, 3)))
    out = r.push(np.array([0.05, 0.2]), np.ones((2, 3)))  # 0.05 arrives late: dropped
    assert out.t.size and np.all(out.t > 0.1 - 1e-9)


def test_lowpass_and_gravity_on_constant_input_are_exact() -> None:
    x = np.tile([0.0, 0.6, 0.8], (100, 1))
    np.testing.assert_allclose(LowPass().push(x), x, atol=1e-12)
    g = GravityTracker().push(x, np.zeros((100, 3)))
    np.testing.assert_allclose(g, x, atol=1e-9)
    assert np.allclose(ImpactMeter().push(x), 0.0)
    assert LowPass().push(np.zeros((0, 3))).shape == (0, 3)


def test_translation_cutoff_keeps_a_lurch_out_of_the_tilt() -> None:
    """The pelvis carried 0.35 m forward in 0.8 s with no tilt at all (stepping up, no gyro):
    the 2 Hz low-pass passes the lurch as a lean of 15 deg or more, the translation cut-off
    leaves under half of it (a step-up leans the pelvis 3-10 deg)."""
    t = np.arange(0.0, 6.0, 1.0 / GRID_HZ)
    u = np.clip((t - 2.0) / 0.8, 0.0, 1.0)
    x = 0.35 * u**3 * (10.0 - 15.0 * u + 6.0 * u**2)
    forward = np.gradient(np.gradient(x, 1.0 / GRID_HZ), 1.0 / GRID_HZ) / 9.80665  # g
    acc = np.stack([forward, np.zeros_like(t), np.ones_like(t)], axis=1)
    up = np.array([0.0, 0.0, 1.0])
    for window in (LowPass(TRANSLATION_CUTOFF_HZ).push(acc),
                   zero_phase_lowpass(acc, TRANSLATION_CUTOFF_HZ)):
        assert angle_deg(unit_rows(window), up).max() < 8.0
    assert angle_deg(unit_rows(LowPass().push(acc)), up).max() > 15.0
    assert get_profile("step_up").acc_tilt_cutoff_hz == TRANSLATION_CUTOFF_HZ
    assert get_profile("step_up", "thigh").acc_tilt_cutoff_hz > TRANSLATION_CUTOFF_HZ


def test_gravity_tracker_follows_a_rotation_with_the_gyro() -> None:
    """Rotating about x at 30 deg/s moves gravity, seen from the sensor, by 30 deg per second
    the other way (dg/dt = -omega x g)."""
    n = int(2 * GRID_HZ)
    ang = np.radians(30.0 * np.arange(n) / GRID_HZ)
    acc = np.stack([np.zeros(n), np.sin(ang), np.cos(ang)], axis=1)
    gyro = np.tile([30.0, 0.0, 0.0], (n, 1))
    g = GravityTracker().push(LowPass().push(acc), gyro)
    assert angle_deg(g[-1:], acc[-1])[0] < 3.0


def test_gravity_tracker_holds_through_a_fast_thigh_swing() -> None:
    """A thigh swinging out 60 deg and back in 0.6 s, the sensor 0.3 m from the hip on a 2 g
    accelerometer: the swing's own acceleration bends the accelerometer's gravity by ~48 deg; the
    gyro keeps the fused one within 20 deg (the complementary filter's pull over the swing)."""
    t = np.arange(0.0, 6.0, 1.0 / GRID_HZ)
    u = np.clip((t - 2.0) / 0.6, 0.0, 1.0)
    mj = u**3 * (10.0 - 15.0 * u + 6.0 * u**2)
    theta = np.radians(60.0) * 4.0 * mj * (1.0 - mj)
    rate = np.gradient(theta, 1.0 / GRID_HZ)
    true = np.stack([np.zeros_like(t), np.sin(theta), np.cos(theta)], axis=1)
    swing = 0.3 * np.gradient(rate, 1.0 / GRID_HZ) / 9.81  # tangential, g
    acc = true + np.stack([np.zeros_like(t), swing * np.cos(theta), -swing * np.sin(theta)],
                          axis=1)
    acc = np.clip(acc, -2.0, 2.0)
    gyro = np.stack([np.degrees(rate), np.zeros_like(t), np.zeros_like(t)], axis=1)
    lp = LowPass().push(acc)
    g = GravityTracker().push(lp, gyro)
    err = np.degrees(np.arccos(np.clip(np.einsum("ij,ij->i", g, true), -1.0, 1.0)))
    bent = np.degrees(np.arccos(np.clip(np.einsum("ij,ij->i", unit_rows(lp), true), -1.0, 1.0)))
    assert bent.max() > 40.0
    assert err.max() < 20.0


def test_plane_angles_split_along_and_across() -> None:
    ref = np.array([0.0, 0.0, 1.0])
    direction = np.array([1.0, 0.0, 0.0])
    g = unit_rows(np.array([[np.sin(np.radians(20)), 0.0, np.cos(np.radians(20))],
                            [0.0, np.sin(np.radians(5)), np.cos(np.radians(5))]]))
    along, across = plane_angles(g, ref, direction)
    np.testing.assert_allclose(along, [20.0, 0.0], atol=1e-9)
    np.testing.assert_allclose(np.abs(across), [0.0, 5.0], atol=1e-9)


def test_typical_range_and_classify() -> None:
    assert typical_range([]) == 0.0
    assert typical_range([], prior_deg=15.0) == 15.0
    roms = [20.0, 21.0, 19.0, 20.5, 5.0, 13.0]
    typical = typical_range(roms)
    assert 19.0 <= typical <= 21.0  # the partial (5) and the weak rep (13) do not pull it down
    assert classify(5.0, typical) == "partial"
    assert classify(13.0, typical) == "reduced"
    assert classify(20.0, typical) == "full"
    assert classify(60.0, typical) == "outlier"


def test_refine_rejects_too_short_windows() -> None:
    t = np.arange(5) / GRID_HZ
    g = np.tile([0.0, 0.0, 1.0], (5, 1))
    ref = np.array([0.0, 0.0, 1.0])
    assert refine(t, g, None, ref, np.array([1.0, 0.0, 0.0]), 0.0, 0.1) is None


@pytest.mark.parametrize("gyro", [True, False], ids=["gyro", "acc_only"])
@pytest.mark.parametrize("rate", [25.0, 100.0, 200.0])
def test_synthetic_bridge_timing(gyro: bool, rate: float) -> None:
    """Minimum-jerk reps have exact top and lower_start: the hold is right within 0.25 s."""
    reps = [SyntheticRep(20.0, hold_s=3.0)] * 5 + [SyntheticRep(18.0, hold_s=1.0)] * 2
    rec, truth = synthetic_set(reps, rate_hz=rate, seed=int(rate), gyro=gyro)
    result = analyze(rec, "bridge")
    assert result.rep_count == len(truth)
    for rep, (start, top, lower_start, end) in zip(result.reps, truth, strict=True):
        assert abs(rep.hold_s - (lower_start - top)) < 0.25
        assert abs(rep.top - top) < 0.3
        assert start - 0.4 < rep.start < top and lower_start < rep.end < end + 0.4
        assert rep.rom_deg == pytest.approx(20.0 if rep.hold_s > 2 else 18.0, abs=1.5)
        assert rep.lift_s > 0 and rep.lower_s > 0


def test_partial_and_reduced_reps_are_told_apart() -> None:
    # A partial between the excursion threshold (25 %) and a third of the range; a reduced rep.
    reps = [SyntheticRep(20.0)] * 5 + [SyntheticRep(5.8), SyntheticRep(12.0), SyntheticRep(20.0)]
    rec, _ = synthetic_set(reps, seed=3)
    result = analyze(rec, "bridge")
    assert result.rep_count == 7
    assert result.partial_count == 1
    assert [r.flags for r in result.reps].count(("reduced_rom",)) == 1


@pytest.mark.parametrize("exercise", ["bridge", "clamshell"])
def test_a_set_begun_at_once_is_not_learned_inside_out(exercise: str) -> None:
    """The recording starts 0.4 s before the first lift: the first stillness long enough to
    learn a rest is the first rep's hold, and the rest is where the segment was before it."""
    rom = 20.0 if exercise == "bridge" else 4.0
    reps = [SyntheticRep(rom, lift_s=1.5, hold_s=2.5, lower_s=1.5, rest_s=2.5)] * 6
    rec, truth = synthetic_set(reps, seed=7, lead_s=0.4)
    result = analyze(rec, exercise)
    assert result.rep_count == len(truth)
    for rep, (_, top, lower_start, _) in zip(result.reps, truth, strict=True):
        assert abs(rep.top - top) < 0.3 and abs(rep.lower_start - lower_start) < 0.3


def test_small_range_side_lying_reps_are_counted() -> None:
    reps = [SyntheticRep(3.0, lift_s=1.2, hold_s=2.0, lower_s=1.2)] * 8
    rec, truth = synthetic_set(reps, seed=5, gyro=False, acc_noise_g=0.003)
    assert analyze(rec, "side_leg_raise").rep_count == len(truth)


def test_thigh_placement_profile() -> None:
    profile = get_profile("clamshell", "thigh")
    assert profile.rom_range_deg[0] > get_profile("clamshell").rom_range_deg[0]
    assert not profile.stability_checked and not profile.roll_is_compensation
    assert get_profile("clamshell").roll_is_compensation


def _timing(start: float, top: float, lower_start: float, end: float,
            rom: float = 10.0) -> RepTiming:
    return RepTiming(start, top, lower_start, end, rom, 0.0, None)


def test_split_at_gaps_only_long_reps_holding_a_long_hole() -> None:
    reps = [_timing(0, 1, 2, 3), _timing(5, 6, 7, 8), _timing(10, 11, 19, 20),
            _timing(22, 23, 24, 25)]
    # A 3 s hole between the top and the lowering of the 10 s rep (median 3 s): two reps.
    out = split_at_gaps(reps, [[13.0, 16.0]])
    assert len(out) == 5
    assert (out[2].start, out[2].top, out[2].lower_start, out[2].end) == (10, 11, 13.0, 13.0)
    assert (out[3].start, out[3].top, out[3].lower_start, out[3].end) == (16.0, 16.0, 19, 20)
    assert split_at_gaps(reps, [[13.0, 13.5]]) == reps  # too short for a return and a lift
    assert split_at_gaps(reps, [[1.2, 1.9]]) == reps  # inside a rep of ordinary length
    assert split_at_gaps(reps[:2], [[13.0, 16.0]]) == reps[:2]  # no set tempo yet
    # A hole that begins before the top (the top itself interpolated) hides the turn too.
    out = split_at_gaps(reps, [[10.5, 16.0]])
    assert (out[2].start, out[2].top, out[2].lower_start, out[2].end) == (10, 10.5, 10.5, 10.5)
    assert (out[3].start, out[3].top, out[3].lower_start) == (16.0, 16.0, 19)


def test_split_at_gaps_a_hold_longer_by_a_return_and_a_lift() -> None:
    """In a slow set the lift and the lowering make up most of a rep's time: two reps timed as
    one across a hole are not far longer than the set's reps, but their hold is longer than the
    set's by more than a return and a lift take."""
    reps = [_timing(0, 2, 6, 8), _timing(9, 10.5, 15, 16.5), _timing(18, 21, 26, 30),
            _timing(35, 39, 42, 47), _timing(53, 55, 66, 67.5)]
    hole = [[56.2, 61.6]]
    out = split_at_gaps(reps, hole)
    assert len(out) == 6
    assert (out[4].top, out[4].end, out[5].start, out[5].end) == (55, 56.2, 61.6, 67.5)
    # a hold 4.5 s over the set's (lift and lowering 2 s each): a long hold, one rep
    reps[-1] = _timing(53, 55, 64, 65.5)
    assert split_at_gaps(reps, hole) == reps


_HOLE = (4.0, 6.0)


def _through_hole(before: float, into: float, out_of: float, after: float) -> np.ndarray:
    """A tilt path (deg on a 100 Hz grid, 0-10 s) that reads ``before`` 0.4 s before the hole,
    ``into`` at its start, ``out_of`` at its end and ``after`` 0.4 s after it, interpolated
    straight across the hole as the engine does."""
    t = np.arange(0.0, 10.0, 0.01)
    return np.interp(t, [0.0, 3.6, 4.0, 6.0, 6.4, 10.0],
                     [before, before, into, out_of, after, after])


@pytest.mark.parametrize(("path", "turned"), [
    ((9.0, 7.0, 3.0, 5.0), True),    # lowering into the hole, lifting out: back down inside
    ((5.0, 8.0, 2.0, 4.0), True),    # lifting on both sides, lower out: up, down and up
    ((4.0, 2.0, 7.0, 5.0), True),    # lowering on both sides, higher out: down, up and down
    ((5.0, 8.0, 7.0, 4.0), False),   # lifting into it, lowering out: one rep's top hidden
    ((2.0, 4.0, 7.0, 9.0), False),   # lifting on both sides, higher out: one slow lift
    ((9.0, 7.0, 4.0, 2.0), False),   # lowering on both sides, lower out: one slow return
    ((9.8, 9.7, 9.6, 9.8), False),   # a hold sways by under 5 % of the range
])
def test_a_turn_hidden_in_a_hole_from_the_tilt_at_its_edges(
        path: tuple[float, float, float, float], turned: bool) -> None:
    t = np.arange(0.0, 10.0, 0.01)
    assert turned_in_hole(t, _through_hole(*path), _HOLE, 10.0) is turned


def test_no_turn_is_read_without_the_data_at_both_edges() -> None:
    t = np.arange(0.0, 10.0, 0.01)
    along = _through_hole(9.0, 7.0, 3.0, 5.0)
    keep = t <= 6.2  # the data after the hole end 0.2 s in (live: not yet arrived)
    assert not turned_in_hole(t[keep], along[keep], _HOLE, 10.0)
    assert turned_in_hole(t, along, _HOLE, 10.0)


def _rep(start: float, top: float, lower_start: float, end: float) -> Rep:
    return Rep(start=start, top=top, lower_start=lower_start, end=end, rom_deg=30.0)


#: A set counted inside out: each counted rep is a lowering (1 s) from the real top, a rest
#: (2 s) and the next lift (1 s); the real holds between them last 3 s.
_INSIDE_OUT = [_rep(10.0 + 7.0 * k, 11.0 + 7.0 * k, 13.0 + 7.0 * k, 14.0 + 7.0 * k)
               for k in range(4)]


def test_a_set_counted_inside_out_is_turned_right_way_round() -> None:
    reps = turn_inside_out(_INSIDE_OUT)
    assert len(reps) == 5  # one more: the counted reps lie between the real ones
    # The real holds are the time between the counted reps, the real lifts their returns.
    assert [(r.top, r.lower_start) for r in reps[1:4]] == [(14.0, 17.0), (21.0, 24.0),
                                                           (28.0, 31.0)]
    assert [(r.start, r.end) for r in reps[1:4]] == [(13.0, 18.0), (20.0, 25.0), (27.0, 32.0)]
    # The first lift and the last lowering are placed with the set's median phases.
    assert (reps[0].start, reps[0].top, reps[0].lower_start, reps[0].end) == (6.0, 7.0, 10.0,
                                                                              11.0)
    assert (reps[-1].start, reps[-1].top, reps[-1].lower_start, reps[-1].end) == (
        34.0, 35.0, 38.0, 39.0)


def _to_top(at_top: list[tuple[float, float]]) -> tuple[np.ndarray, np.ndarray]:
    """Grid times 0-50 s and the angle from the top orientation: 0 deg inside ``at_top``
    spans, 40 deg (the learned rest) elsewhere."""
    t = np.arange(0.0, 50.0, 0.02)
    dist = np.full(t.size, 40.0)
    for a, b in at_top:
        dist[(t >= a) & (t < b)] = 0.0
    return t, dist


def test_inside_out_only_at_the_top_before_the_first_rep_and_after_the_last() -> None:
    reps = _INSIDE_OUT  # from 10 s to 35 s; the real holds are at the top
    t, dist = _to_top([(6.0, 10.0), (35.0, 40.0)])
    assert is_inside_out(t, dist, reps, 40.0)
    t, dist = _to_top([(6.0, 10.0)])  # the set ends at the learned rest
    assert not is_inside_out(t, dist, reps, 40.0)
    # The real rest 8-10 s before the first counted rep and after the last: long first and
    # last holds, looked for only in exercises that hold at the top.
    t, dist = _to_top([(0.0, 2.0), (43.0, 45.0)])
    assert is_inside_out(t, dist, reps, 40.0, held=True)
    assert not is_inside_out(t, dist, reps, 40.0)
    t, dist = _to_top([(9.0, 10.0), (35.0, 40.0)])  # 1 s at the top before it: a quick start
    assert not is_inside_out(t, dist, reps, 40.0)
    assert not is_inside_out(t, dist, reps[:2], 40.0)  # too few reps to tell


def test_real_walks_last() -> None:
    assert real_walks([10.0, 50.0, 90.0], [11.5, 60.0]) == [50.0, 90.0]  # the last goes on


def test_the_set_tempo_from_its_full_reps() -> None:
    reps = [_timing(0, 1, 2, 4), _timing(5, 6, 7, 9), _timing(10, 11, 12, 14)]
    assert full_rep_s(reps, 10.0) == pytest.approx(4.0)
    assert full_rep_s(reps[:2], 10.0) == 0.0
    assert full_rep_s(reps, 30.0) == 0.0  # none of them full against a 30 deg typical range


def test_a_quick_small_step_up_lean_is_a_partial_attempt() -> None:
    assert is_step_partial(_timing(0, 0.5, 0.8, 2.0, rom=4.0), 10.0, 4.0)
    assert not is_step_partial(_timing(0, 1, 2, 3.5, rom=4.0), 10.0, 4.0)  # the set's tempo
    assert not is_step_partial(_timing(0, 0.5, 0.8, 2.0, rom=5.0), 10.0, 4.0)  # half the range
    assert not is_step_partial(_timing(0, 0.5, 0.8, 2.0, rom=4.0), 10.0, 0.0)  # tempo unknown


def test_small_overshoots_the_other_way_are_found() -> None:
    ref = (0.0, 0.0, 1.0)
    s, c = np.sin(np.radians(10.0)), np.cos(np.radians(10.0))
    s4, c4 = np.sin(np.radians(4.0)), np.cos(np.radians(4.0))
    up = Excursion(0, 1, 0.5, 10.0, ref, (s, 0.0, c))
    back = Excursion(2, 3, 2.5, 4.0, ref, (-s4, 0.0, c4))
    big_back = Excursion(4, 5, 4.5, 10.0, ref, (-s, 0.0, c))
    side = Excursion(6, 7, 6.5, 4.0, ref, (0.0, s4, c4))
    flags = overshoots([up, up, back, big_back, side], np.array([1.0, 0.0, 0.0]))
    assert flags == [False, False, True, False, False]
    assert overshoots([up, back], None) == [False, False]


def test_a_step_up_leaning_only_the_other_way_is_no_overshoot() -> None:
    """Step-ups: a small lean the other way right after (or before) another movement is that
    rep's other lean; 4 s from any other movement it is a rep whose pelvis leaned only that
    way."""
    ref = (0.0, 0.0, 1.0)
    s, c = np.sin(np.radians(8.0)), np.cos(np.radians(8.0))
    s4, c4 = np.sin(np.radians(4.0)), np.cos(np.radians(4.0))
    reps = [Excursion(4 * k, 4 * k + 2, 4 * k + 1, 8.0, ref, (s, 0.0, c)) for k in range(3)]
    lean_after = Excursion(10.5, 11.5, 11.0, 4.0, ref, (-s4, 0.0, c4))  # 0.5 s after a rep
    alone = Excursion(15.5, 17.5, 16.5, 4.0, ref, (-s4, 0.0, c4))  # 4 s from the others
    later = Excursion(21.5, 23.5, 22.5, 8.0, ref, (s, 0.0, c))
    way = np.array([1.0, 0.0, 0.0])
    xs = [*reps, lean_after, alone, later]
    assert overshoots(xs, way) == [False] * 3 + [True, True, False]
    assert overshoots(xs, way, STEP_LEAN_APART_S) == [False] * 3 + [True, False, False]


def _reps_at(tops: list[float]) -> list[Rep]:
    return [Rep(start=t - 1.0, top=t, lower_start=t + 0.5, end=t + 1.5, rom_deg=20.0)
            for t in tops]


def test_hidden_reps_follow_a_steady_rhythm_only() -> None:
    steady = _reps_at([10.0, 15.0, 20.0, 30.0, 35.0, 40.0])  # one missing at 25 s
    hole = [[22.0, 26.5]]
    (hidden,) = hidden_reps(steady, hole)
    assert hidden.top == pytest.approx(25.0)
    assert hidden.flags == ("in_gap",)
    assert hidden.hold_s == pytest.approx(0.5)
    assert hidden_reps(steady, [[24.0, 25.5]]) == []  # too short a hole to hide a rep
    assert hidden_reps(steady, [[5.0, 9.0]]) == []  # before the set: its start is unknown
    # after the last rep: the next top (45 s) is due inside the hole
    (last,) = hidden_reps(steady, [[42.0, 47.0]])
    assert last.top == pytest.approx(45.0)
    assert last.flags == ("in_gap",)
    assert hidden_reps(steady, [[46.0, 50.0]]) == []  # the set may have ended: nothing due
    assert hidden_reps(steady, [[44.5, 45.8]]) == []  # too short a hole to hide a rep
    assert hidden_reps(steady, []) == []
    uneven = _reps_at([10.0, 13.0, 21.0, 30.0, 33.0, 42.0])
    assert hidden_reps(uneven, [[22.0, 29.0]]) == []
    # two steady spacings (three reps besides the hole's neighbours) are rhythm enough; one is not
    (hidden,) = hidden_reps(_reps_at([15.0, 20.0, 30.0, 35.0]), hole)
    assert hidden.top == pytest.approx(25.0)
    assert hidden_reps(_reps_at([15.0, 20.0, 30.0]), hole) == []
    # a rep hidden between neighbours 1.64 periods apart (the set sped up around the hole)
    (hidden,) = hidden_reps(_reps_at([10.0, 15.0, 20.0, 28.2, 33.2, 38.2]), [[21.5, 26.5]])
    assert hidden.top == pytest.approx(24.1)
    assert hidden_reps(_reps_at([10.0, 15.0, 20.0, 27.5, 32.5, 37.5]), [[21.5, 26.0]]) == []


def test_no_rep_is_placed_over_a_rep_timed_across_the_hole() -> None:
    """The rep after a hole, its lift timed from inside the hole to a top well after it, is of
    one rep's length: the rhythm's slot before it is that rep, not a hidden one. A rep timed
    across the hole over longer than a rep lasts may be two (the turn between them hidden),
    and the rhythm's rep is still placed."""
    rows = [(4.5, 6.2, 9.2, 11.5), (11.7, 13.1, 16.7, 19.2), (21.0, 27.1, 27.1, 29.2),
            (29.4, 30.9, 33.5, 35.7), (35.9, 37.6, 41.4, 44.0)]
    hole = [[20.9, 25.1]]

    def reps(rows: list[tuple[float, float, float, float]]) -> list[Rep]:
        return [Rep(start=a, top=b, lower_start=c, end=d, rom_deg=20.0) for a, b, c, d in rows]

    assert hidden_reps(reps(rows), hole) == []
    rows[1:3] = [(11.7, 13.1, 16.7, 18.5), (18.6, 27.1, 27.1, 29.2)]  # 10.6 s: two reps' time
    (hidden,) = hidden_reps(reps(rows), hole)
    assert hidden.top == pytest.approx(20.1)


def _tilted(t: np.ndarray, deg: np.ndarray) -> np.ndarray:
    """Unit gravity directions tilted by ``deg`` (degrees) about the sensor's x axis."""
    rad = np.radians(deg)
    return np.column_stack((np.zeros_like(t), np.sin(rad), np.cos(rad)))


def test_a_rep_cut_by_a_hole_from_the_movement_at_its_edge() -> None:
    reps = _reps_at([10.0, 13.0, 30.0, 38.0])  # uneven: the rhythm rule places nothing
    hole = [[20.0, 24.0]]
    t = np.arange(0.0, 40.0, 0.02)
    t = t[(t < 20.0) | (t > 24.0)]
    # data resume during a return: 6 deg back to the rest over the first 0.4 s
    deg = np.where(t > 24.0, np.clip(6.0 * (24.4 - t) / 0.4, 0.0, 6.0), 0.0)
    assert hidden_reps(reps, hole) == []
    (cut,) = cut_reps(reps, hole, t, _tilted(t, deg), typical_deg=20.0)
    assert cut.top == pytest.approx(22.0)
    assert cut.flags == ("in_gap",)
    # still at both edges: the hole fell in a rest
    assert cut_reps(reps, hole, t, _tilted(t, np.zeros_like(t)), typical_deg=20.0) == []
    # a movement of less than a quarter of the typical range is sway
    assert cut_reps(reps, hole, t, _tilted(t, deg), typical_deg=30.0) == []
    # the movement is a counted rep's (its lift began as the data resumed)
    assert cut_reps(reps + _reps_at([25.0]), hole, t, _tilted(t, deg), 20.0) == []
    # the same going in: the data stop during a lift
    going = np.where(t < 20.0, np.clip(6.0 * (t - 19.6) / 0.4, 0.0, 6.0), 0.0)
    (cut,) = cut_reps(reps, hole, t, _tilted(t, going), typical_deg=20.0)
    assert cut.top == pytest.approx(22.0)
    # a slow return seen for its last 1.5 s (6 deg of it; 2 in the first 0.5 s): too little
    # movement near the edge for a held exercise, a rep cut for one that does not hold
    slow = np.where(t > 24.0, np.clip(6.0 * (25.5 - t) / 1.5, 0.0, 6.0), 0.0)
    assert cut_reps(reps, hole, t, _tilted(t, slow), typical_deg=20.0) == []
    (cut,) = cut_reps(reps, hole, t, _tilted(t, slow), 20.0, edge_s=EDGE_NO_HOLD_S)
    assert cut.top == pytest.approx(22.0)


def _span(start: float, end: float) -> Rep:
    span = end - start
    return Rep(start=start, top=start + 0.3 * span, lower_start=start + 0.5 * span, end=end,
               rom_deg=10.0, flags=(), stability_deg=None)


def test_a_short_rep_overlapping_its_neighbour_is_a_fragment_of_it() -> None:
    reps = [_span(0.0, 5.0), _span(5.0, 10.0), _span(9.5, 11.0), _span(12.0, 17.0)]
    assert fragments(reps) == [False, False, True, False]
    # reps without a pause touch (timing 0.1 s apart) but are reps of their own
    assert fragments([_span(0.0, 5.0), _span(4.9, 7.5), _span(7.5, 12.0)]) == [False] * 3
    # a long rep overlapping is not a fragment (a hole's two halves are timed elsewhere)
    assert fragments([_span(0.0, 5.0), _span(4.5, 9.5), _span(10.0, 15.0)]) == [False] * 3
    assert fragments([_span(0.0, 5.0), _span(4.0, 5.5)]) == [False, False]  # tempo unknown


def test_the_two_sides_of_a_rep_whose_top_a_hole_hid_are_joined() -> None:
    timing = _timing
    reps = [timing(0.0, 2.0, 4.0, 6.0), timing(10.0, 12.0, 14.0, 16.0),
            timing(20.0, 22.0, 24.0, 24.0), timing(26.0, 26.0, 28.0, 30.0),  # a hole 24-26 s
            timing(30.0, 32.0, 34.0, 36.0), timing(40.0, 42.0, 44.0, 46.0)]
    joined = join_at_gaps(reps, [[24.0, 26.0]])
    assert len(joined) == 5
    assert (joined[2].start, joined[2].top, joined[2].lower_start, joined[2].end) == (
        20.0, 22.0, 28.0, 30.0)
    assert join_at_gaps(reps, []) == reps
    assert join_at_gaps(reps, [[24.0, 24.5]]) == reps  # too short a hole to hide anything
    # a period apart: the hole hid one rep's return and the next one's lift
    apart = [timing(0.0, 2.0, 4.0, 6.0), timing(10.0, 12.0, 12.0, 12.0),
             timing(20.0, 20.0, 24.0, 26.0), timing(30.0, 32.0, 34.0, 36.0)]
    assert join_at_gaps(apart, [[12.0, 20.0]]) == apart


def test_a_rep_timed_to_top_inside_a_hole_is_one_the_hole_hid() -> None:
    """The rep after a hole, its lift hidden, is timed to top inside the hole (the tilt is
    interpolated up to where the data resume): it is one of the reps the rhythm says the hole
    hid, not a neighbour beside them."""
    reps = _reps_at([10.0, 15.0, 20.0, 29.5, 35.0, 40.0])  # 25 s hidden, 30 s timed at 29.5
    assert hidden_reps(reps, [[22.0, 29.8]]) == []
    (hidden,) = hidden_reps(_reps_at([10.0, 15.0, 20.0, 34.5, 40.0, 45.0]), [[22.0, 34.8]])
    assert hidden.top == pytest.approx(27.25)  # of the two at 25 and 30 s, one is still hidden
    # timed to top just after the hole (0.3 s): the same; a full second after: a neighbour
    assert hidden_reps(_reps_at([10.0, 15.0, 20.0, 29.8, 35.0, 40.0]), [[22.0, 29.5]]) == []
    (hidden,) = hidden_reps(_reps_at([10.0, 15.0, 20.0, 30.0, 35.0, 40.0]), [[22.0, 29.0]])
    assert hidden.top == pytest.approx(25.0)


def test_minjerk_ratio_matches_the_profile() -> None:
    # Speed 30 u^2 (1 - u)^2 on 0..1: 50 % of its peak at u = 0.7706, 20 % at 0.8717.
    assert minjerk_ratio(0.5, 0.2) == pytest.approx((1 - 0.8717) / (0.8717 - 0.7706), rel=2e-3)


@pytest.mark.parametrize("duration_s", [0.8, 2.0, 5.0])
def test_stop_time_finds_both_ends_of_a_minimum_jerk_movement(duration_s: float) -> None:
    t = np.arange(-1.0, duration_s + 1.0, 1.0 / GRID_HZ)
    u = np.clip(t / duration_s, 0.0, 1.0)
    speed = u**2 * (1.0 - u) ** 2 / 0.0625  # normalised to 1 at its peak
    i_peak = int(np.argmax(speed))
    start = stop_time(t, speed, i_peak, 0, forward=False)
    stop = stop_time(t, speed, i_peak, t.size - 1, forward=True)
    assert start == pytest.approx(0.0, abs=0.02)
    assert stop == pytest.approx(duration_s, abs=0.02)


def test_a_recording_begun_part_way_out_of_the_rest_does_not_fail() -> None:
    """At the first stillness the detector looks back for a whole rep before it. A recording
    begun a little way out of the rest (between 25 and 30 % of the rep's range: near enough to
    have begun there, with no tick as near as the opening share) is timed from its first tick,
    never an error."""
    profile = get_profile("bridge")
    seg = Segmenter(profile)
    peak = float(np.mean(profile.rom_range_deg))
    angles = np.concatenate([np.linspace(0.28 * peak, peak, 10), np.linspace(peak, 0.0, 10)[1:],
                             np.zeros(12)])
    events = []
    for k, a in enumerate(np.deg2rad(angles)):
        g = [0.0, float(np.sin(a)), float(np.cos(a))]
        e = seg.step(k / TICK_HZ, g, 0.0)
        if e is not None:
            events.append(e)
    assert [e.kind for e in events] == ["close"]
    ex = events[0].excursion
    assert ex is not None
    assert ex.start_t == 0.0
    assert ex.peak_deg == pytest.approx(peak, abs=0.01)


def _tick_events(seg: Segmenter, angles_deg: np.ndarray, shaking: np.ndarray | None = None,
                 way_deg: float = 0.0) -> list[tuple[float, TickEvent]]:
    """Feed ``seg`` one tick per tilt angle (degrees) toward the sensor's y axis, turned
    ``way_deg`` toward its x axis (0: about the x axis), with footfall-band shaking of 0.1 g²
    where ``shaking``; the events it returns, each with the time of the tick that delivered it,
    s (closes it queues come right after the one returned, as the engine takes them)."""
    if shaking is None:
        shaking = np.zeros(len(angles_deg), dtype=bool)
    wx, wy = math.sin(math.radians(way_deg)), math.cos(math.radians(way_deg))
    events = []
    for k, (a, shake) in enumerate(zip(np.deg2rad(angles_deg), shaking, strict=True)):
        s = float(np.sin(a))
        e = seg.step(k / TICK_HZ, [s * wx, s * wy, float(np.cos(a))], 0.1 if shake else 0.0)
        if e is not None:
            events += [(k / TICK_HZ, x) for x in (e, *seg.queued)]
            seg.queued.clear()
    return events


def _tick_kinds(seg: Segmenter, angles_deg: np.ndarray, shaking: np.ndarray | None = None,
                way_deg: float = 0.0) -> list[str]:
    """The kinds of the events of :func:`_tick_events`."""
    return [e.kind for _, e in _tick_events(seg, angles_deg, shaking, way_deg)]


def test_standing_still_after_getting_up_is_the_rest_of_a_hinge_set() -> None:
    """Getting up from lying tilts the pelvis 90 deg, under 1.3 times a hip hinge's 80 deg, so
    only the time still there tells it from a rep's top: hinges only turn at the top, and 2 s
    still beyond their range before any rep is a new posture (here it stands still for 3 s).
    (Otherwise a hinge's bottom held for a second, 150 deg from the lying rest, was taken for
    the new posture and the set was counted inside out.)"""
    stand, bottom = 90.0, 150.0
    hinge = np.concatenate([np.linspace(stand, bottom, 13)[1:], np.full(12, bottom),
                            np.linspace(bottom, stand, 15)[1:], np.full(25, stand)])
    angles = np.concatenate([np.zeros(20), np.linspace(0.0, stand, 16)[1:], np.full(30, stand),
                             hinge, hinge, hinge])
    seg = Segmenter(get_profile("hip_hinge"))
    kinds = _tick_kinds(seg, angles)
    assert kinds == ["start", "top", "abort"] + ["start", "top", "close"] * 3
    assert seg.ref is not None
    assert math.degrees(math.atan2(seg.ref[1], seg.ref[2])) == pytest.approx(stand, abs=1.0)


def test_a_slow_lift_from_a_shifted_rest_moves_no_anchor() -> None:
    """A posture shift of two thirds of the set's range opens an excursion and stays there;
    the next rep lifts from it slowly, below the stillness speed. The still orientation inside
    the excursion (its anchor) is where the segment stayed put, not where the slow lift crept
    on to, so the rep out of it and back closes there and the shifted level is the new rest
    (an anchor carried up to the top left the detector waiting at the new rest for good)."""
    seg = Segmenter(get_profile("side_leg_raise"))
    seg.typical_deg, seg.direction, seg.learned = 7.0, [0.0, 1.0, 0.0], True  # reps seen
    shift, top = 4.5, 11.5
    angles = np.concatenate([np.zeros(20), np.linspace(0.0, shift, 6)[1:], np.full(30, shift),
                             np.linspace(shift, top, 29)[1:], np.full(20, top),
                             np.linspace(top, shift, 15)[1:], np.full(30, shift)])
    assert _tick_kinds(seg, angles, np.zeros(angles.size, dtype=bool)) == ["start", "top",
                                                                           "close"]
    assert seg.ref is not None
    assert math.degrees(math.asin(seg.ref[1])) == pytest.approx(shift, abs=1.0)


@pytest.mark.parametrize("way_in", [False, True])
def test_a_set_begun_at_once_without_a_pause_is_counted_at_the_first_stillness(
        way_in: bool) -> None:
    """Swaying before the set and no pause between its reps: the segment is first still after
    the last rep. All five reps before that stillness are closes, in time order (the tick
    returns the first, the rest are queued), found back to the sway before the first rep; a
    way into the posture before the sway (a tilt far beyond a rep's) ends the search."""
    seg = Segmenter(get_profile("squat"))
    sway = 2.0 * np.sin(2.0 * np.pi * np.arange(30) / 10.0)  # up to 12 deg/s: never still
    rep = np.concatenate([np.linspace(0.0, 20.0, 16)[1:], np.linspace(20.0, 0.0, 16)[1:]])
    before = np.linspace(80.0, 0.0, 20) if way_in else np.zeros(0)
    angles = np.concatenate([before, sway, np.tile(rep, 5), np.zeros(20)])
    closes = [e for _, e in _tick_events(seg, angles)]
    assert [e.kind for e in closes] == ["close"] * 5
    ends = [(before.size + sway.size + 30 * (j + 1)) / TICK_HZ for j in range(5)]
    # each closes in its own return, as it passes back below a third of the range
    assert all(end - 0.75 <= e.t <= end for e, end in zip(closes, ends, strict=True))
    assert all(e.excursion is not None and e.excursion.peak_deg == pytest.approx(20.0, abs=1.0)
               for e in closes)


def test_reps_inside_a_movement_given_up_as_a_posture_change_are_found_once() -> None:
    """Two hip hinges are counted; then down to the floor (swaying there, never still, until
    the detector gives up on the movement as a posture change it did not recognise), up again
    and three hinges without a pause, never still before the last one ends. At the stillness
    after them those three are found; the search stops at the way up, and the two counted
    before are not counted again."""
    seg = Segmenter(get_profile("hip_hinge"))
    rep = np.concatenate([np.linspace(0.0, 50.0, 16)[1:], np.linspace(50.0, 0.0, 16)[1:]])
    paused = np.concatenate([rep, np.zeros(10)])
    floor = 120.0 + 3.0 * np.sin(2.0 * np.pi * np.arange(200) / 10.0)
    angles = np.concatenate([np.zeros(20), paused, paused, np.linspace(0.0, 120.0, 21)[1:],
                             floor, np.linspace(120.0, 0.0, 21)[1:],
                             2.0 * np.sin(2.0 * np.pi * np.arange(20) / 10.0),
                             np.tile(rep, 3), np.zeros(20)])
    kinds = _tick_kinds(seg, angles)
    assert kinds.count("close") == 5
    assert "abort" in kinds


@pytest.mark.parametrize(("shake_s", "rest_kept"), [(1.8, True), (4.0, False)])
def test_shaking_as_a_rep_lifts_is_no_walk_and_keeps_the_rest(shake_s: float,
                                                             rest_kept: bool) -> None:
    """Footfall-band shaking that begins at rest (a knock, a loose clip ringing) and runs on
    into a rep's lift makes the detector wait for stillness, as walking does. Shaking that
    stopped within ``WALK_MIN_S`` was no walk: still at a rep's range from the rest it left,
    the segment is at the top of a rep, which closes on the return. After longer shaking (a
    walk) the new stillness is the rest."""
    profile = get_profile("bridge")
    seg = Segmenter(profile)
    peak = float(np.mean(profile.rom_range_deg))
    angles = np.concatenate([np.zeros(45), np.linspace(0.0, peak, 10), np.full(40, peak),
                             np.linspace(peak, 0.0, 15), np.zeros(30)])
    shaking = np.zeros(angles.size, dtype=bool)
    shaking[30:30 + round(shake_s * TICK_HZ)] = True
    kinds = _tick_kinds(seg, angles, shaking)
    assert len(seg.walk_started) == len(seg.walk_ended) == 1
    if rest_kept:
        assert kinds == ["start", "top", "close"]
        assert seg.ref == pytest.approx([0.0, 0.0, 1.0])
    else:
        assert "close" not in kinds


@pytest.mark.parametrize(("exercise", "waits"), [("step_up", False), ("bridge", True)])
def test_a_standing_set_begun_straight_after_a_walk_starts_from_the_rest_left(
        exercise: str, waits: bool) -> None:
    """After a walk the detector waits for stillness to learn the rest. Slow step-ups without
    a pause, begun straight after walking up, are never still for that long: back at the
    standing rest left for the walk, with the footfalls calm, a standing set starts from it,
    and each rep closes as it ends. Other exercises (lying down after the walk) wait for the
    stillness; the reps before it are found then, all at once."""
    profile = get_profile(exercise)
    seg = Segmenter(profile)
    peak = 1.5 * profile.rom_range_deg[0]
    # Rest, a walk, then reps never still (up and down at a steady speed, 2 s each way).
    rep = np.concatenate([np.linspace(0.0, peak, 21)[:-1], np.linspace(peak, 0.0, 21),
                          np.zeros(1)])
    angles = np.concatenate([np.zeros(20), np.zeros(50), np.zeros(10), np.tile(rep, 5),
                             np.zeros(20)])
    shaking = np.zeros(angles.size, dtype=bool)
    shaking[20:70] = True
    # tick times at which closes came
    delivered = [t for t, e in _tick_events(seg, angles, shaking) if e.kind == "close"]
    assert len(seg.walk_started) == len(seg.walk_ended) == 1
    assert seg.walk_ended[0] < 8.0
    assert len(delivered) == 5
    last_rep_end = (80 + 5 * rep.size) / TICK_HZ
    assert (min(delivered) > last_rep_end) == waits


@pytest.mark.parametrize(("peak", "kinds"), [(20.0, ["start", "top", "close"]),
                                             (6.0, ["start", "top", "abort"])])
def test_an_early_squat_that_shakes_the_footfall_band_is_no_walk(peak: float,
                                                                 kinds: list[str]) -> None:
    """A squat's landing shakes the footfall band. Before the set's reps are learned, a
    movement whose return shakes it is the first steps of a walk, unless the pelvis tilted
    beyond a walk's sway (``PELVIS_WALK_TILT_DEG``): then it is the exercise and closes."""
    seg = Segmenter(get_profile("squat"))
    angles = np.concatenate([np.zeros(12), np.linspace(0.0, peak, 10), np.full(4, peak),
                             np.linspace(peak, 0.0, 10), np.zeros(10)])
    shaking = np.zeros(angles.size, dtype=bool)
    shaking[28:40] = True  # from the lowering's start until after the return
    out = _tick_kinds(seg, angles, shaking)
    assert not seg.learned
    assert out == kinds


def _rest(deg: float) -> tuple[float, float, float]:
    """Gravity in the sensor frame after tilting ``deg`` degrees about the sensor's x axis."""
    a = math.radians(deg)
    return (0.0, math.sin(a), math.cos(a))


def test_a_movement_from_another_posture_is_not_the_sets() -> None:
    """Side-lying clamshells at the thigh (a 35 deg typical range): a swing of the thigh from
    standing, 90 deg from the rest of the reps before it, is in another posture; rests a few
    degrees apart (a posture shift), a hip hinge's rep from a rest learned part-way up and
    two sets with the sensor clipped on anew between them are the sets' reps."""
    kept = [replace(_timing(4 * k, 4 * k + 1, 4 * k + 2, 4 * k + 3, 35.0), rest=_rest(d))
            for k, d in enumerate([0.0, 2.0, -3.0, 5.0, 90.0])]
    kept.append(_timing(30, 31, 32, 33, 35.0))  # no rest known: kept
    assert other_posture(kept, 35.0) == [False, False, False, False, True, False]
    hinge = [replace(_timing(4 * k, 4 * k + 1, 4 * k + 2, 4 * k + 3, 70.0), rest=_rest(d))
             for k, d in enumerate([0.0, 1.0, -1.0, 60.0])]
    assert other_posture(hinge, 70.0) == [False] * 4  # within 1.5 typical ranges
    assert other_posture(kept[:2], 35.0) == [False, False]  # too few to know the set's rest
    # Two sets one after the other, the sensor clipped on anew 90 deg turned: each rep is near
    # the rest on its own side.
    two_sets = [replace(_timing(4 * k, 4 * k + 1, 4 * k + 2, 4 * k + 3, 20.0), rest=_rest(d))
                for k, d in enumerate([0.0, 1.0, -1.0, 0.5, 90.0, 91.0, 89.0, 90.5])]
    assert other_posture(two_sets, 20.0) == [False] * 8


@pytest.mark.parametrize(("out_deg", "typical", "at_top", "rebased"), [
    (2.5, 8.0, False, False), (4.0, 8.0, False, True),
    (2.0, 4.0, True, False), (3.5, 4.0, True, True),
])
def test_a_wobble_out_of_an_anchor_and_back_makes_no_new_rest(
        out_deg: float, typical: float, at_top: bool, rebased: bool) -> None:
    """Still at an orientation inside an excursion (the anchor, 8 deg from the rest), the
    segment moves out and back and is still there again. Beyond the opening tilt (a quarter of
    the typical range) but under 35 % of that range, this is sway in a hold (in a long hip hitch
    hold it made the top the rest, counting the set inside out); from there on it is a rep from
    a new rest at the anchor. Where the anchor may be a rep's top (the caller passes the rest),
    the sway is measured against the anchor's own tilt when that is larger: before the set's
    range is known, the typical range is the exercise's lowest."""
    tracker = AnchorTracker()
    angles = np.concatenate([np.full(8, 8.0), 8.0 + out_deg * np.sin(np.linspace(0, np.pi, 10)),
                             np.full(8, 8.0)])
    moving = np.concatenate([np.zeros(8), np.ones(10), np.zeros(8)]).astype(bool)
    rest = [0.0, 0.0, 1.0] if at_top else None
    results, still_ticks = [], 0
    for k, (a, move) in enumerate(zip(np.deg2rad(angles), moving, strict=True)):
        still_ticks = 0 if move else still_ticks + 1
        results.append(tracker.step(k / TICK_HZ, [0.0, float(np.sin(a)), float(np.cos(a))],
                                    not move, still_ticks, False, 0.25 * typical, typical,
                                    2.2 * typical, rest=rest))
    rebases = [r for r in results if r is not None]  # (the segmenter acts on the first)
    assert bool(rebases) == rebased
    if rebased:
        assert rebases[0].close is not None
        assert rebases[0].close[3] == pytest.approx(out_deg, abs=0.2)  # peak, degrees


_T, _A = "toward", "aside"


@pytest.mark.parametrize(("moves", "rebased"), [
    (((_T, 17.0, ""),), False),
    (((_T, 17.0, ""), (_T, 15.0, "")), True),
    (((_T, 12.0, ""), (_T, 30.0, "")), False),  # not alike: 2.5 times the range
    (((_T, 12.0, ""), (_T, 30.0, ""), (_T, 28.0, "")), True),
    (((_T, 17.0, ""), (_T, 3.0, ""), (_T, 15.0, "")), True),  # sway between lets them pair
    (((_A, 9.0, ""),), False),
    (((_A, 9.0, ""), (_A, 8.0, "")), True),
    (((_A, 3.0, ""), (_A, 3.0, "")), False),  # sway: under 35 % of the typical range
    (((_T, 12.0, ""), (_A, 10.0, "")), False),  # not the same way
    (((_T, 17.0, ""), (_T, 16.0, "walk"), (_T, 15.0, "")), False),
    (((_T, 17.0, ""), (_T, 16.0, "hole"), (_T, 15.0, "")), False),
])
def test_a_movement_repeated_alike_out_of_an_anchor_makes_it_the_rest(
        moves: tuple[tuple[str, float, str], ...], rebased: bool) -> None:
    """Still 32 deg from the rest (where a rep may hold), the segment moves out and back and is
    still again: toward the rest (a dip), or aside by less than the 35 % of the anchor's tilt
    that sway in a long hold reaches. One such movement is no rep; a second one like it (the
    same way, half to twice the range; under 35 % of the typical range, 10 deg, is sway and
    counts for nothing) is no hold: the anchor is a new rest and both movements are reps from
    it. A walk or a hole in the data between the two leaves them apart. (After a walk, patients
    first still in another posture and then settled 32 deg from it did every bridge toward that
    first stillness, or single-leg bridges of 9 deg from one 40 deg away, and each was taken
    for a wobble in one long hold.)"""
    tracker = AnchorTracker()
    anchor = np.array([0.0, np.sin(np.radians(32.0)), np.cos(np.radians(32.0))])
    aside = np.array([1.0, 0.0, 0.0])  # perpendicular to the rest and to the anchor

    def gravity(way: str, deg: float) -> list[float]:
        if way == _T:
            a = np.radians(32.0 - deg)
            return [0.0, float(np.sin(a)), float(np.cos(a))]
        g = anchor + np.tan(np.radians(deg)) * aside
        return (g / np.linalg.norm(g)).tolist()

    ticks: list[tuple[str, float, str]] = [(_T, 0.0, "")] * 10
    for way, deg, flag in moves:
        ticks += [(way, float(d), flag) for d in deg * np.sin(np.linspace(0, np.pi, 13))]
        ticks += [(_T, 0.0, "")] * 10
    rebases, still_ticks = [], 0
    for k, (way, deg, flag) in enumerate(ticks):
        move = k > 0 and abs(deg - ticks[k - 1][1]) > 0.1
        still_ticks = 0 if move else still_ticks + 1
        r = tracker.step(k / TICK_HZ, gravity(way, deg), not move, still_ticks, flag == "walk",
                         2.5, 10.0, 22.0, in_hole=flag == "hole", rest=[0.0, 0.0, 1.0])
        if r is not None:
            rebases.append(r)
            break  # (the segmenter takes the anchor for the rest)
    assert bool(rebases) == rebased
    if rebased:
        close, earlier = rebases[0].close, rebases[0].earlier
        assert close is not None and earlier is not None
        counted = [deg for _, deg, _ in moves if deg >= 0.35 * 10.0]
        assert (earlier[3], close[3]) == pytest.approx(counted[-2:], abs=0.3)  # peaks, deg
        assert earlier[0] < earlier[2] < earlier[1] < close[0] < close[2] < close[1]  # s
        assert rebases[0].ref == pytest.approx(anchor.tolist(), abs=1e-3)  # the new rest
        assert rebases[0].valley < 1.0  # back there now, degrees


@pytest.mark.parametrize(("exercise", "peak", "closes"), [
    ("hip_hinge", 60.0, True), ("bridge", 20.0, True), ("bridge", 8.0, False),
])
def test_a_brisk_rep_that_shakes_the_footfall_band_is_no_walk(exercise: str, peak: float,
                                                             closes: bool) -> None:
    """Reps learned (60 deg hinges; 20 deg bridges), a rep lifts within 0.3 s and its speed
    shakes the footfall band for as long as it lasts. Tilting half the typical range and
    beyond a walk's sway (10 deg at the pelvis), it is the exercise and closes; a movement of 8
    deg with the same shaking is the first steps of a walk and is dropped."""
    seg = Segmenter(get_profile(exercise))
    typical = 60.0 if exercise == "hip_hinge" else 20.0
    seg.typical_deg, seg.direction, seg.learned = typical, [0.0, 1.0, 0.0], True  # reps seen
    rep = np.concatenate([np.linspace(0.0, peak, 4)[1:], np.full(3, peak),
                          np.linspace(peak, 0.0, 9)[1:]])
    angles = np.concatenate([np.zeros(20), rep, np.zeros(20)])
    shaking = np.zeros(angles.size, dtype=bool)
    shaking[20:20 + rep.size] = True
    kinds = _tick_kinds(seg, angles, shaking)
    assert ("close" in kinds) == closes
    assert kinds[0] == "start"


@pytest.mark.parametrize(("footfalls", "walk"), [
    ("steps", True), ("burst", False), ("long_burst", True), ("weak_burst", True),
])
def test_a_landing_at_the_thigh_is_a_burst_not_a_walk(footfalls: str, walk: bool) -> None:
    """Step-ups at the thigh, standing still: footfall-band shaking for 2.5 s (3.5 s for the
    long burst). Footfalls in a step's rhythm (one impact every 0.5 s) are a walk, however
    strong; an irregular burst 40 times walking's level is a rep's landing, not a walk, unless
    it goes on for ``WALK_SURE_S`` or is no stronger than a walk (6 times its level)."""
    seg = Segmenter(get_profile("step_up", "thigh"))
    rng = np.random.default_rng(3)
    n = 35 if footfalls == "long_burst" else 25
    if footfalls == "steps":
        shake = np.where(np.arange(n) % 5 == 0, 0.5, 0.01)
    else:
        level = 0.015 if footfalls == "weak_burst" else 0.1
        shake = level * rng.uniform(0.5, 1.5, n)
    measure = np.concatenate([np.zeros(30), shake, np.zeros(30)])
    # while it shakes, the thigh circles 3 deg from upright (a walking thigh is never still)
    tilt = np.where(measure > 0.0, np.sin(np.deg2rad(3.0)), 0.0)
    way = np.deg2rad(40.0) * np.arange(measure.size)
    for k, (r, s, w) in enumerate(zip(measure, tilt, way, strict=True)):
        seg.step(k / TICK_HZ, [s * np.cos(w), s * np.sin(w), np.sqrt(1.0 - s * s)], float(r))
    assert (len(seg.walk_started) == 1) == walk
    assert len(seg.walk_ended) == len(seg.walk_started)


@pytest.mark.parametrize(("exercise", "spread", "off", "shift"), [
    ("step_up", 0.0, 65.0, False), ("step_up", 0.0, 90.0, True),
    ("squat", 0.0, 65.0, True), ("squat", 50.0, 65.0, False), ("squat", 50.0, 90.0, True),
])
def test_stillness_away_from_rest_is_a_shift_only_unlike_the_reps(
        exercise: str, spread: float, off: float, shift: bool) -> None:
    """Reps learned, the segment tilts two thirds of the typical range ``off`` degrees from
    their mean direction, stays there for 2 s and comes back. Unlike the reps' way it is a
    posture shift (the excursion is aborted after a second still): 60 deg off in general, 75
    deg for step-ups at the pelvis (whose tops lean sideways with the leading leg), and further
    than the learned reps' own ``spread`` from their mean by 30 deg. Otherwise it is held at a
    rep's top and closes when it comes back."""
    seg = Segmenter(get_profile(exercise))
    typical = 9.0 if exercise == "step_up" else 20.0
    seg.typical_deg, seg.direction, seg.learned = typical, [0.0, 1.0, 0.0], True  # reps seen
    seg.direction_spread_deg = spread
    tilt = np.concatenate([np.zeros(20), np.linspace(0.0, 2.0 / 3.0 * typical, 11)[1:],
                           np.full(20, 2.0 / 3.0 * typical),
                           np.linspace(2.0 / 3.0 * typical, 0.0, 11)[1:], np.zeros(20)])
    kinds = _tick_kinds(seg, tilt, way_deg=off)
    assert kinds[0] == "start"
    assert ("abort" in kinds) == shift
    assert ("close" in kinds) == (not shift)


@pytest.mark.parametrize(("share", "shift"), [(0.27, True), (0.5, True), (0.2, False)])
def test_a_small_shift_the_other_way_is_a_new_rest(share: float, shift: bool) -> None:
    """Reps learned (20 deg squats), the pelvis shifts the other way by ``share`` of the range
    and stays there. From the share at which an excursion opens (a quarter) on, it is a posture
    shift: the excursion is aborted after a second still and the shifted tilt is the new rest.
    Less opens no excursion, and staying put there 1.5 s moves the rest all the same."""
    seg = Segmenter(get_profile("squat"))
    seg.typical_deg, seg.direction, seg.learned = 20.0, [0.0, 1.0, 0.0], True  # reps seen
    angles = -np.concatenate([np.zeros(20), np.linspace(0.0, share * 20.0, 6)[1:],
                              np.full(40, share * 20.0)])
    kinds = _tick_kinds(seg, angles)
    assert kinds == (["start", "top", "abort"] if shift else [])
    assert seg.ref is not None
    assert math.degrees(math.atan2(seg.ref[1], seg.ref[2])) == pytest.approx(-share * 20.0,
                                                                            abs=1.0)


def test_data_interpolated_across_a_hole_make_no_rest() -> None:
    """A disconnect while the thigh was part-way into a squat, resuming part-way into the
    next: the data across the hole are a straight line between two nearly equal tilts, still
    to the detector's eye for seconds. They are no evidence of stillness, so no rest is learned
    there: the rep after the hole is measured from the set's rest (its full 20 deg), not from
    the interpolated tilt 4 deg up (a rest learned in a hole left a thigh's walk after the set
    swinging far beyond a gait's from it, and the walk was counted as reps)."""
    seg = Segmenter(get_profile("squat", "thigh"))
    seg.typical_deg, seg.direction, seg.learned = 20.0, [0.0, 1.0, 0.0], True  # reps seen
    rep = np.concatenate([np.linspace(0.0, 20.0, 11)[1:], np.full(5, 20.0),
                          np.linspace(20.0, 0.0, 11)[1:]])
    angles = np.concatenate([np.zeros(20), np.linspace(4.0, 4.5, 25), np.zeros(10), rep,
                             np.zeros(20)])
    hole = np.zeros(angles.size, dtype=bool)
    hole[20:45] = True
    closes = []
    for k, (a, in_hole) in enumerate(zip(np.deg2rad(angles), hole, strict=True)):
        e = seg.step(k / TICK_HZ, [0.0, float(np.sin(a)), float(np.cos(a))], 0.0, bool(in_hole))
        closes += [x.excursion for x in (e, *seg.queued) if x is not None and x.kind == "close"]
        seg.queued.clear()
    assert seg.ref is not None
    assert math.degrees(math.asin(seg.ref[1])) == pytest.approx(0.0, abs=1.0)
    assert [ex.peak_deg for ex in closes if ex is not None] == [pytest.approx(20.0, abs=0.5)]


@pytest.mark.parametrize("rows", [16, 17, 51, 52, 300])
@pytest.mark.parametrize("cutoff_hz", [TILT_CUTOFF_HZ, TRANSLATION_CUTOFF_HZ])
def test_the_zero_phase_low_pass_is_scipys_forward_backward_filter(rows: int,
                                                                   cutoff_hz: float) -> None:
    """The zero-phase low-pass keeps the filter's steady state from one call to the next, and
    gives what ``scipy.signal.sosfiltfilt`` gives with the same padding, to the last bit, on
    windows shorter and longer than the 50-sample padding."""
    x = np.cumsum(np.random.default_rng(rows).normal(size=(rows, 3)), axis=0)
    sos = signal.butter(2, cutoff_hz, fs=GRID_HZ, output="sos")
    expected = signal.sosfiltfilt(sos, x, axis=0, padlen=min(rows - 1, 50))
    np.testing.assert_array_equal(zero_phase_lowpass(x, cutoff_hz), expected)
