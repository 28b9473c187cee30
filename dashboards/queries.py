"""Read-only queries that exist only for display: session lists, one session, export documents.

Figures (adherence, progression, alerts) come from ``server.analytics``; these queries only fetch
stored rows for tables, the trace page and the exports. Every function takes the ``patient_id``
the caller has already authorised and filters by it, so a session id of another patient is
never returned.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import groupby
from operator import itemgetter
from typing import Any

import sqlite_utils

from rehablink.results import SetResult


@dataclass(frozen=True)
class SetView:
    """One stored set with its parsed result (None when skipped)."""

    index: int
    exercise: str
    target_reps: int | None
    hold_target_s: float | None
    started_at: str
    skipped: bool
    rep_count: int
    median_hold_s: float | None
    median_rom_deg: float | None
    median_stability_deg: float | None
    median_tempo_s: float | None
    samples_received: int
    samples_lost: int
    result: SetResult | None


@dataclass(frozen=True)
class SessionView:
    """One stored session with its sets."""

    id: str
    kind: str | None  # server.validate.KINDS; None: not known (read as a guided session)
    day: str
    started_at: str
    ended_at: str
    status: str
    pain: int | None
    red_flags: tuple[str, ...]
    red_flags_unasked: tuple[str, ...] | None  # None: not known whether all were asked
    prescription_version: int | None
    sensor: dict[str, Any]
    sets: tuple[SetView, ...]


def _set_view(row: dict[str, Any]) -> SetView:
    raw = json.loads(row["result"]) if row["result"] else None
    return SetView(
        index=row["set_index"], exercise=row["exercise"], target_reps=row["target_reps"],
        hold_target_s=row["hold_target_s"], started_at=row["started_at"],
        skipped=bool(row["skipped"]), rep_count=row["rep_count"],
        median_hold_s=row["median_hold_s"], median_rom_deg=row["median_rom_deg"],
        median_stability_deg=row["median_stability_deg"],
        median_tempo_s=row["median_tempo_s"], samples_received=row["samples_received"],
        samples_lost=row["samples_lost"],
        result=SetResult.from_json(raw) if isinstance(raw, dict) else None)


def session_list(db: sqlite_utils.Database, patient_id: int, limit: int = 20,
                 offset: int = 0) -> tuple[list[dict[str, Any]], int]:
    """Newest sessions first, one summary row each, and the total number of sessions.

    Each row has ``id``, ``kind`` (None when not known), ``day``, ``started_at``, ``status``,
    ``pain``, ``red_flags`` (list), ``red_flags_unasked`` (list, None when not known), ``sets``,
    ``sets_skipped``, ``reps`` and ``flagged_reps`` (reps flagged pelvis rotating).
    """
    total = next(db.query("SELECT count(*) AS n FROM sessions WHERE patient_id = ?",
                          [patient_id]))["n"]
    rows = list(db.query(
        "SELECT s.id, s.kind, s.day, s.started_at, s.status, s.pain, s.red_flags, "
        "s.red_flags_unasked, count(x.set_index) AS sets, "
        "coalesce(sum(x.skipped), 0) AS sets_skipped, coalesce(sum(x.rep_count), 0) AS reps, "
        "coalesce(sum(x.rotating_reps), 0) AS flagged_reps "
        "FROM sessions s LEFT JOIN session_sets x ON x.session_id = s.id "
        "WHERE s.patient_id = ? GROUP BY s.id ORDER BY s.started_at DESC LIMIT ? OFFSET ?",
        [patient_id, limit, offset]))
    for row in rows:
        row["red_flags"] = json.loads(row["red_flags"] or "[]")
        row["red_flags_unasked"] = json.loads(row["red_flags_unasked"] or "null")
    return rows, int(total)


def session_detail(db: sqlite_utils.Database, patient_id: int,
                   session_id: str) -> SessionView | None:
    """The session with its sets if it belongs to ``patient_id``, else None."""
    rows = list(db.query("SELECT * FROM sessions WHERE id = ? AND patient_id = ?",
                         [session_id, patient_id]))
    if not rows:
        return None
    s = rows[0]
    sets = [_set_view(r) for r in db.query(
        "SELECT * FROM session_sets WHERE session_id = ? ORDER BY set_index", [session_id])]
    return SessionView(
        id=s["id"], kind=s["kind"], day=s["day"], started_at=s["started_at"],
        ended_at=s["ended_at"], status=s["status"], pain=s["pain"],
        red_flags=tuple(json.loads(s["red_flags"] or "[]")),
        red_flags_unasked=None if s["red_flags_unasked"] is None
        else tuple(json.loads(s["red_flags_unasked"])),
        prescription_version=s["prescription_version"],
        sensor=json.loads(s["sensor"] or "{}"), sets=tuple(sets))


def sets_with_samples(db: sqlite_utils.Database, session_id: str) -> set[int]:
    """Indexes of the session's sets whose raw samples were uploaded completely."""
    return {r["set_index"] for r in db.query(
        "SELECT set_index FROM sample_uploads WHERE session_id = ? AND completed_at IS NOT NULL",
        [session_id])}


def red_flag_sessions(db: sqlite_utils.Database, patient_id: int,
                      limit: int = 50) -> list[dict[str, Any]]:
    """Sessions where the patient answered yes to a red-flag question, newest first."""
    rows = list(db.query(
        "SELECT id, day, started_at, pain, red_flags FROM sessions WHERE patient_id = ? "
        "AND red_flags != '[]' ORDER BY started_at DESC LIMIT ?", [patient_id, limit]))
    for row in rows:
        row["red_flags"] = json.loads(row["red_flags"])
    return rows


def unanswered_sessions(db: sqlite_utils.Database, patient_id: int,
                        limit: int = 10) -> tuple[list[dict[str, Any]], int]:
    """Sessions whose red-flag questions were not all asked, newest first (``id``, ``day``,
    ``started_at``, ``red_flags``, ``red_flags_unasked``), and how many there are in all. Free
    recordings, which never ask them, are not among them."""
    where = ("FROM sessions WHERE patient_id = ? AND red_flags_unasked IS NOT NULL "
             "AND red_flags_unasked != '[]' AND kind IS NOT 'record'")
    total = next(db.query(f"SELECT count(*) AS n {where}", [patient_id]))["n"]
    rows = list(db.query(f"SELECT id, day, started_at, red_flags, red_flags_unasked {where} "
                         "ORDER BY started_at DESC LIMIT ?", [patient_id, limit]))
    for row in rows:
        row["red_flags"] = json.loads(row["red_flags"])
        row["red_flags_unasked"] = json.loads(row["red_flags_unasked"])
    return rows, int(total)


#: Every session of a patient with its sets, one row per set (a session without sets: one
#: row of NULLs), oldest session first. The unary ``+`` keeps SQLite from looking the sets up
#: by the patient's index, which read all of the patient's sets for every session (50 ms for a
#: year instead of 8): they are found by their key, (session_id, set_index).
_DOCUMENTS = (
    "SELECT s.id, s.kind, s.day, s.started_at, s.ended_at, s.status, s.sensor, s.pain, "
    "s.red_flags, s.red_flags_unasked, s.prescription_version, x.set_index, x.exercise, "
    "x.placement, x.target_reps, x.hold_target_s, x.started_at AS set_started_at, x.skipped, "
    "x.result, x.samples_received, x.samples_lost, x.median_hold_s, x.median_rom_deg, "
    "x.median_stability_deg, x.median_tempo_s, x.rotating_reps "
    "FROM sessions s LEFT JOIN session_sets x "
    "ON x.session_id = s.id AND +x.patient_id = s.patient_id "
    "WHERE s.patient_id = ? ORDER BY s.started_at, s.id, x.set_index")


def _set_document(r: dict[str, Any]) -> dict[str, Any]:
    return {
        "index": r["set_index"], "exercise": r["exercise"], "placement": r["placement"],
        "target_reps": r["target_reps"], "hold_target_s": r["hold_target_s"],
        "started_at": r["set_started_at"], "skipped": bool(r["skipped"]),
        "result": json.loads(r["result"]) if r["result"] else None,
        "samples_received": r["samples_received"], "samples_lost": r["samples_lost"],
        "median_hold_s": r["median_hold_s"], "median_rom_deg": r["median_rom_deg"],
        "median_stability_deg": r["median_stability_deg"],
        "median_tempo_s": r["median_tempo_s"], "rotating_reps": r["rotating_reps"]}


def session_documents(db: sqlite_utils.Database, patient_id: int) -> Iterator[dict[str, Any]]:
    """All sessions of a patient rebuilt in the upload document's shape, oldest first (two
    started at the same time: by id).

    Used by the CSV and FHIR exports: one query, read while the export is written, so an
    export holds one session at a time rather than a year of them.
    """
    rows = db.query(_DOCUMENTS, [patient_id])
    for _, group in groupby(rows, key=itemgetter("id")):
        s, *more = group
        yield {
            "id": s["id"], "kind": s["kind"], "day": s["day"], "started_at": s["started_at"],
            "ended_at": s["ended_at"], "status": s["status"],
            "sensor": json.loads(s["sensor"] or "{}"), "pain": s["pain"],
            "red_flags": json.loads(s["red_flags"] or "[]"),
            "red_flags_unasked": json.loads(s["red_flags_unasked"] or "null"),
            "prescription_version": s["prescription_version"],
            "sets": [_set_document(r) for r in (s, *more) if r["set_index"] is not None],
        }
