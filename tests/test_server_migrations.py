"""Numbered migrations: applied once each, in their own transaction, and the data backfill of
the stored done flags."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from server.db import connect, open_database
from server.migrations import MIGRATIONS, Migration, applied, migrate


def test_fresh_database_gets_every_migration_once(tmp_path: Path) -> None:
    db = connect(tmp_path / "a.db")
    assert migrate(db) == [m.number for m in MIGRATIONS]
    assert migrate(db) == []
    assert applied(db) == {m.number for m in MIGRATIONS}
    assert db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    db.close()
    assert open_database(tmp_path / "a.db").execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_failing_migration_leaves_nothing_behind(tmp_path: Path) -> None:
    db = connect(tmp_path / "b.db")
    broken = (*MIGRATIONS, Migration(99, "broken", (
        "CREATE TABLE half (x INTEGER)", "INSERT INTO no_such_table VALUES (1)")))
    with pytest.raises(Exception, match="no_such_table"):
        migrate(db, broken)
    assert 99 not in applied(db)
    assert "half" not in db.table_names()
    db.close()


def test_done_flags_are_backfilled(tmp_path: Path) -> None:
    """A database from before migration 6 gets the flags the analytics rule gives."""
    db = connect(tmp_path / "c.db")
    migrate(db, MIGRATIONS[:5])
    db.execute("INSERT INTO physios VALUES (1, 'a@b.example', 'A', 'x', '2026-01-01', NULL)")
    db.execute("INSERT INTO patients VALUES (1, 1, 'P', '2026-01-01', NULL, NULL)")
    db.execute("INSERT INTO prescriptions VALUES (1, 1, 1, '2026-01-01', '2026-01-01', 1)")
    db.execute("INSERT INTO prescription_items VALUES (1, 0, 'bridge', 2, 10, 5.0, 7, '')")
    db.execute("INSERT INTO sessions (id, patient_id, day, started_at, ended_at, status, "
               "sensor, received_at, document_sha256) VALUES ('s', 1, '2026-02-01', "
               "'2026-02-01T09:00:00+00:00', '2026-02-01T09:10:00+00:00', 'completed', '{}', "
               "'2026-02-01T10:00:00+00:00', 'x')")
    # reps/hold of each set, and whether the rule (>= 8 reps, median hold >= 4 s) is met
    cases = [(10, 5.0, 1), (8, 4.0, 1), (7, 5.0, 0), (10, 3.9, 0), (10, None, 0)]
    for index, (reps, hold, _) in enumerate(cases):
        db.execute("INSERT INTO session_sets (session_id, set_index, patient_id, day, exercise, "
                   "placement, started_at, skipped, rep_count, partial_count, duration_s, "
                   "median_hold_s, rotating_reps, samples_received, samples_lost, result) "
                   "VALUES ('s', ?, 1, '2026-02-01', 'bridge', 'pelvis', "
                   "'2026-02-01T09:00:00+00:00', 0, ?, 0, 60, ?, 0, 0, 0, ?)",
                   [index, reps, hold, json.dumps(None)])
    assert migrate(db)[0] == 6
    flags = [r[0] for r in db.execute("SELECT done FROM session_sets ORDER BY set_index")]
    assert flags == [c[2] for c in cases]
    db.close()


def test_red_flags_not_asked_column_keeps_every_session(tmp_path: Path) -> None:
    """A database from before migration 8: its sessions, sets and red flags are kept as they
    were; whether their red-flag questions were all asked is not known (NULL, never "all
    answered"), and the reports read them."""
    from server import reports

    path = tmp_path / "d.db"
    db = connect(path)
    migrate(db, MIGRATIONS[:7])
    db.execute("INSERT INTO physios VALUES (1, 'a@b.example', 'A', 'x', '2026-01-01', NULL)")
    db.execute("INSERT INTO patients VALUES (1, 1, 'P', '2026-01-01', NULL, NULL)")
    for sid, flags in (("s1", "[]"), ("s2", '["trauma"]')):
        db.execute("INSERT INTO sessions (id, patient_id, day, started_at, ended_at, status, "
                   "pain, red_flags, sensor, received_at, document_sha256) VALUES (?, 1, "
                   "'2026-02-01', '2026-02-01T09:00:00+00:00', '2026-02-01T09:10:00+00:00', "
                   "'completed', 4, ?, '{}', '2026-02-01T10:00:00+00:00', 'x')", [sid, flags])
        db.execute("INSERT INTO session_sets (session_id, set_index, patient_id, day, exercise, "
                   "placement, started_at, skipped, rep_count, partial_count, duration_s, "
                   "rotating_reps, samples_received, samples_lost, result) VALUES (?, 0, 1, "
                   "'2026-02-01', 'bridge', 'pelvis', '2026-02-01T09:00:00+00:00', 0, 8, 0, 60, "
                   "0, 0, 0, 'null')", [sid])
    before = {t: list(db.query(f"SELECT * FROM {t} ORDER BY rowid"))
              for t in ("sessions", "session_sets", "patients")}
    db.close()
    db = open_database(path)  # migrates, as the server does on start
    assert 8 in applied(db)
    after = {t: list(db.query(f"SELECT * FROM {t} ORDER BY rowid")) for t in before}
    assert after["sessions"] == [{**r, "red_flags_unasked": None, "kind": None}
                                 for r in before["sessions"]]
    assert (after["session_sets"], after["patients"]) == \
        (before["session_sets"], before["patients"])
    patient = next(db.query("SELECT * FROM patients WHERE id = 1"))
    overview = reports.patient_overview(db, patient, today=date(2026, 2, 2))
    assert sorted((s["id"], s["red_flags"], s["red_flags_unasked"])
                  for s in overview.sessions) == [("s1", [], None), ("s2", ["trauma"], None)]
    assert [a.kind for a in overview.alerts] == ["red_flag"]
    db.close()


def test_session_kind_column_keeps_every_session(tmp_path: Path) -> None:
    """A database from before migration 9: its sessions and sets are kept as they were; what
    made each session is not known (NULL), and such sessions are read as guided sessions, so
    three whose red-flag questions were not asked still raise the alert."""
    from server import reports

    path = tmp_path / "d.db"
    db = connect(path)
    migrate(db, MIGRATIONS[:8])
    db.execute("INSERT INTO physios VALUES (1, 'a@b.example', 'A', 'x', '2026-01-01', NULL)")
    db.execute("INSERT INTO patients VALUES (1, 1, 'P', '2026-01-01', NULL, NULL)")
    for k in (1, 2, 3):
        db.execute("INSERT INTO sessions (id, patient_id, day, started_at, ended_at, status, "
                   "pain, red_flags, sensor, received_at, document_sha256, red_flags_unasked) "
                   "VALUES (?, 1, ?, ?, ?, 'completed', NULL, '[]', '{}', ?, 'x', '[\"trauma\"]')",
                   [f"s{k}", f"2026-02-0{k}", f"2026-02-0{k}T09:00:00+00:00",
                    f"2026-02-0{k}T09:10:00+00:00", f"2026-02-0{k}T10:00:00+00:00"])
    before = list(db.query("SELECT * FROM sessions ORDER BY rowid"))
    db.close()
    db = open_database(path)  # migrates, as the server does on start
    assert 9 in applied(db)
    assert list(db.query("SELECT * FROM sessions ORDER BY rowid")) == \
        [{**r, "kind": None} for r in before]
    patient = next(db.query("SELECT * FROM patients WHERE id = 1"))
    overview = reports.patient_overview(db, patient, today=date(2026, 2, 4))
    assert [(s["id"], s["kind"]) for s in overview.sessions] == \
        [("s3", None), ("s2", None), ("s1", None)]
    assert [a.kind for a in overview.alerts] == ["questions_unanswered"]
    db.close()


def test_free_recordings_stored_before_migration_10_stop_counting_as_done(
        tmp_path: Path) -> None:
    """Sets of free recordings uploaded before migration 10 had their done flag computed as
    for any set, so they counted towards adherence. The migration clears those flags and only
    those: guided sessions and sessions of unknown kind keep theirs, and every other column
    and row is kept as it was."""
    from server import reports

    path = tmp_path / "e.db"
    db = connect(path)
    migrate(db, MIGRATIONS[:9])
    db.execute("INSERT INTO physios VALUES (1, 'a@b.example', 'A', 'x', '2026-01-01', NULL)")
    db.execute("INSERT INTO patients VALUES (1, 1, 'P', '2026-01-01', NULL, NULL)")
    db.execute("INSERT INTO prescriptions VALUES (1, 1, 1, '2026-02-01', '2026-01-01', 1)")
    db.execute("INSERT INTO prescription_items VALUES (1, 0, 'bridge', 1, 10, NULL, 7, '')")
    sessions = (("guided", "session", "2026-02-01"), ("unknown", None, "2026-02-02"),
                ("recording", "record", "2026-02-03"))
    for sid, kind, day in sessions:
        db.execute("INSERT INTO sessions (id, patient_id, day, started_at, ended_at, status, "
                   "red_flags, sensor, received_at, document_sha256, kind) VALUES (?, 1, ?, ?, "
                   "?, 'completed', '[]', '{}', ?, 'x', ?)",
                   [sid, day, f"{day}T09:00:00+00:00", f"{day}T09:10:00+00:00",
                    f"{day}T10:00:00+00:00", kind])
        db.execute("INSERT INTO session_sets (session_id, set_index, patient_id, day, exercise, "
                   "placement, started_at, skipped, rep_count, partial_count, duration_s, "
                   "rotating_reps, samples_received, samples_lost, result, done) VALUES (?, 0, "
                   "1, ?, 'bridge', 'pelvis', ?, 0, 10, 0, 60, 0, 0, 0, 'null', 1)",
                   [sid, day, f"{day}T09:00:00+00:00"])
    before = {t: list(db.query(f"SELECT * FROM {t} ORDER BY rowid"))
              for t in ("sessions", "session_sets")}
    db.close()
    db = open_database(path)  # migrates, as the server does on start
    assert 10 in applied(db)
    after = {t: list(db.query(f"SELECT * FROM {t} ORDER BY rowid")) for t in before}
    assert after["sessions"] == before["sessions"]
    assert after["session_sets"] == [{**r, "done": 0 if r["session_id"] == "recording" else 1}
                                     for r in before["session_sets"]]
    # the patient list counts the stored flags; the patient page recomputes them: both agree
    today = date(2026, 2, 7)
    (row,) = reports.patient_list(db, 1, today=today)
    overview = reports.patient_overview(db, next(db.query("SELECT * FROM patients")), today)
    assert row.adherence_7d.done_sets == overview.adherence_7d.done_sets == 2
    assert row.last_session == overview.last_session == date(2026, 2, 2)
    assert [a.message for a in overview.alerts] == ["No session for 5 days"]
    db.close()


def test_sessions_stored_before_the_sensor_model_need_no_migration(tmp_path: Path) -> None:
    """The sensor's model is stored in the session's sensor JSON, as its address and firmware
    are, so no migration comes with it: a database of sessions stored before (sensor JSON
    without a model) opens unchanged, its sessions read as from a sensor whose model is not
    known on the session page and in the FHIR export, and a session uploaded with a model is
    stored beside them."""
    from fhir.resources.R4B.bundle import Bundle

    from dashboards import queries
    from dashboards.fhir import patient_bundle
    from dashboards.figures import sensor_words
    from server.ingest import store_session
    from server.validate import session_document
    from tests.conftest import session_document as upload

    path = tmp_path / "f.db"
    db = connect(path)
    migrate(db)
    db.execute("INSERT INTO physios VALUES (1, 'a@b.example', 'A', 'x', '2026-01-01', NULL)")
    db.execute("INSERT INTO patients VALUES (1, 1, 'P', '2026-01-01', NULL, NULL)")
    old = upload("2026-02-01")  # a companion that did not send a model, or a server before it
    store_session(db, session_document(old), 1, None, "x")
    before = list(db.query("SELECT * FROM sessions"))
    assert [r["sensor"] for r in before] == [  # as servers stored a sensor before the model
        '{"has_gyro": true, "name": "RehabLink-1A2B", "profile": "rehablink"}']
    db.close()
    db = open_database(path)  # as the server does on start
    assert migrate(db) == [] and list(db.query("SELECT * FROM sessions")) == before
    new = upload("2026-02-02")
    new["sensor"]["model"] = "XIAO nRF52840 Sense"
    store_session(db, session_document(new), 1, None, "y")
    old_view = queries.session_detail(db, 1, old["id"])
    assert old_view is not None and sensor_words(old_view.sensor) == "RehabLink-1A2B"
    new_view = queries.session_detail(db, 1, new["id"])
    assert new_view is not None
    assert sensor_words(new_view.sensor) == "RehabLink-1A2B (model XIAO nRF52840 Sense)"
    bundle = patient_bundle(1, "P", queries.session_documents(db, 1))
    Bundle.model_validate(bundle)
    assert [r.get("modelNumber") for r in (e["resource"] for e in bundle["entry"])
            if r["resourceType"] == "Device"] == [None, "XIAO nRF52840 Sense"]
    db.close()
