"""Reading the companion store: session lists, the shared session document, per-set recordings."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import sqlite_utils

from rehablink.recording import Recording
from rehablink.text import is_sensor_model
from wearable.store.chunks import ChunkError, decode_chunk


class StoreError(LookupError):
    """An unknown or ambiguous session id, or a set that does not exist."""


def _unasked(stored: str | None) -> list[str] | None:
    """The red-flag ids not asked, from ``sessions.red_flags_unasked``; None for a session
    stored before the companion recorded it (not known)."""
    return None if stored is None else list(json.loads(stored))


def _sensor(session: dict[str, Any]) -> dict[str, Any] | None:
    """The session document's ``sensor`` from a ``sessions`` row: None when no sensor was
    connected; ``model`` only when the sensor said one (sessions stored before the model was
    kept have none), so the document of a session without one is as it always was."""
    if session["sensor_profile"] is None:
        return None
    sensor = {"profile": session["sensor_profile"], "name": session["sensor_name"],
              "has_gyro": bool(session["has_gyro"])}
    if is_sensor_model(session["sensor_model"]):  # never a reason for the clinic to refuse it
        sensor["model"] = session["sensor_model"]
    return sensor


class StoreQueries:
    """Read-side methods of :class:`wearable.store.CompanionStore` (needs ``self.db``)."""

    db: sqlite_utils.Database

    def resolve_session(self, id_or_prefix: str) -> str:
        """Full id of a session from its id or a unique prefix (at least 4 characters).

        Raises
        ------
        StoreError
            When no session, or more than one, matches.
        """
        key = id_or_prefix.strip().lower()
        if len(key) < 4:
            raise StoreError(f"session id {id_or_prefix!r} is too short (give at least 4 "
                             "characters; `rehab sessions` lists them)")
        rows = self.db.execute("SELECT id FROM sessions WHERE id LIKE ? ESCAPE '\\' LIMIT 2",
                               [key.replace("%", "\\%").replace("_", "\\_") + "%"]).fetchall()
        if not rows:
            raise StoreError(f"no session {id_or_prefix!r} (`rehab sessions` lists them)")
        if len(rows) > 1:
            raise StoreError(f"session id {id_or_prefix!r} is ambiguous; give more characters")
        return str(rows[0][0])

    def sessions(self, limit: int | None = None) -> list[dict[str, Any]]:
        """Sessions newest first with their sensor, set count, reps, red-flag answers and upload
        state (``sensor_model`` the model the sensor said it is, or None; ``red_flags`` the ids
        answered yes, comma-separated or None; ``red_flags_unasked`` the list of ids not asked,
        None when not known)."""
        sql = (
            "SELECT s.id, s.kind, s.started_at, s.ended_at, s.status, s.pain, "
            "s.sensor_profile, s.sensor_model, s.red_flags_unasked, "
            "(SELECT COUNT(*) FROM sets WHERE session_id = s.id) AS sets, "
            "(SELECT COUNT(*) FROM reps WHERE session_id = s.id) AS reps, "
            "(SELECT GROUP_CONCAT(flag) FROM red_flags WHERE session_id = s.id) AS red_flags, "
            "(SELECT uploaded_at FROM outbox WHERE session_id = s.id) AS uploaded_at "
            "FROM sessions s ORDER BY s.started_at DESC"
        )
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        rows = [dict(r) for r in self.db.query(sql)]
        for row in rows:
            row["red_flags_unasked"] = _unasked(row["red_flags_unasked"])
        return rows

    def session_row(self, session_id: str) -> dict[str, Any]:
        rows = list(self.db.query("SELECT * FROM sessions WHERE id = ?", [session_id]))
        if not rows:
            raise StoreError(f"no session {session_id!r}")
        return rows[0]

    def set_rows(self, session_id: str) -> list[dict[str, Any]]:
        return list(self.db.query("SELECT * FROM sets WHERE session_id = ? ORDER BY idx",
                                  [session_id]))

    def red_flags(self, session_id: str) -> list[str]:
        return [r[0] for r in self.db.execute(
            "SELECT flag FROM red_flags WHERE session_id = ? ORDER BY flag", [session_id])]

    def session_document(self, session_id: str) -> dict[str, Any]:
        """The session as the shared JSON document uploaded to ``POST /api/v1/sessions``."""
        s = self.session_row(session_id)
        status = s["status"] if s["status"] != "recording" else "interrupted"
        sets = []
        for row in self.set_rows(session_id):
            result = json.loads(row["result_json"]) if row["result_json"] else None
            if result is None and not row["skipped"]:
                # A set cut short by a crash: re-analyse what was stored.
                result = self._reanalyse(session_id, row)
            sets.append({
                "index": row["idx"], "exercise": row["exercise"], "placement": row["placement"],
                "target_reps": row["target_reps"], "hold_target_s": row["hold_target_s"],
                "started_at": row["started_at"], "skipped": bool(row["skipped"]),
                "result": result, "samples_received": row["samples_received"],
                "samples_lost": row["samples_lost"],
                "gaps": json.loads(row["gaps_json"]), "reconnects": row["reconnects"],
            })
        return {
            "id": s["id"], "kind": s["kind"], "started_at": s["started_at"],
            "ended_at": s["ended_at"], "status": status,
            "sensor": _sensor(s),
            "pain": s["pain"], "red_flags": self.red_flags(session_id),
            "red_flags_unasked": _unasked(s["red_flags_unasked"]),
            "prescription_version": s["prescription_version"], "sets": sets,
        }

    def _reanalyse(self, session_id: str, row: dict[str, Any]) -> dict[str, Any] | None:
        try:
            recording = self.set_recording(session_id, row["idx"])
        except StoreError:
            return None
        if len(recording) < 2:
            return None
        from wearable.motion.analyze import analyze  # the engine, only when needed

        result = analyze(recording, row["exercise"], row["placement"])
        return result.to_json()

    def set_recording(self, session_id: str, set_index: int) -> Recording:
        """The raw samples of one set (t in s from the set's start, acc in g, gyro in deg/s).

        Raises
        ------
        StoreError
            When the set does not exist or its samples cannot be read.
        """
        rows = self.db.execute(
            "SELECT t0_s, n, has_gyro, data FROM sample_chunks WHERE session_id = ? AND "
            "set_idx = ? ORDER BY idx", [session_id, set_index]).fetchall()
        if not rows:
            exists = self.db.execute("SELECT 1 FROM sets WHERE session_id = ? AND idx = ?",
                                     [session_id, set_index]).fetchone()
            if not exists:
                raise StoreError(f"session {session_id} has no set {set_index}")
            return Recording(np.zeros(0), np.zeros((0, 3)), None)
        try:
            chunks = [decode_chunk(t0, n, bool(g), data) for t0, n, g, data in rows]
        except ChunkError as exc:
            raise StoreError(f"set {set_index} of session {session_id}: {exc}") from None
        has_gyro = all(c.gyro is not None for c in chunks)
        t = np.concatenate([c.t for c in chunks])
        acc = np.concatenate([c.acc for c in chunks])
        gyro = np.concatenate([c.gyro for c in chunks if c.gyro is not None]) if has_gyro else None
        order = np.argsort(t, kind="stable")  # resent samples may arrive late
        return Recording(t[order], acc[order], None if gyro is None else gyro[order])

    def session_recordings(self, session_id: str) -> list[tuple[dict[str, Any], Recording]]:
        """Each set's row and recording, in order."""
        return [(row, self.set_recording(session_id, row["idx"]))
                for row in self.set_rows(session_id)]
