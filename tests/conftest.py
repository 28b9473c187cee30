"""Shared fixtures: a server app on a real SQLite file, its test client and CLI runner, and
helpers to create physiotherapists, patients and enrolled devices.

Other areas may append fixtures below.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner

PASSWORD = "correct horse battery"


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Flask]:
    """The server app with its own instance folder and database file."""
    from server import create_app

    app = create_app({
        "TESTING": True,
        "INSTANCE_PATH": str(tmp_path / "instance"),
        "DATABASE": str(tmp_path / "instance" / "rehablink.db"),
        "SESSION_COOKIE_SECURE": False,  # the test client speaks plain HTTP
    })
    yield app


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()


@pytest.fixture
def db(app: Flask) -> Iterator[Any]:
    """A connection to the app's database (closed after the test)."""
    from server.db import connect

    conn = connect(app.config["DATABASE"])
    yield conn
    conn.close()


class AuthActions:
    """Create people and log in through the real forms (CSRF token read from the page)."""

    def __init__(self, client: FlaskClient, db: Any) -> None:
        self._client = client
        self._db = db

    def create_physio(self, email: str = "ana@clinic.example", name: str = "Ana Physio",
                      password: str = PASSWORD) -> int:
        from server.accounts import create_physio

        return create_physio(self._db, email, name, password)

    def add_patient(self, physio_id: int, name: str = "Pat Patient") -> tuple[int, str]:
        from server.accounts import add_patient

        return add_patient(self._db, physio_id, name)

    def enroll(self, code: str) -> str:
        """Enroll a device through the API; returns its bearer token."""
        response = self._client.post("/api/v1/enroll", json={"code": code})
        assert response.status_code == 201, response.get_json()
        return str(response.get_json()["token"])

    def device(self, physio_id: int, name: str = "Pat Patient") -> tuple[int, dict[str, str]]:
        """A new patient with an enrolled device: ``(patient_id, auth headers)``."""
        patient_id, code = self.add_patient(physio_id, name)
        return patient_id, {"Authorization": f"Bearer {self.enroll(code)}"}

    def csrf_token(self, path: str = "/login") -> str:
        page = self._client.get(path).get_data(as_text=True)
        match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page) or \
            re.search(r'name="csrf_token" value="([^"]+)"', page)
        assert match, "no CSRF token on " + path
        return match.group(1)

    def login(self, email: str = "ana@clinic.example", password: str = PASSWORD) -> Any:
        token = self.csrf_token()
        return self._client.post("/login", data={"email": email, "password": password,
                                                 "csrf_token": token})

    def logout(self) -> Any:
        token = self.csrf_token("/login")
        return self._client.post("/logout", data={"csrf_token": token})


@pytest.fixture
def auth(client: FlaskClient, db: Any) -> AuthActions:
    return AuthActions(client, db)
