"""The stored ``session_sets.done`` flag: :func:`server.analytics.set_done` evaluated once,
when a set arrives, so the patient list can count done sets in SQL.

A set's day is in the past or today and a new plan version cannot start in the past, so the
plan in effect on a set's day only changes when a version starting today is saved: then
:func:`refresh` recomputes the flags from that day on. The rule itself stays in
``analytics.set_done``; this is its cache.
"""

from __future__ import annotations

from datetime import date

import sqlite_utils

from server.analytics import SetRecord, set_done
from server.prescriptions import Prescription, history, in_effect


def flag(versions: list[Prescription], day: date, exercise: str, skipped: bool,
         rep_count: int, median_hold_s: float | None, free_recording: bool = False) -> bool:
    """Whether this set is a done prescribed set under the plan in effect on ``day`` (never
    for a set of a free recording)."""
    plan = in_effect(versions, day)
    item = plan.by_exercise.get(exercise) if plan else None
    return set_done(SetRecord(day, exercise, skipped, rep_count, median_hold_s,
                              free_recording=free_recording), item)


def refresh(db: sqlite_utils.Database, patient_id: int, since: date | None = None,
            kinds: bool = True) -> int:
    """Recompute the flags of a patient's sets from ``since`` (all when None); returns how
    many changed. ``kinds`` False for a database without ``sessions.kind`` (before migration
    9: no session is known to be a free recording). Call inside the caller's transaction."""
    versions = history(db, patient_id)
    free_sql = "s.kind IS 'record'" if kinds else "0"
    rows = db.execute(
        f"SELECT x.session_id, x.set_index, x.day, x.exercise, x.skipped, x.rep_count, "
        f"x.median_hold_s, x.done, {free_sql} FROM session_sets x "
        f"JOIN sessions s ON s.id = x.session_id WHERE x.patient_id = ? AND x.day >= ?",
        [patient_id, (since or date.min).isoformat()]).fetchall()
    changes = []
    for sid, index, day, exercise, skipped, reps, hold, done, free in rows:
        new = int(flag(versions, date.fromisoformat(day), exercise, bool(skipped), reps, hold,
                       bool(free)))
        if new != done:
            changes.append((new, sid, index))
    db.conn.executemany("UPDATE session_sets SET done = ? WHERE session_id = ? AND set_index = ?",
                        changes)
    return len(changes)


def backfill(db: sqlite_utils.Database, kinds: bool = True) -> None:
    """Compute every stored set's flag (the migration that adds the column; ``kinds`` as for
    :func:`refresh`)."""
    for (patient_id,) in db.execute("SELECT DISTINCT patient_id FROM session_sets").fetchall():
        refresh(db, patient_id, kinds=kinds)
