"""The thin query layer under :mod:`server.analytics`: loads rows, calls the pure functions,
and returns what the patient list and the patient page show.

Callers authorise first (``auth.physio_patient``); these functions trust their ids.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import sqlite_utils

from rehablink.exercises import EXERCISES
from server import analytics as an
from server.audit import record
from server.migrations import utcnow
from server.prescriptions import Prescription, history, history_many, in_effect

#: Days of rows the patient list needs: 28-day adherence (which holds the trend's two weeks).
LIST_DAYS = 28


@dataclass(frozen=True)
class PatientRow:
    """One line of the physiotherapist's patient list."""

    id: int
    name: str
    adherence_7d: an.Adherence
    adherence_28d: an.Adherence
    previous_7d: an.Adherence
    weekly: tuple[float | None, ...]  # adherence of the last 4 weeks, oldest first
    last_session: date | None
    alerts: tuple[an.Alert, ...]

    @property
    def trend(self) -> float | None:
        """7-day adherence minus the 7 days before (positive: improving)."""
        now, then = self.adherence_7d.ratio, self.previous_7d.ratio
        return None if now is None or then is None else now - then


@dataclass(frozen=True)
class PatientOverview:
    """Everything the patient page shows, computed once."""

    patient: dict[str, Any]
    versions: tuple[Prescription, ...]
    current_plan: Prescription | None
    adherence_7d: an.Adherence
    adherence_28d: an.Adherence
    calendar: tuple[an.Day, ...]
    streak_current: int
    streak_longest: int
    progression: tuple[an.WeekProgress, ...]
    pain: tuple[tuple[date, int], ...]
    red_flags: tuple[tuple[date, tuple[str, ...]], ...]  # every report, newest first
    alerts: tuple[an.Alert, ...]
    last_session: date | None  # of the programme: free recordings left out
    #: The latest guided session of the window when its red-flag questions were not all
    #: answered (``analytics.questions_left``), else None.
    questions_left: an.SessionRecord | None
    # newest first: id, kind (None: not known), day, started_at, status, pain, red_flags,
    # red_flags_unasked (None: not known), sets, reps
    sessions: tuple[dict[str, Any], ...]


def _marks(ids: Sequence[object]) -> str:
    return ",".join("?" * len(ids))


def free_recordings(db: sqlite_utils.Database, patient_ids: list[int], since: date,
                    until: date) -> dict[int, set[str]]:
    """The ids of each patient's free recordings (kind ``record``) of ``since``..``until``.
    One look at the window's sessions beats joining every set to its session (a year: 2 ms)."""
    out: dict[int, set[str]] = defaultdict(set)
    if patient_ids:
        for pid, sid in db.execute(
                f"SELECT patient_id, id FROM sessions WHERE patient_id IN "
                f"({_marks(patient_ids)}) AND day BETWEEN ? AND ? AND kind = 'record'",
                [*patient_ids, since.isoformat(), until.isoformat()]):
            out[pid].add(sid)
    return out


def load_done_counts(db: sqlite_utils.Database, patient_ids: list[int], since: date,
                     until: date) -> dict[int, dict[date, dict[str, int]]]:
    """Done sets per patient, day and exercise (stored flags summed in SQL, not yet capped
    at the sets the plan asks per day; served by the covering index)."""
    out: dict[int, dict[date, dict[str, int]]] = defaultdict(dict)
    if not patient_ids:
        return out
    cur = db.execute(
        f"SELECT patient_id, day, exercise, sum(done) FROM session_sets "
        f"WHERE patient_id IN ({_marks(patient_ids)}) AND day BETWEEN ? AND ? AND done = 1 "
        f"GROUP BY patient_id, day, exercise",
        [*patient_ids, since.isoformat(), until.isoformat()])
    days: dict[str, date] = {}
    for pid, day, exercise, count in cur:
        d = days.get(day) or days.setdefault(day, date.fromisoformat(day))
        out[pid].setdefault(d, {})[exercise] = count
    return out


def load_compensation(db: sqlite_utils.Database, patient_ids: list[int], today: date
                      ) -> dict[int, tuple[an.CompensationWeek, an.CompensationWeek]]:
    """This week and the week before of the sets of the plan that need a still pelvis, summed
    in SQL (what :func:`server.analytics.compensation_week` computes from the sets: free
    recordings left out)."""
    out: dict[int, tuple[an.CompensationWeek, an.CompensationWeek]] = {}
    still = [e.id for e in EXERCISES.values() if e.stability_matters]
    if not patient_ids:
        return out
    week_ago, since = today - timedelta(days=6), today - timedelta(days=13)
    free = free_recordings(db, patient_ids, since, today)
    free_ids = [sid for ids in free.values() for sid in ids]
    # The session of a set is looked up only for the patients with free recordings: the
    # others' sets are read from the covering index alone.
    not_free = f"AND (patient_id NOT IN ({_marks(list(free))}) OR session_id NOT IN " \
        f"({_marks(free_ids)})) " if free else ""
    cur = db.execute(
        f"SELECT patient_id, day >= ? AS recent, sum(rep_count), sum(rotating_reps), "
        f"json_group_array(median_stability_deg) FROM session_sets "
        f"WHERE patient_id IN ({_marks(patient_ids)}) AND day BETWEEN ? AND ? AND skipped = 0 "
        f"AND exercise IN ({_marks(still)}) {not_free}GROUP BY patient_id, recent",
        [week_ago.isoformat(), *patient_ids, since.isoformat(), today.isoformat(), *still,
         *free, *free_ids])
    empty = an.CompensationWeek()
    for pid, recent, reps, rotating, stabilities in cur:
        week = an.CompensationWeek(reps, rotating, tuple(
            s for s in json.loads(stabilities) if s is not None))
        now, before = out.get(pid, (empty, empty))
        out[pid] = (week, before) if recent else (now, week)
    return out


def load_sets(db: sqlite_utils.Database, patient_ids: list[int], since: date,
              until: date) -> dict[int, list[an.SetRecord]]:
    """Set records per patient for days ``since``..``until`` (those of free recordings
    marked ``free_recording``)."""
    out: dict[int, list[an.SetRecord]] = defaultdict(list)
    if not patient_ids:
        return out
    window = [*patient_ids, since.isoformat(), until.isoformat()]
    free = set().union(*free_recordings(db, patient_ids, since, until).values())
    cur = db.execute(
        f"SELECT patient_id, day, exercise, skipped, rep_count, median_hold_s, median_rom_deg, "
        f"median_stability_deg, median_tempo_s, rotating_reps, session_id FROM session_sets "
        f"WHERE patient_id IN ({_marks(patient_ids)}) AND day BETWEEN ? AND ?", window)
    days: dict[str, date] = {}
    for pid, day, ex, skipped, reps, hold, rom, stab, tempo, rot, sid in cur:
        d = days.get(day) or days.setdefault(day, date.fromisoformat(day))
        out[pid].append(an.SetRecord(d, ex, bool(skipped), reps, hold, rom, stab, tempo, rot, sid,
                                     sid in free))
    return out


def load_sessions(db: sqlite_utils.Database, patient_ids: list[int], since: date,
                  until: date) -> dict[int, list[an.SessionRecord]]:
    """Session records per patient for ``since``..``until``, plus every red-flag report not
    yet reviewed (whatever its day)."""
    out: dict[int, list[an.SessionRecord]] = defaultdict(list)
    if not patient_ids:
        return out
    columns = ("s.patient_id, s.id, s.day, s.pain, s.red_flags, "
               "(p.red_flags_reviewed_at IS NOT NULL AND s.received_at <= "
               "p.red_flags_reviewed_at), s.red_flags_unasked, s.started_at, s.kind "
               "FROM sessions s JOIN patients p ON p.id = s.patient_id")
    marks = _marks(patient_ids)
    # Two index searches (a day range; the partial index of red-flag sessions) beat one OR.
    in_window = db.execute(
        f"SELECT {columns} WHERE s.patient_id IN ({marks}) AND s.day BETWEEN ? AND ?",
        [*patient_ids, since.isoformat(), until.isoformat()]).fetchall()
    flagged = db.execute(
        f"SELECT {columns} WHERE s.patient_id IN ({marks}) AND s.red_flags != '[]' "
        f"AND (p.red_flags_reviewed_at IS NULL OR s.received_at > p.red_flags_reviewed_at) "
        f"AND s.day NOT BETWEEN ? AND ?",
        [*patient_ids, since.isoformat(), until.isoformat()]).fetchall()
    days: dict[str, date] = {}
    for pid, sid, day, pain, flags, reviewed, unasked, started, kind in in_window + flagged:
        d = days.get(day) or days.setdefault(day, date.fromisoformat(day))
        out[pid].append(an.SessionRecord(
            sid, d, pain, tuple(json.loads(flags)) if flags != "[]" else (), bool(reviewed),
            None if unasked is None else tuple(json.loads(unasked)), started, kind))
    return out


def last_sessions(db: sqlite_utils.Database, patient_ids: list[int]) -> dict[int, date]:
    """Day of each patient's latest session of the programme (free recordings left out)."""
    if not patient_ids:
        return {}
    # The (patient_id, day) index read backwards per patient, stopping at the first session
    # that is not a free recording (one row for nearly every patient).
    cur = db.execute(f"SELECT p.id, (SELECT day FROM sessions WHERE patient_id = p.id "
                     f"AND kind IS NOT 'record' ORDER BY day DESC LIMIT 1) "
                     f"FROM patients p WHERE p.id IN ({_marks(patient_ids)})", patient_ids)
    return {pid: date.fromisoformat(day) for pid, day in cur if day is not None}


def _window(done: an.DoneByDay, versions: list[Prescription], end: date,
            days: int) -> an.Adherence:
    return an.adherence_from_done(done, versions, end - timedelta(days=days - 1), end)


def patient_list(db: sqlite_utils.Database, physio_id: int, today: date | None = None,
                 no_session_days: int = 3) -> list[PatientRow]:
    """The physiotherapist's patients, sorted by who needs attention first."""
    today = today or date.today()
    patients = list(db.execute("SELECT id, name FROM patients WHERE physio_id = ? "
                               "AND archived_at IS NULL", [physio_id]))
    ids = [p[0] for p in patients]
    since = today - timedelta(days=LIST_DAYS - 1)
    counts = load_done_counts(db, ids, since, today)
    compensation = load_compensation(db, ids, today)
    sessions = load_sessions(db, ids, today - timedelta(days=13), today)
    last = last_sessions(db, ids)
    plans = history_many(db, ids)
    rows = []
    for pid, name in patients:
        versions = plans.get(pid, [])
        first_plan = min((v.effective_from for v in versions), default=None)
        alerts = an.alerts(sessions.get(pid, []), [], today, last.get(pid), first_plan,
                           no_session_days, compensation.get(pid))
        days = an.plan_days(counts.get(pid, {}), versions, since, today)
        weeks = [an.adherence_of_days(days[k][0], days[k + 6][0], days[k:k + 7])
                 for k in (0, 7, 14, 21)]
        rows.append(PatientRow(
            id=pid, name=name, adherence_7d=weeks[3],
            adherence_28d=an.adherence_of_days(since, today, days), previous_7d=weeks[2],
            weekly=tuple(w.ratio for w in weeks), last_session=last.get(pid),
            alerts=tuple(alerts)))
    rows.sort(key=lambda r: an.attention_key(r.alerts, r.adherence_7d.ratio, r.name))
    return rows


def patient_overview(db: sqlite_utils.Database, patient: dict[str, Any],
                     today: date | None = None, weeks: int = 12,
                     no_session_days: int = 3, recent_sessions: int = 50) -> PatientOverview:
    """The patient page's figures: calendar and progression over ``weeks`` weeks."""
    today = today or date.today()
    pid = int(patient["id"])
    since = today - timedelta(days=7 * weeks - 1)
    versions = history(db, pid)
    sets = load_sets(db, [pid], since, today).get(pid, [])
    sessions = load_sessions(db, [pid], since, today).get(pid, [])
    window = [s for s in sessions if s.day >= since]
    done = an.done_by_day(sets, versions)
    current, longest = an.streaks((d for d, per in done.items() if sum(per.values())), today)
    last = last_sessions(db, [pid]).get(pid)
    first_plan = min((v.effective_from for v in versions), default=None)
    flags = [(d, tuple(json.loads(f))) for d, f in db.execute(
        "SELECT day, red_flags FROM sessions WHERE patient_id = ? AND red_flags != '[]' "
        "ORDER BY day DESC", [pid])]
    keys = ("id", "kind", "day", "started_at", "status", "pain", "red_flags",
            "red_flags_unasked", "sets", "reps")
    recent = [dict(zip(keys, row, strict=True)) for row in db.execute(
        "SELECT s.id, s.kind, s.day, s.started_at, s.status, s.pain, s.red_flags, "
        "s.red_flags_unasked, count(t.set_index), coalesce(sum(t.rep_count), 0) "
        "FROM sessions s LEFT JOIN session_sets t ON t.session_id = s.id "
        "WHERE s.patient_id = ? GROUP BY s.id ORDER BY s.started_at DESC LIMIT ?",
        [pid, recent_sessions])]
    for row in recent:
        row["red_flags"] = json.loads(row["red_flags"])
        row["red_flags_unasked"] = json.loads(row["red_flags_unasked"] or "null")
    return PatientOverview(
        patient=dict(patient), versions=tuple(versions),
        current_plan=in_effect(versions, today),
        adherence_7d=_window(done, versions, today, 7),
        adherence_28d=_window(done, versions, today, 28),
        calendar=tuple(an.calendar(sets, window, versions, since, today)),
        streak_current=current, streak_longest=longest,
        progression=tuple(an.progression(sets, versions)),
        pain=tuple(an.pain_series(window)), red_flags=tuple(flags),
        alerts=tuple(an.alerts(sessions, sets, today, last, first_plan, no_session_days)),
        last_session=last, questions_left=an.questions_left(window), sessions=tuple(recent))


def session_detail(db: sqlite_utils.Database, patient_id: int,
                   session_id: str) -> dict[str, Any] | None:
    """A session of this patient with its sets and their full results (None if not theirs)."""
    rows = list(db.query("SELECT * FROM sessions WHERE id = ? AND patient_id = ?",
                         [session_id, patient_id]))
    if not rows:
        return None
    session = rows[0]
    session["red_flags"] = json.loads(session["red_flags"])
    session["red_flags_unasked"] = json.loads(session["red_flags_unasked"] or "null")
    session["sensor"] = json.loads(session["sensor"])
    session["sets"] = []
    for s in db.query("SELECT t.*, u.completed_at IS NOT NULL AS has_samples FROM session_sets t "
                      "LEFT JOIN sample_uploads u ON u.session_id = t.session_id AND "
                      "u.set_index = t.set_index WHERE t.session_id = ? ORDER BY t.set_index",
                      [session_id]):
        s["result"] = json.loads(s["result"])
        s["has_samples"] = bool(s["has_samples"])
        session["sets"].append(s)
    return session


def review_red_flags(db: sqlite_utils.Database, patient_id: int, physio_id: int) -> None:
    """Mark the patient's red-flag reports received so far as reviewed (clears the alert)."""
    db.execute("UPDATE patients SET red_flags_reviewed_at = ? WHERE id = ?",
               [utcnow(), patient_id])
    record(db, f"physio:{physio_id}", "review_red_flags", patient_id)
