"""Raw samples of a set: resumable binary upload (``Content-Range``), size-limited.

``PUT /api/v1/sessions/<id>/sets/<index>/samples`` with ``Content-Type:
application/octet-stream`` and ``Content-Range: bytes START-END/TOTAL``; START must equal the
bytes already received (``GET`` the same path for that). Each chunk is one transaction; the
last one is decoded and checked before the upload is marked complete.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Response, current_app, jsonify, request

from rehablink.rawsamples import decode, expected_size
from rehablink.recording import RecordingError
from server.api import ApiError, bp, current_device, device_required
from server.audit import record
from server.db import get_db, write_transaction
from server.migrations import utcnow

_RANGE = re.compile(r"^bytes (\d{1,12})-(\d{1,12})/(\d{1,12})$")


def _status(row: dict[str, object] | None) -> dict[str, object]:
    if row is None:
        return {"received_bytes": 0, "total_bytes": None, "complete": False}
    return {"received_bytes": row["received_bytes"], "total_bytes": row["total_bytes"],
            "complete": row["completed_at"] is not None}


def _check_set(session_id: str, index: int) -> str:
    device = current_device()
    rows = list(get_db().query(
        "SELECT s.session_id FROM session_sets s WHERE s.session_id = ? AND s.set_index = ? "
        "AND s.patient_id = ?", [session_id.lower(), index, device.patient_id]))
    if not rows:
        raise ApiError(404, "not_found", "no such set; upload the session document first")
    return str(rows[0]["session_id"])


_SELECT = ("SELECT received_bytes, total_bytes, completed_at FROM sample_uploads "
           "WHERE session_id = ? AND set_index = ?")


@bp.get("/sessions/<session_id>/sets/<int:index>/samples")
@device_required
def samples_status(session_id: str, index: int) -> Response:
    """How many bytes of this set's samples the server has (to resume an upload)."""
    sid = _check_set(session_id, index)
    rows = list(get_db().query(_SELECT, [sid, index]))
    return jsonify(_status(rows[0] if rows else None))


@bp.put("/sessions/<session_id>/sets/<int:index>/samples")
@device_required
def upload_samples(session_id: str, index: int) -> Response:
    """Append one chunk of a set's samples (see the module docstring)."""
    sid = _check_set(session_id, index)
    if request.mimetype != "application/octet-stream":
        raise ApiError(415, "unsupported_media_type", "send application/octet-stream")
    match = _RANGE.match(request.headers.get("Content-Range", ""))
    if not match:
        raise ApiError(400, "bad_range", "send Content-Range: bytes START-END/TOTAL")
    start, end, total = (int(x) for x in match.groups())
    limit = int(current_app.config["MAX_SAMPLES_BYTES"])
    if total > limit:
        raise ApiError(413, "too_large", f"raw samples are limited to {limit} bytes per set")
    if not start <= end < total or end - start + 1 > limit:
        raise ApiError(400, "bad_range", "need START <= END < TOTAL")
    chunk = request.get_data(cache=False)
    if len(chunk) != end - start + 1:
        raise ApiError(400, "bad_range", f"body has {len(chunk)} bytes, range says "
                       f"{end - start + 1}")
    db = get_db()
    device = current_device()
    invalid = ""
    with write_transaction(db):
        rows = list(db.query(_SELECT, [sid, index]))
        row = rows[0] if rows else None
        if row is not None and row["completed_at"] is not None:
            return jsonify(_status(row))  # already complete: a repeat changes nothing
        if row is not None and row["total_bytes"] != total:
            if start != 0:
                raise ApiError(409, "total_changed", "TOTAL differs from the upload in progress; "
                               "restart from 0", received_bytes=row["received_bytes"])
            _discard(db, sid, index)
            row = None
        received = row["received_bytes"] if row else 0
        if start != received:
            raise ApiError(409, "wrong_offset", f"resume at byte {received}",
                           received_bytes=received)
        if start == 0:
            try:
                size = expected_size(chunk)
            except RecordingError as exc:
                raise ApiError(422, "invalid_samples", str(exc)) from None
            if size != total:
                raise ApiError(422, "invalid_samples", f"header says {size} bytes, TOTAL {total}")
            db.execute("INSERT INTO sample_uploads VALUES (?, ?, ?, 0, x'', NULL)",
                       [sid, index, total])
        # Chunks are kept apart until the last one (appending to one BLOB would rewrite it
        # all for every chunk).
        db.execute("INSERT INTO sample_chunks VALUES (?, ?, ?, ?)", [sid, index, start, chunk])
        db.execute("UPDATE sample_uploads SET received_bytes = ? WHERE session_id = ? "
                   "AND set_index = ?", [end + 1, sid, index])
        if end + 1 == total:
            data = b"".join(r[0] for r in db.execute(
                "SELECT data FROM sample_chunks WHERE session_id = ? AND set_index = ? "
                "ORDER BY offset", [sid, index]))
            try:
                decode(data)
            except RecordingError as exc:
                invalid = str(exc)  # start over: these bytes can never become valid
                _discard(db, sid, index)
            else:
                db.execute("UPDATE sample_uploads SET data = ?, completed_at = ? "
                           "WHERE session_id = ? AND set_index = ?",
                           [data, utcnow(), sid, index])
                db.execute("DELETE FROM sample_chunks WHERE session_id = ? AND set_index = ?",
                           [sid, index])
                record(db, f"device:{device.id}", "upload_samples", device.patient_id,
                       f"session={sid} set={index}")
        rows = list(db.query(_SELECT, [sid, index]))
    if invalid:
        raise ApiError(422, "invalid_samples", invalid + "; upload the set again from byte 0")
    return jsonify(_status(rows[0]))


def _discard(db: Any, sid: str, index: int) -> None:
    for table in ("sample_chunks", "sample_uploads"):
        db.execute(f"DELETE FROM {table} WHERE session_id = ? AND set_index = ?", [sid, index])
