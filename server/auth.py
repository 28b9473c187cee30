"""Web login for physiotherapists and patients: forms with CSRF, rate-limited login, logout,
server-side login sessions, and the ``login_required`` / ``current_physio`` helpers.

The cookie holds only a random login id (signed by Flask); the database row behind it is what
makes it valid, so logout and expiry take effect on the server.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar, cast
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Length

from server import accounts
from server.audit import record
from server.db import get_db, write_transaction
from server.migrations import utcnow

bp = Blueprint("auth", __name__)

F = TypeVar("F", bound=Callable[..., Any])


class LoginForm(FlaskForm):
    """E-mail and password; Flask-WTF adds and checks the CSRF token."""

    email = EmailField("E-mail", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=1024)])


class ConfirmForm(FlaskForm):
    """A form with only the CSRF token (logout, opening a patient link)."""


def _load_login() -> None:
    g.physio = None
    g.patient = None
    token = session.get("login")
    if not token:
        return
    db = get_db()
    login = accounts.web_login(db, token)
    if login is None:
        session.clear()
        return
    if login["physio_id"] is not None:
        rows = list(db.query("SELECT id, email, name FROM physios WHERE id = ? "
                             "AND disabled_at IS NULL", [login["physio_id"]]))
        g.physio = rows[0] if rows else None
    else:
        rows = list(db.query("SELECT id, name, physio_id FROM patients WHERE id = ? "
                             "AND archived_at IS NULL", [login["patient_id"]]))
        g.patient = rows[0] if rows else None


bp.before_app_request(_load_login)


def current_physio() -> dict[str, Any] | None:
    """The logged-in physiotherapist (``id``, ``email``, ``name``) or None."""
    return cast("dict[str, Any] | None", g.get("physio"))


def current_patient() -> dict[str, Any] | None:
    """The logged-in patient (``id``, ``name``, ``physio_id``) or None."""
    return cast("dict[str, Any] | None", g.get("patient"))


def login_required(view: F) -> F:
    """Views for physiotherapists: redirect to the login page when not logged in."""
    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if current_physio() is None:
            return redirect(url_for("auth.login", next=request.full_path))
        return view(*args, **kwargs)
    return cast(F, wrapped)


def patient_login_required(view: F) -> F:
    """Views for patients: 403 unless a patient is logged in (they arrive by a one-time link)."""
    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if current_patient() is None:
            abort(403)
        return view(*args, **kwargs)
    return cast(F, wrapped)


def physio_patient(patient_id: int, action: str = "view") -> dict[str, Any]:
    """The patient if they belong to the logged-in physiotherapist, else 404; audited.

    Use it in every physiotherapist view that touches a patient: it authorises and records
    ``action`` in the audit log in one place.
    """
    physio = current_physio()
    if physio is None:
        abort(401)
    db = get_db()
    rows = list(db.query("SELECT * FROM patients WHERE id = ? AND physio_id = ? "
                         "AND archived_at IS NULL", [patient_id, physio["id"]]))
    if not rows:
        abort(404)  # not 403: do not reveal that another clinician's patient exists
    record(db, f"physio:{physio['id']}", action, patient_id)
    return rows[0]


def _safe_next(target: str | None) -> str | None:
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def _home(key: str = "HOME_ENDPOINT") -> str:
    endpoint = current_app.config.get(key, "home")
    return url_for(endpoint) if endpoint in current_app.view_functions else "/"


def _recent_failures(account: str, address: str) -> int:
    window = current_app.config["LOGIN_WINDOW_S"]
    since = (datetime.now(UTC) - timedelta(seconds=window)).isoformat(timespec="seconds")
    rows = list(get_db().query(
        "SELECT count(*) AS n FROM login_failures WHERE account = ? AND address = ? AND at >= ?",
        [account, address, since]))
    return int(rows[0]["n"])


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    """The physiotherapist's login page."""
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        email = form.email.data.strip().lower()
        address = request.remote_addr or "unknown"
        db = get_db()
        if _recent_failures(email, address) >= current_app.config["LOGIN_MAX_FAILURES"]:
            flash("Too many failed attempts. Wait a few minutes and try again.", "error")
            return render_template("auth/login.html", form=form), 429
        physio = accounts.check_password(db, email, form.password.data)
        if physio is None:
            with write_transaction(db):
                window = current_app.config["LOGIN_WINDOW_S"]
                old = (datetime.now(UTC) - timedelta(seconds=window)).isoformat()
                db.execute("DELETE FROM login_failures WHERE at < ?", [old])  # keep it small
                db.execute("INSERT INTO login_failures (account, address, at) VALUES (?, ?, ?)",
                           [email, address, utcnow()])
            flash("E-mail or password is not right.", "error")
            status = 401
        else:
            with write_transaction(db):
                db.execute("DELETE FROM login_failures WHERE account = ?", [email])
                token = accounts.start_web_login(
                    db, physio_id=physio["id"],
                    ttl_s=int(current_app.config["PERMANENT_SESSION_LIFETIME"]))
                record(db, f"physio:{physio['id']}", "login")
            session.clear()
            session["login"] = token
            session.permanent = True
            return redirect(_safe_next(request.args.get("next")) or _home())
    elif request.method == "POST":
        status = 400
    return render_template("auth/login.html", form=form), status


@bp.route("/logout", methods=["POST"])
def logout() -> Response:
    """End the login session (physiotherapist or patient); POST with the CSRF token."""
    token = session.get("login")
    if token:
        accounts.end_web_login(get_db(), token)
    session.clear()
    return redirect(url_for("auth.login"))


@bp.route("/patient/login/<token>", methods=["GET", "POST"])
def patient_login(token: str) -> Any:
    """A one-time link from the companion or the clinic: GET shows a button, POST logs in.

    The extra click keeps link previews and mail scanners from using up the link.
    """
    form = ConfirmForm()
    if request.method == "POST" and form.validate_on_submit():
        db = get_db()
        patient_id = accounts.use_patient_link(db, token)
        if patient_id is None:
            return render_template("auth/link_expired.html"), 410
        with write_transaction(db):
            login_token = accounts.start_web_login(
                db, patient_id=patient_id,
                ttl_s=int(current_app.config["PERMANENT_SESSION_LIFETIME"]))
            record(db, f"patient:{patient_id}", "login", patient_id)
        session.clear()
        session["login"] = login_token
        session.permanent = True
        return redirect(_home("PATIENT_HOME_ENDPOINT"))
    return render_template("auth/patient_link.html", form=form)


@bp.get("/whoami")
def whoami() -> Any:
    """Who this browser session belongs to, as JSON (401 when logged out)."""
    physio, patient = current_physio(), current_patient()
    if physio is not None:
        return {"role": "physio", "id": physio["id"], "name": physio["name"]}
    if patient is not None:
        return {"role": "patient", "id": patient["id"], "name": patient["name"]}
    return {"role": None}, 401
