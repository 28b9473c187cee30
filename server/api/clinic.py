"""JSON views for physiotherapists (login session cookie): patient list, patient summary,
prescribing. Writes need the CSRF token in an ``X-CSRFToken`` header, like the forms.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from typing import Any

from flask import Blueprint, Response, current_app, jsonify

from server import prescriptions, reports
from server.api import ApiError, json_body
from server.auth import current_physio, physio_patient
from server.db import get_db, write_transaction

bp = Blueprint("clinic_api", __name__, url_prefix="/api/v1/clinic")


@bp.before_request
def _physio_only() -> None:
    if current_physio() is None:
        raise ApiError(401, "unauthenticated", "log in as a physiotherapist first")


def _ratio(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def _alerts(alerts: Any) -> list[dict[str, Any]]:
    return [{"kind": a.kind, "message": a.message, "urgent": a.urgent,
             "day": a.day.isoformat() if a.day else None} for a in alerts]


@bp.get("/patients")
def patients() -> Response:
    """The physiotherapist's patients, most in need of attention first."""
    physio = current_physio()
    assert physio is not None
    rows = reports.patient_list(get_db(), physio["id"],
                                no_session_days=current_app.config["ALERT_NO_SESSION_DAYS"])
    return jsonify(patients=[{
        "id": r.id, "name": r.name, "adherence_7d": _ratio(r.adherence_7d.ratio),
        "adherence_28d": _ratio(r.adherence_28d.ratio), "trend": _ratio(r.trend),
        "last_session": r.last_session.isoformat() if r.last_session else None,
        "alerts": _alerts(r.alerts)} for r in rows])


@bp.get("/patients/<int:patient_id>")
def patient(patient_id: int) -> Response:
    """One patient's adherence, progression, pain, alerts and recent sessions."""
    record = physio_patient(patient_id, "view")
    o = reports.patient_overview(get_db(), record,
                                 no_session_days=current_app.config["ALERT_NO_SESSION_DAYS"])
    return jsonify(
        id=patient_id, name=record["name"],
        prescription=o.current_plan.to_json() if o.current_plan else None,
        adherence_7d=_ratio(o.adherence_7d.ratio), adherence_28d=_ratio(o.adherence_28d.ratio),
        missed_days_28d=o.adherence_28d.missed_days,
        streak={"current": o.streak_current, "longest": o.streak_longest},
        progression=[{**asdict(w), "week_start": w.week_start.isoformat()}
                     for w in o.progression],
        pain=[{"day": d.isoformat(), "pain": p} for d, p in o.pain],
        alerts=_alerts(o.alerts), sessions=list(o.sessions))


@bp.get("/patients/<int:patient_id>/prescriptions")
def prescription_history(patient_id: int) -> Response:
    """All versions of the patient's plan, oldest first."""
    physio_patient(patient_id, "view_prescriptions")
    return jsonify(versions=[v.to_json() for v in prescriptions.history(get_db(), patient_id)])


@bp.post("/patients/<int:patient_id>/prescriptions")
def prescribe(patient_id: int) -> tuple[Response, int]:
    """Save a new plan version: ``{"effective_from": "YYYY-MM-DD", "exercises": [...]}``."""
    physio = current_physio()
    assert physio is not None
    physio_patient(patient_id, "open_prescription")
    body = json_body(64 * 1024)
    try:
        if not isinstance(body, dict) or not isinstance(body.get("exercises"), list):
            raise prescriptions.PrescriptionError('send {"effective_from", "exercises": [...]}')
        raw_date = body.get("effective_from") or date.today().isoformat()
        try:
            effective = date.fromisoformat(str(raw_date))
        except ValueError:
            raise prescriptions.PrescriptionError("effective_from must be YYYY-MM-DD") from None
        items = [prescriptions.Item.from_json(x) for x in body["exercises"]]
        plan = prescriptions.prescribe(get_db(), patient_id, items, effective,
                                       f"physio:{physio['id']}", physio["id"])
    except prescriptions.PrescriptionError as exc:
        raise ApiError(422, "invalid_prescription", str(exc)) from None
    return jsonify(plan.to_json()), 201


@bp.post("/patients/<int:patient_id>/red-flags/review")
def review(patient_id: int) -> Response:
    """Mark the red flags reported so far as reviewed (the alert clears)."""
    physio = current_physio()
    assert physio is not None
    physio_patient(patient_id, "open_red_flags")
    db = get_db()
    with write_transaction(db):
        reports.review_red_flags(db, patient_id, physio["id"])
    return jsonify(reviewed=True)
