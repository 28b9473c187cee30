"""Shared fixtures: a server app on a real SQLite file, its test client and CLI runner, and
helpers to create physiotherapists, patients and enrolled devices.

Other areas may append fixtures below.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner

PASSWORD = "correct horse battery"

# Test suites hash passwords with argon2's cheapest parameters (still argon2id); production
# uses RFC 9106's low-memory profile (~0.5 s per hash on the team machine).
os.environ.setdefault("REHAB_SERVER_PASSWORD_PROFILE", "CHEAPEST")


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


def session_document(day: str = "2026-11-20", *, exercise: str = "bridge", sets: int = 2,
                     reps: int = 10, hold_s: float = 5.0, pain: int | None = 3,
                     red_flags: tuple[str, ...] = (), session_id: str | None = None,
                     kind: str = "session") -> dict[str, Any]:
    """A valid session document (the contract in docs/api.md) built from scratch."""
    import uuid

    def rep(i: int) -> dict[str, Any]:
        start = 2.0 + i * (hold_s + 4.0)
        return {"start": start, "top": start + 1.5, "lower_start": start + 1.5 + hold_s,
                "end": start + 3.5 + hold_s, "hold_s": hold_s, "rom_deg": 22.0, "flags": [],
                "lift_s": 1.5, "lower_s": 2.0, "stability_deg": 1.0}

    return {
        "id": session_id or str(uuid.uuid4()), "kind": kind,
        "started_at": f"{day}T09:30:00+01:00", "ended_at": f"{day}T09:45:00+01:00",
        "status": "completed",
        "sensor": {"profile": "rehablink", "name": "RehabLink-1A2B", "has_gyro": True},
        "pain": pain, "red_flags": list(red_flags), "prescription_version": 1,
        "sets": [{
            "index": i, "exercise": exercise, "placement": "pelvis", "target_reps": reps,
            "hold_target_s": hold_s, "started_at": f"{day}T09:3{i}:00+01:00", "skipped": False,
            "result": {"exercise": exercise, "placement": "pelvis", "rep_count": reps,
                       "partial_count": 0, "duration_s": 120.0, "sample_rate_hz": 50.0,
                       "reps": [rep(r) for r in range(reps)]},
            "samples_received": 6000, "samples_lost": 0} for i in range(sets)],
    }
