"""Hostile input never gets a 500 and never leaves a half-written session: random JSON,
random mutations of a valid document, random bytes as raw samples."""

from __future__ import annotations

import copy
import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import session_document

JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-10**12, 10**12) | st.floats(allow_nan=False)
    | st.text(max_size=20),
    lambda children: st.lists(children, max_size=5)
    | st.dictionaries(st.text(max_size=10), children, max_size=5),
    max_leaves=30)

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
