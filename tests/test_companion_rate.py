"""``--rate HZ``: asking the sensor for a sampling rate, through the real Bleak API over Bumble.

The simulated sensor samples at the rate the companion's start commands set (its replay rate
is what it was told), so each case checks both ends: what the sensor was set to, and what the
companion stored and counted. A rate the sensor does not take is replaced by its nearest one,
with a note saying so; a rate no sensor could be asked for is one ``error:`` line, exit 2.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from rehablink.cli import cli
from tests import test_companion_cli as companion_cli
from tests.test_companion_ble import rehab_watched
from tests.test_hostile_cli import assert_clean_error
from wearable.store import CompanionStore

#: Fixtures: a simulated bridge set of ``REPS`` reps as a CSV, and ``REHAB_HOME`` in tmp_path.
set_csv, home = companion_cli.set_csv, companion_cli.home
REPS = 3


def _record(monkeypatch: pytest.MonkeyPatch, csv: str, *options: str) -> tuple[
        float, dict[str, object], str]:
    """``rehab record --json`` at ``--sim-speed 10``; returns the rate the simulated sensor was
    set to, the printed document and standard error."""
    run = rehab_watched(monkeypatch, ["record", "-e", "bridge", "--transport", f"sim:{csv}",
                                      "--scan-timeout", "0.5", "--sim-speed", "10", "--json",
                                      *options])
    assert run.result.exit_code == 0, run.result.stderr
    return run.sensor.replay.rate_hz, json.loads(run.result.stdout), run.result.stderr


@pytest.mark.parametrize(("profile", "model", "asked", "streamed", "note"), [
    ("rehablink", None, 50.0, 50, None),
    ("rehablink", None, 60.0, 50, "RehabLink-0001 cannot sample at 60 Hz: it streams at 50 Hz, "
                                  "the nearest of its rates (25, 50, 100 or 200 Hz)."),
    ("witmotion", None, 100.0, 100, None),
    # untimed: the samples are placed by the rate set, not the one asked for
    ("microbit", None, 60.0, 50, "BBC micro:bit [00001] cannot sample at 60 Hz: it streams at "
                                 "50 Hz, the nearest of its rates (1.5625, 6.25, 12.5, 50, 100, "
                                 "200, 500 or 1000 Hz)."),
    ("polar_pmd", "h10", 100.0, 100, None),
    ("polar_pmd", None, 100.0, 52, "Polar Sense SIM00001 cannot sample at 100 Hz: it streams at "
                                   "52 Hz, the nearest rate it offers."),
])
def test_companion_rate_sets_the_sensor_and_says_when_it_cannot(
        monkeypatch: pytest.MonkeyPatch, home: Path, set_csv: str, profile: str,
        model: str | None, asked: float, streamed: int, note: str | None) -> None:
    options = ["--sim-profile", profile, "--rate", f"{asked:g}"]
    if model is not None:
        options += ["--sim-model", model]
    sensor_hz, doc, stderr = _record(monkeypatch, set_csv, *options)
    assert sensor_hz == streamed  # what the sensor was set to
    assert stderr == ("" if note is None else f"note: {note}\n")
    assert doc["sample_rate_hz"] == streamed and doc["rep_count"] == REPS
    assert doc["samples_lost"] == 0 and doc["gaps"] == []
    with CompanionStore.open(home / "companion.db") as store:
        stored = store.set_recording(str(doc["session_id"]), 0)
    assert len(stored) == doc["samples_received"]
    np.testing.assert_allclose(np.diff(stored.t), 1.0 / streamed, atol=2e-5)


def test_companion_without_rate_streams_at_the_sensors_own(
        monkeypatch: pytest.MonkeyPatch, home: Path, set_csv: str) -> None:
    sensor_hz, doc, stderr = _record(monkeypatch, set_csv, "--sim-profile", "witmotion")
    assert (sensor_hz, doc["sample_rate_hz"], stderr) == (50, 50, "")


def test_companion_session_headless_gives_the_rate_note_as_an_event(
        monkeypatch: pytest.MonkeyPatch, home: Path, set_csv: str, tmp_path: Path) -> None:
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps({"version": 1, "exercises": [
        {"exercise": "bridge", "sets": 1, "reps": REPS}]}))
    run = rehab_watched(monkeypatch, [
        "session", "--plan", str(plan), "--headless", "--answers", "pain=1,flags=none",
        "--transport", f"sim:{set_csv}", "--scan-timeout", "0.5", "--sim-speed", "10",
        "--rate", "150"])
    assert run.result.exit_code == 0, run.result.stderr
    events = [json.loads(line) for line in run.result.stdout.splitlines()]
    notes = [e for e in events if e["event"] == "note"]
    assert notes == [{"event": "note", "text": "RehabLink-0001 cannot sample at 150 Hz: it "
                      "streams at 100 Hz, the nearest of its rates (25, 50, 100 or 200 Hz)."}]
    assert events.index(notes[0]) < next(i for i, e in enumerate(events)
                                         if e["event"] == "set_done")
    (stored_set,) = events[-1]["document"]["sets"]
    assert stored_set["result"]["sample_rate_hz"] == 100 and run.sensor.replay.rate_hz == 100


@pytest.mark.parametrize(("value", "says"), [
    ("5", "5.0 is not in the range 10.0<=x<=1000.0"),
    ("0", "0.0 is not in the range"),
    ("-50", "-50.0 is not in the range"),
    ("5000", "5000.0 is not in the range"),
    ("nan", "'nan' is not a finite number"),
    ("fast", "'fast' is not a valid float"),
])
@pytest.mark.parametrize("command", [["record", "-e", "bridge"], ["session", "--yes"]])
def test_companion_rate_that_no_sensor_takes_is_one_line_and_exit_2(
        home: Path, set_csv: str, value: str, says: str, command: list[str]) -> None:
    """Refused before any Bluetooth or store is touched: nothing is created."""
    result = CliRunner().invoke(cli, [*command, "--transport", f"sim:{set_csv}",
                                      "--rate", value])
    line = assert_clean_error(result, 2, "--rate", says)
    assert line.endswith(f" {command[0]} --help`)")
    assert not (home / "companion.db").exists()
