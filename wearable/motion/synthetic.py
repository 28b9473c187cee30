"""Simple synthetic sets with exact timing, for unit tests and examples (not a body model).

A segment rotates about one horizontal axis through minimum-jerk lifts and lowerings (the usual
model of human point-to-point movement); the sensor is mounted in an arbitrary orientation.
Angles in degrees, times in seconds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from rehablink.recording import Recording

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class SyntheticRep:
    """One rep: amplitude and phase durations."""

    rom_deg: float
    lift_s: float = 1.5
    hold_s: float = 2.0
    lower_s: float = 1.5
    rest_s: float = 2.0


def rotation(axis: FloatArray, deg: FloatArray) -> FloatArray:
    """Rotation matrices (m, 3, 3) about a unit ``axis`` by angles ``deg``."""
    a = np.radians(np.atleast_1d(deg))[:, None, None]
    k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    return np.eye(3)[None] + np.sin(a) * k[None] + (1 - np.cos(a)) * (k @ k)[None]


def _min_jerk(s: FloatArray) -> FloatArray:
    """Minimum-jerk position from 0 to 1 over normalised time ``s`` in [0, 1]."""
    return np.asarray(10 * s**3 - 15 * s**4 + 6 * s**5, dtype=np.float64)


def tilt_profile(reps: list[SyntheticRep], rate_hz: float, lead_s: float = 3.0,
                 tail_s: float = 3.0,
                 ) -> tuple[FloatArray, FloatArray, list[tuple[float, float, float, float]]]:
    """Tilt angle over time and the true (start, top, lower_start, end) of each rep."""
    parts = [np.zeros(round(lead_s * rate_hz))]
    truth = []
    t_now = lead_s
    for r in reps:
        n_l, n_h = round(r.lift_s * rate_hz), round(r.hold_s * rate_hz)
        n_d, n_p = round(r.lower_s * rate_hz), round(r.rest_s * rate_hz)
        lift = r.rom_deg * _min_jerk(np.arange(n_l) / n_l)
        lower = r.rom_deg * (1.0 - _min_jerk(np.arange(n_d) / n_d))
        parts += [lift, np.full(n_h, r.rom_deg), lower, np.zeros(n_p)]
        top = t_now + n_l / rate_hz
        low = top + n_h / rate_hz
        end = low + n_d / rate_hz
        truth.append((t_now, top, low, end))
        t_now = end + n_p / rate_hz
    parts.append(np.zeros(round(tail_s * rate_hz)))
    theta = np.concatenate(parts)
    return np.arange(theta.size) / rate_hz, theta, truth


def synthetic_set(reps: list[SyntheticRep], rate_hz: float = 100.0, seed: int = 0,
                  gyro: bool = True, acc_noise_g: float = 0.005, axis: int = 0,
                  lead_s: float = 3.0,
                  ) -> tuple[Recording, list[tuple[float, float, float, float]]]:
    """A recording of ``reps`` about body axis ``axis`` with a random mounting, and the truth
    (``lead_s`` of rest before the first rep)."""
    rng = np.random.default_rng(seed)
    t, theta, truth = tilt_profile(reps, rate_hz, lead_s=lead_s)
    body_axis = np.eye(3)[axis]
    rot = rotation(body_axis, theta)  # body -> world
    up_world = np.array([0.0, 0.0, 1.0]) if axis != 2 else np.array([1.0, 0.0, 0.0])
    up_body = np.einsum("nji,j->ni", rot, up_world)  # R^T u
    q = rng.normal(size=(3, 3))
    mount, _ = np.linalg.qr(q)  # body -> sensor
    acc = up_body @ mount.T + rng.normal(0, acc_noise_g, (t.size, 3))
    omega_body = np.gradient(theta, t)[:, None] * body_axis[None, :]
    gy = omega_body @ mount.T + rng.normal(0, 0.3, (t.size, 3)) if gyro else None
    return Recording(t=t, acc=acc, gyro=gy), truth
