"""FHIR R4 export: one Bundle per patient with Observations of the exercise sets (pure functions).

Each completed set becomes an "Exercise activity" panel (LOINC 73985-4, the exercise as its coded
value) whose members are the set's duration (LOINC 55411-3, UCUM ``s``), the reps counted and the
hold times (median, with one component per rep). A session's pain score becomes a LOINC 72514-3
Observation. Reps and holds have no LOINC code, so they use the project's own code system
:data:`METRIC_SYSTEM` and always carry a text, as FHIR allows for local codes.

A session's red-flag questions become one "red-flag screen" Observation (category ``survey``,
local code system :data:`RED_FLAG_SYSTEM`) with one component per question: ``valueBoolean``
true (answered yes, interpretation ``POS``) or false (answered no), or no value and a
``dataAbsentReason`` of ``not-asked`` (the patient left the questions before it) or ``unknown``
(the companion did not record whether it was asked), never false for a question not answered.
A session that records nothing of the questions, and a free recording (which asks none) with no
yes, give no screen.

The sensor a session streamed from is a ``Device`` (its advertised name, its family as a code
of :data:`SENSOR_PROFILE_SYSTEM`, and the model it said it is as ``modelNumber``), referred to by
the ``device`` of every Observation of the session's sets; sessions with the same sensor share
one Device, placed before the first Observation that refers to it (none when none does).

References inside the Bundle (``type: collection``) are ``urn:uuid:`` full URLs; the ids are
UUID5s derived from the session ids, so exporting twice gives the same resource ids and a receiving
system can de-duplicate.
"""

from __future__ import annotations

import json
import re
import statistics
import uuid
from collections.abc import Collection, Iterable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

from dashboards.figures import RED_FLAG_NAMES
from rehablink.clinical import RED_FLAGS
from rehablink.exercises import EXERCISES

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
DATA_ABSENT_REASON = "http://terminology.hl7.org/CodeSystem/data-absent-reason"
INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
#: The project's code systems (local codes; FHIR requires only a stable URI).
EXERCISE_SYSTEM = "https://rehablink.org/fhir/CodeSystem/exercise"
METRIC_SYSTEM = "https://rehablink.org/fhir/CodeSystem/exercise-metric"
#: The red-flag screen (``red-flag-screen``) and its questions (``rehablink.clinical`` ids).
RED_FLAG_SYSTEM = "https://rehablink.org/fhir/CodeSystem/red-flag"
#: Sensor families: the companion's profile ids (``firmware_protocol.registry``).
SENSOR_PROFILE_SYSTEM = "https://rehablink.org/fhir/CodeSystem/sensor-profile"
PATIENT_ID_SYSTEM = "https://rehablink.org/fhir/NamingSystem/patient-id"
SESSION_ID_SYSTEM = "https://rehablink.org/fhir/NamingSystem/session-set"

_NAMESPACE = uuid.UUID("6f3c2a64-1f5e-4d0b-9a51-5a8f1c2e7d10")

ACTIVITY_CODE = {"system": LOINC, "code": "73985-4", "display": "Exercise activity"}
DURATION_CODE = {"system": LOINC, "code": "55411-3", "display": "Exercise duration"}
PAIN_CODE = {"system": LOINC, "code": "72514-3",
             "display": "Pain severity - 0-10 verbal numeric rating [Score] - Reported"}
REPS_CODE = {"system": METRIC_SYSTEM, "code": "repetitions", "display": "Repetitions counted"}
HOLD_CODE = {"system": METRIC_SYSTEM, "code": "hold-time-median", "display": "Median hold time"}
REP_HOLD_CODE = {"system": METRIC_SYSTEM, "code": "hold-time", "display": "Hold time of one rep"}
SCREEN_CODE = {"system": RED_FLAG_SYSTEM, "code": "red-flag-screen",
               "display": "Red-flag screen for low back pain"}
POSITIVE = {"system": INTERPRETATION, "code": "POS", "display": "Positive"}
NOT_ASKED = {"system": DATA_ABSENT_REASON, "code": "not-asked", "display": "Not Asked"}
UNKNOWN = {"system": DATA_ABSENT_REASON, "code": "unknown", "display": "Unknown"}
_SURVEY = [{"coding": [{"system": OBSERVATION_CATEGORY, "code": "survey", "display": "Survey"}]}]


#: What FHIR takes as a ``code``: no leading, trailing or repeated white space.
_CODE = re.compile(r"[^\s]+( [^\s]+)*")


def _uid(*parts: object) -> str:
    return str(uuid.uuid5(_NAMESPACE, "/".join(str(p) for p in parts)))


def _uids(count: int, *parts: object) -> list[str]:
    """``count`` related ids from one UUID5: its last byte is replaced by 0, 1, 2...

    One hash per set instead of one per Observation (exports of a year have thousands); the
    version and variant bits are untouched, so each is still a valid UUID5-shaped id.
    """
    h = uuid.uuid5(_NAMESPACE, "/".join(str(p) for p in parts)).hex
    stem = f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:30]}"
    return [f"{stem}{k:02x}" for k in range(count)]


def _instant(text: str | None) -> str | None:
    """An ISO 8601 date-time with a time zone (naive values are taken as UTC), or None."""
    if not text:
        return None
    try:
        value = datetime.fromisoformat(str(text))
    except ValueError:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.isoformat()


def _seconds(value: float) -> dict[str, Any]:
    return {"value": round(float(value), 3), "unit": "s", "system": UCUM, "code": "s"}


def _observation(oid: str, patient_ref: dict[str, str], code: dict[str, str], text: str,
                 when: str, **value: Any) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": oid,
        "status": "final",
        "category": [{"coding": [{"system": OBSERVATION_CATEGORY, "code": "activity",
                                  "display": "Activity"}]}],
        "code": {"coding": [code], "text": text},
        "subject": patient_ref,
        "effectiveDateTime": when,
        **value,
    }


def set_observations(session: Mapping[str, Any], set_doc: Mapping[str, Any],
                     patient_ref: dict[str, str],
                     device_ref: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """Observations of one set of a session document: panel, duration, reps and holds, each
    with ``device_ref`` (the session's sensor, :func:`sensor_device`) when there is one.

    Skipped sets and sets without a result give no Observation.
    """
    result = set_doc.get("result")
    if set_doc.get("skipped") or not isinstance(result, Mapping):
        return []
    when = _instant(set_doc.get("started_at")) or _instant(session.get("started_at"))
    if when is None:
        return []
    exercise_id = str(set_doc.get("exercise") or result.get("exercise") or "generic")
    exercise = EXERCISES.get(exercise_id)
    name = exercise.name if exercise else exercise_id
    key = (session["id"], set_doc.get("index", 0))
    panel_id, duration_id, reps_id, hold_id = _uids(4, *key)
    members: list[dict[str, Any]] = []
    members.append(_observation(
        duration_id, patient_ref, DURATION_CODE, f"{name}: exercise duration", when,
        valueQuantity=_seconds(float(result.get("duration_s", 0.0)))))
    reps = [r for r in result.get("reps", ()) if isinstance(r, Mapping)]
    count = int(result.get("rep_count", len(reps)))
    reps_obs = _observation(
        reps_id, patient_ref, REPS_CODE, f"{name}: repetitions", when,
        valueQuantity={"value": count, "unit": "repetitions", "system": UCUM,
                       "code": "{repetitions}"})
    if set_doc.get("target_reps"):
        reps_obs["referenceRange"] = [{"low": {"value": int(set_doc["target_reps"]),
                                               "unit": "repetitions", "system": UCUM,
                                               "code": "{repetitions}"},
                                       "text": "prescribed repetitions"}]
    members.append(reps_obs)
    holds = [float(r["hold_s"]) for r in reps if r.get("hold_s") is not None]
    hold_target = set_doc.get("hold_target_s")
    if holds and (hold_target or any(h > 0 for h in holds)):
        hold_obs = _observation(
            hold_id, patient_ref, HOLD_CODE, f"{name}: median hold time", when,
            valueQuantity=_seconds(statistics.median(holds)),
            component=[{"code": {"coding": [REP_HOLD_CODE], "text": f"rep {i} hold time"},
                        "valueQuantity": _seconds(h)} for i, h in enumerate(holds, start=1)])
        if hold_target:
            hold_obs["referenceRange"] = [{"low": _seconds(float(hold_target)),
                                           "text": "prescribed hold"}]
        members.append(hold_obs)
    panel = _observation(
        panel_id, patient_ref, ACTIVITY_CODE, f"Exercise set: {name}", when,
        valueCodeableConcept={"coding": [{"system": EXERCISE_SYSTEM, "code": exercise_id,
                                          "display": name}], "text": name},
        hasMember=[{"reference": f"urn:uuid:{m['id']}"} for m in members])
    panel["identifier"] = [{"system": SESSION_ID_SYSTEM, "value": f"{key[0]}/{key[1]}"}]
    if device_ref is not None:
        for obs in (panel, *members):
            obs["device"] = device_ref
    return [panel, *members]


def pain_observation(session: Mapping[str, Any],
                     patient_ref: dict[str, str]) -> dict[str, Any] | None:
    """The session's 0–10 pain score as an Observation, or None when it was not answered."""
    pain = session.get("pain")
    when = _instant(session.get("ended_at")) or _instant(session.get("started_at"))
    if pain is None or when is None:
        return None
    obs = _observation(_uid(session["id"], "pain"), patient_ref, PAIN_CODE,
                       "Pain score after the exercise session (0-10)", when,
                       valueQuantity={"value": int(pain), "unit": "score", "system": UCUM,
                                      "code": "{score}"})
    obs["category"] = _SURVEY
    return obs


def _red_flag_component(flag_id: str, yes: bool, unasked: Collection[str] | None
                        ) -> dict[str, Any]:
    """One question of the screen: yes, no, not asked, or not known whether it was asked."""
    flag = RED_FLAGS.get(flag_id)
    component: dict[str, Any] = {"code": {
        "coding": [{"system": RED_FLAG_SYSTEM, "code": flag_id,
                    "display": RED_FLAG_NAMES.get(flag_id, flag_id)}],
        "text": flag.question if flag else flag_id}}
    if yes:
        component.update(valueBoolean=True, interpretation=[{"coding": [POSITIVE]}])
    elif unasked is None:
        component["dataAbsentReason"] = {"coding": [UNKNOWN],
                                         "text": "not recorded whether it was asked"}
    elif flag_id in unasked:
        component["dataAbsentReason"] = {"coding": [NOT_ASKED], "text": "not asked"}
    else:
        component["valueBoolean"] = False
    return component


def red_flag_observation(session: Mapping[str, Any],
                         patient_ref: dict[str, str]) -> dict[str, Any] | None:
    """The session's red-flag screen as an Observation with one component per question (see
    the module notes), or None when the session records nothing of the questions or is a free
    recording with no red flag answered yes."""
    flags = [str(f) for f in session.get("red_flags") or ()]
    unasked = session.get("red_flags_unasked")
    when = _instant(session.get("ended_at")) or _instant(session.get("started_at"))
    asked_none = unasked is None or session.get("kind") == "record"
    if when is None or (asked_none and not flags):
        return None
    ids = [*RED_FLAGS, *(f for f in flags if f not in RED_FLAGS)]
    obs = _observation(
        _uid(session["id"], "red-flags"), patient_ref, SCREEN_CODE,
        "Red-flag questions after the exercise session", when,
        component=[_red_flag_component(f, f in flags, unasked) for f in ids])
    obs["category"] = _SURVEY
    if flags:
        obs["interpretation"] = [{"coding": [POSITIVE]}]
    return obs


def _fhir_text(value: Any) -> str | None:
    """``value`` when it is text to put in a FHIR string (printable, not blank), else None."""
    return value if isinstance(value, str) and value.strip() and value.isprintable() else None


def sensor_device(session: Mapping[str, Any],
                  patient_ref: dict[str, str]) -> dict[str, Any] | None:
    """The sensor a session streamed from as a Device, or None for a session without one.

    ``deviceName`` is the name it advertised, ``type`` its family (the companion's profile id,
    coded in :data:`SENSOR_PROFILE_SYSTEM`) and ``modelNumber`` the model it said it is (the
    Model Number String of its Device Information service), each left out when not known
    (sessions stored before the companion sent the model have none). The id is a UUID5 of the
    patient and these three, so every session with the same sensor gives the same Device.

    Examples
    --------
    >>> ref = {"reference": "urn:uuid:1"}
    >>> device = sensor_device({"sensor": {"profile": "polar_pmd", "name": "Polar H10 1A2B",
    ...                                    "has_gyro": False, "model": "Polar H10"}}, ref)
    >>> device["deviceName"], device["modelNumber"]
    ([{'name': 'Polar H10 1A2B', 'type': 'user-friendly-name'}], 'Polar H10')
    >>> "modelNumber" in sensor_device({"sensor": {"profile": "rehablink", "name": "RL-1"}}, ref)
    False
    >>> sensor_device({"sensor": {}}, ref) is None
    True
    """
    sensor = session.get("sensor")
    if not isinstance(sensor, Mapping):
        return None
    name, profile, model = (_fhir_text(sensor.get(k)) for k in ("name", "profile", "model"))
    if name is None and profile is None and model is None:
        return None
    device: dict[str, Any] = {
        "resourceType": "Device",
        "id": _uid("device", patient_ref["reference"], json.dumps([profile, name, model]))}
    if name is not None:
        device["deviceName"] = [{"name": name, "type": "user-friendly-name"}]
    if model is not None:
        device["modelNumber"] = model
    kind: dict[str, Any] = {"text": "Wearable motion sensor (Bluetooth LE)"}
    if profile is not None and _CODE.fullmatch(profile):
        kind["coding"] = [{"system": SENSOR_PROFILE_SYSTEM, "code": profile}]
    device["type"] = kind
    device["patient"] = patient_ref
    return device


def _patient(patient_id: int | str, patient_name: str) -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "id": _uid("patient", patient_id),
        "identifier": [{"system": PATIENT_ID_SYSTEM, "value": str(patient_id)}],
        "name": [{"text": patient_name}],
    }


def _session_resources(sessions: Iterable[Mapping[str, Any]],
                       patient_ref: dict[str, str]) -> Iterator[dict[str, Any]]:
    """The resources of the sessions in Bundle order: per session its sensor's Device (the
    first time an Observation refers to it), each set's Observations, then the pain score and
    the red-flag screen."""
    devices: set[str] = set()
    for session in sessions:
        device = sensor_device(session, patient_ref)
        device_ref = None if device is None else {"reference": f"urn:uuid:{device['id']}"}
        observed = [obs for set_doc in session.get("sets", ()) if isinstance(set_doc, Mapping)
                    for obs in set_observations(session, set_doc, patient_ref, device_ref)]
        if device is not None and observed and device["id"] not in devices:
            devices.add(device["id"])
            yield device
        yield from observed
        for obs in (pain_observation(session, patient_ref),
                    red_flag_observation(session, patient_ref)):
            if obs is not None:
                yield obs


def _resources(patient_id: int | str, patient_name: str,
               sessions: Iterable[Mapping[str, Any]]) -> Iterator[dict[str, Any]]:
    patient = _patient(patient_id, patient_name)
    yield patient
    # The name is on the Patient only; every Observation refers to it by this one dict.
    yield from _session_resources(sessions, {"reference": f"urn:uuid:{patient['id']}"})


def _entry(resource: dict[str, Any]) -> dict[str, Any]:
    return {"fullUrl": f"urn:uuid:{resource['id']}", "resource": resource}


def _envelope(patient_id: int | str, now: datetime | None) -> dict[str, Any]:
    """The Bundle without its entries (``entry`` comes last)."""
    stamp = (now or datetime.now(UTC)).astimezone(UTC)
    return {
        "resourceType": "Bundle",
        "id": _uid("bundle", patient_id, stamp.isoformat()),
        "type": "collection",
        "timestamp": stamp.isoformat(),
    }


def patient_bundle(patient_id: int | str, patient_name: str,
                   sessions: Iterable[Mapping[str, Any]],
                   now: datetime | None = None) -> dict[str, Any]:
    """A FHIR R4 ``collection`` Bundle: the Patient, then the Observations of every session,
    each session's sensor Device before the first Observation that refers to it.

    Parameters
    ----------
    patient_id : int or str
        The server's patient id (kept as an identifier of the Patient resource).
    patient_name : str
        Name shown in the receiving record.
    sessions : iterable of mapping
        Session documents in the companion/server format (``id``, ``started_at``, ``pain``,
        ``sets`` with ``result``).
    now : datetime, optional
        Bundle timestamp (default: the current time, UTC).

    See Also
    --------
    patient_bundle_json : the same Bundle as compact JSON text, for downloads.
    """
    return {**_envelope(patient_id, now),
            "entry": [_entry(r) for r in _resources(patient_id, patient_name, sessions)]}


#: Compact, ASCII-only JSON. The builders make trees (no object is its own ancestor), so the
#: encoder's cycle check, a dict lookup per container, is skipped.
_ENCODER = json.JSONEncoder(separators=(",", ":"), check_circular=False)


def patient_bundle_json(patient_id: int | str, patient_name: str,
                        sessions: Iterable[Mapping[str, Any]],
                        now: datetime | None = None) -> str:
    """:func:`patient_bundle` as compact JSON text, character for character, made one entry at
    a time.

    A year of sessions is about 4,600 resources in 60,000 dicts and lists. Built as one tree,
    they all outlived the young generations of Python's garbage collector, which walked them
    again and again and in most exports started a full collection of the whole process: about
    a third of the export's time, for no garbage. Encoded as it is built, each resource is
    freed at once.

    Examples
    --------
    >>> when = datetime(2026, 1, 1, tzinfo=UTC)
    >>> text = patient_bundle_json(7, "New Patient", [], now=when)
    >>> text == json.dumps(patient_bundle(7, "New Patient", [], now=when), separators=(",", ":"))
    True
    """
    head = _ENCODER.encode(_envelope(patient_id, now))
    entries = ",".join([_ENCODER.encode(_entry(r))
                        for r in _resources(patient_id, patient_name, sessions)])
    return f'{head[:-1]},"entry":[{entries}]}}'
