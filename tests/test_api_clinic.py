"""Physiotherapist JSON views: each physio sees only their own patients; prescriptions are
versioned and CSRF-protected; the audit log records who viewed or changed whom."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from flask.testing import FlaskClient

from rehablink.clinical import RED_FLAGS
from tests.conftest import AuthActions, session_document
from wearable.store import CompanionStore

PLAN = {"exercises": [{"exercise": "bridge", "sets": 2, "reps": 10, "hold_s": 5.0,
                       "days_per_week": 7, "note": "Slow lowering"}]}


def _csrf(auth: AuthActions) -> dict[str, str]:
    return {"X-CSRFToken": auth.csrf_token()}


def test_clinic_views_need_a_physio_login(client: FlaskClient) -> None:
    for path in ("/api/v1/clinic/patients", "/api/v1/clinic/patients/1"):
        response = client.get(path)
        assert response.status_code == 401
        assert response.get_json()["error"]["code"] == "unauthenticated"


def test_a_physio_sees_only_their_own_patients(client: FlaskClient, auth: AuthActions,
                                               db: Any) -> None:
    ana = auth.create_physio()
    ben = auth.create_physio("ben@clinic.example", "Ben Physio")
    mine, _ = auth.add_patient(ana, "Mine")
    theirs, _ = auth.add_patient(ben, "Theirs")
    auth.login()
    names = [p["name"] for p in client.get("/api/v1/clinic/patients").get_json()["patients"]]
    assert names == ["Mine"]
    assert client.get(f"/api/v1/clinic/patients/{mine}").status_code == 200
    for path in (f"/api/v1/clinic/patients/{theirs}",
                 f"/api/v1/clinic/patients/{theirs}/prescriptions"):
        assert client.get(path).status_code == 404
    response = client.post(f"/api/v1/clinic/patients/{theirs}/prescriptions", json=PLAN,
                           headers=_csrf(auth))
    assert response.status_code == 404
    assert next(db.query("SELECT count(*) AS n FROM prescriptions"))["n"] == 0


def test_a_patient_login_is_not_a_physio_login(client: FlaskClient, auth: AuthActions) -> None:
    physio = auth.create_physio()
    _, headers = auth.device(physio)
    url = client.post("/api/v1/patient-link", headers=headers).get_json()["url"]
    path = url.split("localhost", 1)[1]
    token = auth.csrf_token(path)
    client.post(path, data={"csrf_token": token})
    assert client.get("/whoami").get_json()["role"] == "patient"
    assert client.get("/api/v1/clinic/patients").status_code == 401


def test_prescribing_needs_the_csrf_token(client: FlaskClient, auth: AuthActions) -> None:
    patient, _ = auth.add_patient(auth.create_physio())
    auth.login()
    response = client.post(f"/api/v1/clinic/patients/{patient}/prescriptions", json=PLAN)
    assert response.status_code == 400
    assert "csrf" in response.get_json()["error"]["message"].lower()


def test_prescription_versions(client: FlaskClient, auth: AuthActions) -> None:
    patient, _ = auth.add_patient(auth.create_physio())
    auth.login()
    path = f"/api/v1/clinic/patients/{patient}/prescriptions"
    first = client.post(path, json=PLAN, headers=_csrf(auth))
    assert first.status_code == 201 and first.get_json()["version"] == 1
    later = (date.today() + timedelta(days=7)).isoformat()
    harder = {"effective_from": later, "exercises": [{**PLAN["exercises"][0], "reps": 15}]}
    assert client.post(path, json=harder, headers=_csrf(auth)).get_json()["version"] == 2
    versions = client.get(path).get_json()["versions"]
    assert [(v["version"], v["exercises"][0]["reps"]) for v in versions] == [(1, 10), (2, 15)]
    # The plan in effect today is still version 1.
    summary = client.get(f"/api/v1/clinic/patients/{patient}").get_json()
    assert summary["prescription"]["version"] == 1
    past = {"effective_from": "2020-01-01", "exercises": PLAN["exercises"]}
    refused = client.post(path, json=past, headers=_csrf(auth))
    assert refused.status_code == 422 and "past" in refused.get_json()["error"]["message"]
    for bad in ({"exercise": "push_up"}, {"exercise": ["bridge"]}, {"sets": "3"},
                {"hold_s": float("inf")}, {"days_per_week": 8}, {"colour": "red"}):
        body = json.dumps({"exercises": [{**PLAN["exercises"][0], **bad}]})
        response = client.post(path, data=body, headers=_csrf(auth),
                               content_type="application/json")
        assert response.status_code in {400, 422}, bad
    for bad_body in ([], {"exercises": "bridge"}, {"exercises": [], "effective_from": "x"}):
        response = client.post(path, json=bad_body, headers=_csrf(auth))
        assert response.status_code == 422, bad_body
    assert len(client.get(path).get_json()["versions"]) == 2


def test_a_plan_starting_today_recounts_todays_sets(client: FlaskClient, auth: AuthActions,
                                                    db: Any) -> None:
    physio = auth.create_physio()
    patient, headers = auth.device(physio)
    auth.login()
    path = f"/api/v1/clinic/patients/{patient}/prescriptions"
    client.post(path, json=PLAN, headers=_csrf(auth))
    client.post("/api/v1/sessions", json=session_document(date.today().isoformat()),
                headers=headers)
    listed = client.get("/api/v1/clinic/patients").get_json()["patients"][0]
    assert listed["adherence_7d"] > 0  # 2 done sets of 10 reps
    harder = {"exercises": [{**PLAN["exercises"][0], "reps": 20}]}
    client.post(path, json=harder, headers=_csrf(auth))
    listed = client.get("/api/v1/clinic/patients").get_json()["patients"][0]
    assert listed["adherence_7d"] == 0  # today's 10-rep sets fall short of 80 % of 20
    page = client.get(f"/api/v1/clinic/patients/{patient}").get_json()
    assert page["adherence_7d"] == 0


def test_patient_summary_and_red_flag_review(client: FlaskClient, auth: AuthActions,
                                             db: Any) -> None:
    physio = auth.create_physio()
    patient, headers = auth.device(physio)
    auth.login()
    client.post(f"/api/v1/clinic/patients/{patient}/prescriptions", json=PLAN,
                headers=_csrf(auth))
    today = date.today().isoformat()
    doc = session_document(today, red_flags=("bladder_bowel",), pain=6)
    assert client.post("/api/v1/sessions", json=doc, headers=headers).status_code == 201
    summary = client.get(f"/api/v1/clinic/patients/{patient}").get_json()
    assert summary["alerts"][0]["kind"] == "red_flag" and summary["alerts"][0]["urgent"]
    assert summary["pain"] == [{"day": today, "pain": 6}]
    assert summary["sessions"][0]["reps"] == 20
    listed = client.get("/api/v1/clinic/patients").get_json()["patients"][0]
    assert listed["adherence_7d"] is not None and listed["alerts"][0]["kind"] == "red_flag"
    review = client.post(f"/api/v1/clinic/patients/{patient}/red-flags/review",
                         headers=_csrf(auth))
    assert review.status_code == 200
    summary = client.get(f"/api/v1/clinic/patients/{patient}").get_json()
    assert [a["kind"] for a in summary["alerts"]] == []
    audit = [(r["actor"], r["action"]) for r in db.query(
        "SELECT actor, action FROM audit_log WHERE patient_id = ? ORDER BY id", [patient])]
    assert (f"physio:{physio}", "view") in audit
    assert (f"physio:{physio}", "prescribe") in audit
    assert (f"physio:{physio}", "review_red_flags") in audit
    assert ("device:1", "upload_session") in audit


def test_patient_summary_says_which_red_flag_questions_were_not_asked(
        client: FlaskClient, auth: AuthActions) -> None:
    """Each recent session carries its red flags and the red-flag questions not asked (null
    when the companion did not say); three sessions in a row with questions not asked raise
    the low-priority alert, after the red flag answered before leaving."""
    physio = auth.create_physio()
    patient, headers = auth.device(physio)
    auth.login()
    days = [(date.today() - timedelta(days=k)).isoformat() for k in (3, 2, 1, 0)]
    sent = [None, ["systemic", "trauma", "no_improvement"], ["night_pain"], list(RED_FLAGS)]
    yes = [(), ("night_pain",), ("leg_symptoms",), ()]
    for day, unasked, flags in zip(days, sent, yes, strict=True):
        doc = session_document(day, red_flags=flags)
        if unasked is not None:
            doc["red_flags_unasked"] = unasked
        assert client.post("/api/v1/sessions", json=doc, headers=headers).status_code == 201
    summary = client.get(f"/api/v1/clinic/patients/{patient}").get_json()
    assert [(s["day"], s["red_flags"], s["red_flags_unasked"]) for s in summary["sessions"]] == \
        list(reversed(list(zip(days, [list(f) for f in yes], sent, strict=True))))
    assert [a["kind"] for a in summary["alerts"]] == ["red_flag", "red_flag",
                                                      "questions_unanswered"]
    assert summary["alerts"][-1] == {
        "kind": "questions_unanswered", "urgent": False, "day": days[-1],
        "message": f"Red-flag questions not all answered in the last 3 sessions (since "
                   f"{days[1]})"}
    listed = client.get("/api/v1/clinic/patients").get_json()["patients"][0]
    assert [a["kind"] for a in listed["alerts"]] == [a["kind"] for a in summary["alerts"]]
    spec = client.get("/api/v1/openapi.json").get_json()["components"]["schemas"]
    assert "red_flags_unasked" in spec["Session"]["properties"]
    assert "red_flags_unasked" in spec["SessionSummary"]["properties"]


def test_free_recordings_uploaded_never_raise_the_unanswered_questions_alert(
        client: FlaskClient, auth: AuthActions, tmp_path: Path) -> None:
    """The patient checks the sensor's fit with ``rehab record`` again and again: each free
    recording is uploaded with every red-flag question not asked. Three in a row raised
    questions_unanswered ("? Questions not asked" for what was never a session of the plan).
    The companion's documents now say they are recordings; the alert leaves them out, and
    guided sessions whose questions were left still raise it, recordings between them or
    not."""
    physio = auth.create_physio()
    patient, headers = auth.device(physio)
    auth.login()

    def upload(kind: str) -> None:
        with CompanionStore.open(tmp_path / "companion.db") as store:
            sid = store.create_session(kind)
            store.begin_set(sid, 0, "bridge")
            store.finish_set(sid, 0, None)
            store.finish_session(sid)  # nobody answered: every question not asked
            doc = store.session_document(sid)
        assert (doc["kind"], doc["red_flags_unasked"]) == (kind, list(RED_FLAGS))
        assert client.post("/api/v1/sessions", json=doc, headers=headers).status_code == 201

    def alerts() -> list[str]:
        summary = client.get(f"/api/v1/clinic/patients/{patient}").get_json()
        return [a["kind"] for a in summary["alerts"]]

    for _ in range(3):
        upload("record")
    assert alerts() == []
    upload("session")
    upload("record")
    upload("session")
    upload("record")
    assert alerts() == []  # two guided sessions, however many recordings
    upload("session")
    assert alerts() == ["questions_unanswered"]
    summary = client.get(f"/api/v1/clinic/patients/{patient}").get_json()
    assert [s["kind"] for s in summary["sessions"]] == \
        ["session", "record", "session", "record", "session", "record", "record", "record"]
    day = summary["sessions"][-1]["day"]  # the day the companion recorded them (UTC)
    assert summary["alerts"][0]["message"] == \
        f"Red-flag questions not all answered in the last 3 sessions (since {day})"
    listed = client.get("/api/v1/clinic/patients").get_json()["patients"][0]
    assert [a["kind"] for a in listed["alerts"]] == ["questions_unanswered"]
    spec = client.get("/api/v1/openapi.json").get_json()["components"]["schemas"]
    assert spec["Session"]["properties"]["kind"]["enum"] == ["session", "record"]
    assert spec["SessionSummary"]["properties"]["kind"] == spec["Session"]["properties"]["kind"]
