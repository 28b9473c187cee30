"""Versioned prescriptions: what each patient is asked to do, from which date.

A new version applies from its ``effective_from`` date (today or later) and never rewrites the
days before it, so past adherence stays what it was. The plan document is the shared contract
with the companion (``GET /api/v1/prescription``, ``REHAB_HOME/plan.json``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlite_utils

from rehablink.exercises import EXERCISES
from server.audit import record
from server.db import write_transaction
from server.migrations import utcnow
from server.text import text_problem


class PrescriptionError(ValueError):
    """An item or date that cannot be prescribed; the message says which and why."""


@dataclass(frozen=True)
class Item:
    """One exercise of a plan: ``sets`` of ``reps``, held ``hold_s`` seconds (None: no hold
    target), on ``days_per_week`` days."""

    exercise: str
    sets: int
    reps: int
    hold_s: float | None
    days_per_week: int
    note: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.exercise, str) or self.exercise not in EXERCISES:
            raise PrescriptionError(
                f"unknown exercise {self.exercise!r}; known: {', '.join(EXERCISES)}")
        _int_in("sets", self.sets, 1, 20)
        _int_in("reps", self.reps, 1, 100)
        _int_in("days_per_week", self.days_per_week, 1, 7)
        if self.hold_s is not None and (
                isinstance(self.hold_s, bool) or not isinstance(self.hold_s, int | float)
                or not math.isfinite(self.hold_s) or not 0 < self.hold_s <= 120):
            raise PrescriptionError("hold_s must be a number of seconds in (0, 120] or null")
        if not isinstance(self.note, str) or len(self.note) > 500:
            raise PrescriptionError("note must be text of at most 500 characters")
        problem = text_problem(self.note, newlines=True)
        if problem:
            raise PrescriptionError(f"note {problem}")

    def to_json(self) -> dict[str, Any]:
        """The item as in the plan document."""
        return {"exercise": self.exercise, "sets": self.sets, "reps": self.reps,
                "hold_s": self.hold_s, "days_per_week": self.days_per_week, "note": self.note}

    @classmethod
    def from_json(cls, data: Any) -> Item:
        """Validate and build an item from the plan document's form."""
        if not isinstance(data, dict):
            raise PrescriptionError("each exercise must be an object")
        unknown = set(data) - {"exercise", "sets", "reps", "hold_s", "days_per_week", "note"}
        if unknown:
            raise PrescriptionError(f"unknown fields: {', '.join(sorted(unknown))}")
        try:
            hold = data.get("hold_s")
            return cls(exercise=data["exercise"], sets=data["sets"], reps=data["reps"],
                       hold_s=None if hold is None else hold,
                       days_per_week=data["days_per_week"], note=data.get("note", ""))
        except KeyError as exc:
            raise PrescriptionError(f"missing field {exc.args[0]}") from None


@dataclass(frozen=True)
class Prescription:
    """One version of a patient's plan."""

    version: int
    effective_from: date
    items: tuple[Item, ...]

    def __post_init__(self) -> None:
        # A lookup table built once (functools.cached_property takes a lock on every access).
        object.__setattr__(self, "_by_exercise", {item.exercise: item for item in self.items})

    @property
    def by_exercise(self) -> dict[str, Item]:
        """Items keyed by exercise id."""
        table: dict[str, Item] = self.__dict__["_by_exercise"]
        return table

    def to_json(self) -> dict[str, Any]:
        """The plan document (``version``, ``effective_from``, ``exercises``)."""
        return {"version": self.version, "effective_from": self.effective_from.isoformat(),
                "exercises": [item.to_json() for item in self.items]}


def _int_in(name: str, value: Any, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise PrescriptionError(f"{name} must be an integer from {low} to {high}")


def history(db: sqlite_utils.Database, patient_id: int) -> list[Prescription]:
    """All versions of a patient's plan, oldest first."""
    return history_many(db, [patient_id]).get(patient_id, [])


def history_many(db: sqlite_utils.Database,
                 patient_ids: list[int]) -> dict[int, list[Prescription]]:
    """Plan versions of several patients at once (one query), oldest first."""
    if not patient_ids:
        return {}
    marks = ",".join("?" * len(patient_ids))
    rows = db.execute(
        f"SELECT p.patient_id, p.version, p.effective_from, i.exercise, i.sets, i.reps, "
        f"i.hold_s, i.days_per_week, i.note FROM prescriptions p "
        f"LEFT JOIN prescription_items i ON i.prescription_id = p.id "
        f"WHERE p.patient_id IN ({marks}) ORDER BY p.patient_id, p.version, i.position",
        patient_ids)
    grouped: dict[tuple[int, int], tuple[str, list[Item]]] = {}
    for patient_id, version, effective, exercise, sets, reps, hold, days, note in rows:
        entry = grouped.setdefault((patient_id, version), (effective, []))
        if exercise is not None:
            entry[1].append(Item(exercise, sets, reps, hold, days, note))
    out: dict[int, list[Prescription]] = {}
    for (patient_id, version), (effective, items) in grouped.items():
        out.setdefault(patient_id, []).append(
            Prescription(version, date.fromisoformat(effective), tuple(items)))
    return out


def in_effect(versions: Sequence[Prescription], day: date) -> Prescription | None:
    """The version that applies on ``day``: the newest one whose ``effective_from`` is on or
    before it (each change applies from its date on, replacing all earlier versions)."""
    chosen = None
    for version in versions:
        if version.effective_from <= day and (chosen is None or version.version > chosen.version):
            chosen = version
    return chosen


def current(db: sqlite_utils.Database, patient_id: int,
            today: date | None = None) -> Prescription | None:
    """The plan in effect today, or None if the patient has none yet."""
    return in_effect(history(db, patient_id), today or date.today())


def prescribe(db: sqlite_utils.Database, patient_id: int, items: list[Item],
              effective_from: date, actor: str, physio_id: int | None = None,
              today: date | None = None) -> Prescription:
    """Save a new version of a patient's plan, effective from a date (today or later).

    Backdating is refused: it would change adherence already reported.
    """
    today = today or date.today()
    if effective_from < today:
        raise PrescriptionError("a prescription cannot start in the past "
                                f"(effective_from {effective_from} < today {today})")
    if not items:
        raise PrescriptionError("a prescription needs at least one exercise")
    if len(items) > 20:
        raise PrescriptionError("at most 20 exercises per prescription")
    names = [it.exercise for it in items]
    if len(set(names)) != len(names):
        raise PrescriptionError("each exercise may appear once per prescription")
    with write_transaction(db):
        rows = list(db.query("SELECT coalesce(max(version), 0) AS v FROM prescriptions "
                             "WHERE patient_id = ?", [patient_id]))
        version = int(rows[0]["v"]) + 1
        cur = db.execute(
            "INSERT INTO prescriptions (patient_id, version, effective_from, created_at, "
            "created_by) VALUES (?, ?, ?, ?, ?)",
            [patient_id, version, effective_from.isoformat(), utcnow(), physio_id])
        pid = cur.lastrowid
        db.conn.executemany(
            "INSERT INTO prescription_items VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [(pid, pos, it.exercise, it.sets, it.reps, it.hold_s, it.days_per_week, it.note)
             for pos, it in enumerate(items)])
        record(db, actor, "prescribe", patient_id, f"version={version}")
        from server.done_flags import refresh  # (imports this module)

        refresh(db, patient_id, effective_from)
    return Prescription(version, effective_from, tuple(items))
