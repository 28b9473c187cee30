"""The companion's commands: record, session, scan, sessions, show, export, analyze SESSION.

Streaming commands run against the simulated sensor over Bumble's virtual link through Bleak
(``--transport sim:RECORDING``), sped up; the store is a real SQLite file in ``REHAB_HOME``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from rehablink.cli import cli
from rehablink.clinical import RED_FLAGS, SEEK_CARE_ADVICE
from rehablink.recording import load_recording
from rehablink.simulator.core import simulate
from rehablink.simulator.spec import SetSpec
from wearable.questions import Answers, parse_answers
from wearable.store import CompanionStore

FAST = ["--sim-speed", "10", "--scan-timeout", "0.5"]


@pytest.fixture(scope="module")
def set_csv(tmp_path_factory: pytest.TempPathFactory) -> str:
    recording, truth = simulate(SetSpec("bridge", n_reps=3, rate_hz=50.0), seed=4)
    assert truth.rep_count == 3
    path = tmp_path_factory.mktemp("rec") / "bridge.csv"
    recording.write_csv(path)
    return str(path)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("REHAB_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_companion_record_json_then_sessions_show_export_analyze(
        set_csv: str, home: Path, tmp_path: Path) -> None:
    code, out, err = invoke("record", "-e", "bridge", "--transport", f"sim:{set_csv}", *FAST,
                            "--json")
    assert code == 0, err
    doc = json.loads(out)
    for key in ("session_id", "exercise", "rep_count", "reps", "samples_received",
                "samples_lost", "gaps", "reconnects", "latency_ms"):
        assert key in doc
    assert doc["exercise"] == "bridge" and doc["rep_count"] == 3 and len(doc["reps"]) == 3
    assert doc["samples_lost"] == 0 and doc["gaps"] == [] and doc["reconnects"] == 0
    assert set(doc["latency_ms"]) == {"p50", "p95"} and doc["latency_ms"]["p95"] < 500
    sid = doc["session_id"]

    code, out, _ = invoke("sessions", "--json")
    assert code == 0
    (row,) = json.loads(out)
    assert row["id"] == sid and row["status"] == "completed" and row["reps"] == 3

    code, out, _ = invoke("show", sid[:8], "--json")
    assert json.loads(out)["kind"] == "record"  # uploaded as a free recording
    with CompanionStore.open(home / "companion.db") as store:
        assert json.loads(out) == store.session_document(sid)
        stored = store.set_recording(sid, 0)
    assert len(stored) == doc["samples_received"]
    code, out, _ = invoke("show", sid[:8])
    # a free recording asks no end questions: not "none"
    assert code == 0 and "Glute bridge" in out and "Pain: -; red flags: not asked" in out

    code, out, _ = invoke("export", sid[:8], "--csv")
    assert code == 0 and out.startswith("t,ax,ay,az,gx,gy,gz\n")
    target = tmp_path / "export.csv"
    assert invoke("export", f"{sid}:0", "--csv", "-o", str(target))[0] == 0
    exported = load_recording(target)
    assert len(exported) == len(stored)
    assert np.abs(exported.acc - stored.acc).max() < 1e-4

    code, out, err = invoke("analyze", sid[:8], "-e", "bridge", "--json")
    assert code == 0, err
    assert json.loads(out)["rep_count"] == 3
    # Without -e a stored set is re-analysed as the exercise it was recorded as.
    code, out, err = invoke("analyze", f"{sid[:8]}:0", "--json")
    assert code == 0, err
    again = json.loads(out)
    assert (again["exercise"], again["placement"], again["rep_count"]) == ("bridge", "pelvis", 3)
    # A CSV file has no exercise of its own.
    code, _, err = invoke("analyze", str(target))
    assert code == 2 and err.startswith("error: --exercise is required for a CSV file")


def test_companion_session_headless_with_answers_stores_pain_and_flags(
        set_csv: str, home: Path, tmp_path: Path) -> None:
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps({"version": 4, "exercises": [
        {"exercise": "bridge", "sets": 2, "reps": 1, "hold_s": 2.0}]}))
    code, out, err = invoke("session", "--plan", str(plan), "--transport", f"sim:{set_csv}",
                            *FAST, "--headless", "--no-wait",
                            "--answers", "pain=4,flags=leg_symptoms")
    assert code == 0, err
    events = [json.loads(line) for line in out.splitlines()]
    kinds = [e["event"] for e in events]
    assert kinds.count("set_start") == 2 and kinds.count("set_done") == 2
    assert kinds.index("set_done") < len(kinds) - kinds[::-1].index("set_start") - 1
    assert {"event": "advice", "text": SEEK_CARE_ADVICE} in events
    document = events[-1]["document"]
    assert document["pain"] == 4 and document["red_flags"] == ["leg_symptoms"]
    assert document["red_flags_unasked"] == [] and "questions_unfinished" not in kinds
    assert document["prescription_version"] == 4 and document["status"] == "completed"
    assert document["kind"] == "session"
    assert [s["result"]["rep_count"] for s in document["sets"]] == [1, 1]
    assert all(s["target_reps"] == 1 and s["hold_target_s"] == 2.0 for s in document["sets"])


def test_companion_session_nobody_answered_for_says_the_red_flags_were_not_asked(
        set_csv: str, home: Path, tmp_path: Path) -> None:
    """``--headless`` without ``--answers``: nobody was asked. The session used to be stored
    with no red flag, as if every question had been answered no; it now records every
    red-flag question as not asked, and says so before the document."""
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps({"version": 1, "exercises": [
        {"exercise": "bridge", "sets": 1, "reps": 1}]}))
    code, out, err = invoke("session", "--plan", str(plan), "--transport", f"sim:{set_csv}",
                            *FAST, "--headless", "--no-wait")
    assert code == 0, err
    events = [json.loads(line) for line in out.splitlines()]
    notice, session = events[-2:]
    assert notice["event"] == "questions_unfinished"
    assert notice["red_flags_unasked"] == list(RED_FLAGS)
    assert notice["text"].startswith("The safety questions were not asked this time.\nPlease "
                                     "answer them at the end of your next session.")
    assert "advice" not in [e["event"] for e in events]
    document = session["document"]
    assert (document["pain"], document["red_flags"], document["red_flags_unasked"]) == \
        (None, [], list(RED_FLAGS))
    code, out, _ = invoke("show", document["id"][:8])
    assert code == 0 and "Pain: -; red flags: not asked" in out


@pytest.mark.parametrize(("sim", "profile", "name"), [
    ([], "rehablink", "RehabLink-0001"),
    (["--sim-profile", "polar_pmd"], "polar_pmd", "Polar Sense SIM00001"),
    (["--sim-profile", "polar_pmd", "--sim-model", "h10"], "polar_pmd", "Polar H10 SIM00001"),
])
def test_companion_scan_lists_the_simulated_sensor(
        set_csv: str, sim: list[str], profile: str, name: str) -> None:
    code, out, err = invoke("scan", "--transport", f"sim:{set_csv}", "--timeout", "0.5",
                            *sim, "--json")
    assert code == 0, err
    (found,) = json.loads(out)
    assert (found["profile"], found["name"]) == (profile, name)
    assert isinstance(found["rssi"], int)
    # our profile advertises its battery level; a Polar does not
    assert found["battery_pct"] == (87 if profile == "rehablink" else None)


def test_companion_sim_options_name_every_family_and_model() -> None:
    """The help of --sim-profile and --sim-model is written by hand: it must name every family
    and model the simulated sensor plays (firmware_protocol.simulated.sensor.PERSONALITIES)."""
    from firmware_protocol.simulated.sensor import PERSONALITIES

    for command in ("scan", "record", "session"):
        code, out, _ = invoke(command, "--help")
        assert code == 0
        text = " ".join(out.split())
        for family, personality in PERSONALITIES.items():
            assert family in text, (command, family)
            for model in personality.models:
                assert f"{family} plays" in text and model in text, (command, model)


@pytest.mark.parametrize(("args", "message"), [
    (["record", "-e", "deadlift", "--transport", "sim:x.csv"], "unknown exercise 'deadlift'"),
    (["record", "-e", "bridge", "--transport", "sim:/nonexistent.csv"],
     "no such recording for the simulated sensor"),
    (["record", "-e", "bridge", "--transport", "sim:{csv}", "--sim-profile", "movesense"],
     "the simulated sensor cannot play 'movesense'; it plays: rehablink, witmotion, microbit, "
     "polar_pmd"),
    (["scan", "--transport", "sim:{csv}", "--sim-profile", "movesense"],
     "the simulated sensor cannot play 'movesense'"),
    (["record", "-e", "bridge", "--transport", "sim:{csv}", "--sim-profile", "polar_pmd",
      "--sim-model", "oh1"],
     "the simulated polar_pmd sensor is one of verity_sense, h10; not 'oh1'"),
    (["scan", "--transport", "sim:{csv}", "--sim-model", "h10"],
     "the simulated rehablink sensor has no model to choose; not 'h10'"),
    (["record", "-e", "bridge", "--transport", "sim:{csv}", "--sim-charger-at", "1"],
     "--sim-charger-at needs --sim-profile polar_pmd"),
    (["session", "--plan", "/nonexistent/plan.json"], "no plan at /nonexistent/plan.json"),
    (["session", "--plan", "{csv}", "--answers", "pain=3"], "is not valid JSON"),
    (["show", "abcdef12"], "no session 'abcdef12'"),
    (["show", "ab"], "too short"),
    (["export", "abcdef12:x", "--csv"], "set number must be a whole number"),
    (["analyze", "zzzz-none", "-e", "bridge"], "no such file or stored session: zzzz-none"),
    (["record", "-e", "bridge", "--transport", "tcp-client:127.0.0.1:1", "--scan-timeout",
      "0.5"], "cannot open Bumble transport"),
])
def test_companion_bad_input_is_one_line_and_exit_2(
        args: list[str], message: str, set_csv: str, home: Path) -> None:
    code, out, err = invoke(*[a.replace("{csv}", set_csv) for a in args])
    assert code == 2, (out, err)
    assert err.startswith("error: ") and message in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_companion_bad_answers_are_refused_before_streaming(home: Path, tmp_path: Path) -> None:
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps({"exercises": [{"exercise": "bridge"}]}))
    code, _, err = invoke("session", "--plan", str(plan), "--answers", "pain=12")
    assert code == 2 and "pain must be a whole number from 0 to 10" in err
    if (home / "companion.db").exists():
        with CompanionStore.open(home / "companion.db") as store:
            assert store.sessions() == []


@pytest.mark.slow
def test_companion_record_from_a_sensor_in_another_process(
        set_csv: str, home: Path) -> None:
    """``rehab sim-sensor`` in one process, ``rehab record --transport tcp-client:…`` in this one:
    the Bumble transport path a USB dongle also takes."""
    import subprocess
    import sys

    rehab = Path(sys.executable).with_name("rehab")
    sensor = subprocess.Popen([str(rehab), "sim-sensor", set_csv, "--speed", "20",
                               "--transport", "tcp-server:127.0.0.1:0"],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert sensor.stdout is not None
        line = sensor.stdout.readline()
        transport = line.rsplit("--transport ", 1)[1].strip()
        assert transport.startswith("tcp-client:127.0.0.1:")
        # 3 s at 20x covers the whole 3-rep recording; the sensor then goes quiet
        code, out, err = invoke("record", "-e", "bridge", "--transport", transport,
                                "--scan-timeout", "1", "--duration", "3", "--json")
        assert code == 0, err
        doc = json.loads(out)
        assert doc["rep_count"] == 3 and doc["samples_lost"] == 0 and doc["reconnects"] == 0
        assert doc["sensor"]["profile"] == "rehablink"
    finally:
        sensor.terminate()
        sensor.wait(timeout=10)
        if sensor.stdout is not None:
            sensor.stdout.close()


def test_companion_sessions_says_when_the_red_flag_questions_were_not_asked(
        home: Path) -> None:
    """``rehab sessions`` left the flags column blank for a session whose red-flag questions
    were not asked, as for one answered all no: it now says so in words, as ``rehab show``
    does, and a free recording reads as a recording ("record") whose questions were not
    asked."""
    home.mkdir(parents=True)
    with CompanionStore.open(home / "companion.db") as store:
        free = store.create_session("record")
        store.finish_session(free)
        nobody = store.create_session()
        store.finish_session(nobody)
        left = store.create_session()
        store.finish_session(left, answers=Answers(None, ("night_pain",),
                                                   ("systemic", "trauma", "no_improvement")))
        clear = store.create_session()
        store.finish_session(clear, answers=parse_answers("pain=2,flags=none"))
        older = store.create_session()  # stored before the questions not asked were recorded
        store.finish_session(older, answers=parse_answers("pain=1,flags=none"))
        store.db.execute("UPDATE sessions SET red_flags_unasked = NULL WHERE id = ?", [older])
        store.db.commit()
    result = CliRunner(env={"COLUMNS": "200"}).invoke(cli, ["sessions"])
    assert result.exit_code == 0, result.stderr
    header, *lines = result.stdout.splitlines()
    assert header.split() == ["id", "started", "(UTC)", "kind", "status", "sensor", "sets",
                              "reps", "pain", "flags", "uploaded"]
    # id -> the row after the start time: kind, status, sensor (none here), sets, reps, pain,
    # flags, uploaded
    rows = {words[0]: " ".join(words[3:]) for words in map(str.split, lines)}
    assert rows == {
        free[:8]: "record completed - 0 0 not asked no",
        nobody[:8]: "session completed - 0 0 not asked no",
        left[:8]: "session completed - 0 0 night_pain; not asked: systemic, trauma, "
                  "no_improvement no",
        clear[:8]: "session completed - 0 0 2 none no",
        older[:8]: "session completed - 0 0 1 none (whether all were asked is not recorded) no",
    }


@pytest.mark.parametrize(("sim", "model"), [
    ([], "RehabLink reference sensor (simulated)"),
    (["--sim-profile", "polar_pmd", "--sim-model", "h10"], "Polar H10 (simulated)"),
    (["--sim-profile", "witmotion"], "WT901BLECL (simulated)"),
])
def test_companion_sessions_lists_the_sensor_model(
        set_csv: str, home: Path, monkeypatch: pytest.MonkeyPatch, sim: list[str],
        model: str) -> None:
    """The model the sensor says it is (its Device Information) is kept with the session,
    shown by `rehab sessions` and `rehab show`, and is the sensor.model of the document
    uploaded to the clinic."""
    monkeypatch.setenv("COLUMNS", "250")  # one line per session
    code, out, err = invoke("record", "-e", "bridge", "--transport", f"sim:{set_csv}", *FAST,
                            *sim, "--json")
    assert code == 0, err
    sid = json.loads(out)["session_id"]
    code, out, _ = invoke("sessions", "--json")
    (row,) = json.loads(out)
    assert (row["id"], row["sensor_model"]) == (sid, model)
    code, out, _ = invoke("sessions")
    (line,) = [text for text in out.splitlines() if text.strip().startswith(sid[:8])]
    assert f" completed  {model}  1 " in line
    code, out, _ = invoke("show", sid[:8])
    assert code == 0 and f"], {model}\n" in out
    code, out, _ = invoke("show", sid[:8], "--json")
    sensor = json.loads(out)["sensor"]
    assert (set(sensor), sensor["model"]) == ({"profile", "name", "has_gyro", "model"}, model)


def test_companion_sessions_shows_a_model_from_the_air_as_plain_text(
        set_csv: str, home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A sensor's model is text from the air: terminal escapes are stored and shown replaced,
    rich markup is shown as it is, never interpreted."""
    from firmware_protocol.simulated.rehablink_sim import RehabLinkPersonality

    monkeypatch.setattr(RehabLinkPersonality, "model", "Evil\x1b[2J [bold red]board[/]")
    monkeypatch.setenv("COLUMNS", "250")
    code, out, err = invoke("record", "-e", "bridge", "--transport", f"sim:{set_csv}", *FAST,
                            "--json")
    assert code == 0, err
    code, out, _ = invoke("sessions", "--json")
    assert json.loads(out)[0]["sensor_model"] == "Evil\ufffd[2J [bold red]board[/]"
    for args in (("sessions",), ("show", json.loads(out)[0]["id"][:8])):
        code, out, _ = invoke(*args)
        assert code == 0 and "Evil\ufffd[2J [bold red]board[/]" in out and "\x1b" not in out


def test_companion_show_gives_the_model_the_clinic_is_sent(
        home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``rehab show`` printed the model kept in the store even where the document (``show
    --json``, and the upload) leaves it out, as one the clinic would refuse: it now prints
    the document's ``sensor.model``, so the two never disagree."""
    from wearable.store import SensorInfo

    monkeypatch.setenv("COLUMNS", "250")  # the sensor on one line
    home.mkdir(parents=True)
    with CompanionStore.open(home / "companion.db") as store:
        kept = store.create_session("record", SensorInfo("rehablink", "RL-1", "AA", True,
                                                         model="RL board"))
        store.finish_session(kept)
        refused = store.create_session("record", SensorInfo("rehablink", "RL-2", "BB", True))
        store.finish_session(refused)
        store.db.execute("UPDATE sessions SET sensor_model = ? WHERE id = ?",
                         ["M" * 65, refused])
        store.db.commit()
    for sid, shown in ((kept, "RL-1 [rehablink], RL board\n"),
                       (refused, "RL-2 [rehablink]\n")):
        code, out, _ = invoke("show", sid[:8], "--json")
        assert code == 0 and json.loads(out)["sensor"].get("model") == \
            ("RL board" if sid == kept else None)
        code, out, _ = invoke("show", sid[:8])
        assert code == 0 and f"; sensor {shown}" in out and "M" * 65 not in out
