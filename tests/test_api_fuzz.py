"""Hostile input never gets a 500 and never leaves a half-written session: random JSON,
random mutations of a valid document, random bytes as raw samples."""

from __future__ import annotations

import copy
import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import session_document


def _json_values(infinity: bool) -> st.SearchStrategy[Any]:
    """Values of JSON documents; with ``infinity``, floats may be infinite (written as the
    non-standard token, which the API refuses as malformed wherever it is)."""
    return st.recursive(
        st.none() | st.booleans() | st.integers(-10**12, 10**12)
        | st.floats(allow_nan=False, allow_infinity=infinity) | st.text(max_size=20),
        lambda children: st.lists(children, max_size=5)
        | st.dictionaries(st.text(max_size=10), children, max_size=5),
        max_leaves=30)


JSON = _json_values(infinity=True)
STRICT_JSON = _json_values(infinity=False)

SETTINGS = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


def _paths(doc: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix] if prefix else []
    if isinstance(doc, dict):
        for key, value in doc.items():
            out += _paths(value, (*prefix, key))
    elif isinstance(doc, list):
        for i, value in enumerate(doc):
            out += _paths(value, (*prefix, i))
    return out


VALID = session_document()
PATHS = _paths(VALID)


def _counts(db: Any) -> tuple[int, int]:
    row = next(db.query("SELECT (SELECT count(*) FROM sessions) AS a, "
                        "(SELECT count(*) FROM session_sets) AS b"))
    return row["a"], row["b"]


@SETTINGS
@given(body=JSON)
def test_random_json_is_refused_cleanly(client: Any, auth: Any, db: Any, body: Any) -> None:
    headers = _device(auth)
    response = client.post("/api/v1/sessions", data=json.dumps(body), headers=headers,
                           content_type="application/json")
    assert 400 <= response.status_code < 500
    assert set(response.get_json()["error"]) >= {"code", "message"}
    assert _counts(db) == (0, 0)


@SETTINGS
@given(path=st.sampled_from(PATHS), value=JSON)
def test_mutated_documents_are_all_or_nothing(client: Any, auth: Any, db: Any,
                                              path: tuple[Any, ...], value: Any) -> None:
    headers = _device(auth)
    doc = copy.deepcopy(VALID)
    import uuid

    doc["id"] = str(uuid.uuid4())
    target: Any = doc
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    before = _counts(db)
    response = client.post("/api/v1/sessions", data=json.dumps(doc), headers=headers,
                           content_type="application/json")
    assert response.status_code < 500, response.get_json()
    sessions, sets = _counts(db)
    if response.status_code == 201:
        assert sessions == before[0] + 1 and sets == before[1] + len(doc["sets"])
    else:
        assert 400 <= response.status_code < 500 and (sessions, sets) == before


#: Where a newer companion may add fields: the document, its sensor, a set (path as named in
#: ``ignored_fields``, keys to reach it).
PLACES = {"": (), "sensor.": ("sensor",), "sets[].": ("sets", 1)}


@SETTINGS
@given(place=st.sampled_from(sorted(PLACES)),
       extra=st.dictionaries(st.text(min_size=1, max_size=12), STRICT_JSON, min_size=1,
                             max_size=4))
def test_unknown_fields_anywhere_are_ignored_and_the_known_ones_kept(
        client: Any, auth: Any, db: Any, place: str, extra: dict[str, Any]) -> None:
    """Whatever fields and values a newer companion adds, the session is stored as it would
    be without them (never a 4xx or 500 for them), and the answer names those it ignored."""
    from server.validate import KNOWN_FIELDS

    extra = {k: v for k, v in extra.items() if place + k not in KNOWN_FIELDS}
    headers = _device(auth)
    doc = copy.deepcopy(VALID)
    import uuid

    doc["id"] = str(uuid.uuid4())
    target: Any = doc
    for key in PLACES[place]:
        target = target[key]
    target.update(extra)
    response = client.post("/api/v1/sessions", data=json.dumps(doc), headers=headers,
                           content_type="application/json")
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["ignored_fields"] == sorted(place + k for k in extra)
    stored = next(db.query("SELECT pain, red_flags, sensor, kind FROM sessions WHERE id = ?",
                           [doc["id"]]))
    assert stored == {"pain": VALID["pain"], "red_flags": json.dumps(VALID["red_flags"]),
                      "sensor": json.dumps(VALID["sensor"], sort_keys=True),
                      "kind": VALID["kind"]}
    reps = [r["rep_count"] for r in db.query(
        "SELECT rep_count FROM session_sets WHERE session_id = ? ORDER BY set_index",
        [doc["id"]])]
    assert reps == [s["result"]["rep_count"] for s in VALID["sets"]]


@SETTINGS
@given(data=st.binary(max_size=400), total_extra=st.integers(0, 64))
def test_random_sample_bytes_are_refused_cleanly(client: Any, auth: Any, db: Any,
                                                 data: bytes, total_extra: int) -> None:
    headers = _device(auth)
    doc = session_document()
    client.post("/api/v1/sessions", json=doc, headers=headers)
    if not data:
        return
    total = len(data) + total_extra
    response = client.put(
        f"/api/v1/sessions/{doc['id']}/sets/0/samples", data=data,
        headers={**headers, "Content-Range": f"bytes 0-{len(data) - 1}/{total}"},
        content_type="application/octet-stream")
    assert 400 <= response.status_code < 500
    assert next(db.query("SELECT count(*) AS n FROM sample_uploads WHERE completed_at "
                         "IS NOT NULL"))["n"] == 0


_DEVICE: dict[int, dict[str, str]] = {}


def _device(auth: Any) -> dict[str, str]:
    """One enrolled device per test database (hypothesis reuses the function's fixtures)."""
    key = id(auth)
    if key not in _DEVICE:
        _DEVICE.clear()
        _DEVICE[key] = auth.device(auth.create_physio())[1]
    return _DEVICE[key]
