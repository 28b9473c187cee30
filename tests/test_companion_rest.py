"""A sensor out of reach in the rest between sets, through the real Bleak API over Bumble.

``rehab session --headless`` with two sets of one bridge each; the simulated sensor drops
just after the first set, in the rest, as when the patient walks away from the computer with it
on. The rest used to count towards ``--give-up-after``: a patient who rested as told, or a little
longer, had the session stopped under them, and the next set began while they were away. Now
the rest does not count, the next set waits for the sensor, and cues say when it is out of reach
and when it is back.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from rehablink.simulator.core import simulate
from rehablink.simulator.spec import SetSpec as SimSpec
from tests.test_companion_ble import CliRun, rehab_watched
from tests.test_hostile_cli import assert_clean_error
from wearable.link_cues import SENSOR_LOST_TEXT, SIGNAL_BACK_TEXT, SIGNAL_LOST_TEXT
from wearable.store import CompanionStore

#: Replay speed: the recording (45 s) outlasts the drop, the rest and the give-up time.
SPEED = 4.0
#: The sensor drops here (recording s): after the first rep (counted by ~9.4 s, over at 9.55 s),
#: before the second (15.4 s).
DROP_S = 11.0


@pytest.fixture(scope="module")
def bridge_csv(tmp_path_factory: pytest.TempPathFactory) -> str:
    recording, truth = simulate(SimSpec("bridge", n_reps=4, rate_hz=50.0, rest_s=4.5),
                                seed=11)
    assert truth.rep_count == 4
    first_end = min(r["end"] for r in truth.reps) - recording.t[0]
    second_start = sorted(r["start"] for r in truth.reps)[1] - recording.t[0]
    assert first_end + 1.0 < DROP_S < second_start - 4.0
    path = tmp_path_factory.mktemp("rec") / "bridge.csv"
    recording.write_csv(path)
    return str(path)


@pytest.fixture
def plan(tmp_path: Path) -> str:
    """Two bridge sets of one rep each."""
    path = tmp_path / "plan.json"
    path.write_text(json.dumps({"version": 1, "exercises": [
        {"exercise": "bridge", "sets": 2, "reps": 1}]}))
    return str(path)


def _session(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, csv: str, plan: str, *,
             rest_s: float, give_up_s: float, away_s: float) -> tuple[CliRun, list[dict[str, Any]]]:
    """``rehab session --headless`` with the sensor away ``away_s`` (wall s) from
    :data:`DROP_S`; returns the run and its events."""
    monkeypatch.setenv("REHAB_HOME", str(tmp_path / "home"))
    run = rehab_watched(monkeypatch, [
        "session", "--plan", plan, "--headless", "--answers", "pain=2,flags=none",
        "--transport", f"sim:{csv}", "--scan-timeout", "0.5", "--sim-speed", f"{SPEED:g}",
        "--rest", f"{rest_s:g}", "--give-up-after", f"{give_up_s:g}",
        "--sim-disconnect-at", f"{DROP_S:g}", "--sim-disconnect-for", f"{away_s * SPEED:g}"])
    events = [json.loads(line) for line in run.result.stdout.splitlines()]
    return run, events


def _stored(tmp_path: Path, events: list[dict[str, Any]]) -> dict[str, Any]:
    """The session document in the store, which the last event printed."""
    assert events[-1]["event"] == "session"
    document = events[-1]["document"]
    with CompanionStore.open(tmp_path / "home" / "companion.db") as store:
        assert store.session_document(document["id"]) == document
    return dict(document)


def _index(events: list[dict[str, Any]], **match: Any) -> int:
    """Position of the first event with these fields."""
    return next(i for i, e in enumerate(events) if match.items() <= e.items())


def _reps(document: dict[str, Any]) -> list[int]:
    return [s["result"]["rep_count"] for s in document["sets"]]


def test_companion_rest_longer_than_the_limit_away_from_the_computer_goes_on(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, bridge_csv: str, plan: str) -> None:
    """Out of reach for 2 s of a 3.5 s rest, longer than --give-up-after 1.5: the session used
    to stop during the rest. It goes on when the sensor is back, and the second set is done."""
    away_s, give_up_s = 2.0, 1.5
    run, events = _session(monkeypatch, tmp_path, bridge_csv, plan, rest_s=3.5,
                           give_up_s=give_up_s, away_s=away_s)
    assert run.result.exit_code == 0, run.result.stderr
    sensor = run.sensor
    gone, back = sensor.disconnections_tau[0], max(sensor.subscriptions_tau)
    assert (back - gone) / SPEED > give_up_s  # longer than the limit, without a stop
    document = _stored(tmp_path, events)
    assert document["status"] == "completed" and _reps(document) == [1, 1]
    kinds = [e["event"] for e in events]
    assert "sensor_lost" not in kinds and "session_stopped" not in kinds
    # the second set began after the sensor was back, not while it was away
    away = _index(events, event="link", state="reconnecting")
    returned = away + _index(events[away:], event="link", state="streaming")
    assert _index(events, event="set_done", set=0) < away < returned < _index(
        events, event="set_start", set=1) < _index(events, event="set_done", set=1)


def test_companion_next_set_waits_for_a_sensor_back_after_the_rest(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, bridge_csv: str, plan: str) -> None:
    """The patient comes back after the rest is over: the next set used to start without them
    (its cue spoken to an empty room). It waits; once the rest is over the give-up time runs and
    the patient is told to come near; when the sensor is back they are told so, and the next
    set starts."""
    run, events = _session(monkeypatch, tmp_path, bridge_csv, plan, rest_s=2.0, give_up_s=5.0,
                           away_s=4.75)
    assert run.result.exit_code == 0, run.result.stderr
    document = _stored(tmp_path, events)
    assert document["status"] == "completed" and _reps(document) == [1, 1]
    lost = _index(events, event="signal_lost")
    assert events[lost]["text"] == SIGNAL_LOST_TEXT
    assert _index(events, event="set_done", set=0) < lost < _index(
        events, event="signal_back", text=SIGNAL_BACK_TEXT) < _index(
        events, event="rest_over") < _index(events, event="set_start", set=1)
    assert "sensor_lost" not in [e["event"] for e in events]


def test_companion_sensor_gone_for_good_in_the_rest_stops_after_the_rest_and_the_limit(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, bridge_csv: str, plan: str) -> None:
    """The sensor never comes back. The session is not stopped in the rest (3 s, twice the
    limit) but the limit after it; the next set never starts. The patient hears that the sensor
    is out of reach, then that the session has stopped; the first set is kept, the session
    interrupted, the command ends with the loss line and exit 1."""
    rest_s, give_up_s = 3.0, 1.5
    run, events = _session(monkeypatch, tmp_path, bridge_csv, plan, rest_s=rest_s,
                           give_up_s=give_up_s, away_s=1e5)
    line = assert_clean_error(run.result, 1)
    assert "nothing came from it for 1.5 s, so the session was stopped; what was recorded is " \
        "saved" in line and "1 rep)" in line
    dropped = run.sensor.wall_time_of(run.sensor.disconnections_tau[0])
    # not before the rest was over (it began before the drop), and then the limit
    assert rest_s <= run.ended_s - dropped < rest_s + give_up_s + 2.5
    document = _stored(tmp_path, events)
    assert document["status"] == "interrupted" and _reps(document) == [1]
    assert _index(events, event="set_done", set=0) < _index(events, event="signal_lost") < \
        _index(events, event="sensor_lost", text=SENSOR_LOST_TEXT) < _index(
        events, event="session_stopped")
    assert "set_start" not in [e["event"] for e in events[_index(events, event="set_done",
                                                                  set=0):]]
