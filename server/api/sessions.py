"""Session upload (idempotent by the client's UUID) and the device's list of stored sessions."""

from __future__ import annotations

from flask import Response, current_app, jsonify, request

from rehablink.contract import MAX_IGNORED_CHARS, MAX_IGNORED_LISTED
from server.api import ApiError, bp, current_device, device_required, json_body
from server.db import get_db
from server.ingest import SessionConflict, document_digest, store_session
from server.validate import DocumentError, UnsupportedFields, session_document


@bp.post("/sessions")
@device_required
def upload_session() -> tuple[Response, int]:
    """Store a session document; 201 when new, 200 when this id was already stored. Fields
    this server does not know are ignored and named in ``ignored_fields``."""
    raw = json_body(int(current_app.config["MAX_DOCUMENT_BYTES"]))
    try:
        doc = session_document(raw)
    except UnsupportedFields as exc:
        raise ApiError(422, "unsupported_field", str(exc)) from None
    except DocumentError as exc:
        raise ApiError(422, "invalid_document", str(exc)) from None
    device = current_device()
    try:
        stored = store_session(get_db(), doc, device.patient_id, device.id,
                               document_digest(request.get_data()))
    except SessionConflict as exc:
        raise ApiError(409, "conflict", str(exc)) from None
    body = {"id": stored.id, "created": stored.created, "identical": stored.identical,
            "sets": [s.index for s in doc.sets],
            "ignored_fields": [f[:MAX_IGNORED_CHARS]
                               for f in doc.ignored_fields[:MAX_IGNORED_LISTED]]}
    return jsonify(body), 201 if stored.created else 200


@bp.get("/sessions/<session_id>")
@device_required
def session_status(session_id: str) -> Response:
    """Whether a session is stored, and which sets' raw samples are complete (for resuming)."""
    device = current_device()
    db = get_db()
    rows = list(db.query("SELECT id FROM sessions WHERE id = ? AND patient_id = ?",
                         [session_id.lower(), device.patient_id]))
    if not rows:
        raise ApiError(404, "not_found", "no such session")
    uploads = {r["set_index"]: r for r in db.query(
        "SELECT set_index, received_bytes, total_bytes, completed_at FROM sample_uploads "
        "WHERE session_id = ?", [rows[0]["id"]])}
    sets = []
    for r in db.query("SELECT set_index FROM session_sets WHERE session_id = ? ORDER BY set_index",
                      [rows[0]["id"]]):
        up = uploads.get(r["set_index"])
        sets.append({"index": r["set_index"],
                     "samples_received_bytes": up["received_bytes"] if up else 0,
                     "samples_total_bytes": up["total_bytes"] if up else None,
                     "samples_complete": bool(up and up["completed_at"])})
    return jsonify(id=rows[0]["id"], sets=sets)
