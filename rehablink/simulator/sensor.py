"""The sensor: where and how it is mounted, what it measures and how its samples reach the file.

Pure numpy. Accelerations in g, angular rates in deg/s, times in s.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.signal import bilinear, butter, lfilter, sosfilt
from scipy.spatial.transform import Rotation

FloatArray = npt.NDArray[np.float64]

#: Standard gravity, m/s^2.
G0 = 9.80665
#: Gyro full-scale ranges, deg/s.
GYRO_RANGES_DPS = (500, 1000, 2000)


@dataclass(frozen=True)
class Mount:
    """Sensor position (m, segment frame, from the segment's rotation centre) and orientation
    (``rotation`` maps sensor-frame vectors to the segment frame)."""

    lever_m: tuple[float, float, float]
    rotation: Rotation
    where: str


def _frame_on_surface(normal: FloatArray, rng: np.random.Generator) -> Rotation:
    """Sensor lying flat on a surface: its z along +/- the normal, any turn about it."""
    z = normal / np.linalg.norm(normal) * rng.choice([-1.0, 1.0])
    helper = np.array([0.0, 0.0, 1.0]) if abs(z[2]) < 0.9 else np.array([1.0, 0.0, 0.0])
    x = np.cross(helper, z)
    x /= np.linalg.norm(x)
    base = Rotation.from_matrix(np.column_stack([x, np.cross(z, x), z]))
    return base * Rotation.from_rotvec([0.0, 0.0, rng.uniform(0, 2 * np.pi)])


def draw_mount(placement: str, rng: np.random.Generator) -> Mount:
    """A random mounting: on the belt anywhere around the waist (or above the knee on the
    thigh), flat on the surface in any turn, face out or in; one in four is any rotation at all
    (a pocket, a loose clip)."""
    if placement == "thigh":
        beta = rng.uniform(-np.deg2rad(110), np.deg2rad(110))
        normal = np.array([np.cos(beta), np.sin(beta), 0.0])
        lever = np.array([0.07 * normal[0], 0.07 * normal[1], -rng.uniform(0.28, 0.38)])
        where = f"thigh, {np.rad2deg(beta):.0f} deg from the front"
    else:
        beta = rng.uniform(0, 2 * np.pi)
        normal = np.array([np.cos(beta) / 0.13, np.sin(beta) / 0.17, 0.0])
        lever = np.array([0.13 * np.cos(beta), 0.17 * np.sin(beta), rng.uniform(-0.04, 0.06)])
        where = f"belt, {np.rad2deg(beta):.0f} deg from the front"
    if rng.random() < 0.25:
        rot = Rotation.random(random_state=int(rng.integers(2**31)))
        where += ", any orientation"
    else:
        rot = _frame_on_surface(normal, rng)
    return Mount(tuple(float(v) for v in lever), rot, where)  # type: ignore[arg-type]


def clip_wobble(acc: FloatArray, fs: float, resonance_hz: float, damping: float) -> FloatArray:
    """Acceleration of a sensor held by a springy clip or strap on a body point accelerating by
    ``acc`` (m/s^2, rows in time): base-excitation transmissibility
    ``(2 z w s + w^2) / (s^2 + 2 z w s + w^2)``, discretised with the bilinear transform."""
    w = 2 * np.pi * resonance_hz
    b, a = bilinear([2 * damping * w, w**2], [1.0, 2 * damping * w, w**2], fs=fs)
    return np.asarray(lfilter(b, a, acc - acc[:1], axis=0) + acc[:1])


def ideal_imu(t: FloatArray, segment: FloatArray, sensor_pos_m: FloatArray, mount: Mount,
              wobble: tuple[float, float] | None = None) -> tuple[FloatArray, FloatArray]:
    """Specific force (g) and angular rate (deg/s) in the sensor frame, on a uniform grid.

    ``segment`` (n, 3, 3) are rotation matrices mapping segment-frame vectors to the world (z
    up); ``sensor_pos_m`` is the sensor's world position. The acceleration is differentiated from
    the position, so centripetal and tangential terms of the lever arm come for free. ``wobble``
    (resonance Hz, damping ratio) adds the clip's own bouncing (:func:`clip_wobble`).
    """
    dt = float(t[1] - t[0])
    vel = np.gradient(sensor_pos_m, dt, axis=0)
    acc = np.gradient(vel, dt, axis=0)
    if wobble is not None:
        acc = clip_wobble(acc, 1.0 / dt, *wobble)
    acc[:, 2] += G0
    sensor = segment @ mount.rotation.as_matrix()
    f = np.einsum("nji,nj->ni", sensor, acc) / G0
    # body-frame angular velocity from neighbouring orientations (central difference)
    step = np.transpose(sensor[:-2], (0, 2, 1)) @ sensor[2:]
    rel = Rotation.from_matrix(step).as_rotvec() / (2 * dt)
    omega = np.vstack([rel[:1], rel, rel[-1:]])
    return f, np.rad2deg(omega)


@dataclass(frozen=True)
class ImuErrors:
    """Calibration errors and noise of one sensor unit."""

    acc_bias_g: FloatArray
    acc_matrix: FloatArray
    acc_noise_g: float
    gyro_bias_dps: FloatArray
    gyro_matrix: FloatArray
    gyro_noise_dps: float
    gyro_range_dps: int
    bits: int


def draw_errors(rate_hz: float, rng: np.random.Generator) -> ImuErrors:
    """Consumer MEMS errors: acc bias up to 40 mg, scale 1.5 %, cross-axis 0.5 %, noise density
    100-600 ug/sqrt(Hz); gyro bias up to 2 deg/s, scale 1 %, 0.005-0.015 deg/s/sqrt(Hz)."""
    bw = rate_hz / 2

    def matrix(scale_sd: float, cross_sd: float) -> FloatArray:
        m = np.eye(3) + rng.normal(0, cross_sd, (3, 3))
        m[np.diag_indices(3)] = 1 + rng.normal(0, scale_sd, 3)
        return m

    return ImuErrors(
        acc_bias_g=rng.uniform(-0.04, 0.04, 3),
        acc_matrix=matrix(0.015, 0.005),
        acc_noise_g=float(rng.uniform(100e-6, 600e-6) * np.sqrt(bw)),
        gyro_bias_dps=rng.uniform(-2.0, 2.0, 3),
        gyro_matrix=matrix(0.01, 0.005),
        gyro_noise_dps=float(rng.uniform(0.005, 0.015) * np.sqrt(bw)),
        gyro_range_dps=int(rng.choice(GYRO_RANGES_DPS)),
        bits=int(rng.choice([12, 16], p=[0.3, 0.7])),
    )


def quantise(x: FloatArray, full_scale: float, bits: int) -> FloatArray:
    """Round to the converter's steps and clip at full scale (int16 for 16 bits)."""
    lsb = full_scale / 2 ** (bits - 1)
    codes = np.clip(np.round(x / lsb), -(2 ** (bits - 1)), 2 ** (bits - 1) - 1)
    return np.asarray(codes * lsb)


def anti_alias(x: FloatArray, fs: float, rate_hz: float) -> FloatArray:
    """The sensor's own digital low-pass (2nd order, causal) at 0.4 x its output rate."""
    cutoff = min(0.4 * rate_hz, 0.45 * fs)
    sos = butter(2, cutoff, fs=fs, output="sos")
    zi_scale = x[:1]
    return np.asarray(sosfilt(sos, x - zi_scale, axis=0) + zi_scale)


def measure(f_g: FloatArray, omega_dps: FloatArray, err: ImuErrors, acc_range_g: float,
            rng: np.random.Generator) -> tuple[FloatArray, FloatArray]:
    """Apply scale, cross-axis, bias, noise and quantisation to ideal samples."""
    n = f_g.shape[0]
    acc = f_g @ err.acc_matrix.T + err.acc_bias_g + rng.normal(0, err.acc_noise_g, (n, 3))
    walk = np.cumsum(rng.normal(0, 0.002, (n, 3)), axis=0)  # slow gyro bias wander
    gyro = (omega_dps @ err.gyro_matrix.T + err.gyro_bias_dps + walk
            + rng.normal(0, err.gyro_noise_dps, (n, 3)))
    return (quantise(acc, acc_range_g, err.bits),
            quantise(gyro, float(err.gyro_range_dps), 16))


def drop_batches(n: int, fraction: float, rng: np.random.Generator) -> npt.NDArray[np.bool_]:
    """Mask of kept samples after losing batches of 1-12 consecutive samples (lost packets)."""
    keep = np.ones(n, dtype=bool)
    lost = 0
    while lost < fraction * n:
        size = int(rng.integers(1, 13))
        at = int(rng.integers(0, max(n - size, 1)))
        keep[at : at + size] = False
        lost += size
    keep[0] = keep[-1] = True
    return keep
