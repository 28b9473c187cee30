"""Today's plan: the prescription in ``REHAB_HOME/plan.json`` (or a file given on the command
line), as served by the clinic server at ``GET /api/v1/prescription``.

Format::

    {"version": 3, "effective_from": "2026-11-01", "exercises": [
      {"exercise": "bridge", "sets": 3, "reps": 10, "hold_s": 5.0, "days_per_week": 5,
       "note": "Slow lowering"}]}
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rehablink.exercises import EXERCISES

PLAN_FILE = "plan.json"


class PlanError(ValueError):
    """A plan file that cannot be followed; the message says what and where."""


@dataclass(frozen=True)
class PlanItem:
    """One prescribed exercise: ``sets`` sets of ``reps`` reps, holding ``hold_s`` s at the top."""

    exercise: str
    sets: int
    reps: int
    hold_s: float | None = None
    days_per_week: int | None = None
    note: str = ""


@dataclass(frozen=True)
class Plan:
    """A prescription: a version number and the exercises in order."""

    version: int | None
    effective_from: str | None
    items: tuple[PlanItem, ...]

    @property
    def set_count(self) -> int:
        return sum(item.sets for item in self.items)


@dataclass(frozen=True)
class SetSpec:
    """One set of a session, in the order it is done."""

    index: int  # 0-based position in the session
    exercise: str
    set_number: int  # 1-based within its exercise
    of_sets: int
    target_reps: int | None
    hold_s: float | None
    note: str = ""


def _int(item: dict[str, Any], key: str, where: str, low: int, high: int,
         default: int | None = None) -> int | None:
    value = item.get(key, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise PlanError(f"{where}: {key!r} must be a whole number from {low} to {high}, "
                        f"got {value!r}")
    return value


def parse_plan(data: Any) -> Plan:
    """Validate a decoded plan document.

    Raises
    ------
    PlanError
        Naming the first problem found (unknown exercise, impossible numbers...).
    """
    if not isinstance(data, dict) or not isinstance(data.get("exercises"), list):
        raise PlanError('a plan is an object with an "exercises" list')
    version = _int(data, "version", "plan", 0, 2**31 - 1)
    effective = data.get("effective_from")
    items = []
    for i, raw in enumerate(data["exercises"]):
        where = f"exercise {i + 1}"
        if not isinstance(raw, dict):
            raise PlanError(f"{where}: must be an object")
        exercise = raw.get("exercise")
        if not isinstance(exercise, str) or exercise not in EXERCISES:
            raise PlanError(f"{where}: unknown exercise {exercise!r}; known: "
                            f"{', '.join(EXERCISES)}")
        hold = raw.get("hold_s")
        if hold is not None and (isinstance(hold, bool) or not isinstance(hold, int | float)
                                 or not 0 < hold <= 120):
            raise PlanError(f"{where}: 'hold_s' must be a number of seconds from 0 to 120 or "
                            f"null, got {hold!r}")
        note = raw.get("note") or ""
        items.append(PlanItem(
            exercise=str(exercise),
            sets=_int(raw, "sets", where, 1, 20, default=1) or 1,
            reps=_int(raw, "reps", where, 1, 200, default=10) or 10,
            hold_s=None if hold is None else float(hold),
            days_per_week=_int(raw, "days_per_week", where, 1, 7),
            # Shown on the terminal: no control characters (escape sequences) from the file.
            note="".join(ch if ch.isprintable() else " " for ch in str(note)[:200]),
        ))
    if not items:
        raise PlanError("the plan has no exercises")
    return Plan(version, None if effective is None else str(effective), tuple(items))


def load_plan(path: str | Path) -> Plan:
    """Read and validate a plan file (see :func:`parse_plan`)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PlanError(f"no plan at {p}: ask your physiotherapist for one, or give --plan "
                        "FILE") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PlanError(f"cannot read the plan {p}: {exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise PlanError(f"{p} is not valid JSON (line {exc.lineno}: {exc.msg})") from None
    except RecursionError:
        raise PlanError(f"{p} is not a plan (JSON nested too deeply)") from None
    return parse_plan(data)


def session_sets(plan: Plan) -> list[SetSpec]:
    """The sets of today's session in order: all sets of each exercise, exercise by exercise."""
    out: list[SetSpec] = []
    for item in plan.items:
        for k in range(item.sets):
            out.append(SetSpec(len(out), item.exercise, k + 1, item.sets, item.reps,
                               item.hold_s, item.note))
    return out
