"""The companion end to end through the real Bleak API over Bumble's virtual link.

A simulated sensor (firmware_protocol.simulated) replays a simulated set whose ground truth is
known; the companion finds it with ``BleakScanner``, streams it with ``BleakClient`` and counts
live. Nothing of Bleak is replaced: the Bumble backend is a Bleak backend like BlueZ's.

Faults (issue 4, section 5): 5 % notification loss, a 3 s disconnect mid-set, a sensor reboot,
MTU 23, 200 ppm clock drift, two sensors at once. With our profile every sample arrives (resend)
and the count equals the fault-free run; with WitMotion/micro:bit (no resend) the gaps are
reported and the count is still right. A sensor lost mid-set (gone for good, or back but hung) is
given up after ``--give-up-after``: exit 1, one line, the set up to the loss stored intact; in
``rehab session`` the end questions are still asked and a red flag reaches the clinic. A pause
stops the give-up clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
import pytest
from click.testing import CliRunner, Result

from firmware_protocol.registry import PROFILES
from firmware_protocol.simulated.faults import Faults
from rehablink.cli import cli
from rehablink.clinical import RED_FLAGS, SEEK_CARE_ADVICE
from rehablink.recording import Recording
from rehablink.simulator.core import simulate
from rehablink.simulator.spec import SetSpec as SimSpec
from tests.test_companion_terminal import CTRL_D, Terminal
from tests.test_hostile_cli import assert_clean_error
from tests.test_sync import enroll, record_session, start_server, stop_server
from wearable.guided import QUESTIONS_SKIPPED
from wearable.pipeline import SampleBlock
from wearable.plan import SetSpec
from wearable.runner import RunOptions, RunResult, run_sets
from wearable.scan import scan
from wearable.stopped import SessionStopped
from wearable.store import CompanionStore
from wearable.stream import SensorLink
from wearable.timeline import find_gaps
from wearable.ui import QuietUI

if TYPE_CHECKING:
    from firmware_protocol.simulated.sensor import SimulatedSensor

SPEED = 15.0  # world seconds per wall second
SLOW_SPEED = 5.0
REPS = 4


@pytest.fixture(scope="module")
def bridge() -> tuple[Recording, float]:
    """A simulated set of REPS bridges, and the middle of its longest rest (s from its start),
    where a 3 s outage takes no rep away (the truth says where the reps are)."""
    recording, truth = simulate(SimSpec("bridge", n_reps=REPS, rate_hz=50.0, rest_s=4.5),
                                seed=11)
    assert truth.rep_count == REPS
    spans = sorted((r["start"] - recording.t[0], r["end"] - recording.t[0]) for r in truth.reps)
    rests = [(b[0] - a[1], (a[1] + b[0]) / 2) for a, b in itertools.pairwise(spans)]
    longest, middle = max(rests)
    assert longest > 4.0
    return recording, middle


@pytest.fixture(scope="module")
def rest_mid(bridge: tuple[Recording, float]) -> float:
    return bridge[1]


@pytest.fixture(scope="module")
def bridge_csv(bridge: tuple[Recording, float], tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("rec") / "bridge.csv"
    bridge[0].write_csv(path)
    return str(path)


def record(csv: str, store_path: Path, profile: str = "rehablink",
           faults: Faults | None = None, speed: float = SPEED
           ) -> tuple[RunResult, SimulatedSensor]:
    """Record one set from a simulated sensor; returns the run and the sensor (what it did)."""
    from wearable.bumble_backend.transport import sim_link

    options = RunOptions(transport=f"sim:{csv}", sim_profile=profile, faults=faults,
                         speed=speed, scan_timeout_s=0.5, rest_s=0.0)
    spec = SetSpec(0, "bridge", 1, 1, None, None)

    async def main() -> tuple[RunResult, SimulatedSensor]:
        async with sim_link(csv, profile=profile, faults=faults, speed=speed) as link:
            with CompanionStore.open(store_path) as store:
                result = await asyncio.wait_for(
                    run_sets([spec], store, QuietUI(), options, kind="record", ble=link), 60)
                store.finish_session(result.session_id)
            return result, link.sensors[0]

    return asyncio.run(main())


def _check_stored(store_path: Path, result: RunResult) -> dict[str, Any]:
    with CompanionStore.open(store_path) as store:
        doc = store.session_document(result.session_id)
        stored = store.set_recording(result.session_id, 0)
    outcome = result.outcomes[0]
    assert len(stored) == outcome.samples_received  # everything streamed was committed
    assert doc["sets"][0]["samples_lost"] == outcome.samples_lost
    return doc


def test_companion_fault_free_and_lossy_link_count_the_same_and_lose_nothing(
        bridge_csv: str, tmp_path: Path) -> None:
    # With our profile the outage may fall anywhere, even mid-rep: the resend fills it.
    clean, _ = record(bridge_csv, tmp_path / "a.db")
    out = clean.outcomes[0]
    assert out.result is not None and out.result.rep_count == REPS
    assert out.samples_lost == 0 and out.gaps == [] and clean.reconnects == 0
    # the simulated sensor streams our profile at 100 Hz: the whole recording arrives
    duration = out.result.duration_s
    assert out.samples_received == pytest.approx(duration * 100 + 1, abs=2)
    _check_stored(tmp_path / "a.db", clean)

    faults = Faults(drop_rate=0.05, disconnect_at_s=12.0, disconnect_for_s=3.0, drift_ppm=200,
                    seed=3)
    lossy, _ = record(bridge_csv, tmp_path / "b.db", faults=faults)
    lout = lossy.outcomes[0]
    assert lossy.reconnects == 1
    assert lout.samples_lost == 0 and lout.gaps == []
    # every packet came, resent or not (a crystal 200 ppm fast samples ~1 more in 47 s)
    assert lout.samples_received == pytest.approx(out.samples_received, abs=1)
    assert lout.result is not None and lout.result.rep_count == out.result.rep_count
    doc = _check_stored(tmp_path / "b.db", lossy)
    assert doc["sets"][0]["reconnects"] == 1


@pytest.mark.slow
@pytest.mark.parametrize("fault", ["mtu23-loss", "reboot"])
def test_companion_our_profile_under_faults_keeps_the_count(
        bridge_csv: str, rest_mid: float, tmp_path: Path, fault: str) -> None:
    # A reboot loses what the sensor never sampled: put it in a rest so no rep is cut.
    faults = Faults(mtu=23, drop_rate=0.05, seed=5) if fault == "mtu23-loss" else \
        Faults(reboot_at_s=rest_mid - 0.5, reboot_downtime_s=1.0)
    result, _ = record(bridge_csv, tmp_path / "c.db", faults=faults)
    out = result.outcomes[0]
    assert out.result is not None and out.result.rep_count == REPS
    if faults.reboot_at_s is None:
        assert out.samples_lost == 0 and out.gaps == []
    else:
        # A reboot loses what the sensor did not sample while it restarted: one gap, there.
        assert result.reconnects == 1 and len(out.gaps) == 1
        gap = out.gaps[0]
        assert gap.start == pytest.approx(rest_mid - 0.5, abs=0.5)
        assert faults.reboot_downtime_s * 0.5 <= gap.duration_s <= 4.0
    _check_stored(tmp_path / "c.db", result)


@pytest.mark.slow
@pytest.mark.parametrize("profile", ["witmotion", "microbit"])
def test_companion_sensor_without_resend_reports_the_gap_and_counts_right(
        bridge_csv: str, rest_mid: float, tmp_path: Path, profile: str) -> None:
    # Without resend an outage during a rep would take the rep with it: it falls in a rest.
    faults = Faults(drop_rate=0.05, disconnect_at_s=rest_mid - 1.5, disconnect_for_s=3.0, seed=7)
    # Untimed sensors see an outage through the host clock, whose jitter threshold is 0.25 s:
    # played 5x faster the 3 s outage still lasts 0.6 s here.
    result, sensor = record(bridge_csv, tmp_path / "d.db", profile=profile, faults=faults,
                            speed=SLOW_SPEED)
    out = result.outcomes[0]
    assert result.reconnects == 1
    assert out.result is not None and out.result.rep_count == REPS
    # the 3 s outage is reported where it happened; 5 % single-notification losses are
    # too short to tell from radio jitter on a sensor without timestamps
    long_gaps = [g for g in out.gaps if g.duration_s > 1.0]
    assert len(long_gaps) == 1
    # The sensor was silent from the link loss until the companion subscribed again: the 3 s
    # outage plus the reconnection, which takes longer on a busy computer (3.7 s was seen).
    down = sensor.disconnections_tau[0]
    silence = max(t for t in sensor.subscriptions_tau if t > down) - down
    assert silence >= 2.9  # the whole outage (the link loss itself may take a moment)
    assert long_gaps[0].duration_s == pytest.approx(silence, abs=0.6)
    # placed where it happened, give or take the 5 % losses before it that went unseen
    assert long_gaps[0].start == pytest.approx(rest_mid - 1.5, abs=1.5)
    assert out.samples_lost >= 0.8 * 3.0 * 50
    _check_stored(tmp_path / "d.db", result)


@pytest.mark.slow
def test_companion_two_sensors_at_once_stream_independently(
        bridge: tuple[Recording, float]) -> None:
    from wearable.bumble_backend.transport import sim_link

    recording, _ = bridge

    async def main() -> list[np.ndarray]:
        async with sim_link(recording, speed=SPEED,
                            faults=Faults(drop_rate=0.05, seed=1)) as link:
            await link.add_sensor(recording, profile="witmotion")
            found = await scan(0.5, link.scanner_backend)
            assert sorted(f.profile.id for f in found) == ["rehablink", "witmotion"]
            times: list[list[np.ndarray]] = [[], []]
            stop = asyncio.Event()
            links, tasks = [], []
            for i, sensor in enumerate(sorted(found, key=lambda f: f.profile.id)):
                def sink(block: SampleBlock, out: list[np.ndarray] = times[i]) -> None:
                    out.append(block.t)
                links.append(SensorLink(sensor, sink, client_backend=link.client_backend,
                                        scanner_backend=link.scanner_backend))
                tasks.append(asyncio.create_task(links[-1].run(stop)))
            await asyncio.wait_for(asyncio.gather(*(s.finished.wait() for s in link.sensors)),
                                   30)
            await asyncio.sleep(0.5)
            for sensor_link in links:  # the last packets may be lost with nothing after them
                await sensor_link.fetch_tail()
            # Done when nothing is missing and nothing has arrived for 1 s (the resent tail
            # may take a while on a busy machine); at most 10 s.
            counts, still = (-1, -1), 0
            for _ in range(100):
                await asyncio.sleep(0.1)
                now = (sum(len(b) for b in times[0]), sum(len(b) for b in times[1]))
                still = still + 1 if now == counts else 0
                counts = now
                if still >= 10 and all(s.ledger.missing == 0 for s in links):
                    break
            stop.set()
            await asyncio.gather(*tasks)
            return [np.concatenate(t) for t in times]

    ours, wit = asyncio.run(main())
    duration = recording.duration_s
    assert np.all(np.diff(ours) > 0) and np.all(np.diff(wit) > 0)
    assert len(ours) == pytest.approx(duration * 100 + 1, abs=2)  # 5 % loss, all resent
    assert find_gaps(ours - ours[0], 100.0) == ([], 0)
    assert len(wit) == pytest.approx(duration * 50, rel=0.1)  # its own stream, its own losses


# -- Polar: started from the settings each model offers -------------------------------------------


async def _polar_link(model: str, rate_hz: float | None, recording: Recording,
                      in_charger: bool = False) -> tuple[SensorLink, np.ndarray, np.ndarray]:
    """Stream a simulated Polar ``model`` with the companion's SensorLink asking for
    ``rate_hz``; returns the link, the sample times and the acceleration received."""
    from firmware_protocol.simulated.polar_sim import PolarPmdPersonality
    from wearable.bumble_backend.transport import sim_link

    async with sim_link(speed=SPEED) as link:
        sensor = await link.add_sensor(recording, profile="polar_pmd", model=model)
        assert isinstance(sensor.personality, PolarPmdPersonality)
        sensor.personality.in_charger = in_charger
        (found,) = await scan(0.3, link.scanner_backend)
        blocks: list[SampleBlock] = []
        stream = SensorLink(found, blocks.append, client_backend=link.client_backend,
                            scanner_backend=link.scanner_backend, rate_hz=rate_hz)
        stop = asyncio.Event()
        task = asyncio.create_task(stream.run(stop))
        try:
            finished = asyncio.create_task(sensor.finished.wait())
            await asyncio.wait({finished, task}, timeout=10, return_when=asyncio.FIRST_COMPLETED)
            finished.cancel()
            if task.done():
                await task  # it failed: raise its error
            expected = int(recording.duration_s * stream.rate_hz + 1e-9) + 1
            for _ in range(200):  # the last frame leaves when the recording ends
                if sum(len(b.t) for b in blocks) >= expected:
                    break
                await asyncio.sleep(0.01)
        finally:
            stop.set()
            await task
    return stream, np.concatenate([b.t for b in blocks]), np.concatenate([b.acc for b in blocks])


@pytest.mark.parametrize(("model", "asked", "offered"), [
    ("h10", None, 50),  # the profile's default 52 Hz is not offered: the closest is
    ("h10", 100.0, 100),
    ("verity_sense", None, 52),
    ("verity_sense", 100.0, 52),  # 52 Hz is all it offers
])
def test_companion_starts_a_polar_at_the_rate_it_offers(
        model: str, asked: float | None, offered: int) -> None:
    t = np.arange(300) / 100.0
    acc = np.column_stack([0.3 * np.sin(t), 0.2 * np.cos(2 * t), 1.0 + 0.1 * np.sin(3 * t)])
    source = Recording(t, acc, None)
    stream, times, got = asyncio.run(_polar_link(model, asked, source))
    assert stream.rate_hz == offered and stream.state.value == "stopped"
    # every sample the sensor took, evenly spaced at the offered rate, in whole milli-g
    k = np.arange(int(2.99 * offered + 1e-9) + 1)
    assert len(times) == len(k)
    np.testing.assert_allclose(times - times[0], k / offered, atol=1e-6)
    expected = np.column_stack([np.interp(k / offered, t, acc[:, i]) for i in range(3)])
    assert np.abs(got - expected).max() <= 0.0005 + 1e-12
    assert stream.pipeline.counters.malformed == 0


def test_companion_polar_refusing_to_start_is_one_clean_error() -> None:
    from wearable.link import StreamError

    source = Recording(np.arange(100) / 50.0, np.tile([0.0, 0.0, 1.0], (100, 1)), None)
    with pytest.raises(StreamError) as error:
        asyncio.run(_polar_link("verity_sense", None, source, in_charger=True))
    assert str(error.value) == ("Polar Sense SIM00001 (F0:52:4C:00:00:01) refused to start "
                                "streaming: device in charger (PMD error 13).")


# -- `rehab record` from the command line: ends other than the end of the set ---------------------


@pytest.fixture
def stored_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """REHAB_HOME holding one session recorded before (a failed run must leave it as it was)."""
    home = tmp_path / "home"
    monkeypatch.setenv("REHAB_HOME", str(home))
    home.mkdir()
    record_session(home, sets=1)
    return home


def _stored(home: Path, ids: Iterable[str] | None = None
            ) -> dict[str, tuple[dict[str, Any], Recording]]:
    """Every session in the store (or those of ``ids``): its document and the samples of its
    first set."""
    with CompanionStore.open(home / "companion.db") as store:
        wanted = [row["id"] for row in store.sessions()] if ids is None else list(ids)
        return {sid: (store.session_document(sid), store.set_recording(sid, 0))
                for sid in wanted}


def _assert_untouched(before: dict[str, tuple[dict[str, Any], Recording]], home: Path) -> None:
    after = _stored(home, before)
    for sid, (document, samples) in before.items():
        assert after[sid][0] == document
        kept = after[sid][1]
        assert len(kept) == len(samples) == 500
        np.testing.assert_array_equal(kept.t, samples.t)
        np.testing.assert_array_equal(kept.acc, samples.acc)
        np.testing.assert_array_equal(kept.gyro, samples.gyro)


class CliRun(NamedTuple):
    result: Result
    sensor: SimulatedSensor
    began_s: float  # time.monotonic() around the command
    ended_s: float


def _rehab_record(monkeypatch: pytest.MonkeyPatch, csv: str, *options: str,
                  prepare: Callable[[SimulatedSensor], None] | None = None) -> CliRun:
    """``rehab record -e bridge --json`` from the simulated sensor replaying ``csv``; returns
    the sensor too, to see what it went through (``prepare`` sets it up before the scan)."""
    return rehab_watched(monkeypatch, ["record", "-e", "bridge", "--transport", f"sim:{csv}",
                                       "--scan-timeout", "0.5", "--json", *options], prepare)


def rehab_watched(monkeypatch: pytest.MonkeyPatch, args: list[str],
                  prepare: Callable[[SimulatedSensor], None] | None = None) -> CliRun:
    """``rehab ARGS`` streaming from one simulated sensor (a ``sim:`` transport); returns the
    sensor too, to see what it went through (``prepare`` sets it up before the scan)."""
    from wearable.bumble_backend import transport

    sensors: list[SimulatedSensor] = []
    open_link = transport.open_link

    @contextlib.asynccontextmanager
    async def open_watched(*given: Any, **kwargs: Any) -> AsyncIterator[Any]:
        async with open_link(*given, **kwargs) as link:
            sensors.extend(link.sensors)
            if prepare is not None:
                prepare(link.sensors[0])
            yield link

    # the streaming commands open their link with transport.open_link: the same link, seen
    # from here
    monkeypatch.setattr(transport, "open_link", open_watched)
    began = time.monotonic()
    result = CliRunner().invoke(cli, args)
    (sensor,) = sensors
    return CliRun(result, sensor, began, time.monotonic())


def test_companion_polar_that_never_answers_gives_up_after_the_query_timeout(
        bridge_csv: str, stored_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``rehab record`` with a Polar that takes the settings request and never answers: one
    error line once the start query's timeout has passed, and the store as it was."""
    from firmware_protocol.simulated.polar_sim import PolarPmdPersonality

    def unresponsive(sensor: SimulatedSensor) -> None:
        assert isinstance(sensor.personality, PolarPmdPersonality)
        sensor.personality.unresponsive = True

    before = _stored(stored_home)
    query = PROFILES["polar_pmd"].start_query
    assert query is not None and query.timeout_s == 3.0
    run = _rehab_record(monkeypatch, bridge_csv, "--sim-profile", "polar_pmd", "--sim-speed",
                        str(SPEED), prepare=unresponsive)
    elapsed = run.ended_s - run.began_s
    line = assert_clean_error(run.result, 2)
    assert line == ("error: Polar Sense SIM00001 (F0:52:4C:00:00:01): setting up the stream "
                    "failed: no answer to the request for its accelerometer settings within 3 s."
                    " Switch the sensor off and on again, keep it close to this computer and try "
                    "again.")
    assert run.result.stdout == ""
    # it waited the whole timeout after the request (sent after a 0.5 s scan), then gave up
    assert query.timeout_s <= elapsed < 10.0, (elapsed, line)
    assert run.sensor.subscriptions_tau and not run.sensor.replay.streaming
    # the session opened for this set was dropped; the one stored before is intact
    assert list(_stored(stored_home)) == list(before)
    _assert_untouched(before, stored_home)


#: The companion's --give-up-after in the tests below, s (patients get 120 s).
GIVE_UP_S = 1.5
#: Replay speed there: the recording must outlast the drop plus the give-up time by a margin
#: (once it is over, the simulated sensor's end would end the set normally).
LOST_SPEED = 8.0


def _check_given_up(run: CliRun, before: dict[str, tuple[dict[str, Any], Recording]],
                    home: Path, recording: Recording, drop_s: float, rate_hz: float) -> None:
    """The run ended ``GIVE_UP_S`` after the sensor's last data with exit 1 and one line; the
    set streamed until the drop at ``drop_s`` (recording time) is stored intact and counted, in
    a session closed as interrupted; the session stored before is untouched."""
    line = assert_clean_error(run.result, 1)
    assert run.result.stdout == ""
    (sid,) = set(_stored(home)) - set(before)
    sensor = run.sensor
    assert line == (
        f"error: lost the sensor {sensor.name} ({sensor.address}): nothing came from it for "
        f"{GIVE_UP_S:g} s, so the session was stopped; what was recorded is saved (session "
        f"{sid[:8]}, 1 rep). Check that the sensor is switched on and charged, keep it near this "
        "computer and start again.")
    # given up the limit after the last data (which left at most a batch before the drop), and
    # not much later on a busy computer
    dropped_s = sensor.wall_time_of(sensor.disconnections_tau[0])
    assert GIVE_UP_S - 0.3 <= run.ended_s - dropped_s < GIVE_UP_S + 2.5
    _check_kept_set(home, sid, recording, drop_s, rate_hz)
    _assert_untouched(before, home)


def _check_kept_set(home: Path, sid: str, recording: Recording, drop_s: float,
                    rate_hz: float) -> dict[str, Any]:
    """Session ``sid`` is closed as interrupted with its one set streamed until the drop at
    ``drop_s`` (recording time) stored intact and counted; returns its document."""
    with CompanionStore.open(home / "companion.db") as store:
        document = store.session_document(sid)
        stored = store.set_recording(sid, 0)
    assert document["status"] == "interrupted"
    (stored_set,) = document["sets"]
    assert not stored_set["skipped"] and stored_set["result"]["rep_count"] == 1  # the rep done
    assert stored_set["samples_received"] == len(stored)
    assert stored_set["samples_lost"] == 0 and stored_set["gaps"] == []
    # every sample from the first to the drop (the last batch may not have left), as sampled
    assert (drop_s - 0.5) * rate_hz <= len(stored) <= drop_s * rate_hz + 1
    _assert_as_sampled(stored, recording, rate_hz)
    return document


def _new_session_kept(home: Path, before: dict[str, tuple[dict[str, Any], Recording]],
                      recording: Recording, drop_s: float,
                      rate_hz: float) -> tuple[str, dict[str, Any]]:
    """The one session a run added to ``home`` (those ``before`` it untouched), interrupted with
    its set kept up to the drop (:func:`_check_kept_set`): its id and document."""
    (sid,) = set(_stored(home)) - set(before)
    document = _check_kept_set(home, sid, recording, drop_s, rate_hz)
    _assert_untouched(before, home)
    return sid, document


def _assert_as_sampled(stored: Recording, recording: Recording, rate_hz: float) -> None:
    """``stored`` holds the sensor's samples from the first on, evenly ``rate_hz`` apart, each
    what it sampled of ``recording`` (within the int16 steps on the air)."""
    tau = np.arange(len(stored)) / rate_hz
    np.testing.assert_allclose(stored.t, tau, atol=1e-5)
    source_t = recording.t - recording.t[0]
    expected = np.column_stack([np.interp(tau, source_t, recording.acc[:, i]) for i in range(3)])
    np.testing.assert_allclose(stored.acc, expected, atol=1e-3)  # int16 on the air, in the store


def test_companion_gives_up_on_a_sensor_that_never_comes_back_and_keeps_the_set(
        bridge: tuple[Recording, float], bridge_csv: str, stored_home: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The sensor drops after the first rep and never advertises again: the companion used to
    scan for it for ever. It stops after --give-up-after and keeps what came before the drop."""
    recording, drop_s = bridge
    before = _stored(stored_home)
    run = _rehab_record(monkeypatch, bridge_csv, "--sim-disconnect-at", f"{drop_s}",
                        "--sim-disconnect-for", "1000000", "--sim-speed", f"{LOST_SPEED:g}",
                        "--give-up-after", f"{GIVE_UP_S:g}")
    _check_given_up(run, before, stored_home, recording, drop_s, 100.0)
    assert run.sensor.subscriptions_tau[-1] < drop_s  # never connected again


@pytest.mark.parametrize(("profile", "rate_hz"), [("rehablink", 100.0), ("polar_pmd", 52.0)])
def test_companion_gives_up_on_a_sensor_that_comes_back_silent_and_keeps_the_set(
        bridge: tuple[Recording, float], bridge_csv: str, stored_home: Path,
        monkeypatch: pytest.MonkeyPatch, profile: str, rate_hz: float) -> None:
    """The sensor drops after the first rep, its firmware hangs, and it comes back 3 s later:
    it connects, but sends nothing. Our profile's setup succeeds (the link looked connected for
    ever); a Polar's start query goes unanswered (the setup failed and was retried for ever).
    The companion connects again, then stops after --give-up-after and keeps the set."""
    recording, drop_s = bridge
    before = _stored(stored_home)
    run = _rehab_record(monkeypatch, bridge_csv, "--sim-profile", profile,
                        "--sim-disconnect-at", f"{drop_s}", "--sim-disconnect-for", "3",
                        "--sim-hang-at", f"{drop_s + 1.0}", "--sim-speed", f"{LOST_SPEED:g}",
                        "--give-up-after", f"{GIVE_UP_S:g}")
    _check_given_up(run, before, stored_home, recording, drop_s, rate_hz)
    assert max(run.sensor.subscriptions_tau) > drop_s + 3.0  # it was connected again


def test_companion_sensor_back_just_before_the_limit_is_not_given_up(
        bridge_csv: str, stored_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A Polar drops and comes back 0.4 s before --give-up-after runs out. It is connected again
    at once, but its first frame (39 samples at 52 Hz) leaves 0.75 s after the start: the
    companion used to give it up in between. A reconnection under way at the limit has a little
    longer (half the limit here, 10 s for patients) to bring data, and the set goes on."""
    frame_s = 39 / 52.0  # a Verity Sense frame at MTU 247, s (played in real time here)
    give_up_s = 2.0
    drop_s = 2 * frame_s + 0.02  # just after a frame left: the silence starts at the drop
    run = _rehab_record(monkeypatch, bridge_csv, "--sim-profile", "polar_pmd",
                        "--sim-disconnect-at", f"{drop_s}", "--sim-disconnect-for",
                        f"{give_up_s - 0.4}", "--give-up-after", f"{give_up_s:g}",
                        "--duration", "4")
    assert run.result.exit_code == 0, run.result.stderr
    doc = json.loads(run.result.stdout)
    assert doc["reconnects"] == 1
    # started again before the limit, its first data came after it
    restarted = max(run.sensor.subscriptions_tau)
    assert restarted < drop_s + give_up_s < restarted + frame_s
    # the outage is the one gap, and the set went on after it
    (gap,) = doc["gaps"]
    assert gap["start"] == pytest.approx(drop_s, abs=0.1)
    assert gap["start"] + gap["duration_s"] < doc["duration_s"] - 0.5


def test_companion_counts_a_set_streamed_from_a_polar_verity_sense(
        bridge_csv: str, tmp_path: Path) -> None:
    result, _ = record(bridge_csv, tmp_path / "p.db", profile="polar_pmd")
    out = result.outcomes[0]
    assert out.result is not None and out.result.rep_count == REPS
    assert out.result.sample_rate_hz == 52  # the Verity Sense's rate, not the one asked for
    assert out.samples_lost == 0 and out.gaps == []
    assert out.samples_received == pytest.approx(out.result.duration_s * 52 + 1, abs=2)
    _check_stored(tmp_path / "p.db", result)


#: Replay speed of the H10 set: the whole set in about 2 s (the samples carry the sensor's clock,
#: so a busy computer delays them without moving them).
H10_SPEED = 30.0


def test_companion_records_a_set_from_a_simulated_polar_h10(
        bridge: tuple[Recording, float], bridge_csv: str, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """``rehab record --sim-profile polar_pmd --sim-model h10``: the companion used to play
    only a Verity Sense. The H10 offers 25/50/100/200 Hz, accelerometer only, and takes a start
    only with every setting given (polar-ble-sdk issue #124): the companion asks its default
    52 Hz and is given the closest, 50 Hz. The whole set is stored, as sampled, and counted."""
    recording, _ = bridge
    home = tmp_path / "home"
    monkeypatch.setenv("REHAB_HOME", str(home))
    run = _rehab_record(monkeypatch, bridge_csv, "--sim-profile", "polar_pmd",
                        "--sim-model", "h10", "--sim-speed", f"{H10_SPEED:g}")
    assert run.result.exit_code == 0, run.result.stderr
    printed = json.loads(run.result.stdout)
    assert run.sensor.personality.model == "Polar H10 (simulated)"
    (stored,) = _stored(home).values()
    document, samples = stored
    assert document["id"] == printed["session_id"] and document["status"] == "completed"
    assert document["sensor"] == {"profile": "polar_pmd", "name": "Polar H10 SIM00001",
                                  "has_gyro": False, "model": "Polar H10 (simulated)"}
    (stored_set,) = document["sets"]
    result = stored_set["result"]
    assert result["sample_rate_hz"] == 50 and result["gyro"] is False
    assert result["rep_count"] == REPS
    # every sample of the recording, none lost, none doubled, no angular rate
    assert stored_set["samples_lost"] == 0 and stored_set["gaps"] == []
    assert stored_set["reconnects"] == 0
    assert len(samples) == stored_set["samples_received"]
    assert len(samples) == pytest.approx(recording.duration_s * 50 + 1, abs=1)
    assert samples.gyro is None
    _assert_as_sampled(samples, recording, 50.0)


# -- `rehab session` when the sensor is lost: the end questions all the same -----------------------


def _lost_line(home: Path, sid: str, saved: str) -> str:
    """The line a lost session ends with, for the sensor stored with session ``sid``."""
    with CompanionStore.open(home / "companion.db") as store:
        row = store.session_row(sid)
    return (f"error: lost the sensor {row['sensor_name']} ({row['sensor_address']}): nothing came "
            f"from it for {GIVE_UP_S:g} s, so the session was stopped; {saved}. Check that the "
            "sensor is switched on and charged, keep it near this computer and start again.")


#: What ``rehab session`` says before the end questions when the sensor was lost mid-set.
LEAD_IN = "The sensor stopped sending, so the session has stopped. What you did is saved."
#: ... and when it came back but refused to start streaming again.
REFUSED_LEAD_IN = ("The sensor would not start again, so the session has stopped. What you did "
                   "is saved.")


def _one_set_plan(tmp_path: Path) -> str:
    """A plan of one bridge set whose target is never reached in the recording."""
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps({"version": 1, "exercises": [
        {"exercise": "bridge", "sets": 1, "reps": 30}]}))
    return str(plan)


def test_companion_session_lost_asks_the_end_questions_and_the_clinic_gets_the_red_flag(
        bridge: tuple[Recording, float], bridge_csv: str, stored_home: Path,
        tmp_path: Path) -> None:
    """``rehab session`` in a terminal on a companion enrolled with a clinic; the sensor drops
    after the first rep and never comes back. The pain and red-flag questions used to be
    skipped, though a patient who lost the sensor may still have pain spreading down the leg.
    They are asked, after one plain line saying why the session stopped (they used to come with
    no reason given); the advice is shown, the answers are stored with the interrupted session
    and the background sync brings the red flag to the physiotherapist's alerts; then the loss
    line and exit 1."""
    from server.reports import patient_list

    recording, drop_s = bridge
    (tmp_path / "server").mkdir()
    server = start_server(tmp_path / "server")
    try:
        patient_id = enroll(server, stored_home)
        before = _stored(stored_home)
        rehab = str(Path(sys.executable).with_name("rehab"))
        env = {**os.environ, "REHAB_HOME": str(stored_home), "COLUMNS": "100", "LINES": "40"}
        term = Terminal([rehab, "session", "--plan", _one_set_plan(tmp_path), "--transport",
                         f"sim:{bridge_csv}", "--scan-timeout", "0.5", "--sim-speed",
                         f"{LOST_SPEED:g}", "--sim-disconnect-at", f"{drop_s}",
                         "--sim-disconnect-for", "1000000", "--give-up-after", f"{GIVE_UP_S:g}"],
                        env)
        try:
            term.expect("Ready to start?")
            term.send("y\n")
            term.expect(LEAD_IN, timeout=15)
            term.answer_end_questions(6, yes="leg_symptoms")
            term.expect("keep it near this computer and start again.")
        finally:
            code = term.close()
        assert code == 1
        sid, document = _new_session_kept(stored_home, before, recording, drop_s, 100.0)
        assert document["pain"] == 6 and document["red_flags"] == ["leg_symptoms"]
        screen = term.screen
        line = _lost_line(stored_home, sid,
                          f"what was recorded is saved (session {sid[:8]}, 1 rep)")
        # why the session stopped before the questions (the display's last frame only says it
        # has), then the advice and what the physiotherapist will see, then the loss line
        assert screen.index(LEAD_IN) < screen.index("How bad is your back pain today")
        assert screen.count(LEAD_IN) == 1
        assert screen.index(SEEK_CARE_ADVICE) < screen.index(
            "Recorded for your physiotherapist: leg_symptoms.") < screen.index(
            "Sending it to your physiotherapist in the background.") < screen.index(line)
        assert "Session saved" not in screen
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # the background sync started by the session
            db = server.db()
            try:
                rows = list(db.query("SELECT status, pain, red_flags FROM sessions WHERE id = ?",
                                     [sid]))
                (patient,) = patient_list(db, 1) if rows else (None,)
            finally:
                db.close()
            if rows:
                break
            time.sleep(0.2)
        assert rows == [{"status": "interrupted", "pain": 6, "red_flags": '["leg_symptoms"]'}]
        assert patient is not None and patient.id == patient_id
        alert = patient.alerts[0]
        assert alert.kind == "red_flag" and "leg_symptoms" in alert.message
    finally:
        stop_server(server)


def test_companion_session_lost_before_any_data_keeps_the_answers(
        bridge_csv: str, stored_home: Path, tmp_path: Path) -> None:
    """The sensor's firmware hangs as soon as it starts: it connects and never sends a sample.
    The session used to be dropped with no question asked; now the answers are asked (here from
    --answers, headless) and, holding a red flag, kept as an interrupted session without sets,
    queued for the clinic, which accepts it as it is."""
    from server.validate import session_document as validate

    before = _stored(stored_home)
    result = CliRunner().invoke(cli, [
        "session", "--plan", _one_set_plan(tmp_path), "--transport", f"sim:{bridge_csv}",
        "--scan-timeout", "0.5", "--sim-speed", f"{LOST_SPEED:g}", "--sim-hang-at", "0",
        "--give-up-after", f"{GIVE_UP_S:g}", "--headless", "--answers",
        "pain=5,flags=leg_symptoms"])
    line = assert_clean_error(result, 1)
    events = [json.loads(text) for text in result.stdout.splitlines()]
    # why it stopped, as an event, before the advice the answers brought
    said = {"event": "session_stopped", "text": "The sensor sent nothing, so the session has "
            "stopped."}
    assert events.index(said) < events.index({"event": "advice", "text": SEEK_CARE_ADVICE})
    assert events[-1]["event"] == "session"
    document = events[-1]["document"]
    sid = document["id"]
    assert (document["status"], document["sets"], document["pain"], document["red_flags"]) == \
        ("interrupted", [], 5, ["leg_symptoms"])
    assert line == _lost_line(stored_home, sid, "nothing had been recorded yet; your answers "
                              f"are saved (session {sid[:8]})")
    with CompanionStore.open(stored_home / "companion.db") as store:
        assert store.session_document(sid) == document
        assert sid in store.pending_uploads()
    assert validate(document).red_flags == ("leg_symptoms",)
    _assert_untouched(before, stored_home)



def test_companion_session_sensor_that_will_not_start_again_says_so_in_one_plain_line(
        bridge: tuple[Recording, float], bridge_csv: str, stored_home: Path,
        tmp_path: Path) -> None:
    """``rehab session`` in a terminal with a Polar that drops in a rest after the first rep and
    is put on its charger: it is back on the air a second later, and when the companion connects
    again it refuses to start (PMD error 13). The patient is told so in one plain line before
    the questions (a wording no test saw), answers pain and a red flag, then leaves the
    questions with Ctrl-D (the end of input) at the next one: this used to end in "Aborted!",
    the answers lost and the session left recording. The answers given are stored with the
    session, closed as interrupted with the set up to the drop, counted; the advice is shown;
    the command ends with the refusal line and exit 2, no traceback."""
    recording, drop_s = bridge
    first, second = list(RED_FLAGS.values())[:2]
    before = _stored(stored_home)
    rehab = str(Path(sys.executable).with_name("rehab"))
    env = {**os.environ, "REHAB_HOME": str(stored_home), "COLUMNS": "100", "LINES": "40"}
    term = Terminal([rehab, "session", "--plan", _one_set_plan(tmp_path), "--transport",
                     f"sim:{bridge_csv}", "--scan-timeout", "0.5", "--sim-speed",
                     f"{LOST_SPEED:g}", "--sim-profile", "polar_pmd", "--sim-disconnect-at",
                     f"{drop_s}", "--sim-disconnect-for", "1", "--sim-charger-at", f"{drop_s}"],
                    env)
    try:
        term.expect("Ready to start?")
        term.send("y\n")
        term.expect(REFUSED_LEAD_IN, timeout=15)
        term.expect("How bad is your back pain today")
        term.send("4\n")
        term.expect(first.question)
        term.send("y\n")
        term.expect(second.question)
        term.wait_reading()
        term.send(CTRL_D)
        term.expect("(PMD error 13)")
    finally:
        code = term.close()
    assert code == 2
    sid, document = _new_session_kept(stored_home, before, recording, drop_s, 52.0)
    assert (document["pain"], document["red_flags"]) == (4, [first.id])
    # the question left and those after it: not asked, never "no"
    assert document["red_flags_unasked"] == list(RED_FLAGS)[1:]
    screen = term.screen
    line = (f"error: Polar Sense SIM00001 (F0:52:4C:00:00:01) refused to start streaming: device "
            f"in charger (PMD error 13). The session was stopped; what was recorded is saved "
            f"(session {sid[:8]}, 1 rep).")
    assert screen.count(REFUSED_LEAD_IN) == 1
    assert screen.index(REFUSED_LEAD_IN) < screen.index("How bad is your back pain today") < \
        screen.index(f"\r\n{QUESTIONS_SKIPPED}\r\n") < screen.index(SEEK_CARE_ADVICE) < \
        screen.index("The safety questions were not finished: 5 of 6 were not asked.") < \
        screen.index(f"\r\n{line}\r\n")
    # the questions after the one left are not asked
    assert all(flag.question not in screen for flag in list(RED_FLAGS.values())[2:])
    assert "Traceback" not in screen and "Aborted" not in screen

def test_companion_pause_stops_the_give_up_clock(
        bridge: tuple[Recording, float], bridge_csv: str, tmp_path: Path) -> None:
    """The sensor drops for good; the patient pauses soon after and resumes after longer than
    --give-up-after. The session used to be given up during the pause. Silence during a pause
    does not count: the limit runs on after it from where the pause stopped it, and the set up
    to the drop is kept."""
    from wearable.bumble_backend.transport import sim_link

    recording, drop_s = bridge
    speed = 6.0  # the recording outlasts the drop, the pause and the rest of the limit
    faults = Faults(disconnect_at_s=drop_s, disconnect_for_s=1e6)
    options = RunOptions(transport=f"sim:{bridge_csv}", faults=faults, speed=speed,
                         scan_timeout_s=0.5, rest_s=0.0, give_up_after_s=GIVE_UP_S)
    before_pause_s, pause_s = 0.5, GIVE_UP_S + 0.5  # wall s

    async def main() -> tuple[SessionStopped, float, str]:
        async with sim_link(bridge_csv, faults=faults, speed=speed) as link:
            sensor, loop = link.sensors[0], asyncio.get_running_loop()
            keys: asyncio.Queue[str] = asyncio.Queue()
            with CompanionStore.open(tmp_path / "companion.db") as store:
                running = asyncio.create_task(run_sets(
                    [SetSpec(0, "bridge", 1, 1, None, None)], store, QuietUI(), options,
                    kind="record", ble=link, keys=keys))
                while not sensor.disconnections_tau:
                    assert not running.done()
                    await asyncio.sleep(0.01)
                dropped = sensor.wall_time_of(sensor.disconnections_tau[0])
                await asyncio.sleep(dropped + before_pause_s - loop.time())
                keys.put_nowait("p")
                await asyncio.sleep(pause_s)
                assert not running.done(), "given up during the pause"
                keys.put_nowait("p")
                resumed = loop.time()
                with pytest.raises(SessionStopped) as stopped:
                    await asyncio.wait_for(running, 10)
                after_s = loop.time() - resumed
                return stopped.value, after_s, stopped.value.close(store)

    stopped, after_s, line = asyncio.run(main())
    assert stopped.lost
    # the limit ran on for what the pause had left of it (keys are read every 0.1 s)
    assert GIVE_UP_S - before_pause_s - 0.5 <= after_s <= GIVE_UP_S - before_pause_s + 0.45
    assert "what was recorded is saved" in line and "1 rep)" in line
    _check_kept_set(tmp_path, stopped.session_id, recording, drop_s, 100.0)
