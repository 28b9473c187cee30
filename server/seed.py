"""Demo and benchmark data: physiotherapists, patients with versioned plans and a year of
daily sessions, written with bulk inserts (``rehab admin seed``).

Patients follow archetypes so that the dashboards have something to show: steady, lapsed
(no session for days), pain rising, red flag reported, pelvis compensation rising, red-flag
questions left unanswered (the last ``UNANSWERED_DAYS`` days; every other seeded session
answered them all). Holds and reps improve over the months.
Reps of sets older than ``FULL_RESULT_DAYS`` are stored as a summary only (``result.reps``
empty, ``result.summary_only`` true) to keep the file small.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlite_utils

from rehablink.clinical import RED_FLAGS
from rehablink.exercises import EXERCISES
from server.db import write_transaction
from server.done_flags import flag
from server.migrations import utcnow
from server.prescriptions import Item, Prescription

FULL_RESULT_DAYS = 28
ARCHETYPES = (("steady", 0.65), ("lapsed", 0.12), ("pain_rising", 0.08),
              ("red_flag", 0.04), ("compensating", 0.06), ("unanswered", 0.05))
#: Days (back from today) in which the ``unanswered`` archetype leaves the red-flag questions
#: after the first two, enough sessions for the alert.
UNANSWERED_DAYS = 10
FIRST_NAMES = ("Alex", "Sam", "Maria", "John", "Aisha", "Wei", "Olga", "Luis", "Fatima", "Tom",
               "Ines", "Kofi", "Hana", "Piotr", "Nora", "Ravi", "Elena", "Jonas", "Mei", "Omar")
LAST_NAMES = ("Smith", "Garcia", "Nowak", "Chen", "Okafor", "Silva", "Muller", "Rossi",
              "Kumar", "Jensen", "Haddad", "Novak", "Tanaka", "Dubois", "Larsen", "Costa")
PLAN_CHOICES = ("bridge", "clamshell", "side_leg_raise", "hip_hitch", "single_leg_bridge",
                "squat")


@dataclass(frozen=True)
class SeedSummary:
    """What was written."""

    physios: int
    patients: int
    sessions: int
    sets: int


def _plan(rng: random.Random) -> list[dict[str, Any]]:
    chosen = rng.sample(PLAN_CHOICES, rng.choice((2, 3)))
    return [{"exercise": ex, "sets": rng.choice((2, 3)), "reps": rng.choice((8, 10, 12)),
             "hold_s": float(rng.choice((3, 4, 5))) if EXERCISES[ex].holds else None,
             "days_per_week": rng.choice((5, 6, 7)), "note": ""} for ex in chosen]


def _reps_json(rng: random.Random, n: int, hold: float, rom: float, stab: float | None,
               rotating: int) -> list[dict[str, Any]]:
    reps, t = [], 1.0
    for i in range(n):
        lift, lower = rng.uniform(0.8, 1.6), rng.uniform(1.2, 2.5)
        h = max(0.0, rng.gauss(hold, 0.4))
        top, low = t + lift, t + lift + h
        reps.append({"start": round(t, 3), "top": round(top, 3), "lower_start": round(low, 3),
                     "end": round(low + lower, 3), "hold_s": round(h, 3),
                     "rom_deg": round(rng.gauss(rom, 2.0), 2),
                     "flags": ["pelvis_rotating"] if i < rotating else [],
                     "lift_s": round(lift, 3), "lower_s": round(lower, 3),
                     "stability_deg": None if stab is None else round(abs(rng.gauss(stab, .5)), 2)})
        t = low + lower + rng.uniform(0.8, 2.0)
    return reps


def _next_id(db: sqlite_utils.Database, table: str) -> int:
    return int(next(db.query(f"SELECT coalesce(max(id), 0) + 1 AS n FROM {table}"))["n"])


def seed(db: sqlite_utils.Database, *, patients: int = 1000, days: int = 365,
         physios: int = 10, password_hash: str, today: date | None = None,
         random_seed: int = 1) -> SeedSummary:
    """Add ``physios`` physiotherapists (``physio1@clinic.example``... sharing one password
    hash) and ``patients`` patients with ``days`` days of history ending ``today``."""
    rng = random.Random(random_seed)
    today = today or date.today()
    now = utcnow()
    start = today - timedelta(days=days - 1)
    n_sessions = n_sets = 0
    with write_transaction(db):
        first_physio = _next_id(db, "physios")
        db.conn.executemany(
            "INSERT INTO physios (id, email, name, password_hash, created_at) VALUES (?,?,?,?,?)",
            [(first_physio + i, f"physio{first_physio + i}@clinic.example",
              f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}", password_hash, now)
             for i in range(physios)])
        first_patient = _next_id(db, "patients")
        for p in range(patients):
            pid = first_patient + p
            physio = first_physio + p % physios
            name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
            db.execute("INSERT INTO patients (id, physio_id, name, created_at) VALUES (?,?,?,?)",
                       [pid, physio, name, now])
            archetype = rng.choices([a for a, _ in ARCHETYPES], [w for _, w in ARCHETYPES])[0]
            sessions, sets = _patient_history(db, rng, pid, physio, start, today, archetype, now)
            n_sessions += sessions
            n_sets += sets
    return SeedSummary(physios, patients, n_sessions, n_sets)


def _patient_history(db: sqlite_utils.Database, rng: random.Random, pid: int, physio: int,
                     start: date, today: date, archetype: str, now: str) -> tuple[int, int]:
    v1 = _plan(rng)
    v2 = [{**it, "reps": it["reps"] + 2,
           "hold_s": None if it["hold_s"] is None else it["hold_s"] + 1.0} for it in v1]
    switch = start + (today - start) // 2
    versions = [Prescription(n, eff, tuple(Item(**it) for it in items))
                for n, (eff, items) in enumerate(((start, v1), (switch, v2)), 1)]
    for version, (effective, items) in enumerate(((start, v1), (switch, v2)), 1):
        cur = db.execute("INSERT INTO prescriptions (patient_id, version, effective_from, "
                         "created_at, created_by) VALUES (?,?,?,?,?)",
                         [pid, version, effective.isoformat(), now, physio])
        db.conn.executemany("INSERT INTO prescription_items VALUES (?,?,?,?,?,?,?,?)", [
            (cur.lastrowid, i, it["exercise"], it["sets"], it["reps"], it["hold_s"],
             it["days_per_week"], it["note"]) for i, it in enumerate(items)])
    p_day = rng.uniform(0.55, 0.95)
    lapse = rng.randint(4, 12) if archetype == "lapsed" else 0
    base_pain = rng.randint(2, 6)
    total = (today - start).days + 1
    session_rows, set_rows = [], []
    flagged = False
    for d in range(total):
        day = start + timedelta(days=d)
        age = (today - day).days
        if age < lapse or rng.random() > p_day:
            continue
        items = v1 if day < switch else v2
        progress = d / max(1, total - 1)  # 0 -> 1 over the history
        pain = max(0, min(10, round(base_pain * (1 - 0.5 * progress) + rng.gauss(0, 0.7))))
        if archetype == "pain_rising" and age < 7:
            pain = min(10, pain + 3)
        # The red-flag archetype reports one in its first session of the last week.
        flags = ["leg_symptoms"] if archetype == "red_flag" and age <= 6 and not flagged else []
        flagged = flagged or bool(flags)
        unasked = list(RED_FLAGS)[2:] if archetype == "unanswered" and age < UNANSWERED_DAYS \
            else []
        hour = rng.randint(7, 20)
        started = datetime(day.year, day.month, day.day, hour, rng.randint(0, 59), tzinfo=UTC)
        sid = f"{pid:08x}-{d:04x}-4000-8000-{rng.getrandbits(48):012x}"
        session_rows.append((sid, pid, None, day.isoformat(), started.isoformat(),
                             (started + timedelta(minutes=15)).isoformat(), "completed", pain,
                             json.dumps(flags), 1 if day < switch else 2,
                             '{"has_gyro": true, "name": "RehabLink-SEED", '
                             '"profile": "rehablink"}', now, "seed", json.dumps(unasked),
                             "session"))
        index = 0
        for it in items:
            ex = EXERCISES[it["exercise"]]
            for _ in range(it["sets"]):
                reps = max(0, round(it["reps"] * rng.uniform(0.7, 1.1)))
                target_hold = it["hold_s"] or 0.0
                hold = target_hold * (0.6 + 0.5 * progress) if target_hold else rng.uniform(.2, .6)
                rom = sum(ex.rom_range_deg) / 2 * (0.8 + 0.3 * progress)
                stab = rng.uniform(1.0, 2.5) if ex.stability_matters else None
                rotating = round(reps * rng.uniform(0.0, 0.15)) if ex.stability_matters else 0
                if archetype == "compensating" and age < 7 and ex.stability_matters:
                    rotating, stab = round(reps * rng.uniform(0.5, 0.8)), (stab or 1.0) + 3.0
                rep_list = _reps_json(rng, reps, hold, rom, stab, rotating) \
                    if age < FULL_RESULT_DAYS else []
                result = {"exercise": ex.id, "placement": "pelvis", "rep_count": reps,
                          "partial_count": 0, "duration_s": round(reps * 6.0 + 4.0, 1),
                          "sample_rate_hz": 50.0, "reps": rep_list}
                if age >= FULL_RESULT_DAYS:
                    result["summary_only"] = True
                set_rows.append((sid, index, pid, day.isoformat(), ex.id, "pelvis", it["reps"],
                                 it["hold_s"], started.isoformat(), 0, reps, 0,
                                 result["duration_s"], round(hold, 2) if reps else None,
                                 round(rom, 2) if reps else None,
                                 None if stab is None or not reps else round(stab, 2),
                                 round(rng.uniform(4.0, 7.0), 2) if reps else None, rotating,
                                 int(result["duration_s"] * 50), 0, json.dumps(result),
                                 int(flag(versions, day, ex.id, False, reps,
                                          round(hold, 2) if reps else None))))
                index += 1
    db.conn.executemany("INSERT INTO sessions VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", session_rows)
    db.conn.executemany(
        "INSERT INTO session_sets VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", set_rows)
    return len(session_rows), len(set_rows)
