"""Ground truth of a simulated set, in the product's definitions (issue 2, section 3).

Times are seconds on the recording's clock (the ``t`` column of the CSV, drift and offset
included); angles are degrees.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: Keys of one rep in :attr:`Truth.reps`.
REP_KEYS = ("start", "top", "lower_start", "end", "hold_s", "rom_deg", "stability_deg")


@dataclass(frozen=True)
class Truth:
    """What really happened in a simulated recording.

    Attributes
    ----------
    exercise, placement : str
        As in the spec.
    reps : tuple of dict
        Counted reps in time order: ``start`` (leaves rest), ``top`` (the lift stops),
        ``lower_start`` (the return begins), ``end`` (back at rest), ``hold_s``
        (``lower_start - top``), ``rom_deg`` (peak tilt change of the sensor's segment),
        ``stability_deg`` (peak pelvic motion about the other axes; for the clamshell the whole
        pelvic motion; None for the thigh placement, where the pelvis is not seen), ``flags``
        (``reduced_rom`` below 70 % of the set's median range) and ``in_gap`` (part of the rep
        falls in a disconnect gap).
    partials : tuple of dict
        Partial attempts (below a third of the typical range): ``start``, ``end``, ``rom_deg``.
    hazards : tuple of str
        Hazards present.
    seed : int
        Seed of :func:`rehablink.simulator.simulate`.
    spec : dict
        The :class:`~rehablink.simulator.spec.SetSpec` as JSON.
    details : dict
        Drawn details: mounting, rates, clock drift, gaps, set window.
    """

    exercise: str
    placement: str
    reps: tuple[dict[str, Any], ...]
    partials: tuple[dict[str, Any], ...] = ()
    hazards: tuple[str, ...] = ()
    seed: int = 0
    spec: dict[str, Any] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def rep_count(self) -> int:
        """Number of counted reps."""
        return len(self.reps)

    @property
    def partial_count(self) -> int:
        """Number of partial attempts."""
        return len(self.partials)

    def to_json(self) -> dict[str, Any]:
        """The truth as a JSON-ready dict."""
        return {
            "exercise": self.exercise,
            "placement": self.placement,
            "rep_count": self.rep_count,
            "partial_count": self.partial_count,
            "reps": [dict(r) for r in self.reps],
            "partials": [dict(p) for p in self.partials],
            "hazards": list(self.hazards),
            "seed": self.seed,
            "spec": dict(self.spec),
            "details": dict(self.details),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Truth:
        """Inverse of :meth:`to_json`."""
        return cls(
            exercise=str(data["exercise"]),
            placement=str(data["placement"]),
            reps=tuple(dict(r) for r in data.get("reps", ())),
            partials=tuple(dict(p) for p in data.get("partials", ())),
            hazards=tuple(str(h) for h in data.get("hazards", ())),
            seed=int(data.get("seed", 0)),
            spec=dict(data.get("spec", {})),
            details=dict(data.get("details", {})),
        )

    def write(self, path: str | Path) -> None:
        """Write the truth as indented JSON."""
        Path(path).write_text(json.dumps(self.to_json(), indent=1) + "\n")

    @classmethod
    def read(cls, path: str | Path) -> Truth:
        """Read a truth file written by :meth:`write`."""
        return cls.from_json(json.loads(Path(path).read_text()))


def truth_path(csv_path: str | Path) -> Path:
    """The truth file next to a recording: ``NAME.csv`` -> ``NAME.truth.json``."""
    p = Path(csv_path)
    stem = p.name[: -len(".csv")] if p.name.endswith(".csv") else p.name
    return p.with_name(stem + ".truth.json")
