"""The physiotherapist's pages: patient list, patient page, prescription editor, session trace and
exports. Every view that touches a patient goes through ``server.auth.physio_patient``, which
authorises (404 for another clinician's patient) and writes the audit log.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)

from dashboards import errors, figures, headers, queries
from dashboards.charts import sparkline
from dashboards.csv_export import patient_csv
from dashboards.fhir import patient_bundle_json
from dashboards.forms import PrescriptionForm, prefilled
from dashboards.trace import tilt_deg, trace_chart
from rehablink.recording import RecordingError
from server import prescriptions, reports
from server.auth import ConfirmForm, login_required, physio_patient
from server.db import get_db

bp = Blueprint("physio", __name__, url_prefix="/clinic")
errors.attach(bp)
headers.private(bp)

PAGE_SIZE = 50
SESSIONS_PER_PAGE = 20


def _page_arg(name: str = "page") -> int:
    try:
        return max(1, min(int(request.args.get(name, "1")), 100_000))
    except ValueError:
        return 1


def _no_session_days() -> int:
    return int(current_app.config.get("ALERT_NO_SESSION_DAYS", 3))


@bp.get("/")
@login_required
def patient_list() -> str:
    """All of the physiotherapist's patients, who needs attention first."""
    query = request.args.get("q", "").strip()[:100]
    alert = request.args.get("alert", "")
    if alert not in figures.ALERT_LABELS:
        alert = ""
    rows = reports.patient_list(get_db(), g.physio["id"], date.today(), _no_session_days())
    counts = {kind: sum(1 for r in rows if kind in figures.alert_kinds(r.alerts))
              for kind in figures.ALERT_LABELS}
    if query:
        rows = [r for r in rows if query.casefold() in r.name.casefold()]
    if alert:
        rows = [r for r in rows if alert in figures.alert_kinds(r.alerts)]
    pages = max(1, -(-len(rows) // PAGE_SIZE))
    page = min(_page_arg(), pages)
    shown = rows[(page - 1) * PAGE_SIZE: page * PAGE_SIZE]
    trends = {r.id: sparkline([None if v is None else 100 * v for v in r.weekly],
                              label=f"{r.name}, weekly adherence over 4 weeks")
              for r in shown}
    return render_template("dashboards/patient_list.html", rows=shown, total=len(rows),
                           trends=trends, query=query, alert=alert, counts=counts, page=page,
                           pages=pages)


@bp.get("/patients/<int:patient_id>")
@login_required
def patient_page(patient_id: int) -> str:
    """Adherence calendar, progression per exercise, pain, red flags, sessions, the plan."""
    patient = physio_patient(patient_id)
    db = get_db()
    today = date.today()
    weeks = request.args.get("weeks", "12")
    weeks_n = int(weeks) if weeks in {"4", "12", "26", "52"} else 12
    overview = reports.patient_overview(db, patient, today, weeks=weeks_n,
                                        no_session_days=_no_session_days())
    page = _page_arg("sessions_page")
    sessions, total = queries.session_list(db, patient_id, SESSIONS_PER_PAGE,
                                           (page - 1) * SESSIONS_PER_PAGE)
    unanswered, unanswered_total = queries.unanswered_sessions(db, patient_id)
    view = {
        "weeks": weeks_n,
        "calendar_weeks": weeks_n,
        "calendar": figures.calendar_chart(
            overview.calendar, today, f"Adherence calendar, last {weeks_n} weeks"),
        "exercises": figures.exercise_charts(overview.progression, overview.current_plan,
                                             today, weeks_n),
        "pain_chart": figures.pain_chart(overview.pain, today, 7 * weeks_n),
    }
    return render_template(
        "dashboards/patient_page.html", patient=patient, o=overview, view=view,
        sessions=sessions, sessions_total=total, sessions_page=page,
        sessions_pages=max(1, -(-total // SESSIONS_PER_PAGE)),
        red_flags=queries.red_flag_sessions(db, patient_id),
        unanswered=unanswered, unanswered_total=unanswered_total,
        upcoming=[v for v in overview.versions if v.effective_from > today],
        versions=list(reversed(overview.versions)),
        has_red_flag_alert="red_flag" in figures.alert_kinds(overview.alerts))


@bp.post("/patients/<int:patient_id>/red-flags-reviewed")
@login_required
def review_red_flags(patient_id: int) -> Any:
    """Mark the red flags reported so far as reviewed (clears the alert; audited)."""
    physio_patient(patient_id, "view")
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    reports.review_red_flags(get_db(), patient_id, g.physio["id"])
    flash("Red flags marked as reviewed.", "status")
    return redirect(url_for("physio.patient_page", patient_id=patient_id))


@bp.route("/patients/<int:patient_id>/prescription", methods=["GET", "POST"])
@login_required
def edit_prescription(patient_id: int) -> Any:
    """The versioned prescription editor: saving makes a new version from a chosen date."""
    patient = physio_patient(patient_id, "view_prescription")
    db = get_db()
    today = date.today()
    plan = prescriptions.current(db, patient_id, today)
    status = 200
    if request.method == "POST":
        form = PrescriptionForm()
        if form.validate_on_submit():
            try:
                items = [prescriptions.Item.from_json(i) for i in form.filled_items()]
                saved = prescriptions.prescribe(
                    db, patient_id, items, form.effective_from.data,
                    actor=f"physio:{g.physio['id']}", physio_id=g.physio["id"], today=today)
            except prescriptions.PrescriptionError as exc:
                form.form_errors.append(str(exc))
            else:
                flash(f"Prescription version {saved.version} saved; it applies from "
                      f"{saved.effective_from:%d %b %Y}.", "status")
                return redirect(url_for("physio.patient_page", patient_id=patient_id))
        status = 400
    else:
        form = prefilled([i.to_json() for i in plan.items] if plan else [], today)
    return render_template("dashboards/prescription_form.html", patient=patient, form=form,
                           plan=plan, today=today), status


@bp.get("/patients/<int:patient_id>/sessions/<session_id>")
@login_required
def session_page(patient_id: int, session_id: str) -> str:
    """One session: the sensor trace of each set with reps and holds marked, and rep tables."""
    patient = physio_patient(patient_id, "view_session")
    db = get_db()
    session = queries.session_detail(db, patient_id, session_id[:64])
    if session is None:
        abort(404)
    from server.traces import load_recording

    with_samples = queries.sets_with_samples(db, session.id)
    traces = {}
    unreadable = set()
    for s in session.sets:
        if s.index in with_samples and s.result is not None:
            try:
                recording = load_recording(db, session.id, s.index)
            except RecordingError:  # stored bytes that no longer decode: say so, no trace
                unreadable.add(s.index)
                recording = None
            if recording is not None and len(recording) >= 2:
                traces[s.index] = trace_chart(
                    recording.t, tilt_deg(recording), s.result.reps,
                    title=f"Set {s.index + 1}: {figures.exercise_name(s.exercise)}, tilt trace")
    return render_template("dashboards/session_page.html", patient=patient, session=session,
                           traces=traces, unreadable=unreadable)


def _download(body: str, mimetype: str, filename: str) -> Response:
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/patients/<int:patient_id>/export.csv")
@login_required
def export_csv(patient_id: int) -> Response:
    """Every set of every session as CSV."""
    physio_patient(patient_id, "export_csv")
    body = patient_csv(queries.session_documents(get_db(), patient_id))
    return _download(body, "text/csv; charset=utf-8", f"rehablink-patient-{patient_id}.csv")


@bp.get("/patients/<int:patient_id>/export.fhir.json")
@login_required
def export_fhir(patient_id: int) -> Response:
    """A FHIR R4 Bundle of Observations for import into an electronic health record."""
    patient = physio_patient(patient_id, "export_fhir")
    body = patient_bundle_json(patient_id, patient["name"],
                               queries.session_documents(get_db(), patient_id))
    return _download(body, "application/fhir+json", f"rehablink-patient-{patient_id}-fhir.json")
