"""The FHIR R4 export, validated against the independent fhir.resources (R4B) models."""

from __future__ import annotations

import copy
from datetime import UTC, datetime

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.device import Device
from fhir.resources.R4B.observation import Observation
from pydantic import ValidationError

from dashboards.fhir import (
    DATA_ABSENT_REASON,
    INTERPRETATION,
    LOINC,
    RED_FLAG_SYSTEM,
    SENSOR_PROFILE_SYSTEM,
    UCUM,
    patient_bundle,
)
from rehablink.clinical import RED_FLAGS

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


def rep(start: float, hold: float, flags: tuple[str, ...] = ()) -> dict:
    top = start + 1.0
    return {"start": start, "top": top, "lower_start": top + hold, "end": top + hold + 1.0,
            "hold_s": hold, "rom_deg": 22.0, "flags": list(flags), "lift_s": 1.0,
            "lower_s": 1.0, "stability_deg": None}


def session_doc(sid: str = "3f1c8e2a-9d4b-4c1e-8a7f-2b6d5e4c3a10", pain: int | None = 3) -> dict:
    return {
        "id": sid, "started_at": "2026-11-20T09:30:00+00:00",
        "ended_at": "2026-11-20T09:45:00+00:00", "status": "completed",
        "sensor": {"profile": "rehablink", "name": "RL-1", "has_gyro": True},
        "pain": pain, "red_flags": [], "prescription_version": 2,
        "sets": [
            {"index": 0, "exercise": "bridge", "placement": "pelvis", "target_reps": 10,
             "hold_target_s": 5.0, "started_at": "2026-11-20T09:31:00+00:00", "skipped": False,
             "result": {"exercise": "bridge", "placement": "pelvis", "rep_count": 3,
                        "partial_count": 0, "duration_s": 42.5, "sample_rate_hz": 50.0,
                        "reps": [rep(1, 4.0), rep(10, 6.0), rep(20, 5.0, ("reduced_rom",))]},
             "samples_received": 2125, "samples_lost": 0},
            {"index": 1, "exercise": "clamshell", "placement": "pelvis", "target_reps": 12,
             "hold_target_s": None, "started_at": "2026-11-20T09:36:00", "skipped": True,
             "result": None, "samples_received": 0, "samples_lost": 0},
            {"index": 2, "exercise": "squat", "placement": "pelvis", "target_reps": 8,
             "hold_target_s": None, "started_at": "2026-11-20T09:40:00", "skipped": False,
             "result": {"exercise": "squat", "placement": "pelvis", "rep_count": 8,
                        "partial_count": 1, "duration_s": 30.0, "sample_rate_hz": 50.0,
                        "reps": [rep(3 * i, 0.0) for i in range(8)]},
             "samples_received": 1500, "samples_lost": 3},
        ],
    }


def resources(bundle: dict, kind: str) -> list[dict]:
    """The resources of one type in the Bundle, in order."""
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


def by_code(bundle: dict) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for entry in bundle["entry"]:
        res = entry["resource"]
        if res["resourceType"] == "Observation":
            out.setdefault(res["code"]["coding"][0]["code"], []).append(res)
    return out


def test_bundle_validates_as_fhir_r4_collection():
    bundle = patient_bundle(42, "Ann Example", [session_doc()], now=NOW)
    model = Bundle.model_validate(bundle)
    assert model.type == "collection"
    for obs in resources(bundle, "Observation"):
        Observation.model_validate(obs)
    (device,) = resources(bundle, "Device")
    Device.model_validate(device)


#: Required binding of Observation.status (FHIR R4 ObservationStatus value set).
OBSERVATION_STATUS = {"registered", "preliminary", "final", "amended", "corrected", "cancelled",
                      "entered-in-error", "unknown"}
#: Required binding of Device.deviceName.type (FHIR R4 DeviceNameType value set).
DEVICE_NAME_TYPE = {"udi-label-name", "user-friendly-name", "patient-reported-name",
                    "manufacturer-name", "model-name", "other"}


@pytest.mark.parametrize("breakage", [
    lambda d: d.pop("code"),
    lambda d: d.pop("status"),
    lambda d: d.update(unknownField=1),
    lambda d: d.update(effectiveDateTime="yesterday"),
])
def test_validator_rejects_a_broken_observation(breakage):
    """The validation above means something: the same models refuse a broken Observation."""
    bundle = patient_bundle(42, "Ann Example", [session_doc()], now=NOW)
    obs = copy.deepcopy(resources(bundle, "Observation")[0])
    breakage(obs)
    with pytest.raises(ValidationError):
        Observation.model_validate(obs)


def test_required_bindings():
    """fhir.resources does not check value sets, so the required bindings are checked here."""
    bundle = patient_bundle(42, "Ann Example", [session_doc()], now=NOW)
    assert bundle["type"] in {"document", "message", "transaction", "transaction-response",
                              "batch", "batch-response", "history", "searchset", "collection"}
    observations = resources(bundle, "Observation")
    assert observations and all(o["status"] in OBSERVATION_STATUS for o in observations)
    (device,) = resources(bundle, "Device")
    assert "status" not in device  # FHIRDeviceStatus, required when given: not known here
    assert [n["type"] for n in device["deviceName"]] == ["user-friendly-name"]
    assert {n["type"] for n in device["deviceName"]} <= DEVICE_NAME_TYPE


def test_every_reference_resolves_inside_the_bundle():
    bundle = patient_bundle(42, "Ann Example", [session_doc()], now=NOW)
    full_urls = {e["fullUrl"] for e in bundle["entry"]}
    assert all(e["fullUrl"] == f"urn:uuid:{e['resource']['id']}" for e in bundle["entry"])
    patient = bundle["entry"][0]["resource"]
    assert patient["resourceType"] == "Patient"
    assert patient["identifier"][0]["value"] == "42"
    patient_ref = {"reference": f"urn:uuid:{patient['id']}"}
    (device,) = resources(bundle, "Device")
    assert device["patient"] == patient_ref
    for res in resources(bundle, "Observation"):
        assert res["subject"] == patient_ref
        for member in res.get("hasMember", []):
            assert member["reference"] in full_urls
        assert res.get("device", {"reference": f"urn:uuid:{device['id']}"})["reference"] in \
            full_urls
    assert [e["resource"]["resourceType"] for e in bundle["entry"]].index("Device") == 1


def test_values_codes_and_units_per_set():
    bundle = patient_bundle(42, "Ann Example", [session_doc()], now=NOW)
    obs = by_code(bundle)
    # Skipped clamshell: nothing; bridge and squat: one panel and a duration each.
    panels = obs["73985-4"]
    assert [p["valueCodeableConcept"]["coding"][0]["code"] for p in panels] == ["bridge", "squat"]
    durations = obs["55411-3"]
    assert all(d["code"]["coding"][0]["system"] == LOINC for d in durations)
    assert [d["valueQuantity"]["value"] for d in durations] == [42.5, 30.0]
    assert all(d["valueQuantity"]["system"] == UCUM and d["valueQuantity"]["code"] == "s"
               for d in durations)
    assert [r["valueQuantity"]["value"] for r in obs["repetitions"]] == [3, 8]
    assert obs["repetitions"][0]["referenceRange"][0]["low"]["value"] == 10
    # Holds only for the bridge (the squat has none): median of 4, 6, 5 s is 5 s.
    (hold,) = obs["hold-time-median"]
    assert hold["valueQuantity"] == {"value": 5.0, "unit": "s", "system": UCUM, "code": "s"}
    assert [c["valueQuantity"]["value"] for c in hold["component"]] == [4.0, 6.0, 5.0]
    assert hold["referenceRange"][0]["low"]["value"] == 5.0
    (pain,) = obs["72514-3"]
    assert pain["valueQuantity"]["value"] == 3
    assert pain["effectiveDateTime"] == "2026-11-20T09:45:00+00:00"
    # Naive times are taken as UTC: every effectiveDateTime carries a zone.
    assert durations[1]["effectiveDateTime"] == "2026-11-20T09:40:00+00:00"


def test_export_is_deterministic_and_distinct_per_session():
    a = patient_bundle(42, "Ann", [session_doc()], now=NOW)
    b = patient_bundle(42, "Ann", [session_doc()], now=NOW)
    assert a == b
    two = patient_bundle(42, "Ann", [session_doc(), session_doc(
        "9a8b7c6d-1e2f-4a3b-8c4d-5e6f7a8b9c0d", pain=None)], now=NOW)
    ids = [e["resource"]["id"] for e in two["entry"]]
    assert len(ids) == len(set(ids))
    assert len(by_code(two)["72514-3"]) == 1  # unanswered pain is not exported


def test_patient_without_sessions_gives_a_valid_bundle_with_the_patient_only():
    bundle = patient_bundle(7, "New Patient", [], now=NOW)
    Bundle.model_validate(bundle)
    assert [e["resource"]["resourceType"] for e in bundle["entry"]] == ["Patient"]


def screen_doc(red_flags: list[str], unasked: list[str] | None, kind: str | None = "session",
               sid: str = "5d2e1c4b-3a29-4f18-9e07-d6c5b4a39281") -> dict:
    """A session (no sets) with its red-flag answers: ``unasked`` None when not recorded."""
    doc = {**session_doc(sid), "sets": [], "kind": kind, "red_flags": red_flags}
    if unasked is not None:
        doc["red_flags_unasked"] = unasked
    return doc


def screen_of(doc: dict) -> dict | None:
    """The red-flag screen Observation of a one-session Bundle (None when there is none),
    validated against the R4B model."""
    screens = by_code(patient_bundle(42, "Ann", [doc], now=NOW)).get("red-flag-screen", [])
    assert len(screens) <= 1
    for screen in screens:
        Observation.model_validate(screen)
    return screens[0] if screens else None


def answers(screen: dict) -> dict[str, object]:
    """Per question: True / False (answered yes / no) or the data-absent-reason code."""
    out = {}
    for c in screen["component"]:
        (coding,) = c["code"]["coding"]
        assert coding["system"] == RED_FLAG_SYSTEM
        # FHIR invariant obs-6: a value or a reason it is absent, never both
        assert ("valueBoolean" in c) != ("dataAbsentReason" in c), c
        absent = c.get("dataAbsentReason", {}).get("coding", [{}])[0]
        assert not absent or absent["system"] == DATA_ABSENT_REASON
        out[coding["code"]] = c["valueBoolean"] if "valueBoolean" in c else absent["code"]
    return out


def test_red_flag_screen_says_yes_no_and_not_asked_per_question():
    """The patient answered no, yes (bladder and bowel, urgent), no, then left the questions:
    the three not reached are absent as not-asked, never false; the yes is flagged positive."""
    screen = screen_of(screen_doc(["bladder_bowel"], ["systemic", "trauma", "no_improvement"]))
    assert screen is not None
    assert answers(screen) == {"leg_symptoms": False, "bladder_bowel": True,
                               "night_pain": False, "systemic": "not-asked",
                               "trauma": "not-asked", "no_improvement": "not-asked"}
    assert screen["category"][0]["coding"][0]["code"] == "survey"
    assert screen["status"] == "final"
    assert screen["effectiveDateTime"] == "2026-11-20T09:45:00+00:00"  # answered at the end
    positive = [{"coding": [{"system": INTERPRETATION, "code": "POS", "display": "Positive"}]}]
    assert screen["interpretation"] == positive
    (yes,) = [c for c in screen["component"] if c.get("valueBoolean")]
    assert yes["interpretation"] == positive
    assert yes["code"]["text"] == RED_FLAGS["bladder_bowel"].question


def test_red_flag_screen_all_answered_no_is_all_false():
    screen = screen_of(screen_doc([], []))
    assert screen is not None and "interpretation" not in screen
    assert answers(screen) == dict.fromkeys(RED_FLAGS, False)


def test_red_flag_screen_of_an_older_companion_says_not_known_beside_the_yes():
    """A companion that did not record which questions it asked: the yes is kept, and the
    others are absent as unknown, not "no"."""
    screen = screen_of(screen_doc(["trauma"], None, kind=None))
    assert screen is not None
    assert answers(screen) == {**dict.fromkeys(RED_FLAGS, "unknown"), "trauma": True}


def test_no_red_flag_screen_when_nothing_is_known_or_for_a_free_recording():
    assert screen_of(screen_doc([], None, kind=None)) is None  # nothing recorded
    assert screen_of(screen_doc([], list(RED_FLAGS), kind="record")) is None  # asks none
    # a yes is exported whatever the session was
    flagged = screen_of(screen_doc(["trauma"], [f for f in RED_FLAGS if f != "trauma"],
                                   kind="record"))
    assert flagged is not None
    assert answers(flagged) == {**dict.fromkeys(RED_FLAGS, "not-asked"), "trauma": True}


def test_red_flag_screens_have_stable_distinct_ids_and_resolve():
    docs = [screen_doc(["night_pain"], []), screen_doc([], [], sid=session_doc()["id"])]
    first = patient_bundle(42, "Ann", docs, now=NOW)
    assert first == patient_bundle(42, "Ann", docs, now=NOW)
    Bundle.model_validate(first)
    ids = [e["resource"]["id"] for e in first["entry"]]
    assert len(ids) == len(set(ids))
    screens = by_code(first)["red-flag-screen"]
    assert len(screens) == 2
    patient = first["entry"][0]["resource"]
    assert {s["subject"]["reference"] for s in screens} == {f"urn:uuid:{patient['id']}"}


def sensor_session(sid: str, sensor: dict | None) -> dict:
    """A session of :func:`session_doc` streamed from ``sensor``."""
    return {**session_doc(sid), "sensor": sensor}


def set_devices(bundle: dict) -> list[str | None]:
    """Per Observation of a set (exercise panels and their members), the Device it refers to."""
    panels = by_code(bundle)["73985-4"]
    members = {m["reference"] for p in panels for m in p["hasMember"]}
    return [o.get("device", {}).get("reference") for o in resources(bundle, "Observation")
            if o in panels or f"urn:uuid:{o['id']}" in members]


def test_the_sensor_is_a_device_with_its_model_number():
    """A session whose sensor said its model: one Device with its name, its family and the
    model as modelNumber; every Observation of its sets refers to it, the pain score and the
    red-flag screen (answers, not measurements) do not."""
    sensor = {"profile": "polar_pmd", "name": "Polar H10 1A2B3C4D", "has_gyro": False,
              "model": "Polar H10"}
    doc = {**sensor_session("3f1c8e2a-9d4b-4c1e-8a7f-2b6d5e4c3a10", sensor),
           "red_flags_unasked": []}
    bundle = patient_bundle(42, "Ann", [doc], now=NOW)
    Bundle.model_validate(bundle)
    (device,) = resources(bundle, "Device")
    assert device == {
        "resourceType": "Device", "id": device["id"],
        "deviceName": [{"name": "Polar H10 1A2B3C4D", "type": "user-friendly-name"}],
        "modelNumber": "Polar H10",
        "type": {"text": "Wearable motion sensor (Bluetooth LE)",
                 "coding": [{"system": SENSOR_PROFILE_SYSTEM, "code": "polar_pmd"}]},
        "patient": {"reference": f"urn:uuid:{bundle['entry'][0]['resource']['id']}"}}
    Device.model_validate(device)
    assert set_devices(bundle) == [f"urn:uuid:{device['id']}"] * 7  # 2 sets: 4 + 3 resources
    codes = by_code(bundle)
    assert [("device" in o) for o in codes["72514-3"] + codes["red-flag-screen"]] == \
        [False, False]


def test_one_device_per_sensor_and_none_without_a_sensor():
    """Sessions with the same sensor share one Device, placed before the first Observation
    that refers to it; the same sensor without its model (a session stored before the
    companion sent it) is another; a session without a sensor has none, and its sets refer to
    none; a session without sets (stopped before the first) gives no Device of its own."""
    with_model = {"profile": "rehablink", "name": "RL-1", "has_gyro": True, "model": "XIAO"}
    without = {k: v for k, v in with_model.items() if k != "model"}
    docs = [sensor_session("00000000-0000-4000-8000-00000000000" + str(k), sensor)
            for k, sensor in enumerate([without, with_model, with_model, None, {}])]
    docs.append({**sensor_session("00000000-0000-4000-8000-000000000009",
                                  {**with_model, "model": "Other"}), "sets": []})
    bundle = patient_bundle(42, "Ann", docs, now=NOW)
    Bundle.model_validate(bundle)
    devices = resources(bundle, "Device")
    assert [d.get("modelNumber") for d in devices] == [None, "XIAO"]
    assert len({d["id"] for d in devices}) == 2
    refs = [f"urn:uuid:{d['id']}" for d in devices]
    assert set_devices(bundle) == [refs[0]] * 7 + [refs[1]] * 14 + [None] * 14
    kinds = [e["resource"]["resourceType"] for e in bundle["entry"]]
    # the first session: its Device, 7 Observations of its sets and its pain; then the next
    assert kinds[:11] == ["Patient", "Device", *["Observation"] * 8, "Device"]
    assert patient_bundle(42, "Ann", docs, now=NOW) == bundle  # the same ids every time


@pytest.mark.parametrize(("sensor", "device"), [
    # what no companion sends, but a server may hold: no FHIR string or code is made of it
    ({"profile": " odd  id ", "name": "RL\x1b[2J", "has_gyro": True},
     {"type": {"text": "Wearable motion sensor (Bluetooth LE)"}}),
    ({"profile": "", "name": "", "has_gyro": True, "model": None}, None),
    ({"profile": "rehablink", "name": " ", "has_gyro": True, "model": "M\u202e1"},
     {"type": {"text": "Wearable motion sensor (Bluetooth LE)",
               "coding": [{"system": SENSOR_PROFILE_SYSTEM, "code": "rehablink"}]}}),
])
def test_a_sensor_described_with_odd_text_still_gives_valid_fhir(sensor, device):
    bundle = patient_bundle(42, "Ann", [sensor_session(session_doc()["id"], sensor)], now=NOW)
    Bundle.model_validate(bundle)
    found = resources(bundle, "Device")
    assert [{k: v for k, v in d.items() if k not in {"resourceType", "id", "patient"}}
            for d in found] == ([] if device is None else [device])
