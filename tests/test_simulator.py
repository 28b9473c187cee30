"""Physics and ground truth of the recording simulator (rehablink.simulator)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial.transform import Rotation

from rehablink.exercises import EXERCISES
from rehablink.recording import Recording
from rehablink.simulator import HAZARDS, SetSpec, Truth, random_spec, simulate, truth_path
from rehablink.simulator import sensor as sen
from rehablink.simulator.motion import min_jerk


def _mean(rec: Recording, a: float, b: float, x: np.ndarray) -> np.ndarray:
    sel = (rec.t >= a) & (rec.t <= b)
    assert sel.sum() >= 3, (a, b)
    return np.asarray(x[sel].mean(axis=0))


def _angle_deg(u: np.ndarray, v: np.ndarray) -> float:
    c = u @ v / np.linalg.norm(u) / np.linalg.norm(v)
    return float(np.degrees(np.arccos(np.clip(c, -1.0, 1.0))))


# --- the sensor model on its own -------------------------------------------------------------

def test_ideal_accelerometer_reads_one_g_at_rest_for_any_mounting() -> None:
    rng = np.random.default_rng(0)
    t = np.arange(0.0, 1.0, 1 / 400)
    for placement in ("pelvis", "thigh") * 10:
        mount = sen.draw_mount(placement, rng)
        body = Rotation.from_rotvec(np.tile(rng.normal(size=3), (t.size, 1)))
        pos = np.array([0.3, -1.0, 0.9]) + body.apply(mount.lever_m)
        f, w = sen.ideal_imu(t, body.as_matrix(), pos, mount)
        np.testing.assert_allclose(np.linalg.norm(f, axis=1), 1.0, atol=1e-9)
        np.testing.assert_allclose(w, 0.0, atol=1e-9)


def test_lever_arm_gives_centripetal_acceleration() -> None:
    """A sensor 0.2 m from a vertical axis spun at 2 rad/s feels w^2 r = 0.8 m/s^2 inwards."""
    t = np.arange(0.0, 2.0, 1 / 400)
    body = Rotation.from_rotvec(np.column_stack([0 * t, 0 * t, 2.0 * t]))
    mount = sen.Mount((0.2, 0.0, 0.0), Rotation.identity(), "test")
    f, w = sen.ideal_imu(t, body.as_matrix(), body.apply([0.2, 0.0, 0.0]), mount)
    np.testing.assert_allclose(f[400], [-0.8 / sen.G0, 0.0, 1.0], atol=1e-5)
    np.testing.assert_allclose(w[400], [0.0, 0.0, np.degrees(2.0)], atol=1e-6)


def test_ideal_gyro_integrates_to_the_sensor_rotation() -> None:
    rng = np.random.default_rng(1)
    t = np.arange(0.0, 3.0, 1 / 800)
    axis = rng.normal(size=3)
    rv = (np.outer(min_jerk(t / 3.0), axis) + 0.2 * np.outer(np.sin(2 * t), rng.normal(size=3)))
    body = Rotation.from_rotvec(rv)
    mount = sen.draw_mount("pelvis", rng)
    _, w = sen.ideal_imu(t, body.as_matrix(), np.zeros((t.size, 3)), mount)
    steps = Rotation.from_rotvec(np.radians(w[:-1]) / 800)
    integrated = Rotation.identity()
    for k in range(len(steps)):
        integrated = integrated * steps[k]
    expected = (body[0] * mount.rotation).inv() * body[-1] * mount.rotation
    assert (integrated.inv() * expected).magnitude() < np.radians(0.1)


def test_clip_wobble_follows_base_excitation_transmissibility() -> None:
    """|T| = sqrt(1 + (2 z r)^2) / sqrt((1 - r^2)^2 + (2 z r)^2): 1 well below resonance,
    sqrt(1 + 4 z^2) / (2 z) = 5.10 at resonance for z = 0.1."""
    fs = 800.0
    t = np.arange(0.0, 8.0, 1 / fs)
    for f_hz, expected in ((0.5, 1.0), (10.0, np.sqrt(1 + 0.04) / 0.2)):
        a = np.sin(2 * np.pi * f_hz * t)[:, None] * np.ones(3)
        out = sen.clip_wobble(a, fs, 10.0, 0.1)
        assert np.abs(out[t > 6.0]).max() == pytest.approx(expected, rel=0.02)


def test_quantise_rounds_to_int16_steps_and_clips() -> None:
    x = np.array([0.00013, 1.99999, 2.5, -3.0])
    q = sen.quantise(x, 2.0, 16)
    lsb = 2.0 / 32768
    np.testing.assert_allclose(q / lsb, np.round(q / lsb))
    assert q[2] == pytest.approx(32767 * lsb) and q[3] == pytest.approx(-2.0)


# --- whole recordings --------------------------------------------------------------------------

def test_rest_norm_is_one_g_within_the_error_budget() -> None:
    for seed, ex in enumerate(("bridge", "clamshell", "squat", "hip_hitch")):
        rec, truth = simulate(SetSpec(ex, n_reps=2, rate_hz=100.0), seed)
        a = truth.details["set_window"][0]
        norm = np.linalg.norm(rec.acc[(rec.t > a - 1.5) & (rec.t < a - 0.1)], axis=1)
        # bias <= 40 mg per axis and 1.5 % scale error (sd) bound the offset; noise the spread
        assert abs(np.median(norm) - 1.0) < 0.09
        assert norm.std() < 0.01


@pytest.mark.parametrize("exercise", ["bridge", "side_leg_raise", "hip_hitch"])
def test_gravity_angle_between_rest_and_top_equals_rom(exercise: str) -> None:
    for seed in range(2):
        rec, truth = simulate(SetSpec(exercise, n_reps=3, rate_hz=100.0, hold_s=2.0), seed)
        for r in truth.reps:
            g_rest = _mean(rec, r["start"] - 0.4, r["start"] - 0.05, rec.acc)
            g_top = _mean(rec, r["top"] - 0.08, r["top"] + 0.08, rec.acc)  # the peak
            assert _angle_deg(g_rest, g_top) == pytest.approx(r["rom_deg"], abs=0.7 + 0.06 * r[
                "rom_deg"])


@pytest.mark.parametrize("exercise", ["bridge", "side_leg_raise", "hip_hitch"])
def test_gyro_integrates_to_the_truth_rotation(exercise: str) -> None:
    rec, truth = simulate(SetSpec(exercise, n_reps=3, rate_hz=100.0, hold_s=1.5), 7)
    assert rec.gyro is not None
    for r in truth.reps:
        bias = _mean(rec, r["start"] - 0.4, r["start"] - 0.05, rec.gyro)
        sel = (rec.t >= r["start"] - 0.05) & (rec.t <= r["top"] + 0.5)
        dt = np.diff(rec.t[sel])
        steps = Rotation.from_rotvec(np.radians(rec.gyro[sel][:-1] - bias) * dt[:, None])
        total = Rotation.identity()
        for k in range(len(steps)):
            total = total * steps[k]
        assert np.degrees(total.magnitude()) == pytest.approx(r["rom_deg"],
                                                              abs=0.7 + 0.06 * r["rom_deg"])


def test_same_seed_same_recording_other_seed_other_recording() -> None:
    spec = SetSpec("single_leg_bridge", n_reps=3, hazards=("jitter", "drops", "fidgets"))
    a, ta = simulate(spec, 42)
    b, tb = simulate(spec, 42)
    c, _ = simulate(spec, 43)
    assert np.array_equal(a.t, b.t) and np.array_equal(a.acc, b.acc)
    assert a.gyro is not None and b.gyro is not None and np.array_equal(a.gyro, b.gyro)
    assert ta.to_json() == tb.to_json()
    assert len(a) != len(c) or not np.array_equal(a.acc, c.acc)


def _check_truth(rec: Recording, truth: Truth, spec: SetSpec) -> None:
    assert truth.rep_count == spec.n_reps
    assert np.all(np.diff(rec.t) > 0) and np.all(np.isfinite(rec.acc))
    assert (rec.gyro is not None) == spec.gyro
    previous_end = -np.inf
    events = sorted([*truth.reps, *truth.partials], key=lambda e: e["start"])
    for e in events:
        assert e["start"] >= previous_end - 1e-6
        previous_end = e["end"]
    for r in truth.reps:
        assert r["start"] < r["top"] <= r["lower_start"] < r["end"]
        assert r["hold_s"] == pytest.approx(r["lower_start"] - r["top"], abs=2e-4)
        assert r["rom_deg"] > 0
    typical = float(np.median([r["rom_deg"] for r in truth.reps]))
    for p in truth.partials:
        assert p["start"] < p["end"] and p["rom_deg"] < typical / 3
    for r in truth.reps:
        assert r["rom_deg"] >= typical / 3
        assert ("reduced_rom" in r["flags"]) == (r["rom_deg"] < 0.7 * typical)
    assert rec.t[0] <= truth.reps[0]["start"] and truth.reps[-1]["end"] <= rec.t[-1]


@pytest.mark.parametrize("exercise", list(EXERCISES))
def test_every_hazard_at_once_for_every_exercise(exercise: str) -> None:
    for placement in ("pelvis", "thigh"):
        spec = SetSpec(exercise, placement, n_reps=4, rate_hz=50.0, hazards=tuple(HAZARDS))
        rec, truth = simulate(spec, 3)
        _check_truth(rec, truth, spec)


@pytest.mark.parametrize("hazard", list(HAZARDS))
def test_each_hazard_alone(hazard: str) -> None:
    exercise = list(EXERCISES)[list(HAZARDS).index(hazard) % len(EXERCISES)]
    spec = SetSpec(exercise, n_reps=5, rate_hz=52.0, hazards=(hazard,))
    rec, truth = simulate(spec, 11)
    _check_truth(rec, truth, spec)
    assert truth.hazards == (hazard,)


@settings(max_examples=8, deadline=None, derandomize=True)
@given(exercise=st.sampled_from(list(EXERCISES)), placement=st.sampled_from(["pelvis", "thigh"]),
       hazards=st.sets(st.sampled_from(list(HAZARDS))), n_reps=st.integers(1, 6),
       seed=st.integers(0, 999))
def test_any_hazard_combination_gives_consistent_truth(exercise: str, placement: str,
                                                       hazards: set[str], n_reps: int,
                                                       seed: int) -> None:
    spec = SetSpec(exercise, placement, n_reps=n_reps, rate_hz=26.0,
                   hazards=tuple(sorted(hazards)))
    rec, truth = simulate(spec, seed)
    _check_truth(rec, truth, spec)


def test_sample_rate_drift_and_jitter() -> None:
    for rate in (25.0, 104.0, 200.0):
        rec, _ = simulate(SetSpec("squat", n_reps=2, rate_hz=rate), 5)
        # mean, not median: millisecond timestamps make 104 Hz steps of 9 and 10 ms
        assert (len(rec) - 1) / rec.duration_s == pytest.approx(rate, rel=0.01)
        assert np.diff(rec.t).max() < 1.5 / rate  # no drops without the hazard
    clocks = set()
    for seed in range(4):
        rec, truth = simulate(SetSpec("squat", n_reps=2, rate_hz=100.0, hazards=("drift",)), seed)
        drift = truth.details["clock_drift_ppm"] * 1e-6
        assert 0.003 <= abs(drift) <= 0.02
        clocks.add(truth.details["clock"])
        # a sensor clock keeps the nominal rate in the file; a host clock shows the real one
        real = 100.0 * (1 + drift) if truth.details["clock"] == "host" else 100.0
        assert (len(rec) - 1) / rec.duration_s == pytest.approx(real, rel=0.001)
    assert clocks == {"host", "sensor"}
    rec, _ = simulate(SetSpec("squat", n_reps=2, rate_hz=100.0, hazards=("jitter",)), 5)
    dt = np.diff(rec.t)
    assert dt.min() > 0.0 and dt.std() > 0.05 / 100.0 and dt.max() < 1.8 / 100.0
    rec, _ = simulate(SetSpec("squat", n_reps=2, rate_hz=100.0, hazards=("low_rate",)), 5)
    assert rec.sample_rate_hz < 27.0


def test_drops_and_disconnect_leave_gaps() -> None:
    spec = SetSpec("bridge", n_reps=4, rate_hz=50.0)
    full, _ = simulate(spec, 8)
    rec, _ = simulate(SetSpec("bridge", n_reps=4, rate_hz=50.0, hazards=("drops",)), 8)
    assert 0.95 * len(full) <= len(rec) <= 0.995 * len(full)
    rec, truth = simulate(SetSpec("bridge", n_reps=4, rate_hz=50.0, hazards=("disconnect",)), 8)
    (a, b), = truth.details["gaps"]
    assert 2.0 <= b - a <= 6.2
    dt = np.diff(rec.t)
    assert dt.max() == pytest.approx(b - a, abs=0.05)
    for r in truth.reps:  # never a whole rep inside the gap
        assert not (r["start"] >= a and r["end"] <= b)


def test_quantised_to_the_range_and_clipped() -> None:
    spec = SetSpec("step_up", n_reps=3, rate_hz=100.0, acc_range_g=2,
                   hazards=("walking_around",))
    rec, truth = simulate(spec, 2)
    lsb = 2.0 / 2 ** (truth.details["adc_bits"] - 1)
    codes = rec.acc / lsb
    np.testing.assert_allclose(codes, np.round(codes), atol=1e-6)
    assert np.abs(rec.acc).max() <= 2.0


def test_accelerometer_only_sensor() -> None:
    rec, _ = simulate(SetSpec("hip_hinge", n_reps=2, hazards=("acc_only",)), 1)
    assert rec.gyro is None
    rec, _ = simulate(SetSpec("hip_hinge", n_reps=2, has_gyro=False), 1)
    assert rec.gyro is None


def test_walking_has_steps_at_about_two_hertz() -> None:
    rec, truth = simulate(SetSpec("squat", n_reps=2, rate_hz=50.0,
                                  hazards=("walking_around",)), 4)
    sel = rec.t < truth.details["set_window"][0] - 4.0
    norm = np.linalg.norm(rec.acc[sel], axis=1)
    spectrum = np.abs(np.fft.rfft(norm - norm.mean()))
    freqs = np.fft.rfftfreq(norm.size, 1 / 50.0)
    assert 1.5 <= freqs[np.argmax(spectrum)] <= 2.1
    assert np.ptp(norm) > 0.3  # heel strikes, not a still person


def test_lying_down_turns_gravity_by_about_ninety_degrees() -> None:
    """Standing before a bridge set and lying on the back during it: the belt sensor's gravity
    direction turns by roughly a right angle (pelvis upright -> pelvis facing the ceiling)."""
    rec, truth = simulate(SetSpec("bridge", n_reps=2, hazards=("lying_down_getting_up",)), 5)
    standing = _mean(rec, rec.t[0], rec.t[0] + 0.8, rec.acc)
    start = truth.details["set_window"][0]
    lying = _mean(rec, start - 1.0, start - 0.1, rec.acc)
    assert 75.0 <= _angle_deg(standing, lying) <= 105.0


def test_belt_mount_lies_flat_on_the_belt() -> None:
    rng = np.random.default_rng(3)
    flat = 0
    for _ in range(40):
        mount = sen.draw_mount("pelvis", rng)
        x, y, z = mount.lever_m
        assert 0.12 <= np.hypot(x, y) <= 0.18 and -0.04 <= z <= 0.06
        outward = np.array([x / 0.13**2, y / 0.17**2, 0.0])  # normal of the belt's ellipse
        sensor_z = mount.rotation.apply([0.0, 0.0, 1.0])
        flat += abs(_angle_deg(sensor_z, outward) - 90.0) > 89.0  # z along +/- the normal
    assert 20 <= flat <= 38  # about three in four are flat, the rest any rotation


def test_fatigue_shrinks_the_last_rep() -> None:
    _, truth = simulate(SetSpec("bridge", n_reps=8, rom_deg=25.0, hazards=("fatigue",)), 6)
    first, last = truth.reps[0]["rom_deg"], truth.reps[-1]["rom_deg"]
    assert 0.55 <= last / first <= 0.75


def test_partials_and_reduced_reps_have_their_own_truth() -> None:
    spec = SetSpec("hip_hinge", n_reps=8, hazards=("partials", "reduced_rom"))
    rec, truth = simulate(spec, 9)
    assert 1 <= truth.partial_count <= 3
    assert 1 <= sum("reduced_rom" in r["flags"] for r in truth.reps) <= 2
    _check_truth(rec, truth, spec)


def test_posture_shift_changes_the_rest_orientation() -> None:
    rec, truth = simulate(SetSpec("clamshell", n_reps=6, rate_hz=50.0,
                                  hazards=("posture_shift",)), 12)
    first, last = truth.reps[0], truth.reps[-1]
    before = _mean(rec, first["start"] - 0.4, first["start"] - 0.05, rec.acc)
    after = _mean(rec, last["end"] + 0.3, last["end"] + 1.5, rec.acc)
    assert 2.5 <= _angle_deg(before, after) <= 11.0


def test_compensation_truth_is_the_peak_amount() -> None:
    spec = SetSpec("single_leg_bridge", n_reps=10, compensation_deg=8.0,
                   hazards=("compensation",))
    _, truth = simulate(spec, 13)
    stab = [r["stability_deg"] for r in truth.reps]
    assert max(stab) == pytest.approx(8.0 * 1.1, abs=0.9) and min(stab) < 1.5


def test_truth_json_round_trip(tmp_path: Path) -> None:
    rec, truth = simulate(SetSpec("side_leg_raise", n_reps=3), 1)
    path = tmp_path / "set.csv"
    rec.write_csv(path)
    truth.write(truth_path(path))
    assert truth_path(path).name == "set.truth.json"
    assert Truth.read(truth_path(path)) == Truth.from_json(truth.to_json())
    assert Truth.read(truth_path(path)).to_json() == truth.to_json()


def test_spec_rejects_unknown_ids_listing_the_known() -> None:
    with pytest.raises(ValueError, match="known: bridge"):
        SetSpec("plank")
    with pytest.raises(ValueError, match="known: jitter"):
        SetSpec("bridge", hazards=("earthquake",))
    with pytest.raises(ValueError):
        SetSpec("bridge", n_reps=0)


def test_random_specs_are_varied_and_valid() -> None:
    rng = np.random.default_rng(0)
    specs = [random_spec(rng) for _ in range(200)]
    assert {s.exercise for s in specs} == set(EXERCISES)
    assert {s.placement for s in specs} == {"pelvis", "thigh"}
    assert len({s.rate_hz for s in specs}) >= 5
    assert {False, True} == {s.has_gyro for s in specs}
    assert set().union(*(s.hazards for s in specs)) == set(HAZARDS)
    assert random_spec(rng, exercise="squat", hazards=()).hazards == ()
    assert SetSpec.from_json(specs[0].to_json()) == specs[0]
