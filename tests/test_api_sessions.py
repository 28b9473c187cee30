"""The device API: enrollment, plan download, session upload, raw samples, errors."""

from __future__ import annotations

import copy
import json
import logging
from datetime import date
from typing import Any

import numpy as np
import pytest
from flask.testing import FlaskClient

from rehablink.rawsamples import decode, encode
from rehablink.recording import Recording
from tests.conftest import AuthActions, session_document


@pytest.fixture
def device(auth: AuthActions) -> tuple[int, dict[str, str]]:
    return auth.device(auth.create_physio())


def _error(response: Any) -> str:
    body = response.get_json()
    assert set(body) == {"error"} and {"code", "message"} <= set(body["error"]), body
    return str(body["error"]["code"])


def test_enroll_once_only(client: FlaskClient, auth: AuthActions, db: Any) -> None:
    _, code = auth.add_patient(auth.create_physio())
    first = client.post("/api/v1/enroll", json={"code": code.lower().replace("-", " ")})
    assert first.status_code == 201
    assert first.get_json()["patient_name"] == "Pat Patient"
    token = first.get_json()["token"]
    stored = next(db.query("SELECT token_hash FROM devices"))["token_hash"]
    assert token not in stored and len(stored) == 64  # SHA-256 hex, never the token
    again = client.post("/api/v1/enroll", json={"code": code})
    assert again.status_code == 403 and _error(again) == "invalid_code"


def test_expired_code_is_refused(client: FlaskClient, auth: AuthActions, db: Any) -> None:
    _, code = auth.add_patient(auth.create_physio())
    db.execute("UPDATE enrollment_codes SET expires_at = '2020-01-01T00:00:00+00:00'")
    assert _error(client.post("/api/v1/enroll", json={"code": code})) == "invalid_code"


def test_enroll_guessing_is_rate_limited(client: FlaskClient, auth: AuthActions) -> None:
    _, code = auth.add_patient(auth.create_physio())
    for _ in range(10):
        assert client.post("/api/v1/enroll", json={"code": "AAAA-BBBB-CCCC"}).status_code == 403
    response = client.post("/api/v1/enroll", json={"code": code})
    assert response.status_code == 429 and _error(response) == "rate_limited"


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer nope"},
                                     {"Authorization": "Basic abc"}])
def test_every_device_route_needs_a_token(client: FlaskClient, headers: dict[str, str]) -> None:
    sid = "00000000-0000-4000-8000-000000000000"
    for method, path in [("get", "/api/v1/prescription"), ("post", "/api/v1/sessions"),
                         ("get", f"/api/v1/sessions/{sid}"),
                         ("put", f"/api/v1/sessions/{sid}/sets/0/samples"),
                         ("post", "/api/v1/patient-link")]:
        response = getattr(client, method)(path, headers=headers)
        assert response.status_code == 401, (method, path)
        assert _error(response) in {"unauthenticated", "invalid_token"}


def test_revoked_token_stops_working(client: FlaskClient, auth: AuthActions, db: Any) -> None:
    from server.accounts import revoke_device

    _, headers = auth.device(auth.create_physio())
    doc = session_document()
    assert client.post("/api/v1/sessions", json=doc, headers=headers).status_code == 201
    revoke_device(db, 1, "admin")
    response = client.post("/api/v1/sessions", json=session_document(), headers=headers)
    assert response.status_code == 401 and _error(response) == "invalid_token"


def test_prescription_download(client: FlaskClient, auth: AuthActions, db: Any) -> None:
    from server.prescriptions import Item, prescribe

    physio = auth.create_physio()
    patient, headers = auth.device(physio)
    assert _error(client.get("/api/v1/prescription", headers=headers)) == "no_prescription"
    prescribe(db, patient, [Item("bridge", 3, 10, 5.0, 5, "Slow lowering")], date.today(),
              "physio:1", physio)
    plan = client.get("/api/v1/prescription", headers=headers).get_json()
    assert plan == {"version": 1, "effective_from": date.today().isoformat(), "exercises": [
        {"exercise": "bridge", "sets": 3, "reps": 10, "hold_s": 5.0, "days_per_week": 5,
         "note": "Slow lowering"}]}


def test_upload_is_idempotent(client: FlaskClient, device: Any, db: Any) -> None:
    _, headers = device
    doc = session_document()
    first = client.post("/api/v1/sessions", json=doc, headers=headers)
    assert first.status_code == 201
    assert first.get_json() == {"id": doc["id"], "created": True, "identical": True,
                                "sets": [0, 1], "ignored_fields": []}
    before = list(db.query("SELECT * FROM sessions"))
    again = client.post("/api/v1/sessions", json=doc, headers=headers)
    assert again.status_code == 200 and again.get_json()["created"] is False
    changed = copy.deepcopy(doc)
    changed["pain"] = 9
    third = client.post("/api/v1/sessions", json=changed, headers=headers)
    assert third.status_code == 200 and third.get_json()["identical"] is False
    assert list(db.query("SELECT * FROM sessions")) == before
    assert next(db.query("SELECT count(*) AS n FROM session_sets"))["n"] == 2


def test_stored_set_summary(client: FlaskClient, device: Any, db: Any) -> None:
    _, headers = device
    client.post("/api/v1/sessions", json=session_document(reps=4, hold_s=3.0), headers=headers)
    row = next(db.query("SELECT * FROM session_sets WHERE set_index = 0"))
    # Built reps: hold 3 s, lift 1.5 s, lower 2 s -> 6.5 s from start to end.
    assert (row["day"], row["rep_count"], row["median_hold_s"], row["median_tempo_s"]) == \
        ("2026-11-20", 4, 3.0, 6.5)


def test_session_id_of_another_patient_conflicts(client: FlaskClient, auth: AuthActions) -> None:
    physio = auth.create_physio()
    _, mine = auth.device(physio, "Pat")
    _, theirs = auth.device(physio, "Sam")
    doc = session_document()
    assert client.post("/api/v1/sessions", json=doc, headers=mine).status_code == 201
    response = client.post("/api/v1/sessions", json=doc, headers=theirs)
    assert response.status_code == 409 and _error(response) == "conflict"
    # ... and the other device cannot read it either.
    assert client.get(f"/api/v1/sessions/{doc['id']}", headers=theirs).status_code == 404


def _broken(path: str, value: Any) -> dict[str, Any]:
    doc = session_document()
    target: Any = doc
    keys = path.split(".")
    for key in keys[:-1]:
        target = target[int(key)] if isinstance(target, list) else target[key]
    last = keys[-1]
    if value is KeyError:
        del target[last]
    else:
        target[last] = value
    return doc


@pytest.mark.parametrize(("path", "value", "needle"), [
    ("id", "not-a-uuid", "id"),
    ("started_at", "yesterday", "started_at"),
    ("started_at", "2026-11-20T09:30:00", "UTC offset"),
    ("ended_at", "2026-11-19T09:30:00+01:00", "before started_at"),
    ("status", "great", "status"),
    ("pain", 11, "pain"),
    ("pain", True, "pain"),
    ("red_flags", ["headache"], "red_flags"),
    ("sets.0.exercise", "push_up", "unknown exercise"),
    ("sets.0.placement", "head", "placement"),
    ("sets.0.result.reps.0.rom_deg", float("nan"), "rom_deg"),
    ("sets.0.result.reps.0.top", 0.5, "start <= top"),
    ("sets.0.result.rep_count", 3, "rep_count"),
    ("sets.0.result", [], "result"),
    ("sets.0.gaps", [{"start": -1, "duration_s": 1}], "gaps"),
    ("ended_at", None, "ended_at"),
    ("sets.1.index", 0, "same index"),
    ("must_understand", ["posture"], "must_understand: this server does not know posture"),
    ("sensor", "x", "sensor"),
])
def test_invalid_documents_are_refused(client: FlaskClient, device: Any, db: Any, path: str,
                                       value: Any, needle: str) -> None:
    _, headers = device
    body = json.dumps(_broken(path, value))  # NaN written as the non-JSON token NaN
    response = client.post("/api/v1/sessions", data=body, headers=headers,
                           content_type="application/json")
    assert response.status_code in {400, 422}
    assert needle in response.get_json()["error"]["message"] or _error(response) == \
        "malformed_json"
    assert next(db.query("SELECT count(*) AS n FROM sessions"))["n"] == 0


def _newer(doc: dict[str, Any]) -> dict[str, Any]:
    """``doc`` as a newer companion might send it: fields this server does not know at the
    top, in the sensor, in every set and in a gap."""
    newer = copy.deepcopy(doc)
    newer["posture"] = {"tilt_deg": [1.5, -1e308, [[{}]]], "note": "\u202e" + "x" * 1000}
    newer["app_build"] = None
    newer["sensor"]["serial"] = "A1B2"
    for s in newer["sets"]:
        s["tempo_cue"] = True
    for gap in newer["sets"][0].setdefault("gaps", [{"start": 3.0, "duration_s": 0.5}]):
        gap["cause"] = "radio"
    return newer


NEWER_FIELDS = ["app_build", "posture", "sensor.serial", "sets[].gaps[].cause",
                "sets[].tempo_cue"]


def _stored(db: Any, session_id: str) -> dict[str, Any]:
    """What is stored of a session, less what differs between two uploads of it."""
    session = next(db.query("SELECT * FROM sessions WHERE id = ?", [session_id]))
    for key in ("id", "received_at", "document_sha256"):
        session.pop(key)
    sets = [{k: v for k, v in row.items() if k != "session_id"} for row in db.query(
        "SELECT * FROM session_sets WHERE session_id = ? ORDER BY set_index", [session_id])]
    return {"session": session, "sets": sets}


def test_fields_of_a_newer_companion_are_ignored_and_named(
        client: FlaskClient, device: Any, db: Any, caplog: pytest.LogCaptureFixture) -> None:
    """A companion newer than the server sends fields it does not know: the upload used to be
    refused whole (422), so the session never reached the physiotherapist. It is stored with
    every field the server knows, exactly as without the others, which are not stored (nor
    logged) and are named in the answer so that the companion can tell. A set result's own
    new figures are kept with the result, as before."""
    caplog.set_level(logging.DEBUG)
    _, headers = device
    plain = session_document()
    plain["sets"][0]["gaps"] = [{"start": 3.0, "duration_s": 0.5}]
    newer = _newer({**plain, "id": "0d5f3a2e-7c41-4b9e-8f60-2a1b3c4d5e6f"})
    newer["sets"][0]["result"]["cadence_hz"] = 0.4
    body = json.dumps(newer)
    response = client.post("/api/v1/sessions", data=body, headers=headers,
                           content_type="application/json")
    assert response.status_code == 201
    assert response.get_json() == {"id": newer["id"], "created": True, "identical": True,
                                   "sets": [0, 1], "ignored_fields": NEWER_FIELDS}
    assert client.post("/api/v1/sessions", json=plain, headers=headers).status_code == 201
    stored, expected = _stored(db, newer["id"]), _stored(db, plain["id"])
    result = json.loads(stored["sets"][0].pop("result"))
    assert result == {**json.loads(expected["sets"][0].pop("result")), "cadence_hz": 0.4}
    assert stored == expected
    assert "A1B2" not in caplog.text and "posture" not in caplog.text
    sensor = next(db.query("SELECT sensor FROM sessions WHERE id = ?", [newer["id"]]))["sensor"]
    assert json.loads(sensor) == plain["sensor"]  # no serial
    # the same upload again: nothing changes, and it is told the same
    again = client.post("/api/v1/sessions", data=body, headers=headers,
                        content_type="application/json")
    assert again.status_code == 200
    assert again.get_json() == {"id": newer["id"], "created": False, "identical": True,
                                "sets": [0, 1], "ignored_fields": NEWER_FIELDS}
    # its raw samples upload as any session's
    data = encode(_recording())
    assert _put(client, headers, newer["id"], data, 0, len(data)).get_json()["complete"]
    spec = client.get("/api/v1/openapi.json").get_json()
    must = spec["components"]["schemas"]["Session"]["properties"]["must_understand"]
    assert (must["maxItems"], must["items"]["maxLength"]) == (100, 200)
    stored = spec["paths"]["/api/v1/sessions"]["post"]["responses"]["201"]["content"]
    ignored = stored["application/json"]["schema"]["properties"]["ignored_fields"]
    assert (ignored["maxItems"], ignored["items"]["maxLength"]) == (100, 100)


def test_a_newer_companion_resending_a_stored_session_loses_nothing(
        client: FlaskClient, auth: AuthActions, db: Any) -> None:
    """A session stored from an older companion, with its raw samples, is sent again by a
    newer one (new fields, and a pain answer changed on the way): nothing stored changes, the
    answer says the upload differs, and the physiotherapist still sees the red flag."""
    physio = auth.create_physio()
    patient, headers = auth.device(physio)
    doc = session_document(date.today().isoformat(), red_flags=("leg_symptoms",))
    assert client.post("/api/v1/sessions", json=doc, headers=headers).status_code == 201
    data = encode(_recording())
    assert _put(client, headers, doc["id"], data, 0, len(data)).get_json()["complete"]
    tables = ("sessions", "session_sets", "sample_uploads")
    before = {t: list(db.query(f"SELECT * FROM {t}")) for t in tables}
    newer = {**_newer(doc), "pain": 9}
    response = client.post("/api/v1/sessions", json={**newer, "posture": None}, headers=headers)
    assert response.status_code == 200
    assert response.get_json() == {"id": doc["id"], "created": False, "identical": False,
                                   "sets": [0, 1], "ignored_fields": NEWER_FIELDS}
    assert {t: list(db.query(f"SELECT * FROM {t}")) for t in tables} == before
    auth.login()
    summary = client.get(f"/api/v1/clinic/patients/{patient}").get_json()
    assert [(s["pain"], s["red_flags"]) for s in summary["sessions"]] == [(3, ["leg_symptoms"])]
    assert [a["kind"] for a in summary["alerts"]] == ["red_flag"]


@pytest.mark.parametrize(("path", "value", "message"), [
    ("pain", 11, "pain: must be an integer from 0 to 10 or null"),
    ("red_flags", ["leg_symptoms", "new_flag"], "red_flags: must be a list of ids from: "),
    ("kind", "guided", "kind: must be one of session, record or null"),
    ("sets.0.exercise", "push_up", "sets[0].exercise: unknown exercise 'push_up'"),
    ("sensor.has_gyro", "yes", "sensor.has_gyro: must be true or false"),
    ("sets.0.gaps", [{"start": -1, "duration_s": 1}], "sets[0].gaps[0].start"),
])
def test_known_fields_stay_strict_beside_ignored_ones(client: FlaskClient, device: Any, db: Any,
                                                      path: str, value: Any,
                                                      message: str) -> None:
    """Unknown fields are ignored, but a known field out of its range or list (a red flag
    this server does not know among them) is still refused: 422, the field named, nothing
    stored, never a 500."""
    _, headers = device
    doc = _newer(_broken(path, value))
    response = client.post("/api/v1/sessions", data=json.dumps(doc), headers=headers,
                           content_type="application/json")
    assert response.status_code == 422 and _error(response) == "invalid_document"
    assert response.get_json()["error"]["message"].startswith(message)
    assert next(db.query("SELECT count(*) AS n FROM sessions"))["n"] == 0


@pytest.mark.parametrize(("must", "status", "code", "message"), [
    (["pain", "sets[].exercise", "sensor.name", "sets[].gaps[].start", "must_understand"],
     201, None, None),
    ([], 201, None, None),
    (None, 201, None, None),
    (["sets[].tempo_cue", "pain", "posture"], 422, "unsupported_field",
     "must_understand: this server does not know posture, sets[].tempo_cue; the session "
     "cannot be stored without them until the server is updated"),
    ("posture", 422, "invalid_document", "must_understand: must be a list of at most 100 "),
    ([["posture"]], 422, "invalid_document", "must_understand: must be a list of at most 100 "),
    (["x"] * 101, 422, "invalid_document", "must_understand: must be a list of at most 100 "),
    (["x" * 201], 422, "invalid_document", "must_understand: must be a list of at most 100 "),
    (["x" * 200], 422, "unsupported_field", "must_understand: this server does not know x"),
])
def test_a_document_names_the_fields_it_cannot_be_stored_without(
        client: FlaskClient, device: Any, db: Any, must: Any, status: int, code: str | None,
        message: str | None) -> None:
    """A newer companion whose new field changes what the others mean lists it in
    ``must_understand``: a server that does not know it refuses the session (422
    unsupported_field, nothing stored; the companion keeps it) rather than store it misread."""
    _, headers = device
    doc = {**_newer(session_document()), "must_understand": must}
    response = client.post("/api/v1/sessions", data=json.dumps(doc), headers=headers,
                           content_type="application/json")
    assert response.status_code == status
    if code is None:
        assert response.get_json()["ignored_fields"] == NEWER_FIELDS
    else:
        assert _error(response) == code
        assert response.get_json()["error"]["message"].startswith(message)
    assert next(db.query("SELECT count(*) AS n FROM sessions"))["n"] == (status == 201)


def test_many_long_ignored_fields_are_listed_in_short(client: FlaskClient, device: Any) -> None:
    _, headers = device
    doc = session_document()
    doc.update({f"{k:03d}" + "z" * 300: k for k in range(150)})
    response = client.post("/api/v1/sessions", json=doc, headers=headers)
    assert response.status_code == 201
    listed = response.get_json()["ignored_fields"]
    assert listed == [f"{k:03d}" + "z" * 97 for k in range(100)]


@pytest.mark.parametrize(("sent", "stored"), [
    (KeyError, None),  # a companion from before: not known
    (None, None),
    ([], "[]"),  # every red-flag question answered
    (["night_pain", "systemic"], '["night_pain", "systemic"]'),
])
def test_red_flags_not_asked_are_stored_and_optional(client: FlaskClient, device: Any, db: Any,
                                                     sent: Any, stored: str | None) -> None:
    _, headers = device
    doc = session_document(red_flags=("leg_symptoms",))
    if sent is not KeyError:
        doc["red_flags_unasked"] = sent
    assert client.post("/api/v1/sessions", json=doc, headers=headers).status_code == 201
    row = next(db.query("SELECT red_flags, red_flags_unasked FROM sessions WHERE id = ?",
                        [doc["id"]]))
    assert row == {"red_flags": '["leg_symptoms"]', "red_flags_unasked": stored}


@pytest.mark.parametrize(("value", "message"), [
    ("all", "red_flags_unasked: must be a list of ids from: leg_symptoms, "),
    (True, "red_flags_unasked: must be a list of ids from: "),
    ({"trauma": True}, "red_flags_unasked: must be a list of ids from: "),
    ([["trauma"]], "red_flags_unasked: must be a list of ids from: "),
    (["headache"], "red_flags_unasked: must be a list of ids from: "),
    (["trauma", "trauma"], "red_flags_unasked: lists an id twice"),
])
def test_malformed_red_flags_not_asked_are_a_clear_4xx(client: FlaskClient, device: Any,
                                                       db: Any, value: Any,
                                                       message: str) -> None:
    """Refused as every invalid field is (422 invalid_document, the field named), never a
    500, and nothing is stored."""
    _, headers = device
    doc = {**session_document(red_flags=("leg_symptoms",)), "red_flags_unasked": value}
    response = client.post("/api/v1/sessions", json=doc, headers=headers)
    assert response.status_code == 422 and _error(response) == "invalid_document"
    assert response.get_json()["error"]["message"].startswith(message)
    assert next(db.query("SELECT count(*) AS n FROM sessions"))["n"] == 0


def test_a_red_flag_also_listed_as_not_asked_is_kept_as_yes_and_alerts(
        client: FlaskClient, auth: AuthActions, db: Any) -> None:
    """A document that lists a red flag both as answered yes and as not asked used to be
    refused (422): the session stayed on the patient's computer and the yes never reached the
    physiotherapist. The yes wins: it is stored and alerts, and only the other ids are stored
    as not asked."""
    physio = auth.create_physio()
    patient, headers = auth.device(physio)
    doc = {**session_document(red_flags=("leg_symptoms",)),
           "red_flags_unasked": ["leg_symptoms", "trauma"]}
    assert client.post("/api/v1/sessions", json=doc, headers=headers).status_code == 201
    row = next(db.query("SELECT red_flags, red_flags_unasked FROM sessions WHERE id = ?",
                        [doc["id"]]))
    assert row == {"red_flags": '["leg_symptoms"]', "red_flags_unasked": '["trauma"]'}
    auth.login()
    alerts = client.get(f"/api/v1/clinic/patients/{patient}").get_json()["alerts"]
    assert [(a["kind"], "leg_symptoms" in a["message"]) for a in alerts] == [("red_flag", True)]


@pytest.mark.parametrize(("sent", "stored"), [
    (KeyError, None),  # a companion from before: not known (read as a guided session)
    (None, None),
    ("session", "session"),
    ("record", "record"),
])
def test_session_kind_is_stored_and_optional(client: FlaskClient, auth: AuthActions, db: Any,
                                             sent: Any, stored: str | None) -> None:
    """What made the session is stored and returned to the physiotherapist; a red flag
    answered yes alerts whatever the kind."""
    physio = auth.create_physio()
    patient, headers = auth.device(physio)
    doc = session_document(date.today().isoformat(), red_flags=("leg_symptoms",))
    if sent is KeyError:
        del doc["kind"]
    else:
        doc["kind"] = sent
    assert client.post("/api/v1/sessions", json=doc, headers=headers).status_code == 201
    row = next(db.query("SELECT kind FROM sessions WHERE id = ?", [doc["id"]]))
    assert row == {"kind": stored}
    auth.login()
    summary = client.get(f"/api/v1/clinic/patients/{patient}").get_json()
    assert [s["kind"] for s in summary["sessions"]] == [stored]
    assert [a["kind"] for a in summary["alerts"]] == ["red_flag"]


@pytest.mark.parametrize("value", ["guided", "recording", "", "RECORD", 1, True, ["record"],
                                   {"record": True}])
def test_an_unknown_session_kind_is_a_clear_4xx(client: FlaskClient, device: Any, db: Any,
                                                value: Any) -> None:
    """Refused as every invalid field is (422 invalid_document, the field named), never a
    500, and nothing is stored."""
    _, headers = device
    doc = {**session_document(), "kind": value}
    response = client.post("/api/v1/sessions", json=doc, headers=headers)
    assert response.status_code == 422 and _error(response) == "invalid_document"
    assert response.get_json()["error"]["message"] == \
        "kind: must be one of session, record or null"
    assert next(db.query("SELECT count(*) AS n FROM sessions"))["n"] == 0


@pytest.mark.parametrize(("sent", "stored"), [
    (KeyError, {}),  # a companion from before, or a sensor that does not say
    (None, {"model": None}),
    ("Polar H10", {"model": "Polar H10"}),
    ("M" * 64, {"model": "M" * 64}),
    ("WT901BLE 5.0 \ufffd ß", {"model": "WT901BLE 5.0 \ufffd ß"}),  # as the companion cleans it
])
def test_sensor_model_is_stored_and_optional(client: FlaskClient, device: Any, db: Any,
                                             sent: Any, stored: dict[str, Any]) -> None:
    """The model the sensor said it is is stored with the session's sensor, exactly as sent;
    absent, it is not known and the session is stored as before."""
    _, headers = device
    doc = session_document()
    if sent is not KeyError:
        doc["sensor"]["model"] = sent
    response = client.post("/api/v1/sessions", json=doc, headers=headers)
    assert response.status_code == 201 and response.get_json()["ignored_fields"] == []
    row = next(db.query("SELECT sensor FROM sessions WHERE id = ?", [doc["id"]]))
    assert json.loads(row["sensor"]) == {"profile": "rehablink", "name": "RehabLink-1A2B",
                                         "has_gyro": True, **stored}


@pytest.mark.parametrize("value", [
    "", " ", "   \t", "M" * 65, "H10\x1b[2J", "H10\n", "\x00", "H10\u202e01H", "H10\u200b",
    "H\u00a010", 10, 1.5, True, ["H10"], {"model": "H10"}])
def test_a_bad_sensor_model_is_a_clear_4xx(client: FlaskClient, device: Any, db: Any,
                                           value: Any) -> None:
    """Empty, too long, control characters (a terminal escape, a newline, NUL), a
    text-direction override, an invisible or non-printable space, or not text: refused as
    every invalid field is (422 invalid_document, the field named), never a 500, and nothing
    is stored."""
    _, headers = device
    doc = session_document()
    doc["sensor"]["model"] = value
    response = client.post("/api/v1/sessions", json=doc, headers=headers)
    assert response.status_code == 422 and _error(response) == "invalid_document"
    assert response.get_json()["error"]["message"] == (
        "sensor.model: must be 1 to 64 printable characters (no control characters, not only "
        "spaces), or null")
    assert next(db.query("SELECT count(*) AS n FROM sessions"))["n"] == 0


@pytest.mark.parametrize(("field", "value"), [
    ("name", "WT901\x1b[2J"), ("name", "RehabLink\n1A2B"), ("name", "\x00"),
    ("name", "Pat\u202eJones"), ("profile", "rehablink\x07"), ("address", "AA:BB\r"),
    ("firmware", "1.0\x1b]0;owned\x07")])
def test_a_sensor_text_with_control_characters_is_a_clear_4xx(
        client: FlaskClient, device: Any, db: Any, field: str, value: str) -> None:
    """A sensor's name, profile, address or firmware with a control character (a terminal
    escape, a newline, NUL, a text-direction override) is refused, the field named, and
    nothing is stored; the companion sends them cleaned (``rehablink.text.printable``)."""
    _, headers = device
    doc = session_document()
    doc["sensor"][field] = value
    response = client.post("/api/v1/sessions", json=doc, headers=headers)
    assert response.status_code == 422 and _error(response) == "invalid_document"
    assert response.get_json()["error"]["message"] == (
        f"sensor.{field}: must be printable text (no control characters)")
    assert next(db.query("SELECT count(*) AS n FROM sessions"))["n"] == 0


@pytest.mark.parametrize("name", ["", "WT901BLE67", "Pat\u2019s sensor \ufffd", "N" * 128])
def test_a_sensor_name_as_the_companion_cleans_it_is_stored(
        client: FlaskClient, device: Any, db: Any, name: str) -> None:
    """An empty name (the sensor advertises none), a replacement character where the
    companion cleaned a control character, any printable text up to 128 characters."""
    _, headers = device
    doc = session_document()
    doc["sensor"]["name"] = name
    response = client.post("/api/v1/sessions", json=doc, headers=headers)
    assert response.status_code == 201
    row = next(db.query("SELECT sensor FROM sessions WHERE id = ?", [doc["id"]]))
    assert json.loads(row["sensor"])["name"] == name


def test_a_sensor_model_is_understood(client: FlaskClient, device: Any) -> None:
    """A companion that may not store a session without its sensor's model (must_understand)
    is understood by this server."""
    _, headers = device
    doc = {**session_document(), "must_understand": ["sensor.model"]}
    doc["sensor"]["model"] = "Polar H10"
    response = client.post("/api/v1/sessions", json=doc, headers=headers)
    assert response.status_code == 201 and response.get_json()["ignored_fields"] == []
    spec = client.get("/api/v1/openapi.json").get_json()
    model = spec["components"]["schemas"]["Session"]["properties"]["sensor"]["properties"]
    assert model["model"]["maxLength"] == 64


@pytest.mark.parametrize(("sensor", "message"), [
    ({}, "sensor.profile: must be text of at most 128 characters"),
    ({"serial": "A1B2"}, "sensor.profile: must be text of at most 128 characters"),
    ({"profile": "rehablink", "has_gyro": True, "serial": "A1B2"},
     "sensor.name: must be text of at most 128 characters"),
    ({"profile": "rehablink", "name": "RehabLink-1A2B"}, "sensor.has_gyro: must be true or false"),
    ({"profile": "rehablink", "name": "RehabLink-1A2B", "model": "Polar H10"},
     "sensor.has_gyro: must be true or false"),
])
def test_a_sensor_names_its_profile_name_and_gyro(client: FlaskClient, device: Any, db: Any,
                                                  sensor: dict[str, Any], message: str) -> None:
    """A sensor object with none of the fields this server knows (empty, or only a newer
    companion's) used to be stored as an empty sensor, as if it had been checked: a sensor
    names its profile, name and gyro whatever else it carries (null: no sensor was
    connected). Refused with 422, the field named; nothing is stored, and a session already
    stored under that id is left as it was."""
    _, headers = device
    doc = {**session_document(), "sensor": sensor}
    response = client.post("/api/v1/sessions", json=doc, headers=headers)
    assert response.status_code == 422 and _error(response) == "invalid_document"
    assert response.get_json()["error"]["message"] == message
    assert next(db.query("SELECT count(*) AS n FROM sessions"))["n"] == 0
    assert next(db.query("SELECT count(*) AS n FROM session_sets"))["n"] == 0
    stored = session_document()
    assert client.post("/api/v1/sessions", json=stored, headers=headers).status_code == 201
    tables = ("sessions", "session_sets")
    before = {t: list(db.query(f"SELECT * FROM {t}")) for t in tables}
    again = client.post("/api/v1/sessions", json={**stored, "sensor": sensor}, headers=headers)
    assert again.status_code == 422 and again.get_json()["error"]["message"] == message
    assert {t: list(db.query(f"SELECT * FROM {t}")) for t in tables} == before
    # no sensor connected: null, as always
    none = client.post("/api/v1/sessions", json={**session_document(), "sensor": None},
                       headers=headers)
    assert none.status_code == 201
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["components"]["schemas"]["Session"]["properties"]["sensor"]["required"] == [
        "profile", "name", "has_gyro"]


@pytest.mark.parametrize(("body", "content_type", "status"), [
    (b"{", "application/json", 400),
    (b"\xff\xfe\x00garbage", "application/json", 400),
    (b"[" * 100_000 + b"]" * 100_000, "application/json", 400),
    (b"[]", "application/json", 422),
    (b"null", "application/json", 422),
    (b'{"id": 1}', "text/plain", 415),
])
def test_hostile_bodies_get_4xx(client: FlaskClient, device: Any, body: bytes,
                                content_type: str, status: int) -> None:
    _, headers = device
    response = client.post("/api/v1/sessions", data=body, headers=headers,
                           content_type=content_type)
    assert response.status_code == status
    _error(response)


def test_oversized_document_is_413(client: FlaskClient, device: Any) -> None:
    _, headers = device
    doc = session_document()
    doc["sensor"]["name"] = "x" * (2 * 1024 * 1024)
    response = client.post("/api/v1/sessions", json=doc, headers=headers)
    assert response.status_code == 413 and _error(response) == "too_large"


def test_unknown_api_path_and_method_are_json(client: FlaskClient) -> None:
    assert _error(client.get("/api/v1/nothing")) == "not_found"
    assert _error(client.delete("/api/v1/sessions")) == "method_not_allowed"


def _recording(n: int = 500) -> Recording:
    rng = np.random.default_rng(7)
    t = 1000.0 + np.arange(n) / 50.0
    return Recording(t=t, acc=rng.normal(0, 1, (n, 3)), gyro=rng.normal(0, 30, (n, 3)))


def _put(client: FlaskClient, headers: dict[str, str], sid: str, chunk: bytes, start: int,
         total: int, index: int = 0) -> Any:
    return client.put(
        f"/api/v1/sessions/{sid}/sets/{index}/samples", data=chunk,
        headers={**headers, "Content-Range": f"bytes {start}-{start + len(chunk) - 1}/{total}"},
        content_type="application/octet-stream")


def test_samples_resumable_upload(client: FlaskClient, device: Any, db: Any) -> None:
    from server.traces import load_recording

    _, headers = device
    doc = session_document()
    client.post("/api/v1/sessions", json=doc, headers=headers)
    data = encode(_recording())
    total = len(data)
    assert total == 20 + 500 * 7 * 4
    path = f"/api/v1/sessions/{doc['id']}/sets/0/samples"
    assert client.get(path, headers=headers).get_json() == \
        {"received_bytes": 0, "total_bytes": None, "complete": False}
    assert _put(client, headers, doc["id"], data[:5000], 0, total).get_json()["received_bytes"] \
        == 5000
    # A retry of an old chunk is told where to resume.
    wrong = _put(client, headers, doc["id"], data[:5000], 0, total)
    assert wrong.status_code == 409 and wrong.get_json()["error"]["received_bytes"] == 5000
    done = _put(client, headers, doc["id"], data[5000:], 5000, total)
    assert done.get_json() == {"received_bytes": total, "total_bytes": total, "complete": True}
    # Repeating the last chunk after completion changes nothing.
    assert _put(client, headers, doc["id"], data[5000:], 5000, total).status_code == 200
    stored = load_recording(db, doc["id"], 0)
    assert stored is not None
    expected = decode(data)
    assert np.array_equal(stored.acc, expected.acc) and np.array_equal(stored.t, expected.t)
    assert np.allclose(stored.t, _recording().t, atol=1e-4)
    status = client.get(f"/api/v1/sessions/{doc['id']}", headers=headers).get_json()
    assert [s["samples_complete"] for s in status["sets"]] == [True, False]


def test_samples_bad_input(app: Any, client: FlaskClient, device: Any, db: Any) -> None:
    _, headers = device
    doc = session_document()
    client.post("/api/v1/sessions", json=doc, headers=headers)
    data = encode(_recording(50))
    sid = doc["id"]
    assert _error(_put(client, headers, sid, b"JUNK" * 10, 0, 40)) == "invalid_samples"
    big = app.config["MAX_SAMPLES_BYTES"] + 1
    assert _error(_put(client, headers, sid, data, 0, big)) == "too_large"
    assert _error(_put(client, headers, sid, data, 0, len(data), index=7)) == "not_found"
    no_range = client.put(f"/api/v1/sessions/{sid}/sets/0/samples", data=data, headers=headers,
                          content_type="application/octet-stream")
    assert _error(no_range) == "bad_range"
    # Right size, but the times run backwards: refused at the end and nothing kept.
    rec = _recording(50)
    bad = encode(Recording(t=rec.t[::-1].copy(), acc=rec.acc, gyro=rec.gyro))
    assert _put(client, headers, sid, bad[:100], 0, len(bad)).status_code == 200
    last = _put(client, headers, sid, bad[100:], 100, len(bad))
    assert last.status_code == 422 and _error(last) == "invalid_samples"
    assert next(db.query("SELECT count(*) AS n FROM sample_uploads"))["n"] == 0


def test_patient_link_logs_the_patient_in_once(client: FlaskClient, device: Any,
                                               app: Any) -> None:
    patient_id, headers = device
    url = client.post("/api/v1/patient-link", headers=headers).get_json()["url"]
    path = url.split("localhost", 1)[1]
    page = client.get(path).get_data(as_text=True)
    token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    assert client.post(path, data={"csrf_token": token}).status_code == 302
    assert client.get("/whoami").get_json()["id"] == patient_id
    assert client.get("/whoami").get_json()["role"] == "patient"
    other = app.test_client()
    page = other.get(path).get_data(as_text=True)
    token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    assert other.post(path, data={"csrf_token": token}).status_code == 410


def test_openapi_lists_every_route(app: Any, client: FlaskClient) -> None:
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    documented = {(path, method) for path, ops in spec["paths"].items() for method in ops}
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/"):
            continue
        path = rule.rule.replace("<int:", "<").replace("<", "{").replace(">", "}")
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert (path, method.lower()) in documented, (path, method)
    served = {(r.rule.replace("<int:", "<").replace("<", "{").replace(">", "}"), m.lower())
              for r in app.url_map.iter_rules() if r.rule.startswith("/api/")
              for m in r.methods - {"HEAD", "OPTIONS"}}
    assert documented == served


def test_archived_patient_devices_stop_syncing(client: FlaskClient, auth: AuthActions,
                                               db: Any) -> None:
    from server.accounts import archive_patient

    physio = auth.create_physio()
    patient, headers = auth.device(physio)
    assert client.post("/api/v1/sessions", json=session_document(), headers=headers) \
        .status_code == 201
    archive_patient(db, patient, f"physio:{physio}")
    response = client.post("/api/v1/sessions", json=session_document(), headers=headers)
    assert response.status_code == 401 and _error(response) == "invalid_token"
    assert next(db.query("SELECT count(*) AS n FROM sessions"))["n"] == 1  # record kept


def test_samples_in_many_chunks_leave_no_chunks_behind(client: FlaskClient, device: Any,
                                                        db: Any) -> None:
    _, headers = device
    doc = session_document()
    client.post("/api/v1/sessions", json=doc, headers=headers)
    data = encode(_recording(2000))
    for start in range(0, len(data), 1000):
        chunk = data[start:start + 1000]
        assert _put(client, headers, doc["id"], chunk, start, len(data)).status_code == 200
    stored = next(db.query("SELECT data, completed_at FROM sample_uploads"))
    assert bytes(stored["data"]) == data and stored["completed_at"] is not None
    assert next(db.query("SELECT count(*) AS n FROM sample_chunks"))["n"] == 0
