"""Exercise kinematics: how the pelvis and the hip move in one rep, and the plan of a whole set.

Body frame of the pelvis (and of the thigh at rest standing): x anterior, y left, z superior.
Models are written for the left side working (side-lying on the right side, the left leg on
top); the right side is their mirror image through the sagittal plane. Angles in the tables are
degrees; everything computed is radians, metres and seconds.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from rehablink.simulator.spec import SetSpec

FloatArray = npt.NDArray[np.float64]
Vec3 = tuple[float, float, float]
Range = tuple[float, float]


@dataclass(frozen=True)
class ExerciseModel:
    """Kinematic model of one exercise (left side working).

    Attributes
    ----------
    posture : str
        Rest posture: ``"supine"``, ``"side_lying"``, ``"standing"`` or ``"any"``.
    pelvis_axis : tuple of float
        Main rotation axis of the pelvis, pelvis frame (unit vector; positive = the lift).
    pelvis_deg : tuple of float
        Range of the pelvis's peak rotation, deg.
    shift_m : tuple of ranges
        Peak translation of the pelvis (forward, left, up) in the heading frame, m.
    hip_axis : tuple of float
        Rotation axis of the thigh relative to the pelvis, pelvis frame.
    hip_deg : tuple of float
        Range of the hip's peak rotation, deg; a ratio of the pelvis's if ``hip_relative``.
    hip_relative : bool
        Whether ``hip_deg`` is a ratio of the pelvis rotation.
    hip_bump : bool
        The hip rotates and returns within each phase (stepping up and down) instead of holding.
    hip_rest_deg : float
        Hip flexion at rest, deg.
    bump_ratio : tuple of float
        Extra forward lean of the pelvis during the lift and the lowering, ratio of the peak.
    thigh_main : bool
        With the thigh placement, ``SetSpec.rom_deg`` sets the hip rather than the pelvis.
    side_bump_deg : tuple of float
        Pelvic drop about the front-back axis during single-leg phases of the lift and the
        lowering (stepping), deg.
    """

    posture: str
    pelvis_axis: Vec3
    pelvis_deg: Range
    shift_m: tuple[Range, Range, Range] = ((0.0, 0.0), (0.0, 0.0), (0.0, 0.0))
    hip_axis: Vec3 = (0.0, 1.0, 0.0)
    hip_deg: Range = (0.0, 0.0)
    hip_relative: bool = True
    hip_bump: bool = False
    hip_rest_deg: float = 0.0
    bump_ratio: Range = (0.0, 0.0)
    thigh_main: bool = False
    side_bump_deg: Range = (0.0, 0.0)


_Z0: Range = (0.0, 0.0)

#: Kinematic models per exercise id (ranges: docs/simulator.md).
MODELS: dict[str, ExerciseModel] = {
    "bridge": ExerciseModel("supine", (0.0, -1.0, 0.0), (15.0, 35.0),
                            ((0.0, 0.03), _Z0, (0.08, 0.20)), (0.0, 1.0, 0.0), (1.6, 2.2),
                            hip_rest_deg=50.0),
    "single_leg_bridge": ExerciseModel("supine", (0.0, -1.0, 0.0), (8.0, 25.0),
                                       ((0.0, 0.02), _Z0, (0.05, 0.14)), (0.0, 1.0, 0.0),
                                       (1.6, 2.2), hip_rest_deg=50.0),
    "clamshell": ExerciseModel("side_lying", (0.0, 0.0, 1.0), (1.5, 6.0),
                               hip_axis=(-0.33, 0.0, 0.94), hip_deg=(20.0, 50.0),
                               hip_relative=False, hip_rest_deg=45.0, thigh_main=True),
    "side_leg_raise": ExerciseModel("side_lying", (1.0, 0.0, 0.0), (3.0, 10.0),
                                    hip_axis=(1.0, 0.0, 0.0), hip_deg=(20.0, 45.0),
                                    hip_relative=False, hip_rest_deg=5.0, thigh_main=True),
    "hip_hitch": ExerciseModel("standing", (1.0, 0.0, 0.0), (4.0, 12.0),
                               (_Z0, _Z0, (0.01, 0.04)), (1.0, 0.0, 0.0), (-0.6, -0.2)),
    "hip_hinge": ExerciseModel("standing", (0.0, 1.0, 0.0), (30.0, 80.0),
                               ((-0.15, -0.05), _Z0, (-0.08, -0.02)), (0.0, 1.0, 0.0),
                               (-1.35, -1.15)),
    "squat": ExerciseModel("standing", (0.0, 1.0, 0.0), (10.0, 35.0),
                           ((-0.2, -0.08), _Z0, (-0.5, -0.25)), (0.0, -1.0, 0.0), (70.0, 120.0),
                           hip_relative=False, thigh_main=True),
    "step_up": ExerciseModel("standing", (0.0, 1.0, 0.0), (3.0, 10.0),
                             ((0.2, 0.35), _Z0, (0.15, 0.25)), (0.0, -1.0, 0.0), (40.0, 70.0),
                             hip_relative=False, hip_bump=True, bump_ratio=(0.5, 1.0),
                             thigh_main=True, side_bump_deg=(2.0, 6.0)),
    "generic": ExerciseModel("any", (0.0, 1.0, 0.0), (10.0, 60.0)),
}


def mirror(v: FloatArray | Vec3) -> FloatArray:
    """Mirror an axial vector (a rotation axis) through the sagittal plane (left <-> right)."""
    a = np.asarray(v, dtype=float)
    return np.array([-a[0], a[1], -a[2]])


def resolve_model(model: ExerciseModel, rng: np.random.Generator) -> ExerciseModel:
    """Fix the free choices of the ``generic`` model: a posture and a tilting axis."""
    if model.posture != "any":
        return model
    posture = ("supine", "side_lying", "standing")[int(rng.integers(3))]
    vertical = {"supine": 0, "side_lying": 1, "standing": 2}[posture]
    while True:  # an axis that tilts the segment: not close to the vertical at rest
        axis = rng.normal(size=3)
        axis /= np.linalg.norm(axis)
        if abs(axis[vertical]) < 0.7:
            break
    return replace(model, posture=posture,
                   pelvis_axis=(float(axis[0]), float(axis[1]), float(axis[2])))


def other_axes(axis: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Two unit vectors completing ``axis`` to an orthonormal basis."""
    helper = np.array([1.0, 0.0, 0.0]) if abs(axis[0]) < 0.9 else np.array([0.0, 1.0, 0.0])
    u = np.cross(axis, helper)
    u /= np.linalg.norm(u)
    return u, np.cross(axis, u)


@dataclass(frozen=True)
class Move:
    """One rep or partial attempt, times in s from the start of the set.

    ``scale`` multiplies the set's peak amplitudes; ``comp_rad`` is the peak compensation
    rotation (rad) about ``comp_dir`` (a unit vector perpendicular to the main axis);
    ``skew`` (-0.4..0.4, lift and lowering) moves the peak speed earlier (> 0) or later (< 0);
    ``overshoot`` (fraction of the range) is lost again in the first ``settle_s`` of the hold.
    """

    kind: str
    start: float
    lift_s: float
    hold_s: float
    lower_s: float
    scale: float
    comp_rad: float
    comp_dir: tuple[float, float, float]
    skew: tuple[float, float] = (0.0, 0.0)
    overshoot: float = 0.0
    settle_s: float = 0.0

    @property
    def top(self) -> float:
        """End of the lift, s."""
        return self.start + self.lift_s

    @property
    def lower_start(self) -> float:
        """Start of the lowering, s."""
        return self.top + self.hold_s

    @property
    def end(self) -> float:
        """Back at rest, s."""
        return self.lower_start + self.lower_s


@dataclass(frozen=True)
class SetPlan:
    """The moves of a set, its duration (s), the posture-shift time and the rests (s)."""

    moves: tuple[Move, ...]
    duration_s: float
    shift_at: float | None
    rests: tuple[tuple[float, float], ...]


def _tempo(value: float | None, lo: float, hi: float, rng: np.random.Generator) -> float:
    return float(value) if value is not None else float(rng.uniform(lo, hi))


def plan_set(spec: SetSpec, axis: FloatArray, amplitude_deg: float, holds: bool,
             rng: np.random.Generator) -> SetPlan:
    """Draw the reps, partial attempts and rests of a set.

    ``axis`` is the pelvis's main axis and ``amplitude_deg`` its peak rotation. Compensating reps
    (``compensation``) rotate the pelvis ``spec.compensation_deg`` about a perpendicular axis, or
    3-10 deg but at most 0.8 x the main amplitude when drawn (a small movement does not hide a
    larger one).

    The per-rep amplitude varies by about 5 %; three in ten reps held over 1 s overshoot the top
    by 2-6 % and settle back in 0.3-0.6 s; ``fatigue`` shrinks the last rep to 60-70 % of the
    first and slows it; ``reduced_rom`` makes 1-2 reps 42-58 % of the others' median;
    ``partials`` inserts 1-3 attempts at 8-22 % of the median range.
    """
    hz = set(spec.hazards)
    n = spec.n_reps
    lift = _tempo(spec.lift_s, 0.8, 2.5, rng)
    lower = _tempo(spec.lower_s, 1.0, 3.0, rng)
    hold = _tempo(spec.hold_s, 2.0, 5.0, rng) if holds else _tempo(spec.hold_s, 0.0, 0.4, rng)
    rest = _tempo(spec.rest_s, 0.5, 3.0, rng)
    scale = np.clip(1.0 + rng.normal(0.0, 0.05, n), 0.88, 1.12)
    fatigue = float(rng.uniform(0.3, 0.4)) if "fatigue" in hz else 0.0
    frac = np.arange(n) / max(n - 1, 1)
    scale = scale * (1.0 - fatigue * frac**2)
    if "fatigue" in hz:
        scale[0], scale[-1] = 1.0, 1.0 - fatigue
    if "reduced_rom" in hz and n >= 3:
        picked = rng.choice(np.arange(1, n - 1), size=min(2, n - 2), replace=False)[
            : int(rng.integers(1, 3))]
        typical = float(np.median(np.delete(scale, picked)))
        scale[picked] = rng.uniform(0.42, 0.58, picked.size) * typical
    partial_scale = float(np.median(scale))  # partial attempts stay below a quarter of it
    slow = np.zeros(n, dtype=bool)
    if "slow_reps" in hz:
        slow[rng.choice(n, size=max(2, int(rng.integers(2, n + 1))) if n >= 2 else 1,
                        replace=False)] = True
    partial_before = set()
    if "partials" in hz:
        partial_before = {int(i) for i in rng.choice(np.arange(1, n + 1), size=min(n, int(
            rng.integers(1, 4))), replace=False)}
    fidget_rests = set()
    if "fidgets" in hz:
        fidget_rests = {int(i) for i in rng.integers(1, n + 1, size=3)}
    comp_u, comp_v = other_axes(axis)
    comp_angle = float(rng.uniform(0.0, 2 * np.pi))
    comp_big = np.deg2rad(spec.compensation_deg if spec.compensation_deg is not None
                          else min(rng.uniform(3.0, 10.0), 0.8 * amplitude_deg))
    comp_reps = rng.random(n) < rng.uniform(0.3, 0.8) if "compensation" in hz else np.zeros(n, bool)
    moves: list[Move] = []
    rests: list[tuple[float, float]] = []
    t = 0.0

    def skew() -> tuple[float, float]:
        a, b = rng.uniform(-0.4, 0.4, 2)
        return float(a), float(b)

    def rest_gap(i: int) -> float:
        gap = rng.uniform(0.0, 0.2) if "no_pause" in hz else rest * rng.uniform(0.6, 1.4)
        return float(gap + (1.8 if i in fidget_rests else 0.0))

    def add_partial(t: float, i: int) -> float:
        gap = rest_gap(i) + 0.6
        rests.append((t, t + gap))
        p = Move("partial", t + gap, float(rng.uniform(0.4, 1.0)), float(rng.uniform(0.0, 0.4)),
                 float(rng.uniform(0.4, 1.0)), float(rng.uniform(0.08, 0.22) * partial_scale), 0.0,
                 (1.0, 0.0, 0.0), skew())
        moves.append(p)
        return p.end

    shift_at = None
    for i in range(n):
        if i in partial_before:
            t = add_partial(t, i)
        if i > 0:
            gap = rest_gap(i)
            if i == n // 2 and "posture_shift" in hz:
                shift_at, gap = t + gap + 0.5, gap + 3.0
            rests.append((t, t + gap))
            t += gap
        f_slow = 1.0 + 0.4 * fatigue / 0.35 * frac[i]
        r_lift = rng.uniform(3.5, 6.0) if slow[i] else lift * f_slow * rng.uniform(0.85, 1.15)
        r_lower = rng.uniform(3.5, 7.0) if slow[i] else lower * f_slow * rng.uniform(0.85, 1.15)
        r_hold = max(0.0, hold * rng.uniform(0.8, 1.2)) if hold > 0 else 0.0
        natural = np.deg2rad(rng.uniform(0.2, 1.2))
        ang = comp_angle + rng.normal(0.0, 0.3)
        cdir = np.cos(ang) * comp_u + np.sin(ang) * comp_v
        over, settle = 0.0, 0.0
        if r_hold > 1.0 and rng.random() < 0.3:  # overshoot the top and settle back
            over, settle = float(rng.uniform(0.02, 0.06)), float(rng.uniform(0.3, 0.6))
        m = Move("rep", t, float(r_lift), float(r_hold), float(r_lower), float(scale[i]),
                 float(comp_big * rng.uniform(0.8, 1.1) if comp_reps[i] else natural),
                 (float(cdir[0]), float(cdir[1]), float(cdir[2])), skew(), over, settle)
        moves.append(m)
        t = m.end
    if n in partial_before:  # an attempt after the last rep
        t = add_partial(t, n)
    return SetPlan(tuple(moves), t, shift_at, tuple(rests))


def min_jerk(tau: FloatArray, skew: float = 0.0) -> FloatArray:
    """Minimum-jerk position profile from 0 to 1 for ``tau`` in [0, 1] (clipped outside).

    ``skew`` (|skew| < 1) warps time by ``tau + skew/pi sin(pi tau)``: a monotone warp that keeps
    zero speed and acceleration at both ends and moves the peak speed earlier or later.
    """
    x = np.clip(tau, 0.0, 1.0)
    if skew:
        x = x + skew / np.pi * np.sin(np.pi * x)
    return x**3 * (10.0 - 15.0 * x + 6.0 * x**2)


def move_profile(t: FloatArray, m: Move) -> tuple[FloatArray, FloatArray]:
    """Lift profile ``s`` (0 at rest, 1 at the top) and the phase bump (0 -> 1 -> 0 within each
    of the lift and the lowering) of one move on times ``t`` (s)."""
    up = min_jerk((t - m.start) / max(m.lift_s, 1e-9), m.skew[0])
    down = min_jerk((t - m.lower_start) / max(m.lower_s, 1e-9), m.skew[1])
    s = np.where(t < m.lower_start, up, 1.0 - down)
    if m.overshoot:
        settle = 1.0 - min_jerk((t - m.top) / max(m.settle_s, 1e-9))
        s = np.where(t < m.top, s * (1 + m.overshoot), np.where(
            t < m.lower_start, 1.0 + m.overshoot * settle, s))
    s[(t < m.start) | (t > m.end)] = 0.0
    bump = np.where(t < m.lower_start, 4 * up * (1 - up), 4 * down * (1 - down))
    bump[(t < m.start) | (t > m.end)] = 0.0
    return s, bump
