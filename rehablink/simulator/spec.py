"""What to simulate: the set specification, the hazard registry and a random draw of both.

A :class:`SetSpec` fixes what a physiotherapist would prescribe and what the sensor is (exercise,
placement, reps, hold, rate, gyro, range); everything else about the person, the home and the
sensor's imperfections is drawn from the seed given to :func:`rehablink.simulator.simulate`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from rehablink.exercises import EXERCISES, Placement

#: Hazards of real homes, sensors and people (issue 2, section 4). Name -> what it adds.
HAZARDS: dict[str, str] = {
    "jitter": "timestamp jitter of up to 40 % of the sample period",
    "drops": "dropped packets: batches of 1-12 consecutive samples missing, 1-5 % of samples",
    "disconnect": "one 2-6 s disconnect gap inside the set (never swallowing a whole rep)",
    "drift": "the sensor clock runs 0.3-2 % fast or slow against its nominal rate",
    "low_rate": "the sensor samples at 25 or 26 Hz",
    "acc_only": "an accelerometer-only sensor (no gyro columns)",
    "loose_mount": "the clip bounces on a loose belt or clothing (6-15 Hz, damping 0.1-0.3)",
    "walking_around": "standing and walking (steps at 1.6-2.0 Hz, with a turn) before and after",
    "lying_down_getting_up": "getting into the set's posture before it and out of it after",
    "breathing": "0.2-0.3 Hz pelvic rotation of 0.1-0.35 deg and a few mm of motion",
    "sway": "postural sway: low-frequency random tilt and shift",
    "fidgets": "short sharp small movements (0.15-0.5 s, a few degrees) between reps",
    "posture_shift": "mid-set the rest orientation changes by 3-10 deg and stays",
    "fatigue": "the last reps 30-40 % smaller and slower than the first",
    "no_pause": "no rest between reps (0-0.2 s)",
    "slow_reps": "some reps very slow (3.5-7 s lift and lowering)",
    "partials": "1-3 partial attempts at 8-22 % of the typical range",
    "reduced_rom": "1-2 reps at 42-58 % of the typical range",
    "compensation": "pelvic motion about the other axes on some reps (3-10 deg, <= 0.8 x the main)",
}

#: Nominal output data rates of the supported sensors, Hz.
SENSOR_RATES_HZ = (25.0, 26.0, 50.0, 52.0, 100.0, 104.0, 200.0)
#: Accelerometer full-scale ranges, g.
ACC_RANGES_G = (2, 4, 8, 16)


def _check_choice(kind: str, value: str, known: dict[str, Any] | tuple[str, ...]) -> None:
    if value not in known:
        raise ValueError(f"unknown {kind} {value!r}; known: {', '.join(known)}")


@dataclass(frozen=True)
class SetSpec:
    """One simulated set.

    Attributes
    ----------
    exercise : str
        Exercise id of :data:`rehablink.exercises.EXERCISES`.
    placement : str
        ``"pelvis"`` or ``"thigh"`` (strapped above the knee).
    n_reps : int
        Counted reps in the set (partial attempts come on top).
    rate_hz : float
        Nominal sample rate, Hz.
    has_gyro : bool
        Whether the sensor has a gyro.
    hazards : tuple of str
        Keys of :data:`HAZARDS`.
    hold_s : float or None
        Typical hold at the top, s; None draws it from the exercise (2-6 s for held exercises).
    rom_deg : float or None
        Nominal amplitude of the main rotation, deg: the pelvis for the pelvis placement, the hip
        for the thigh placement; None draws it from the exercise's range.
    lift_s, lower_s : float or None
        Typical lifting and lowering times, s; None draws them (0.8-2.5 s and 1-3 s).
    rest_s : float or None
        Typical rest between reps, s; None draws it (0.5-3 s).
    acc_range_g : int
        Accelerometer full scale, g (2, 4, 8 or 16).
    compensation_deg : float or None
        Peak pelvic motion about the other axes on compensating reps, deg (``compensation``
        hazard); None draws 3-10 deg.
    """

    exercise: str
    placement: str = "pelvis"
    n_reps: int = 10
    rate_hz: float = 50.0
    has_gyro: bool = True
    hazards: tuple[str, ...] = field(default_factory=tuple)
    hold_s: float | None = None
    rom_deg: float | None = None
    lift_s: float | None = None
    lower_s: float | None = None
    rest_s: float | None = None
    acc_range_g: int = 8
    compensation_deg: float | None = None

    def __post_init__(self) -> None:
        _check_choice("exercise", self.exercise, EXERCISES)
        _check_choice("placement", self.placement, tuple(p.value for p in Placement))
        for name in self.hazards:
            _check_choice("hazard", name, HAZARDS)
        if not 1 <= self.n_reps <= 100:
            raise ValueError(f"n_reps must be 1-100, got {self.n_reps}")
        if not 5.0 <= self.rate_hz <= 1000.0:
            raise ValueError(f"rate_hz must be 5-1000 Hz, got {self.rate_hz}")
        if self.acc_range_g not in ACC_RANGES_G:
            raise ValueError(f"acc_range_g must be one of {ACC_RANGES_G}, got {self.acc_range_g}")
        for name in ("hold_s", "lift_s", "lower_s", "rest_s", "rom_deg", "compensation_deg"):
            value = getattr(self, name)
            if value is not None and not (np.isfinite(value) and value >= 0):
                raise ValueError(f"{name} must be a non-negative number, got {value}")

    @property
    def gyro(self) -> bool:
        """Whether the recording carries gyro columns (``acc_only`` removes them)."""
        return self.has_gyro and "acc_only" not in self.hazards

    @property
    def effective_rate_hz(self) -> float:
        """The nominal rate after the ``low_rate`` hazard, Hz."""
        return min(self.rate_hz, 26.0) if "low_rate" in self.hazards else self.rate_hz

    def to_json(self) -> dict[str, Any]:
        """The spec as a JSON-ready dict."""
        out = asdict(self)
        out["hazards"] = list(self.hazards)
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SetSpec:
        """Inverse of :meth:`to_json`."""
        kwargs = dict(data)
        kwargs["hazards"] = tuple(kwargs.get("hazards", ()))
        return cls(**kwargs)


def random_spec(
    rng: np.random.Generator,
    exercise: str | None = None,
    hazards: tuple[str, ...] | list[str] | None = None,
) -> SetSpec:
    """Draw a varied set: exercise, placement, reps, tempo, sensor and (if not given) hazards.

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of randomness.
    exercise : str, optional
        Fix the exercise id; drawn uniformly otherwise.
    hazards : sequence of str, optional
        Fix the hazards; otherwise each hazard is present with probability 0.3.

    Examples
    --------
    >>> spec = random_spec(np.random.default_rng(1), exercise="bridge")
    >>> spec.exercise
    'bridge'
    """
    names = list(EXERCISES)
    ex_id = exercise if exercise is not None else names[int(rng.integers(len(names)))]
    _check_choice("exercise", ex_id, EXERCISES)
    chosen = (tuple(h for h in HAZARDS if rng.random() < 0.3) if hazards is None
              else tuple(hazards))
    thigh_p = 0.5 if ex_id == "clamshell" else 0.12
    placement = "thigh" if rng.random() < thigh_p else "pelvis"
    ex = EXERCISES[ex_id]
    hold = float(rng.uniform(1.0, 6.0)) if ex.holds else float(rng.uniform(0.0, 0.5))
    return SetSpec(
        exercise=ex_id,
        placement=placement,
        n_reps=int(rng.integers(5, 16)),
        rate_hz=float(SENSOR_RATES_HZ[int(rng.integers(len(SENSOR_RATES_HZ)))]),
        has_gyro=bool(rng.random() < 0.8),
        hazards=chosen,
        hold_s=round(hold, 2),
        lift_s=round(float(rng.uniform(0.7, 2.5)), 2),
        lower_s=round(float(rng.uniform(0.9, 3.0)), 2),
        rest_s=round(float(rng.uniform(0.3, 3.0)), 2),
        acc_range_g=int(ACC_RANGES_G[int(rng.integers(len(ACC_RANGES_G)))]),
    )
