"""Storing uploaded sessions: one transaction per document, idempotent by the client's UUID."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlite_utils

from server.audit import record
from server.db import write_transaction
from server.done_flags import flag
from server.migrations import utcnow
from server.prescriptions import Prescription, history
from server.validate import SessionDoc


class SessionConflict(ValueError):
    """The session id is already used by another patient's session."""


@dataclass(frozen=True)
class Stored:
    """Outcome of an upload: ``created`` False when the session was already stored."""

    id: str
    created: bool
    identical: bool


def document_digest(body: bytes) -> str:
    """SHA-256 of an uploaded body (tells an identical re-upload from a different one)."""
    return hashlib.sha256(body).hexdigest()


def session_rows(doc: SessionDoc, patient_id: int, device_id: int | None, digest: str,
                 versions: list[Prescription]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The ``sessions`` row and ``session_sets`` rows of a validated document."""
    day = date.fromisoformat(doc.day)
    session = {
        "id": doc.id, "kind": doc.kind, "patient_id": patient_id, "device_id": device_id,
        "day": doc.day, "started_at": doc.started_at, "ended_at": doc.ended_at,
        "status": doc.status,
        "pain": doc.pain, "red_flags": json.dumps(list(doc.red_flags)),
        "red_flags_unasked": None if doc.red_flags_unasked is None
        else json.dumps(list(doc.red_flags_unasked)),
        "prescription_version": doc.prescription_version,
        "sensor": json.dumps(doc.sensor, sort_keys=True), "received_at": utcnow(),
        "document_sha256": digest,
    }
    sets = [{
        "session_id": doc.id, "set_index": s.index, "patient_id": patient_id, "day": doc.day,
        "exercise": s.exercise, "placement": s.placement, "target_reps": s.target_reps,
        "hold_target_s": s.hold_target_s, "started_at": s.started_at, "skipped": int(s.skipped),
        "rep_count": s.rep_count,
        "partial_count": s.result.partial_count if s.result else 0,
        "duration_s": s.result.duration_s if s.result else 0.0,
        "median_hold_s": s.median("hold_s"), "median_rom_deg": s.median("rom_deg"),
        "median_stability_deg": s.median("stability_deg"), "median_tempo_s": s.median("tempo_s"),
        "rotating_reps": s.rotating_reps, "samples_received": s.samples_received,
        "samples_lost": s.samples_lost,
        "result": json.dumps(s.result.to_json() if s.result else None),
        "done": int(flag(versions, day, s.exercise, s.skipped, s.rep_count, s.median("hold_s"),
                         doc.kind == "record")),
    } for s in doc.sets]
    return session, sets


def store_session(db: sqlite_utils.Database, doc: SessionDoc, patient_id: int,
                  device_id: int | None, digest: str) -> Stored:
    """Insert a session and its sets, or do nothing if this id is already stored.

    Raises
    ------
    SessionConflict
        If the id belongs to another patient's session.
    """
    with write_transaction(db):
        session, sets = session_rows(doc, patient_id, device_id, digest,
                                     history(db, patient_id))
        existing = db.execute("SELECT patient_id, document_sha256 FROM sessions WHERE id = ?",
                              [doc.id]).fetchone()
        if existing:
            if existing[0] != patient_id:
                raise SessionConflict(f"session id {doc.id} is already in use")
            return Stored(doc.id, False, existing[1] == digest)
        columns = ", ".join(session)
        db.execute(f"INSERT INTO sessions ({columns}) VALUES "
                   f"({', '.join('?' * len(session))})", list(session.values()))
        if sets:
            set_columns = list(sets[0])
            db.conn.executemany(
                f"INSERT INTO session_sets ({', '.join(set_columns)}) VALUES "
                f"({', '.join('?' * len(set_columns))})",
                [[row[c] for c in set_columns] for row in sets])
        record(db, f"device:{device_id}", "upload_session", patient_id, f"session={doc.id}")
    return Stored(doc.id, True, True)
