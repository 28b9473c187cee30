"""Raw sensor traces of stored sets, for the session page (read side of the samples upload)."""

from __future__ import annotations

import sqlite_utils

from rehablink.rawsamples import decode
from rehablink.recording import Recording


def load_recording(db: sqlite_utils.Database, session_id: str,
                   set_index: int) -> Recording | None:
    """The set's complete raw samples, or None if none were uploaded (or not completely).

    The caller authorises access to the session's patient first (``auth.physio_patient``).
    """
    rows = list(db.query(
        "SELECT data FROM sample_uploads WHERE session_id = ? AND set_index = ? "
        "AND completed_at IS NOT NULL", [session_id, set_index]))
    return decode(bytes(rows[0]["data"])) if rows else None
