"""Step-up timing from the pelvis's vertical motion (wearable/motion/stepping.py)."""

from __future__ import annotations

import numpy as np

from rehablink.simulator import SetSpec, simulate
from wearable.motion.analyze import analyze
from wearable.motion.preprocess import GRID_HZ
from wearable.motion.stepping import G, vertical_velocity


def test_vertical_velocity_of_a_rise_and_fall_in_any_orientation() -> None:
    """A minimum-jerk rise of 0.2 m in 1 s peaks at 1.875 * 0.2 / 1 = 0.375 m/s (Flash and
    Hogan's profile), whatever the sensor's orientation; the fall mirrors it. Within 15 %: the
    0.08 Hz high-passes that remove drift take a little of a 1 s pulse."""
    t = np.arange(0.0, 12.0, 1.0 / GRID_HZ)

    def min_jerk_acc(t0: float, d: float, dur: float) -> np.ndarray:
        s = np.clip((t - t0) / dur, 0.0, 1.0)
        inside = (t >= t0) & (t <= t0 + dur)
        return np.where(inside, d / dur**2 * (60 * s - 180 * s**2 + 120 * s**3), 0.0)

    a_up = min_jerk_acc(3.0, 0.2, 1.0) + min_jerk_acc(7.0, -0.2, 1.0)
    down = np.array([0.3, -0.5, 0.81])
    down /= np.linalg.norm(down)  # gravity's direction in a tilted sensor's frame
    acc = (1.0 + a_up / G)[:, None] * down[None, :]
    v = vertical_velocity(acc)
    assert abs(float(v.max()) - 0.375) < 0.15 * 0.375
    assert abs(float(-v.min()) - 0.375) < 0.15 * 0.375
    assert abs(float(t[np.argmax(v)]) - 3.5) < 0.1
    assert abs(float(t[np.argmin(v)]) - 7.5) < 0.1


def test_step_up_tops_and_returns_follow_the_truth() -> None:
    """On a clean simulated set the top (standing on the step) and the start of the step down
    are found within 0.5 s of the truth."""
    spec = SetSpec("step_up", n_reps=6, rate_hz=100.0)
    recording, truth = simulate(spec, 2900)
    result = analyze(recording, "step_up")
    assert result.rep_count == truth.rep_count
    for rep, true in zip(result.reps, truth.reps, strict=True):
        assert abs(rep.top - true["top"]) < 0.5
        assert abs(rep.lower_start - true["lower_start"]) < 0.5
