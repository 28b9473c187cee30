"""The FHIR export of a seeded year, as the clinic route builds it: content locked in.

The digest below is golden output, not ground truth: it locks in the export, byte for byte, so
that any change to its content fails here. A change meant to alter the content records the new
digest with the reason.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle

from dashboards import queries
from dashboards.fhir import patient_bundle, patient_bundle_json
from server.db import open_database
from server.seed import seed

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
#: Seed 7, three patients, a year to 20 Nov 2026: patient 3 ("Tom Kumar") has 351 sessions
#: and 2,106 sets (the last 28 days with every rep). Its export, 7,195,613 bytes of JSON: the
#: Patient, one Device (every seeded session has the same sensor, without a model) and 7,182
#: Observations: each session's pain and red-flag screen (every question answered no) and the
#: Observations of its sets, each of those naming the Device.
YEAR_PATIENT = 3
YEAR_DIGEST = "06d12826651cee6a0acab196b026b5660daca0158426c09dd3a6210602f5a412"


@pytest.fixture(scope="module")
def year() -> dict[str, Any]:
    db = open_database(":memory:")
    seed(db, patients=3, days=365, physios=1, password_hash="not a hash",
         today=date(2026, 11, 20), random_seed=7)
    name = next(db.query("SELECT name FROM patients WHERE id = ?", [YEAR_PATIENT]))["name"]
    sessions = list(queries.session_documents(db, YEAR_PATIENT))
    db.close()
    return {"name": name, "sessions": sessions}


def export_text(year: dict[str, Any]) -> str:
    return patient_bundle_json(YEAR_PATIENT, year["name"], iter(year["sessions"]), now=NOW)


def test_year_export_is_unchanged(year):
    text = export_text(year)
    assert len(year["sessions"]) == 351
    assert hashlib.sha256(text.encode()).hexdigest() == YEAR_DIGEST


def test_year_export_text_is_the_bundle(year):
    """The download and the dict the unit tests look at are the same Bundle, byte for byte."""
    bundle = patient_bundle(YEAR_PATIENT, year["name"], year["sessions"], now=NOW)
    assert export_text(year) == json.dumps(bundle, separators=(",", ":"))


def test_year_export_validates_as_fhir_r4(year):
    bundle = Bundle.model_validate_json(export_text(year))
    kinds = [e.resource.get_resource_type() for e in bundle.entry]
    assert kinds[:2] == ["Patient", "Device"] and set(kinds[2:]) == {"Observation"}
