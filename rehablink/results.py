"""Result types of the motion engine, shared by the companion, the server and the dashboards.

All times are seconds on the recording's clock; angles are degrees.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: Rep flags. ``reduced_rom``: below 70 % of the set's typical range. ``pelvis_rotating``: pelvic
#: motion about the other axes above the exercise's threshold (see docs/motion.md). ``in_gap``:
#: the sensor's data stopped during the rep (a disconnect); its times and range are estimates.
REP_FLAGS = ("reduced_rom", "pelvis_rotating", "in_gap")


@dataclass(frozen=True)
class Rep:
    """One repetition: leaves rest at ``start``, stops lifting at ``top``, starts the return at
    ``lower_start`` and is back at rest at ``end`` (seconds).

    ``rom_deg`` is the peak tilt change of the segment the sensor is on; ``stability_deg`` the
    peak motion about the other axes (None where the exercise does not demand a still pelvis).
    """

    start: float
    top: float
    lower_start: float
    end: float
    rom_deg: float
    flags: tuple[str, ...] = ()
    stability_deg: float | None = None

    @property
    def hold_s(self) -> float:
        """Time held at the top, s."""
        return self.lower_start - self.top

    @property
    def lift_s(self) -> float:
        """Lifting phase, s."""
        return self.top - self.start

    @property
    def lower_s(self) -> float:
        """Lowering phase, s."""
        return self.end - self.lower_start

    def to_json(self) -> dict[str, Any]:
        """The rep as JSON, times and angles rounded to 3 decimals."""
        return {
            "start": round(self.start, 3),
            "top": round(self.top, 3),
            "lower_start": round(self.lower_start, 3),
            "end": round(self.end, 3),
            "hold_s": round(self.hold_s, 3),
            "rom_deg": round(self.rom_deg, 2),
            "flags": list(self.flags),
            "lift_s": round(self.lift_s, 3),
            "lower_s": round(self.lower_s, 3),
            "stability_deg": None if self.stability_deg is None else round(self.stability_deg, 2),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Rep:
        """Inverse of :meth:`to_json` (derived fields are ignored)."""
        stab = data.get("stability_deg")
        return cls(
            start=float(data["start"]),
            top=float(data["top"]),
            lower_start=float(data["lower_start"]),
            end=float(data["end"]),
            rom_deg=float(data["rom_deg"]),
            flags=tuple(str(f) for f in data.get("flags", ())),
            stability_deg=None if stab is None else float(stab),
        )


@dataclass(frozen=True)
class SetResult:
    """The analysis of one set (one recording of one exercise)."""

    exercise: str
    placement: str
    duration_s: float
    sample_rate_hz: float
    reps: tuple[Rep, ...] = ()
    partial_count: int = 0
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def rep_count(self) -> int:
        """Number of counted reps (partial attempts excluded)."""
        return len(self.reps)

    def to_json(self) -> dict[str, Any]:
        """The JSON object printed by ``rehab analyze --json``."""
        out: dict[str, Any] = {
            "exercise": self.exercise,
            "placement": self.placement,
            "rep_count": self.rep_count,
            "partial_count": self.partial_count,
            "duration_s": round(self.duration_s, 3),
            "sample_rate_hz": round(self.sample_rate_hz, 2),
            "reps": [r.to_json() for r in self.reps],
        }
        out.update(self.extras)
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SetResult:
        """Inverse of :meth:`to_json`."""
        known = {"exercise", "placement", "rep_count", "partial_count", "duration_s",
                 "sample_rate_hz", "reps"}
        return cls(
            exercise=str(data["exercise"]),
            placement=str(data["placement"]),
            duration_s=float(data["duration_s"]),
            sample_rate_hz=float(data["sample_rate_hz"]),
            reps=tuple(Rep.from_json(r) for r in data.get("reps", ())),
            partial_count=int(data.get("partial_count", 0)),
            extras={k: v for k, v in data.items() if k not in known},
        )
