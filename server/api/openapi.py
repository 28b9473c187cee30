"""The OpenAPI 3 description of /api/v1 (hand-written; a test checks it lists every route)."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify

from rehablink.contract import (
    MAX_IGNORED_CHARS,
    MAX_IGNORED_LISTED,
    MAX_MUST_UNDERSTAND,
    MAX_MUST_UNDERSTAND_CHARS,
)
from rehablink.text import MAX_MODEL_CHARS
from server.api import bp
from server.validate import KINDS

_ERROR = {"$ref": "#/components/responses/Error"}
_AUTH: list[dict[str, list[str]]] = [{"device": []}]


def _op(summary: str, responses: dict[str, Any], *, auth: bool = True,
        body: dict[str, Any] | None = None, params: tuple[str, ...] = ()) -> dict[str, Any]:
    op: dict[str, Any] = {"summary": summary, "responses": {
        **responses, "4XX": _ERROR}}
    op["security"] = _AUTH if auth else []
    if body is not None:
        op["requestBody"] = {"required": True, "content": body}
    if params:
        op["parameters"] = [{"$ref": f"#/components/parameters/{p}"} for p in params]
    return op


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


_OBJ = {"type": "object"}


def _clinic(summary: str, body: dict[str, Any] | None = None,
            response: dict[str, Any] = _OBJ) -> dict[str, Any]:
    """A physiotherapist's operation (login session cookie); path ids added below."""
    op = _op(summary, {"200": {"description": "ok", "content": _json(response)}}, body=body)
    op["security"] = [{"physio_session": []}]
    return op


_RED_FLAGS = {"type": "array", "items": {"type": "string"},
              "description": "ids of the red-flag questions answered yes"}
_RED_FLAGS_UNASKED = {
    "type": "array", "items": {"type": "string"}, "nullable": True,
    "description": "ids of the red-flag questions not asked (the patient left the questions, "
                   "or nobody answered them); [] when every one was answered. Absent or null: "
                   "not known (companions that do not record it)"}

_KIND = {
    "type": "string", "enum": list(KINDS), "nullable": True,
    "description": "what made the session: session, a guided session of the plan (it ends with "
                   "the end questions); record, a free recording (one set outside the plan, "
                   "no end questions, so its red-flag questions are all not asked and the "
                   "questions_unanswered alert leaves it out; it counts towards neither "
                   "adherence nor the no_session alert). Absent or null: not known "
                   "(companions that do not send it), read as a guided session"}

_SENSOR = {
    "type": "object", "nullable": True, "additionalProperties": True,
    "description": "the sensor the session streamed from; null when none was connected. Its "
                   "profile, name, address and firmware are printable text (no control "
                   "characters: a terminal escape, a newline, a text-direction override)",
    "required": ["profile", "name", "has_gyro"],
    "properties": {
        "profile": {"type": "string", "maxLength": 128},
        "name": {"type": "string", "maxLength": 128},
        "has_gyro": {"type": "boolean"},
        "address": {"type": "string", "maxLength": 128, "nullable": True},
        "firmware": {"type": "string", "maxLength": 128, "nullable": True},
        "model": {"type": "string", "minLength": 1, "maxLength": MAX_MODEL_CHARS,
                  "nullable": True,
                  "description": "the model the sensor says it is (the Model Number String "
                                 "of its Device Information service): printable characters, "
                                 "no control characters, not only spaces. Absent or null: not "
                                 "known (the sensor does not say, or the companion does not "
                                 "send it)"}}}

_IGNORED = {
    "maxItems": MAX_IGNORED_LISTED,
    "description": "fields of the document this server does not know (a newer companion's), "
                   "ignored and not stored, as sorted paths such as posture, sensor.serial, "
                   f"sets[].tempo_cue (at most {MAX_IGNORED_LISTED} listed, each cut to "
                   f"{MAX_IGNORED_CHARS} characters); [] when every field was known"}
_STORED = _json({"type": "object", "properties": {
    "id": {"type": "string", "format": "uuid"}, "created": {"type": "boolean"},
    "identical": {"type": "boolean"}, "sets": {"type": "array", "items": {"type": "integer"}},
    "ignored_fields": {"type": "array",
                       "items": {"type": "string", "maxLength": MAX_IGNORED_CHARS},
                       **_IGNORED}}})

SPEC: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {"title": "RehabLink sync API", "version": "1",
             "description": "Companions upload sessions and raw samples and download their "
                            "plan. See docs/api.md."},
    "paths": {
        "/api/v1/enroll": {"post": _op(
            "Exchange a one-time enrollment code for a device token",
            {"201": {"description": "enrolled",
                     "content": _json({"$ref": "#/components/schemas/Enrolled"})}},
            auth=False, body=_json({"type": "object", "required": ["code"],
                                    "properties": {"code": {"type": "string"}}}))},
        "/api/v1/prescription": {"get": _op(
            "The plan in effect today",
            {"200": {"description": "plan",
                     "content": _json({"$ref": "#/components/schemas/Plan"})}})},
        "/api/v1/patient-link": {"post": _op(
            "A one-time login link to the patient's own pages",
            {"201": {"description": "link", "content": _json(
                {"type": "object", "properties": {"url": {"type": "string"},
                                                  "expires_in_s": {"type": "integer"}}})}})},
        "/api/v1/sessions": {"post": _op(
            "Upload a session document (idempotent by its id)",
            {"201": {"description": "stored", "content": _STORED},
             "200": {"description": "already stored; nothing changed", "content": _STORED}},
            body=_json({"$ref": "#/components/schemas/Session"}))},
        "/api/v1/sessions/{session_id}": {"get": _op(
            "Whether a session is stored and which sets' samples are complete",
            {"200": {"description": "status", "content": _json(_OBJ)}}, params=("session_id",))},
        "/api/v1/sessions/{session_id}/sets/{index}/samples": {
            "get": _op("Bytes of this set's raw samples received so far",
                       {"200": {"description": "status", "content": _json(
                           {"$ref": "#/components/schemas/SamplesStatus"})}},
                       params=("session_id", "index",)),
            "put": _op("Append a chunk of the set's raw samples (RLS1 binary, Content-Range)",
                       {"200": {"description": "status", "content": _json(
                           {"$ref": "#/components/schemas/SamplesStatus"})}},
                       body={"application/octet-stream": {"schema": {"type": "string",
                                                                     "format": "binary"}}},
                       params=("session_id", "index", "content_range",)),
        },
        "/api/v1/clinic/patients": {"get": _clinic(
            "The physiotherapist's patients, most in need of attention first")},
        "/api/v1/clinic/patients/{patient_id}": {"get": _clinic(
            "One patient's adherence, progression, pain, alerts and sessions",
            response={"type": "object", "properties": {"sessions": {
                "type": "array", "items": {"$ref": "#/components/schemas/SessionSummary"}}}})},
        "/api/v1/clinic/patients/{patient_id}/prescriptions": {
            "get": _clinic("All versions of the patient's plan"),
            "post": _clinic("Save a new plan version (X-CSRFToken header)",
                            body=_json({"type": "object", "properties": {
                                "effective_from": {"type": "string", "format": "date"},
                                "exercises": {"type": "array", "items": _OBJ}}}))},
        "/api/v1/clinic/patients/{patient_id}/red-flags/review": {"post": _clinic(
            "Mark reported red flags as reviewed (X-CSRFToken header)")},
        "/api/v1/openapi.json": {"get": _op("This document",
                                            {"200": {"description": "OpenAPI 3"}}, auth=False)},
    },
    "components": {
        "securitySchemes": {
            "device": {"type": "http", "scheme": "bearer",
                       "description": "device token from /api/v1/enroll"},
            "physio_session": {"type": "apiKey", "in": "cookie", "name": "rehablink_session",
                               "description": "login session from /login"}},
        "parameters": {
            "patient_id": {"name": "patient_id", "in": "path", "required": True,
                           "schema": {"type": "integer"}},
            "session_id": {"name": "session_id", "in": "path", "required": True,
                           "schema": {"type": "string", "format": "uuid"}},
            "index": {"name": "index", "in": "path", "required": True,
                      "schema": {"type": "integer", "minimum": 0}},
            "content_range": {"name": "Content-Range", "in": "header", "required": True,
                              "schema": {"type": "string", "example": "bytes 0-65535/180020"}},
        },
        "responses": {"Error": {"description": "error", "content": _json({
            "type": "object", "required": ["error"], "properties": {"error": {
                "type": "object", "required": ["code", "message"],
                "properties": {"code": {"type": "string"}, "message": {"type": "string"}}}}})}},
        "schemas": {
            "Enrolled": {"type": "object", "properties": {
                "token": {"type": "string"}, "device_id": {"type": "integer"},
                "patient_name": {"type": "string"}}},
            "Plan": {"type": "object", "required": ["version", "effective_from", "exercises"],
                     "properties": {
                         "version": {"type": "integer"},
                         "effective_from": {"type": "string", "format": "date"},
                         "exercises": {"type": "array", "items": {
                             "type": "object", "properties": {
                                 "exercise": {"type": "string"}, "sets": {"type": "integer"},
                                 "reps": {"type": "integer"},
                                 "hold_s": {"type": "number", "nullable": True},
                                 "days_per_week": {"type": "integer"},
                                 "note": {"type": "string"}}}}}},
            "SamplesStatus": {"type": "object", "properties": {
                "received_bytes": {"type": "integer"},
                "total_bytes": {"type": "integer", "nullable": True},
                "complete": {"type": "boolean"}}},
            "Session": {"type": "object", "required": [
                "id", "started_at", "ended_at", "status", "sensor", "sets"],
                "additionalProperties": True,
                "description": "Known fields are checked strictly; other fields (here, in "
                               "sensor, in sets and in gaps) are ignored, not stored, and "
                               "named in the answer's ignored_fields",
                "properties": {
                    "must_understand": {
                        "type": "array", "maxItems": MAX_MUST_UNDERSTAND,
                        "items": {"type": "string", "maxLength": MAX_MUST_UNDERSTAND_CHARS},
                        "description": "paths (as in ignored_fields) of fields the session may "
                                       "not be stored without: one this server does not know "
                                       "is refused with 422 unsupported_field"},
                    "id": {"type": "string", "format": "uuid"},
                    "kind": _KIND,
                    "started_at": {"type": "string", "format": "date-time"},
                    "ended_at": {"type": "string", "format": "date-time"},
                    "status": {"type": "string", "enum": ["completed", "interrupted"]},
                    "sensor": _SENSOR,
                    "pain": {"type": "integer", "minimum": 0, "maximum": 10, "nullable": True},
                    "red_flags": _RED_FLAGS,
                    "red_flags_unasked": _RED_FLAGS_UNASKED,
                    "prescription_version": {"type": "integer", "nullable": True},
                    "sets": {"type": "array", "items": _OBJ}}},
            "SessionSummary": {"type": "object", "properties": {
                "id": {"type": "string", "format": "uuid"}, "kind": _KIND,
                "day": {"type": "string", "format": "date"},
                "started_at": {"type": "string", "format": "date-time"},
                "status": {"type": "string", "enum": ["completed", "interrupted"]},
                "pain": {"type": "integer", "nullable": True},
                "red_flags": _RED_FLAGS, "red_flags_unasked": _RED_FLAGS_UNASKED,
                "sets": {"type": "integer"}, "reps": {"type": "integer"}}},
        },
    },
}


for _path, _ops in SPEC["paths"].items():
    if "{patient_id}" in _path:
        for _operation in _ops.values():
            _operation["parameters"] = [{"$ref": "#/components/parameters/patient_id"}]


@bp.get("/openapi.json")
def openapi() -> Response:
    """The OpenAPI document of this API."""
    return jsonify(SPEC)
