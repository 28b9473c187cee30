"""Device routes: enrollment, the current plan, and one-time links to the patient's pages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask import Response, current_app, jsonify, request, url_for

from server import accounts, prescriptions
from server.api import ApiError, bp, current_device, device_required, json_body
from server.audit import record
from server.db import get_db
from server.migrations import utcnow

#: Failed enrollment attempts allowed per address within the login window.
MAX_ENROLL_FAILURES = 10


@bp.post("/enroll")
def enroll() -> tuple[Response, int]:
    """Exchange a one-time enrollment code for a device token (no other credential)."""
    body = json_body(4096)
    if not isinstance(body, dict) or not isinstance(body.get("code"), str):
        raise ApiError(400, "invalid_document", 'send {"code": "XXXX-XXXX-XXXX"}')
    db = get_db()
    address = request.remote_addr or "unknown"
    since = (datetime.now(UTC) - timedelta(seconds=current_app.config["LOGIN_WINDOW_S"])
             ).isoformat(timespec="seconds")
    failures = next(db.query(
        "SELECT count(*) AS n FROM login_failures WHERE account = 'enroll' AND address = ? "
        "AND at >= ?", [address, since]))["n"]
    if failures >= MAX_ENROLL_FAILURES:
        raise ApiError(429, "rate_limited", "too many wrong codes; wait and try again")
    try:
        token, device, name = accounts.enroll(db, body["code"][:64])
    except accounts.AccountError as exc:
        db.execute("INSERT INTO login_failures (account, address, at) VALUES ('enroll', ?, ?)",
                   [address, utcnow()])
        raise ApiError(403, "invalid_code", str(exc)) from None
    return jsonify(token=token, device_id=device.id, patient_name=name), 201


@bp.get("/prescription")
@device_required
def prescription() -> Response:
    """The plan in effect today for the device's patient (404 if none yet)."""
    device = current_device()
    db = get_db()
    plan = prescriptions.current(db, device.patient_id)
    if plan is None:
        raise ApiError(404, "no_prescription", "no prescription yet; ask your physiotherapist")
    record(db, f"device:{device.id}", "download_prescription", device.patient_id,
           f"version={plan.version}")
    return jsonify(plan.to_json())


@bp.post("/patient-link")
@device_required
def patient_link() -> tuple[Response, int]:
    """A one-time login link to the patient's own pages, valid for a few minutes."""
    device = current_device()
    ttl = int(current_app.config["PATIENT_LINK_TTL_S"])
    token = accounts.patient_link(get_db(), device.patient_id, f"device:{device.id}", ttl)
    url = url_for("auth.patient_login", token=token, _external=True)
    return jsonify(url=url, expires_in_s=ttl), 201
