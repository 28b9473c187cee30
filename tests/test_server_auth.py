"""Physiotherapist login, logout, CSRF, rate limit, secrets and the audit log."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import PASSWORD, AuthActions


def test_healthz(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_secret_key_generated_once_with_mode_0600(tmp_path: Path) -> None:
    from server import create_app

    first = create_app({"INSTANCE_PATH": str(tmp_path)})
    second = create_app({"INSTANCE_PATH": str(tmp_path)})
    key_file = tmp_path / "secret_key"
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    assert first.secret_key == second.secret_key == key_file.read_text()
    assert len(first.secret_key) == 64


def test_environment_overrides_instance_file(tmp_path: Path, monkeypatch: Any) -> None:
    from server import create_app

    (tmp_path / "config.json").write_text('{"ALERT_NO_SESSION_DAYS": 5, "LOGIN_MAX_FAILURES": 9}')
    monkeypatch.setenv("REHAB_SERVER_LOGIN_MAX_FAILURES", "3")
    monkeypatch.setenv("REHAB_SERVER_SESSION_COOKIE_SECURE", "false")
    app = create_app({"INSTANCE_PATH": str(tmp_path)})
    assert app.config["ALERT_NO_SESSION_DAYS"] == 5
    assert app.config["LOGIN_MAX_FAILURES"] == 3
    assert app.config["SESSION_COOKIE_SECURE"] is False


def test_password_is_stored_as_argon2id(auth: AuthActions, db: Any) -> None:
    auth.create_physio()
    stored = next(db.query("SELECT password_hash FROM physios"))["password_hash"]
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored


def test_login_sets_secure_cookie_flags(tmp_path: Path) -> None:
    from server import create_app
    from server.accounts import create_physio
    from server.db import connect

    app = create_app({"INSTANCE_PATH": str(tmp_path), "TESTING": True})
    create_physio(connect(app.config["DATABASE"]), "ana@clinic.example", "Ana", PASSWORD)
    client = app.test_client()
    actions = AuthActions(client, None)
    response = actions.login()
    assert response.status_code == 302
    cookie = response.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_login_and_logout(client: FlaskClient, auth: AuthActions) -> None:
    auth.create_physio()
    response = auth.login()
    assert response.status_code == 302
    assert client.get("/whoami").get_json() == {"role": "physio", "id": 1, "name": "Ana Physio"}
    auth.logout()
    assert client.get("/whoami").status_code == 401


def test_logout_invalidates_the_old_cookie_on_the_server(app: Flask, auth: AuthActions,
                                                        client: FlaskClient) -> None:
    auth.create_physio()
    auth.login()
    stolen = client.get_cookie("rehablink_session")
    assert stolen is not None
    auth.logout()
    replay = app.test_client()
    replay.set_cookie("rehablink_session", stolen.value)
    assert replay.get("/whoami").status_code == 401


def test_login_without_csrf_token_is_refused(client: FlaskClient, auth: AuthActions) -> None:
    auth.create_physio()
    response = client.post("/login", data={"email": "ana@clinic.example", "password": PASSWORD})
    assert response.status_code == 400
    assert client.get("/whoami").status_code == 401


def test_wrong_password_then_rate_limited(app: Flask, client: FlaskClient,
                                          auth: AuthActions) -> None:
    auth.create_physio()
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        assert auth.login(password="wrong password!").status_code == 401
    # Even the right password is refused until the window has passed.
    response = auth.login()
    assert response.status_code == 429
    assert "Too many failed attempts" in response.get_data(as_text=True)


def test_unknown_email_gets_the_same_answer(auth: AuthActions) -> None:
    auth.create_physio()
    unknown = auth.login(email="nobody@clinic.example")
    wrong = auth.login(password="wrong password!")
    assert unknown.status_code == wrong.status_code == 401
    message = "E-mail or password is not right."
    assert message in unknown.get_data(as_text=True)
    assert message in wrong.get_data(as_text=True)


def test_open_redirect_after_login_is_ignored(client: FlaskClient, auth: AuthActions) -> None:
    auth.create_physio()
    token = auth.csrf_token()
    response = client.post("/login?next=https://evil.example/", data={
        "email": "ana@clinic.example", "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302
    assert "evil.example" not in response.headers["Location"]


def test_login_is_audited(auth: AuthActions, db: Any) -> None:
    physio_id = auth.create_physio()
    auth.login()
    actions = [(r["actor"], r["action"]) for r in db.query("SELECT * FROM audit_log ORDER BY id")]
    assert (f"physio:{physio_id}", "login") in actions
