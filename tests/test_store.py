"""The companion store on real SQLite files: migrations, chunks, documents, outbox, recovery."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import numpy as np
import pytest
import sqlite_utils

from rehablink.results import Rep, SetResult
from wearable.questions import Answers
from wearable.store import CompanionStore, Gap, SampleWriter, SensorInfo, StoreError
from wearable.store.chunks import ChunkError, decode_chunk, encode_chunk
from wearable.store.migrations import MIGRATIONS, Migration, migrate, schema_version


def _samples(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    t = np.arange(n) / 100.0
    acc = rng.uniform(-2, 2, (n, 3))
    gyro = rng.uniform(-500, 500, (n, 3))
    return t, acc, gyro


def test_store_chunk_round_trip_within_resolution() -> None:
    t, acc, gyro = _samples(250)
    t0, blob = encode_chunk(t + 12.5, acc, gyro)
    c = decode_chunk(t0, 250, True, blob)
    assert np.abs(c.t - (t + 12.5)).max() <= 0.5e-6
    assert np.abs(c.acc - acc).max() <= 0.5 / 2048 + 1e-12
    assert c.gyro is not None and np.abs(c.gyro - gyro).max() <= 0.5 / 16 + 1e-12
    # int16 samples compress: well under the 22 bytes/sample of the raw layout
    assert len(blob) < 250 * 22


def test_store_chunk_saturates_instead_of_wrapping() -> None:
    t0, blob = encode_chunk(np.array([0.0]), np.array([[20.0, -20.0, 0.0]]), None)
    c = decode_chunk(t0, 1, False, blob)
    assert c.acc[0, 0] == pytest.approx(32767 / 2048) and c.acc[0, 1] == -16.0


def test_store_corrupt_chunk_is_a_chunk_error() -> None:
    with pytest.raises(ChunkError):
        decode_chunk(0.0, 3, False, b"not zlib")
    _, blob = encode_chunk(np.zeros(3), np.zeros((3, 3)), None)
    with pytest.raises(ChunkError):
        decode_chunk(0.0, 4, False, blob)


def test_store_migrations_are_numbered_recorded_and_idempotent(tmp_path: Path) -> None:
    db = sqlite_utils.Database(tmp_path / "m.db")
    assert migrate(db) == [m.version for m in MIGRATIONS]
    assert migrate(db) == []
    extra = [*MIGRATIONS, Migration(len(MIGRATIONS) + 1, "sync column",
                                    "ALTER TABLE outbox ADD COLUMN etag TEXT")]
    assert migrate(db, extra) == [len(MIGRATIONS) + 1]
    assert schema_version(db) == len(MIGRATIONS) + 1
    assert "etag" in db["outbox"].columns_dict
    # a database from a newer program is refused with advice, not silently used
    with pytest.raises(RuntimeError, match="update RehabLink"):
        migrate(db, MIGRATIONS)
    db.close()


def test_store_failed_migration_leaves_nothing_half_applied(tmp_path: Path) -> None:
    db = sqlite_utils.Database(tmp_path / "m.db")
    migrate(db)
    bad = [*MIGRATIONS, Migration(99, "broken", "CREATE TABLE x (a); CREATE TABLE x (a)")]
    with pytest.raises(sqlite3.OperationalError):
        migrate(db, bad)
    assert "x" not in db.table_names()
    assert schema_version(db) == len(MIGRATIONS)
    db.close()


def _full_session(store: CompanionStore) -> str:
    sid = store.create_session("session", SensorInfo("rehablink", "RehabLink-01", "AA:BB"), 3)
    store.begin_set(sid, 0, "bridge", "pelvis", 10, 5.0)
    writer = SampleWriter(store, sid, 0, flush_interval_s=0.0)
    t, acc, gyro = _samples(300)
    for i in range(0, 300, 25):
        writer.add(t[i:i + 25], acc[i:i + 25], gyro[i:i + 25])
    writer.flush()
    rep = Rep(1.0, 1.5, 6.5, 7.0, 22.0)
    result = SetResult("bridge", "pelvis", 3.0, 100.0, (rep,))
    store.finish_set(sid, 0, result, samples_received=300, samples_lost=2,
                     gaps=[Gap(1.2, 0.02)], reconnects=1)
    store.begin_set(sid, 1, "clamshell", "pelvis", 10, None)
    store.finish_set(sid, 1, None, skipped=True)
    store.finish_session(sid, "completed", Answers(3, ("night_pain",), ()))
    return sid


def test_store_session_document_follows_the_shared_contract(tmp_path: Path) -> None:
    with CompanionStore.open(tmp_path / "c.db") as store:
        sid = _full_session(store)
        doc = store.session_document(sid)
    json.dumps(doc)  # serialisable
    assert doc["id"] == sid and doc["status"] == "completed" and doc["pain"] == 3
    assert doc["sensor"] == {"profile": "rehablink", "name": "RehabLink-01", "has_gyro": True}
    assert doc["red_flags"] == ["night_pain"] and doc["prescription_version"] == 3
    first, second = doc["sets"]
    assert first["exercise"] == "bridge" and first["target_reps"] == 10
    assert first["hold_target_s"] == 5.0 and first["skipped"] is False
    assert SetResult.from_json(first["result"]).rep_count == 1
    assert (first["samples_received"], first["samples_lost"]) == (300, 2)
    assert first["gaps"] == [{"start": 1.2, "duration_s": 0.02}]
    assert second["skipped"] is True and second["result"] is None


def test_store_set_recording_returns_every_sample(tmp_path: Path) -> None:
    with CompanionStore.open(tmp_path / "c.db") as store:
        sid = _full_session(store)
        rec = store.set_recording(sid, 0)
        t, acc, _ = _samples(300)
        assert len(rec) == 300 and rec.gyro is not None
        assert np.abs(rec.t - t).max() < 1e-6 and np.abs(rec.acc - acc).max() < 1e-3
        assert len(store.set_recording(sid, 1)) == 0
        with pytest.raises(StoreError):
            store.set_recording(sid, 7)


def test_store_outbox_pending_until_marked_uploaded(tmp_path: Path) -> None:
    with CompanionStore.open(tmp_path / "c.db") as store:
        recording = store.create_session("record")
        sid = _full_session(store)
        assert store.pending_uploads() == [sid]  # the one still recording is not pending
        store.record_upload_error(sid, "server unreachable")
        assert store.pending_uploads() == [sid]
        store.mark_uploaded(sid, remote_id="r1")
        assert store.pending_uploads() == []
        store.set_state("last_plan_version", "3")
        assert store.get_state("last_plan_version") == "3"
        assert recording in [s["id"] for s in store.sessions()]


def test_store_resolve_session_by_prefix(tmp_path: Path) -> None:
    with CompanionStore.open(tmp_path / "c.db") as store:
        sid = _full_session(store)
        assert store.resolve_session(sid[:8].upper()) == sid
        with pytest.raises(StoreError, match="too short"):
            store.resolve_session("ab")
        with pytest.raises(StoreError, match="no session"):
            store.resolve_session("ffffffff-0000")
        with pytest.raises(StoreError, match="no session"):
            store.resolve_session("%%%%%")


def test_store_session_of_a_dead_process_is_interrupted_on_next_open(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    with CompanionStore.open(path) as store:
        sid = store.create_session("record")
        store.begin_set(sid, 0, "bridge")
        # pretend the writer was another process that has since died
        store.db.execute("UPDATE sessions SET writer_pid = 2147483000 WHERE id = ?", [sid])
        store.db.commit()
    with CompanionStore.open(path) as store:
        assert store.recovered == [sid]
        doc = store.session_document(sid)
        assert doc["status"] == "interrupted" and doc["ended_at"] is not None
        assert store.pending_uploads() == [sid]
    with CompanionStore.open(path) as store:
        assert store.recovered == []


def test_store_rejects_out_of_range_pain(tmp_path: Path) -> None:
    with CompanionStore.open(tmp_path / "c.db") as store:
        sid = store.create_session()
        with pytest.raises(ValueError):
            store.finish_session(sid, "completed", Answers(11, (), ()))
        assert store.session_row(sid)["status"] == "recording"


def test_store_migration_2_keeps_every_row_and_leaves_old_sessions_not_known(
        tmp_path: Path) -> None:
    """A companion database from before the red-flag questions not asked were recorded: its
    sessions, sets, samples, answers and outbox are kept as they were; whether their
    questions were all asked is not known (null in the document, not "all answered"), and a
    session closed after the upgrade says which were not asked."""
    path = tmp_path / "c.db"
    db = sqlite_utils.Database(path)
    migrate(db, MIGRATIONS[:1])
    assert "red_flags_unasked" not in db["sessions"].columns_dict
    db.execute("INSERT INTO sessions (id, kind, started_at, ended_at, updated_at, status, pain) "
               "VALUES ('0a0a0a0a-0000-4000-8000-000000000001', 'session', "
               "'2026-11-20T09:00:00+00:00', '2026-11-20T09:20:00+00:00', "
               "'2026-11-20T09:20:00+00:00', 'completed', 5)")
    db.execute("INSERT INTO sets (session_id, idx, exercise, placement, started_at, skipped) "
               "VALUES ('0a0a0a0a-0000-4000-8000-000000000001', 0, 'bridge', 'pelvis', "
               "'2026-11-20T09:01:00+00:00', 1)")
    db.execute("INSERT INTO red_flags VALUES ('0a0a0a0a-0000-4000-8000-000000000001', "
               "'night_pain')")
    db.execute("INSERT INTO outbox (session_id, queued_at) VALUES "
               "('0a0a0a0a-0000-4000-8000-000000000001', '2026-11-20T09:20:00+00:00')")
    db.conn.commit()
    before = {t: list(db.query(f"SELECT * FROM {t}")) for t in ("sessions", "sets", "red_flags",
                                                               "outbox")}
    db.close()
    with CompanionStore.open(path) as store:
        assert schema_version(store.db) == len(MIGRATIONS)
        after = {t: list(store.db.query(f"SELECT * FROM {t}")) for t in before}
        old = store.session_document("0a0a0a0a-0000-4000-8000-000000000001")
        assert store.pending_uploads() == ["0a0a0a0a-0000-4000-8000-000000000001"]
        new = _full_session(store)
        assert store.session_document(new)["red_flags_unasked"] == []
    assert after["sessions"] == [{**row, "red_flags_unasked": None, "sensor_model": None}
                                 for row in before["sessions"]]
    assert {t: rows for t, rows in after.items() if t != "sessions"} == \
        {t: rows for t, rows in before.items() if t != "sessions"}
    assert (old["pain"], old["red_flags"], old["red_flags_unasked"]) == (5, ["night_pain"], None)


def test_store_migration_3_keeps_every_row_and_the_model_goes_into_the_document(
        tmp_path: Path) -> None:
    """The sensor's model is kept with new sessions and sent to the clinic as sensor.model:
    sessions stored before it keep every value (model unknown), and their session document is
    as it was, without a model."""
    path = tmp_path / "c.db"
    db = sqlite_utils.Database(path)
    migrate(db, MIGRATIONS[:2])
    assert "sensor_model" not in db["sessions"].columns_dict
    old = "0a0a0a0a-0000-4000-8000-000000000002"
    db.execute("INSERT INTO sessions (id, kind, started_at, updated_at, status, sensor_profile, "
               "sensor_name, sensor_address, has_gyro, red_flags_unasked) VALUES (?, 'record', "
               "'2026-11-20T09:00:00+00:00', '2026-11-20T09:20:00+00:00', 'interrupted', "
               "'witmotion', 'WT901BLE01', 'AA:BB', 1, '[]')", [old])
    db.conn.commit()
    before = list(db.query("SELECT * FROM sessions"))
    db.close()
    with CompanionStore.open(path) as store:
        assert schema_version(store.db) == len(MIGRATIONS) == 3
        assert list(store.db.query("SELECT * FROM sessions")) == [
            {**row, "sensor_model": None} for row in before]
        assert store.session_document(old)["sensor"] == {"profile": "witmotion",
                                                         "name": "WT901BLE01", "has_gyro": True}
        new = store.create_session("record", SensorInfo("polar_pmd", "Polar H10 1234", "CC:DD",
                                                        False))
        without_model = store.session_document(new)
        assert without_model["sensor"] == {"profile": "polar_pmd", "name": "Polar H10 1234",
                                           "has_gyro": False}
        store.set_sensor(new, SensorInfo("polar_pmd", "Polar H10 1234", "CC:DD", False,
                                         model="Polar H10"))
        assert store.session_document(new) == {
            **without_model, "sensor": {**without_model["sensor"], "model": "Polar H10"}}
        rows = {r["id"]: r for r in store.sessions()}
    assert (rows[old]["sensor_model"], rows[old]["sensor_profile"]) == (None, "witmotion")


@pytest.mark.parametrize("stored", ["", " ", "M" * 65, "H10\x1b[2J", "H10\n"])
def test_a_stored_model_the_clinic_would_refuse_stays_off_the_document(
        tmp_path: Path, stored: str) -> None:
    """The companion keeps what it read from the air made printable (never one of these), but
    a model the clinic would refuse must never keep a session, with its red flags, from it:
    such a model is left out of the document, as a model not known."""
    with CompanionStore.open(tmp_path / "d.db") as store:
        sid = store.create_session("record", SensorInfo("rehablink", "RL-1", "AA", True))
        plain = store.session_document(sid)
        store.db.execute("UPDATE sessions SET sensor_model = ? WHERE id = ?", [stored, sid])
        assert store.session_document(sid) == plain
