"""The audit log: who viewed or changed which patient, and when.

Actors are ``physio:<id>``, ``patient:<id>``, ``device:<id>`` or ``admin`` (the command line).
Details name what was touched (ids, versions), never health data or names.
"""

from __future__ import annotations

import sqlite_utils

from server.migrations import utcnow


def record(db: sqlite_utils.Database, actor: str, action: str,
           patient_id: int | None = None, detail: str = "") -> None:
    """Append one entry (inside the caller's transaction, if any)."""
    db.execute(
        "INSERT INTO audit_log (at, actor, action, patient_id, detail) VALUES (?, ?, ?, ?, ?)",
        [utcnow(), actor, action, patient_id, detail],
    )


def entries(db: sqlite_utils.Database, patient_id: int | None = None,
            limit: int = 200) -> list[dict[str, object]]:
    """The latest entries, newest first, for one patient or for all."""
    if patient_id is None:
        return list(db.query("SELECT * FROM audit_log ORDER BY id DESC LIMIT ?", [limit]))
    return list(db.query(
        "SELECT * FROM audit_log WHERE patient_id = ? ORDER BY id DESC LIMIT ?",
        [patient_id, limit]))
