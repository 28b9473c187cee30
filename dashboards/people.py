"""Adding patients and handing them access: enrollment codes for the companion and one-time
links to their own pages. Codes and links are shown once and never stored in clear."""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    g,
    make_response,
    render_template,
    url_for,
)
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from dashboards import errors, headers
from dashboards.forms import plain_text
from server import accounts
from server.auth import ConfirmForm, login_required, physio_patient
from server.db import get_db

bp = Blueprint("people", __name__, url_prefix="/clinic")
errors.attach(bp)
headers.private(bp)


class AddPatientForm(FlaskForm):
    """The new patient's name (the CSRF token comes with FlaskForm)."""

    name = StringField("Patient's name",
                       validators=[DataRequired(), Length(max=200), plain_text()])


def _shown_once(html: str, status: int = 200) -> Response:
    response = make_response(html, status)
    response.headers["Cache-Control"] = "no-store"  # a code must not stay in a cache
    return response


def _code_page(patient: dict[str, Any], code: str, new: bool) -> Response:
    hours = int(current_app.config.get("ENROLL_CODE_TTL_S", 72 * 3600)) // 3600
    return _shown_once(render_template(
        "dashboards/enrollment_code.html", patient=patient, code=code, new=new, hours=hours,
        server_url=url_for("dashboards.home", _external=True).rstrip("/")))


@bp.route("/patients/new", methods=["GET", "POST"])
@login_required
def add_patient() -> Any:
    """Add a patient; the page then shows their enrollment code once."""
    form = AddPatientForm()
    if form.validate_on_submit():
        ttl = int(current_app.config.get("ENROLL_CODE_TTL_S", 72 * 3600))
        patient_id, code = accounts.add_patient(get_db(), g.physio["id"], form.name.data, ttl)
        return _code_page({"id": patient_id, "name": form.name.data.strip()}, code, new=True)
    status = 400 if form.is_submitted() else 200
    return render_template("dashboards/add_patient.html", form=form), status


@bp.post("/patients/<int:patient_id>/enrollment-code")
@login_required
def new_code(patient_id: int) -> Response:
    """Another enrollment code for an existing patient (new computer, lost code)."""
    patient = physio_patient(patient_id, "view")
    if not ConfirmForm().validate_on_submit():
        abort(400)
    ttl = int(current_app.config.get("ENROLL_CODE_TTL_S", 72 * 3600))
    code = accounts.new_enrollment_code(get_db(), patient_id, f"physio:{g.physio['id']}", ttl)
    return _code_page(patient, code, new=False)


@bp.post("/patients/<int:patient_id>/patient-link")
@login_required
def patient_link(patient_id: int) -> Response:
    """A one-time link to the patient's own pages, e.g. to print or hand over at the desk."""
    patient = physio_patient(patient_id, "view")
    if not ConfirmForm().validate_on_submit():
        abort(400)
    ttl = int(current_app.config.get("PATIENT_LINK_TTL_S", 15 * 60))
    token = accounts.patient_link(get_db(), patient_id, f"physio:{g.physio['id']}", ttl)
    return _shown_once(render_template(
        "dashboards/patient_link.html", patient=patient, minutes=ttl // 60,
        link=url_for("auth.patient_login", token=token, _external=True)))
