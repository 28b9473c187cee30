"""Hostile requests to the clinic server (Flask test client on a real SQLite file): every route
without a login, ids beyond 64 bits, framing and sniffing, control characters in names and
notes, and what reaches the logs."""

from __future__ import annotations

import logging
import re
from datetime import date
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import PASSWORD, AuthActions, session_document

HUGE = "99999999999999999999999"
#: Routes anyone may reach: the login pages, the liveness check, enrollment (which needs a
#: one-time code) and the API description.
PUBLIC = {"/login", "/healthz", "/api/v1/enroll", "/api/v1/openapi.json",
          "/patient/login/<token>", "/"}


def _concrete(rule: str, patient_id: int, session_id: str) -> str:
    return re.sub(r"<(?:(\w+):)?(\w+)>", lambda m: {
        "patient_id": str(patient_id), "session_id": session_id, "index": "0",
        "token": "x" * 43, "filename": "dashboards.css"}.get(m.group(2), "1"), rule)


def test_no_route_gives_health_data_without_a_login(app: Flask, client: FlaskClient,
                                                     auth: AuthActions) -> None:
    """Every route of the app, with real ids of a real patient, refuses an anonymous caller."""
    physio = auth.create_physio()
    patient_id, headers = auth.device(physio, "Ida Private")
    doc = session_document()
    assert client.post("/api/v1/sessions", json=doc, headers=headers).status_code == 201
    checked = 0
    for rule in app.url_map.iter_rules():
        if rule.rule in PUBLIC or rule.endpoint.endswith("static"):
            continue
        url = _concrete(rule.rule, patient_id, doc["id"])
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            response = client.open(url, method=method)
            body = response.get_data(as_text=True)
            assert response.status_code in {302, 400, 401, 403, 404}, (method, url)
            assert "Ida Private" not in body, (method, url)
            if response.status_code == 302:
                assert response.location.startswith("/login"), (method, url)
            checked += 1
    assert checked >= 20


@pytest.mark.parametrize("path", [
    f"/clinic/patients/{HUGE}", f"/clinic/patients/{HUGE}/export.csv",
    f"/clinic/patients/{HUGE}/export.fhir.json", f"/api/v1/clinic/patients/{HUGE}",
    f"/api/v1/clinic/patients/{HUGE}/prescriptions"])
def test_ids_beyond_64_bits_are_not_found(client: FlaskClient, auth: AuthActions,
                                          path: str) -> None:
    """An id above 2^63-1 in a URL was an OverflowError in SQLite, answered with a 500."""
    auth.create_physio()
    auth.login()
    assert client.get(path).status_code == 404


def test_a_huge_set_index_in_the_samples_api_is_not_found(client: FlaskClient,
                                                          auth: AuthActions) -> None:
    """The raw-sample status of set 10^22 was a 500 (OverflowError)."""
    _, headers = auth.device(auth.create_physio())
    doc = session_document()
    assert client.post("/api/v1/sessions", json=doc, headers=headers).status_code == 201
    response = client.get(f"/api/v1/sessions/{doc['id']}/sets/{HUGE}/samples", headers=headers)
    assert response.status_code == 404 and response.get_json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("path", ["/login", "/healthz", "/api/v1/prescription", "/nowhere",
                                  "/clinic/"])
def test_every_response_forbids_framing_sniffing_and_scripts(client: FlaskClient,
                                                             auth: AuthActions,
                                                             path: str) -> None:
    """Only the dashboard blueprints sent nosniff; nothing sent a CSP or frame-ancestors, so
    the login form and the prescription editor could be framed (clickjacking)."""
    auth.create_physio()
    auth.login()
    headers = client.get(path).headers
    csp = headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "script-src 'none'" in csp
    assert "object-src 'none'" in csp and "base-uri 'none'" in csp
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("name", ["Eve\x00Null", "Eve\x1b[2JClear", "\u202eevE"])
def test_names_with_control_characters_are_refused(client: FlaskClient, auth: AuthActions,
                                                   db: Any, name: str) -> None:
    """A patient's name with NUL, a terminal escape or a text-direction override was stored and
    shown as typed."""
    auth.create_physio()
    auth.login()
    token = auth.csrf_token("/clinic/patients/new")
    response = client.post("/clinic/patients/new", data={"name": name, "csrf_token": token})
    assert response.status_code == 400
    assert "must not contain" in response.get_data(as_text=True)
    assert list(db.query("SELECT name FROM patients")) == []

    from server.accounts import AccountError, add_patient, create_physio
    with pytest.raises(AccountError, match="must not contain"):
        add_patient(db, 1, name)
    with pytest.raises(AccountError, match="must not contain"):
        create_physio(db, "eve@clinic.example", name, PASSWORD)


def test_a_note_with_a_nul_is_refused_and_the_plan_kept(client: FlaskClient, auth: AuthActions,
                                                        db: Any) -> None:
    """A prescription note with NUL was stored and sent to the patient's companion."""
    physio = auth.create_physio()
    patient_id, _ = auth.add_patient(physio)
    auth.login()
    path = f"/clinic/patients/{patient_id}/prescription"
    token = auth.csrf_token(path)
    today = date.today().isoformat()  # a plan cannot start in the past
    form = {"csrf_token": token, "effective_from": today, "items-0-exercise": "bridge",
            "items-0-sets": "3", "items-0-reps": "8", "items-0-hold_s": "2",
            "items-0-days_per_week": "6", "items-0-note": "lift\x00slowly"}
    response = client.post(path, data=form)
    assert response.status_code == 400
    assert list(db.query("SELECT 1 FROM prescriptions")) == []
    form["items-0-note"] = "lift slowly\nthen hold"  # line breaks are fine in a note
    assert client.post(path, data=form).status_code == 302
    api = client.post(f"/api/v1/clinic/patients/{patient_id}/prescriptions",
                      headers={"X-CSRFToken": token},
                      json={"effective_from": today, "exercises": [
                          {"exercise": "bridge", "sets": 3, "reps": 8, "hold_s": 2,
                           "days_per_week": 6, "note": "\u202ereversed"}]})
    assert api.status_code in {400, 422} and "must not contain" in api.get_data(as_text=True)


def test_logs_hold_no_names_emails_tokens_or_codes(client: FlaskClient, auth: AuthActions,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    """Whatever the server logs during logins, enrollment, uploads, patient links and failed
    requests, it is not personal data or a secret."""
    caplog.set_level(logging.DEBUG)
    physio = auth.create_physio("secret.physio@clinic.example", "Priya Secretname")
    patient_id, code = auth.add_patient(physio, "Quentin Hiddenname")
    device_token = auth.enroll(code)
    headers = {"Authorization": f"Bearer {device_token}"}
    assert client.post("/api/v1/sessions", json=session_document(),
                       headers=headers).status_code == 201
    link = client.post("/api/v1/patient-link", headers=headers).get_json()["url"]
    client.get(link)
    auth.login("secret.physio@clinic.example", "wrong password, twice over")
    auth.login("secret.physio@clinic.example")
    client.get(f"/clinic/patients/{patient_id}")
    client.get(f"/clinic/patients/{HUGE}")
    client.post("/api/v1/sessions", data=b"{" * 5000, headers={
        **headers, "Content-Type": "application/json"})
    secrets = ["secret.physio", "Secretname", "Hiddenname", device_token, code,
               link.rsplit("/", 1)[-1], PASSWORD]
    for secret in secrets:
        assert secret not in caplog.text


def test_every_cookie_authenticated_form_needs_its_csrf_token(app: Flask, client: FlaskClient,
                                                             auth: AuthActions, db: Any) -> None:
    """A logged-in physiotherapist's browser posting from another site (no CSRF token) changes
    nothing, on every POST route that a cookie authenticates."""
    physio = auth.create_physio()
    patient_id, _ = auth.add_patient(physio)
    auth.login()
    before = {table: list(db.query(f"SELECT * FROM {table}"))
              for table in ("patients", "prescriptions", "enrollment_codes", "web_logins")}
    checked = 0
    for rule in app.url_map.iter_rules():
        if "POST" not in (rule.methods or set()) or (rule.rule.startswith("/api/v1/") and \
                not rule.rule.startswith("/api/v1/clinic/")):
            continue  # the device API takes a bearer token, never a cookie
        url = _concrete(rule.rule, patient_id, "00000000-0000-4000-8000-000000000000")
        response = client.post(url, data={"name": "Forged", "effective_from": "2030-01-01"})
        assert response.status_code == 400, (url, response.status_code)
        checked += 1
    assert checked >= 8
    for table, rows in before.items():
        assert list(db.query(f"SELECT * FROM {table}")) == rows, table
    assert client.get("/clinic/").status_code == 200  # still logged in: logout needs it too
