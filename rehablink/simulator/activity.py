"""What happens around and inside the set that is not a rep: postures and the transitions between
them, walking, breathing, sway, fidgets, hold tremor and sag.

All functions are pure: arrays of times (s) in, arrays of rotation vectors (rad, in the segment's
frame), heights and positions (m) out.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.signal import butter, sosfiltfilt
from scipy.spatial.transform import Rotation

from rehablink.simulator.motion import min_jerk

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Key:
    """A posture held at time ``t`` (s): pelvis orientation in the heading frame (rotation vector,
    rad), the thigh's rest rotation relative to the pelvis (rotation vector, rad) and the height of
    the pelvis centre (m)."""

    t: float
    pelvis: tuple[float, float, float]
    hip: tuple[float, float, float]
    z: float


def _ry(deg: float) -> tuple[float, float, float]:
    return (0.0, float(np.deg2rad(deg)), 0.0)


#: Intermediate postures of lying down and getting up: (pelvis rotvec, hip rotvec, height m).
STANDING = ((0.0, 0.0, 0.0), (0.0, 0.0, 0.0), 0.95)
CROUCH = (_ry(40.0), _ry(-100.0), 0.50)
SITTING = (_ry(-25.0), _ry(-85.0), 0.12)


def base_from_keys(t: FloatArray, keys: list[Key]) -> tuple[Rotation, FloatArray, FloatArray]:
    """Posture between keys with minimum-jerk transitions.

    Returns
    -------
    pelvis : Rotation
        Heading frame from pelvis frame, one per time.
    hip : ndarray, shape (n, 3)
        Thigh rest rotation relative to the pelvis, rotation vectors, rad.
    z : ndarray, shape (n,)
        Height of the pelvis centre, m.
    """
    n = t.size
    rotvecs = np.zeros((n, 3))
    hip = np.zeros((n, 3))
    z = np.zeros(n)
    first = keys[0]
    rotvecs[:] = first.pelvis
    hip[:] = first.hip
    z[:] = first.z
    for a, b in itertools.pairwise(keys):
        sel = t >= a.t
        if a.pelvis == b.pelvis and a.hip == b.hip and a.z == b.z:  # a hold
            rotvecs[sel], hip[sel], z[sel] = a.pelvis, a.hip, a.z
            continue
        sel &= t <= b.t
        s = min_jerk((t[sel] - a.t) / max(b.t - a.t, 1e-9))
        ra, rb = Rotation.from_rotvec(a.pelvis), Rotation.from_rotvec(b.pelvis)
        rel = (ra.inv() * rb).as_rotvec()
        rotvecs[sel] = (ra * Rotation.from_rotvec(s[:, None] * rel)).as_rotvec()
        hip[sel] = np.asarray(a.hip) + s[:, None] * (np.asarray(b.hip) - np.asarray(a.hip))
        z[sel] = a.z + s * (b.z - a.z)
    last = keys[-1]
    after = t > last.t
    rotvecs[after], hip[after], z[after] = last.pelvis, last.hip, last.z
    return Rotation.from_rotvec(rotvecs), hip, z


def smooth_noise(n: int, fs: float, cutoff_hz: float, rng: np.random.Generator,
                 dims: int = 3) -> FloatArray:
    """Band-limited Gaussian noise of unit standard deviation per column (4th-order low-pass, so
    its second derivative stays bounded: sway has no white acceleration)."""
    pad = int(4 * fs / cutoff_hz)
    sos = butter(4, cutoff_hz, fs=fs, output="sos")
    x = sosfiltfilt(sos, rng.normal(size=(n + 2 * pad, dims)), axis=0)[pad : pad + n]
    return np.asarray(x / np.maximum(x.std(axis=0), 1e-12))


@dataclass(frozen=True)
class Walk:
    """Walking between ``t0`` and ``t1`` (s) with a half turn in the middle."""

    t0: float
    t1: float
    step_hz: float
    speed_m_s: float


def walking(t: FloatArray, walks: list[Walk], heading0: float,
            rng: np.random.Generator) -> dict[str, FloatArray]:
    """Heading, horizontal path and the gait oscillations of the pelvis and thigh.

    Steps at ``step_hz``: the pelvis bounces 1.5-2.5 cm per step (with a 5-15 % second
    harmonic and a heel-strike jolt, :func:`heel_strikes`), surges 5-12 % of the walking speed,
    sways 1.5-3 cm, rolls 3-6 deg and turns 3-7 deg per stride, pitches 1-3 deg per step; the
    thigh swings 15-25 deg; the half turn takes 1.5-2.5 s.
    """
    n = t.size
    dt = float(t[1] - t[0])
    heading = np.full(n, heading0)
    speed = np.zeros(n)
    out = {k: np.zeros((n, 3)) for k in ("pelvis", "hip")}
    bounce = np.zeros(n)
    sway_left = np.zeros(n)
    for w in walks:
        tau = t - w.t0
        dur = w.t1 - w.t0
        env = min_jerk(tau / 0.8) * min_jerk((w.t1 - t) / 0.8)
        mid = w.t0 + dur / 2
        turn_s = rng.uniform(1.5, 2.5)
        turn = min_jerk((t - (mid - turn_s / 2)) / turn_s) * np.pi * rng.choice([-1.0, 1.0])
        heading = heading + turn
        slow = 1.0 - 0.5 * np.exp(-(((t - mid) / (turn_s / 2)) ** 2))
        phase0 = rng.uniform(0, 2 * np.pi)
        phase = 2 * np.pi * w.step_hz * tau + phase0
        surge = 1.0 + rng.uniform(0.05, 0.12) * np.sin(phase + rng.uniform(0, 1))
        speed += w.speed_m_s * env * slow * surge
        a_roll, a_yaw, a_pitch = np.deg2rad(rng.uniform([3, 3, 1], [6, 7, 3]))
        out["pelvis"] += env[:, None] * np.column_stack(
            [a_roll * np.sin(phase / 2), a_pitch * np.sin(phase), a_yaw * np.cos(phase / 2)])
        out["hip"][:, 1] += env * np.deg2rad(rng.uniform(15, 25)) * np.sin(phase / 2)
        harmonic = rng.uniform(0.05, 0.15) * np.cos(2 * phase + rng.uniform(0, 2 * np.pi))
        bounce += env * rng.uniform(0.015, 0.025) * (np.cos(phase) + harmonic)
        bounce += env * heel_strikes(t, w, phase0, rng)
        sway_left += env * rng.uniform(0.015, 0.03) * np.sin(phase / 2)
    xy = np.cumsum(speed[:, None] * np.column_stack([np.cos(heading), np.sin(heading)]),
                   axis=0) * dt
    xy[:, 0] -= sway_left * np.sin(heading)
    xy[:, 1] += sway_left * np.cos(heading)
    return {"heading": heading, "xy": xy, "bounce": bounce, **out}


def heel_strikes(t: FloatArray, w: Walk, phase0: float, rng: np.random.Generator) -> FloatArray:
    """Vertical displacement (m) whose second derivative is a 0.1-0.3 g jolt of 12-25 ms at each
    heel strike (the lowest point of the step): a Gaussian dip of ``a sigma^2``."""
    out = np.zeros(t.size)
    sigma = rng.uniform(0.012, 0.025)
    first = (np.pi - phase0) % (2 * np.pi) / (2 * np.pi * w.step_hz)
    for k, at in enumerate(np.arange(w.t0 + first, w.t1, 1.0 / w.step_hz)):
        near = np.abs(t - at) < 5 * sigma
        jolt = rng.uniform(0.1, 0.3) * 9.80665 * (1.0 if k % 2 else rng.uniform(0.7, 1.0))
        out[near] -= jolt * sigma**2 * np.exp(-0.5 * ((t[near] - at) / sigma) ** 2)
    return out


def breathing(t: FloatArray, fs: float, rng: np.random.Generator,
              amp_deg: float) -> tuple[FloatArray, FloatArray]:
    """Breathing at 0.2-0.3 Hz: pelvic pitch (rotvec, rad) and a vertical motion (m, ~10 mm/deg)."""
    f = rng.uniform(0.2, 0.3) + 0.02 * smooth_noise(t.size, fs, 0.05, rng, 1)[:, 0]
    phase = 2 * np.pi * np.cumsum(f) / fs + rng.uniform(0, 2 * np.pi)
    amp = np.deg2rad(amp_deg) * (1 + 0.15 * smooth_noise(t.size, fs, 0.1, rng, 1)[:, 0])
    rot = np.zeros((t.size, 3))
    rot[:, 1] = amp * np.sin(phase)
    rot[:, 0] = 0.2 * amp * np.sin(phase + 0.7)
    return rot, 0.6 * amp * np.sin(phase)


def bump(t: FloatArray, center: float, duration: float) -> FloatArray:
    """0 -> 1 -> 0 over ``duration`` s centred on ``center``, minimum-jerk halves."""
    half = duration / 2
    up = min_jerk((t - (center - half)) / half)
    down = min_jerk((t - center) / half)
    return np.where(t < center, up, 1.0 - down)


def fidgets(t: FloatArray, windows: list[tuple[float, float]], max_deg: float,
            rng: np.random.Generator) -> tuple[FloatArray, FloatArray]:
    """Short sharp movements (0.15-0.5 s) in the given windows: rotvec (rad) and shift (m)."""
    rot = np.zeros((t.size, 3))
    pos = np.zeros((t.size, 3))
    for a, b in windows:
        if b - a < 0.8:
            continue
        dur = float(rng.uniform(0.15, 0.5))
        center = float(rng.uniform(a + dur, b - dur)) if b - a > 2 * dur + 0.1 else (a + b) / 2
        axis = rng.normal(size=3)
        axis /= np.linalg.norm(axis)
        direction = rng.normal(size=3)
        direction /= np.linalg.norm(direction)
        shape = bump(t, center, dur)[:, None]
        rot += shape * axis * np.deg2rad(rng.uniform(0.3, 1.0) * max_deg)
        pos += shape * direction * rng.uniform(0.003, 0.015)
    return rot, pos


def hold_tremor(t: FloatArray, top: float, lower_start: float,
                rng: np.random.Generator) -> FloatArray:
    """Muscle tremor while holding (8-12 Hz, 0.003-0.02 deg: up to about 0.02 g at a 0.15 m lever
    arm); rotvec, rad."""
    rot = np.zeros((t.size, 3))
    hold = lower_start - top
    if hold <= 0.2:
        return rot
    sel = (t > top) & (t < lower_start)
    env = np.sin(np.pi * (t[sel] - top) / hold) ** 2
    axis = rng.normal(size=3)
    axis /= np.linalg.norm(axis)
    f = rng.uniform(8.0, 12.0)
    amp = np.deg2rad(rng.uniform(0.003, 0.02))
    rot[sel] = (amp * env * np.sin(2 * np.pi * f * t[sel] + rng.uniform(0, 6.3)))[:, None] * axis
    return rot
