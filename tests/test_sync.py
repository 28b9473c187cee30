"""The companion's sync client against a real ``rehab serve`` process on 127.0.0.1."""

from __future__ import annotations

import json
import os
import signal
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

from rehablink.cli import cli
from rehablink.rawsamples import decode, encode
from rehablink.results import Rep, SetResult
from wearable.questions import Answers
from wearable.store import CompanionStore, SensorInfo
from wearable.sync.backoff import backoff_delay

ROOT = Path(__file__).resolve().parent.parent
REHAB = str(ROOT / ".venv" / "bin" / "rehab")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    url: str
    db_path: Path
    process: subprocess.Popen[bytes]

    def db(self) -> Any:
        from server.db import connect

        return connect(self.db_path)

    def add_patient(self, name: str = "Pat Patient") -> tuple[int, str]:
        from server.accounts import add_patient

        db = self.db()
        try:
            return add_patient(db, 1, name)
        finally:
            db.close()


def start_server(tmp: Path, threads: int = 8, **settings: str) -> Server:
    """``rehab serve`` on a free port with a fresh database and one physiotherapist."""
    from server.accounts import create_physio
    from server.db import open_database

    db_path = tmp / "server.db"
    db = open_database(db_path)
    create_physio(db, "ana@clinic.example", "Ana Physio", "correct horse battery")
    db.close()
    port = free_port()
    env = {**os.environ, "REHAB_SERVER_INSTANCE": str(tmp / "instance"),
           **{f"REHAB_SERVER_{key}": value for key, value in settings.items()}}
    process = subprocess.Popen(
        [REHAB, "serve", "--port", str(port), "--db", str(db_path), "--threads", str(threads)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return Server(url, db_path, process)
        except OSError:
            if process.poll() is not None:
                raise RuntimeError(process.stderr.read().decode() if process.stderr else "") \
                    from None
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("server did not start")


def stop_server(server: Server) -> None:
    server.process.send_signal(signal.SIGTERM)
    try:
        server.process.wait(10)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()
    if server.process.stderr:
        server.process.stderr.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = start_server(tmp_path_factory.mktemp("server"))
    yield running
    stop_server(running)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "home"
    path.mkdir()
    monkeypatch.setenv("REHAB_HOME", str(path))
    return path


def record_session(home: Path, n_samples: int = 500, reps: int = 8, sets: int = 2,
                   pain: int | None = 3, red_flags: tuple[str, ...] = (),
                   model: str | None = None) -> str:
    """A finished session in the companion store, with raw samples for each set (``model``:
    what the sensor said it is)."""
    rng = np.random.default_rng(n_samples)
    with CompanionStore.open(home / "companion.db") as store:
        sid = store.create_session(sensor=SensorInfo("rehablink", "RehabLink-1A2B",
                                                     model=model),
                                   prescription_version=1)
        for index in range(sets):
            store.begin_set(sid, index, "bridge", target_reps=10, hold_target_s=5.0)
            t = np.arange(n_samples) / 50.0
            acc, gyro = rng.normal(0, 0.5, (n_samples, 3)), rng.normal(0, 20, (n_samples, 3))
            for start in range(0, n_samples, 10_000):  # chunks as the SampleWriter commits
                part = slice(start, start + 10_000)
                store.add_chunk(sid, index, t[part], acc[part], gyro[part])
            result = SetResult("bridge", "pelvis", float(t[-1]), 50.0, tuple(
                Rep(1.0 + 9 * i, 2.5 + 9 * i, 7.5 + 9 * i, 9.5 + 9 * i, 22.0,
                    stability_deg=1.0) for i in range(reps)))
            store.finish_set(sid, index, result, samples_received=n_samples)
        store.finish_session(sid, "completed", Answers(pain, red_flags, ()))
    return sid


def rehab(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def enroll(server: Server, home: Path, name: str = "Pat Patient") -> int:
    patient_id, code = server.add_patient(name)
    result = rehab("enroll", code, "--server", server.url)
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"enrolled for {name} with {server.url}")
    return patient_id


def test_backoff_doubles_up_to_a_cap() -> None:
    assert [backoff_delay(n, jitter=0) for n in range(0, 5)] == [0.0, 1.0, 2.0, 4.0, 8.0]
    assert backoff_delay(30, jitter=0) == 300.0
    spread = {round(backoff_delay(3), 6) for _ in range(50)}
    assert len(spread) > 1 and all(3.6 <= d <= 4.4 for d in spread)


def test_enroll_stores_a_private_device_file(server: Server, home: Path) -> None:
    enroll(server, home)
    path = home / "device.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    data = json.loads(path.read_text())
    assert data["server"] == server.url and len(data["token"]) >= 43


def test_enroll_with_a_wrong_code_is_a_clean_error(server: Server, home: Path) -> None:
    result = CliRunner().invoke(cli, ["enroll", "AAAA-BBBB-CCCC", "--server", server.url])
    assert result.exit_code == 2
    assert result.output.startswith("error: enrollment refused: enrollment code unknown")
    assert not (home / "device.json").exists()


def test_enroll_refuses_plain_http_to_another_machine(home: Path) -> None:
    result = CliRunner().invoke(cli, ["enroll", "X", "--server", "http://clinic.example"])
    assert result.exit_code == 2 and "use https://" in result.output


def test_sync_without_enrollment(home: Path) -> None:
    result = CliRunner().invoke(cli, ["sync"])
    assert result.exit_code == 2 and "rehab enroll" in result.output


def test_sync_uploads_sessions_samples_and_downloads_the_plan(server: Server,
                                                              home: Path) -> None:
    from server.prescriptions import Item, prescribe

    patient_id = enroll(server, home)
    db = server.db()
    prescribe(db, patient_id, [Item("bridge", 2, 10, 5.0, 5, "Slow lowering")], date.today(),
              "physio:1", 1)
    first, second = record_session(home), record_session(home, n_samples=700)
    result = rehab("sync")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "uploaded 2 sessions"
    assert lines[1].startswith("uploaded raw samples of 4 sets (")
    assert lines[2].startswith("plan version 1 (from ") and lines[2].endswith("plan.json")
    plan = json.loads((home / "plan.json").read_text())
    assert plan["exercises"] == [{"exercise": "bridge", "sets": 2, "reps": 10, "hold_s": 5.0,
                                  "days_per_week": 5, "note": "Slow lowering"}]
    stored = {r["id"] for r in db.query("SELECT id FROM sessions WHERE patient_id = ?",
                                        [patient_id])}
    assert stored == {first, second}
    # The server has exactly the samples the companion recorded.
    with CompanionStore.open(home / "companion.db") as store:
        local = encode(store.set_recording(second, 1))
        assert store.pending_uploads() == []
    remote = next(db.query("SELECT data FROM sample_uploads WHERE session_id = ? AND "
                           "set_index = 1", [second]))["data"]
    assert bytes(remote) == local and len(decode(local)) == 700
    again = rehab("sync")
    assert again.output.splitlines()[0] == "nothing to upload"
    assert next(db.query("SELECT count(*) AS n FROM sessions WHERE patient_id = ?",
                         [patient_id]))["n"] == 2
    db.close()


def test_offline_sync_keeps_everything_and_backs_off(home: Path) -> None:
    from wearable.sync import device

    device.save(device.DeviceConfig(f"http://127.0.0.1:{free_port()}", "t" * 43), home)
    sid = record_session(home, sets=1)
    result = CliRunner().invoke(cli, ["sync", "--retries", "0"])
    assert result.exit_code == 1
    assert "offline: cannot reach" in result.output
    assert "1 session wait in the outbox" in result.output
    with CompanionStore.open(home / "companion.db") as store:
        assert store.pending_uploads() == [sid]
        assert store.get_state("sync_failures") == "1"
        assert store.get_state("sync_next_attempt_at") is not None


def test_revoked_device_is_told_to_enroll_again(server: Server, home: Path) -> None:
    from server.accounts import revoke_device

    enroll(server, home)
    device_id = json.loads((home / "device.json").read_text())["device_id"]
    db = server.db()
    revoke_device(db, device_id, "admin")
    db.close()
    record_session(home, sets=1)
    result = CliRunner().invoke(cli, ["sync"])
    assert result.exit_code == 1
    assert "no longer accepts this device" in result.output and "rehab enroll" in result.output
    with CompanionStore.open(home / "companion.db") as store:
        assert len(store.pending_uploads()) == 1  # nothing lost


def test_portal_link(server: Server, home: Path) -> None:
    enroll(server, home)
    result = rehab("portal")
    assert result.exit_code == 0
    assert result.output.splitlines()[1].startswith(f"{server.url}/patient/login/")


@pytest.mark.slow
def test_killed_mid_upload_then_resumed(server: Server, home: Path) -> None:
    """A sync process killed (SIGKILL) while raw samples are on the wire: the next sync
    finishes the upload from where the server stopped, and the session is stored once."""
    patient_id = enroll(server, home)
    sid = record_session(home, n_samples=400_000, sets=1)  # ~11 MB of samples
    env = {**os.environ, "REHAB_HOME": str(home)}
    child = subprocess.Popen([sys.executable, "-m", "wearable.sync.background"], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    db = server.db()
    received = 0
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and received == 0:
        rows = list(db.query("SELECT received_bytes FROM sample_uploads WHERE session_id = ?",
                             [sid]))
        received = rows[0]["received_bytes"] if rows else 0
        time.sleep(0.005)
    child.kill()
    child.wait()
    row = next(db.query("SELECT received_bytes, total_bytes, completed_at FROM sample_uploads "
                        "WHERE session_id = ?", [sid]))
    assert row["completed_at"] is None and 0 < row["received_bytes"] < row["total_bytes"]
    with CompanionStore.open(home / "companion.db") as store:
        assert store.pending_uploads() == [sid]
    result = rehab("sync")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == "uploaded 1 session (1 were already on the server)"
    row = next(db.query("SELECT data, completed_at FROM sample_uploads WHERE session_id = ?",
                        [sid]))
    with CompanionStore.open(home / "companion.db") as store:
        assert bytes(row["data"]) == encode(store.set_recording(sid, 0))
        assert store.pending_uploads() == []
    assert next(db.query("SELECT count(*) AS n FROM sessions WHERE patient_id = ?",
                         [patient_id]))["n"] == 1
    db.close()


def test_background_sync_after_a_session(server: Server, home: Path) -> None:
    from wearable.sync.background import sync_in_background

    patient_id = enroll(server, home)
    sid = record_session(home, sets=1)
    process = sync_in_background(home)
    assert process is not None
    assert process.wait(60) == 0
    assert "sync: uploaded 1 session" in (home / "sync.log").read_text()
    db = server.db()
    assert [r["id"] for r in db.query("SELECT id FROM sessions WHERE patient_id = ?",
                                      [patient_id])] == [sid]
    db.close()


@pytest.mark.slow
def test_a_guided_session_reaches_the_server_by_itself(server: Server, home: Path,
                                                       tmp_path: Path) -> None:
    """``rehab session`` on an enrolled companion starts the background sync when it ends: the
    physiotherapist sees the session without anyone running ``rehab sync``."""
    import json
    import time

    from rehablink.simulator import SetSpec, simulate

    patient_id = enroll(server, home)
    recording, truth = simulate(SetSpec("bridge", n_reps=3, rate_hz=50.0), seed=4)
    csv_path = tmp_path / "bridge.csv"
    recording.write_csv(csv_path)
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps({"version": 1, "exercises": [
        {"exercise": "bridge", "sets": 1, "reps": 3, "hold_s": 2.0}]}))
    result = CliRunner().invoke(cli, [
        "session", "--plan", str(plan), "--transport", f"sim:{csv_path}", "--sim-speed", "10",
        "--scan-timeout", "0.5", "--headless", "--no-wait", "--answers", "pain=2,flags=none"])
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout.splitlines()[-1])["document"]
    assert document["sets"][0]["result"]["rep_count"] == truth.rep_count
    sid = document["id"]
    deadline = time.monotonic() + 60
    rows: list[Any] = []
    while time.monotonic() < deadline:
        db = server.db()
        rows = list(db.query("SELECT id FROM sessions WHERE patient_id = ?", [patient_id]))
        db.close()
        if rows:
            break
        time.sleep(0.2)
    assert [r["id"] for r in rows] == [sid]


def test_background_sync_waits_for_its_backoff(home: Path) -> None:
    from wearable.sync import device
    from wearable.sync.runner import sync

    device.save(device.DeviceConfig(f"http://127.0.0.1:{free_port()}", "t" * 43), home)
    record_session(home, sets=1)
    report = sync(home, retries=0)
    assert report is not None and not report.ok
    assert sync(home, background=True, retries=0) is None  # not due yet: nothing tried


@pytest.mark.slow
def test_fifty_companions_upload_at_once(tmp_path: Path) -> None:
    """50 concurrent companions, each with its own token, upload 4 sessions and the raw
    samples of one set each: every session arrives once, no request fails."""
    import threading

    from wearable.sync.api_client import ApiClient
    from wearable.sync.outbox import upload_samples

    server = start_server(tmp_path, threads=8)
    try:
        codes = [server.add_patient(f"Patient {i}")[1] for i in range(50)]
        tokens = [ApiClient(server.url).request("POST", "/api/v1/enroll",
                                                json_body={"code": c}).body["token"]
                  for c in codes]
        rng = np.random.default_rng(3)
        from rehablink.recording import Recording

        blob = encode(Recording(np.arange(3000) / 50.0, rng.normal(0, 1, (3000, 3)),
                                rng.normal(0, 9, (3000, 3))))
        errors: list[BaseException] = []
        sent: list[str] = []
        lock = threading.Lock()

        def companion(k: int, token: str) -> None:
            from tests.conftest import session_document

            client = ApiClient(server.url, token)
            for s in range(4):
                doc = session_document(f"2026-10-{1 + s:02d}", sets=1)
                try:
                    client.request("POST", "/api/v1/sessions", json_body=doc)
                    upload_samples(client, doc["id"], 0, blob)
                    client.request("POST", "/api/v1/sessions", json_body=doc)  # a retry
                except BaseException as exc:  # collected and asserted below
                    with lock:
                        errors.append(exc)
                    return
                with lock:
                    sent.append(doc["id"])

        threads = [threading.Thread(target=companion, args=(k, t)) for k, t in enumerate(tokens)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert errors == []
        db = server.db()
        stored = [r["id"] for r in db.query("SELECT id FROM sessions")]
        assert sorted(stored) == sorted(sent) and len(stored) == 200
        complete = list(db.query("SELECT data FROM sample_uploads WHERE completed_at IS NOT NULL"))
        assert len(complete) == 200 and all(bytes(r["data"]) == blob for r in complete)
        per_patient = {r["n"] for r in db.query(
            "SELECT count(*) AS n FROM sessions GROUP BY patient_id")}
        assert per_patient == {4}
        db.close()
    finally:
        stop_server(server)


def test_weeks_offline_then_catching_up(server: Server, home: Path) -> None:
    """Sessions pile up while the server is unreachable; one sync later they are all there."""
    from wearable.sync import device

    patient_id = enroll(server, home)
    config = device.load(home)
    device.save(device.DeviceConfig(f"http://127.0.0.1:{free_port()}", config.token,
                                    config.patient_name, config.device_id), home)
    recorded = [record_session(home, n_samples=60, sets=1) for _ in range(21)]
    offline = CliRunner().invoke(cli, ["sync", "--retries", "0"])
    assert offline.exit_code == 1 and "21 sessions wait in the outbox" in offline.output
    device.save(config, home)  # the clinic is reachable again
    result = rehab("sync")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == "uploaded 21 sessions"
    db = server.db()
    stored = {r["id"] for r in db.query("SELECT id FROM sessions WHERE patient_id = ?",
                                        [patient_id])}
    assert stored == set(recorded)
    db.close()


def test_a_refused_session_does_not_block_the_others(server: Server, home: Path) -> None:
    """A pending session the server refuses stays in the outbox; the rest go through."""
    patient_id = enroll(server, home)
    good = record_session(home, sets=1)
    bad = record_session(home, sets=1)
    with CompanionStore.open(home / "companion.db") as store:
        # A red-flag id the server does not know (a newer companion, say).
        store.db.execute("INSERT INTO red_flags VALUES (?, 'unknown_flag')", [bad])
    result = CliRunner().invoke(cli, ["sync"])
    assert result.exit_code == 1, result.output  # something is left to do
    lines = result.output.splitlines()
    assert lines[0] == "uploaded 1 session"
    assert any(line.startswith(f"session {bad[:8]} not uploaded, kept for later: red_flags")
               for line in lines)
    assert "1 session wait in the outbox" in result.output
    with CompanionStore.open(home / "companion.db") as store:
        assert store.pending_uploads() == [bad]
    db = server.db()
    assert [r["id"] for r in db.query("SELECT id FROM sessions WHERE patient_id = ?",
                                      [patient_id])] == [good]
    db.close()


def test_samples_over_the_server_limit_stay_local(tmp_path: Path, home: Path) -> None:
    """The server refuses raw samples above its size limit (set here through the environment):
    the session summary is uploaded all the same and the samples stay on this computer."""
    small = start_server(tmp_path, threads=2, MAX_SAMPLES_BYTES="10000")
    try:
        enroll(small, home)
        sid = record_session(home, n_samples=500, sets=1)  # 14,020 bytes of samples
        result = rehab("sync")
        assert result.exit_code == 0, result.output
        lines = result.output.splitlines()
        assert lines[0] == "uploaded 1 session"
        assert lines[1].startswith(f"raw samples of set 0 of session {sid[:8]} refused (kept "
                                   "on this computer): raw samples are limited to 10000 bytes")
        with CompanionStore.open(home / "companion.db") as store:
            assert store.pending_uploads() == []
            assert len(store.set_recording(sid, 0)) == 500
    finally:
        stop_server(small)


def test_the_sensor_model_reaches_the_clinic(server: Server, home: Path) -> None:
    """The model the sensor said it is goes up with its session and is stored with the
    session's sensor (made printable on the way in, as read from the air); a session whose
    sensor did not say goes up as before, without one. The server names no field as ignored,
    so the sync says nothing about it."""
    from rehablink.text import printable

    patient_id = enroll(server, home)
    from_the_air = printable("Evil\x1b[2J " + "x" * 80)  # a hostile model, as read_model keeps it
    said, silent = record_session(home, sets=1, model=from_the_air), record_session(home, sets=1)
    result = rehab("sync")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == "uploaded 2 sessions"
    assert "did not keep" not in result.output
    db = server.db()
    sensors = {r["id"]: json.loads(r["sensor"]) for r in db.query(
        "SELECT id, sensor FROM sessions WHERE patient_id = ?", [patient_id])}
    db.close()
    plain = {"profile": "rehablink", "name": "RehabLink-1A2B", "has_gyro": True}
    assert sensors == {said: {**plain, "model": from_the_air}, silent: plain}
    assert len(from_the_air) == 64


def test_fields_an_older_server_did_not_keep_are_told_once(
        server: Server, home: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """A server older than the companion ignores the fields it does not know and names them:
    the sync says so in one plain line (the fields' names, never their values), however many
    sessions carried them, and it is not a failure: the sessions are uploaded and leave the
    outbox. The background sync writes the same line to its log."""
    from wearable.store.queries import StoreQueries
    from wearable.sync.background import main as background_sync

    document = StoreQueries.session_document

    def newer(store: StoreQueries, session_id: str) -> dict[str, Any]:
        doc = document(store, session_id)  # what a companion newer than this server sends
        doc["sensor"]["serial"] = "SN-PRIVATE-1234"
        doc["posture"] = {"note": "Pat's private words"}
        return doc

    monkeypatch.setattr(StoreQueries, "session_document", newer)
    patient_id = enroll(server, home)
    sids = [record_session(home, sets=1), record_session(home, sets=1)]
    result = rehab("sync")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    note = ("the clinic's server is older than this companion: it did not keep posture, "
            "sensor.serial (the sessions were uploaded without them)")
    assert lines[:3] == ["uploaded 2 sessions", "uploaded raw samples of 2 sets (0.0 MB)", note]
    assert lines.count(note) == 1
    assert "SN-PRIVATE" not in result.output and "private words" not in result.output
    with CompanionStore.open(home / "companion.db") as store:
        assert store.pending_uploads() == []
    db = server.db()
    assert {r["id"] for r in db.query("SELECT id FROM sessions WHERE patient_id = ?",
                                      [patient_id])} == set(sids)
    db.close()
    third = record_session(home, sets=1)
    assert background_sync() == 0
    (logged,) = capsys.readouterr().out.splitlines()
    assert logged.count("did not keep posture, sensor.serial") == 1 and "SN-PRIVATE" not in logged
    assert "uploaded 1 session" in logged
    with CompanionStore.open(home / "companion.db") as store:
        assert third not in store.pending_uploads()
