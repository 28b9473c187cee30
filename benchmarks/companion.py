"""Companion benchmarks over the simulated sensor (Bumble virtual link, real Bleak API).

Prints three figures:

latency
    From a rep's last sample (the rep's end as the motion engine finally times it) to its
    "rep completed" count on the live display (rich, rendered to a buffer), p50/p95/max over the
    reps of a set streamed in real time. Target: p95 <= 0.5 s.
cpu
    CPU time of the whole process per second of streaming, with the companion (link, detector,
    store, display) and without it (the simulated sensor answered by a bare Bleak client that only
    counts notifications); the difference is the companion's cost per streaming sensor.
memory
    Resident memory through a guided session over one simulated hour (a session of back-to-back
    sets, the sensor streaming all the time), sampled every simulated 5 minutes. The hour is
    played ``--speed`` times faster than real time.

A simulated sensor that cannot be reached or is lost mid-session (its host far too busy, say) ends
the run with the companion's own ``error:`` line and exit code 1, its session closed as
``interrupted``, instead of figures.

Usage: ``python benchmarks/companion.py [--part latency|cpu|memory|all] [--speed X]``
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import sys
import tempfile
import time
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from rich.console import Console

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from firmware_protocol.simulated.faults import Faults  # noqa: E402
from rehablink.recording import Recording  # noqa: E402
from rehablink.simulator.core import simulate  # noqa: E402
from rehablink.simulator.spec import SetSpec as SimSpec  # noqa: E402
from wearable.link import StreamError  # noqa: E402
from wearable.plan import SetSpec  # noqa: E402
from wearable.runner import RunOptions, RunResult, run_sets  # noqa: E402
from wearable.session import Cue, CueKind, SessionView  # noqa: E402
from wearable.stopped import SessionStopped  # noqa: E402
from wearable.store import CompanionStore  # noqa: E402
from wearable.stream import SensorLink  # noqa: E402
from wearable.ui import LiveUI, QuietUI  # noqa: E402

_T = TypeVar("_T")


def rss_mb() -> float:
    """Current resident set size, MB (Linux /proc)."""
    with open("/proc/self/statm") as fh:
        pages = int(fh.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 1e6


def bridge_set(reps: int, seed: int) -> Recording:
    recording, truth = simulate(SimSpec("bridge", n_reps=reps, rate_hz=50.0), seed=seed)
    assert truth.rep_count == reps
    return recording


def tile(recording: Recording, seconds: float) -> Recording:
    """The recording repeated back to back until it lasts ``seconds``."""
    period = recording.duration_s + 1.0 / recording.sample_rate_hz
    copies = int(np.ceil(seconds / period))
    t = np.concatenate([recording.t - recording.t[0] + k * period for k in range(copies)])
    acc = np.tile(recording.acc, (copies, 1))
    gyro = None if recording.gyro is None else np.tile(recording.gyro, (copies, 1))
    return Recording(t, acc, gyro)


class BufferedLiveUI(LiveUI):
    """The live display, rendered (with ANSI codes) into a buffer instead of a terminal."""

    def __init__(self) -> None:
        super().__init__(Console(file=io.StringIO(), width=100, force_terminal=True),
                         speak=False)


def _run_in(store: CompanionStore, running: Coroutine[Any, Any, _T]) -> _T:
    """``asyncio.run(running)``, a coroutine that runs sets into ``store``. A sensor that cannot
    be reached, or is lost mid-session, ends the benchmark with the companion's line (exit 1)
    instead of a traceback; a stopped session is closed first, as ``rehab record`` closes it."""
    try:
        return asyncio.run(running)
    except SessionStopped as stopped:
        raise SystemExit(f"error: {stopped.close(store)}") from None
    except StreamError as exc:
        raise SystemExit(f"error: {exc}") from None


def _record(csv: Path, store_path: Path, sets: list[SetSpec], ui: Any, speed: float,
            rest_s: float = 0.0, mtu: int = 247) -> RunResult:
    options = RunOptions(transport=f"sim:{csv}", speed=speed, scan_timeout_s=0.5,
                         rest_s=rest_s, faults=Faults(mtu=mtu))
    with CompanionStore.open(store_path) as store:
        return _run_in(store, run_sets(sets, store, ui, options, kind="session"))


def latency(tmp: Path) -> None:
    """Truth-based: the simulator knows when each rep ends and the simulated sensor when its
    world reached that time on this computer's clock; the UI notes when each count is shown."""
    from wearable.bumble_backend.transport import sim_link

    recording, truth = simulate(SimSpec("bridge", n_reps=6, rate_hz=50.0), seed=21)
    reps = sorted(truth.reps, key=lambda r: r["end"])
    ends = [r["end"] - recording.t[0] for r in reps]
    lowers = [r["lower_start"] - recording.t[0] for r in reps]

    class CountTimes(BufferedLiveUI):
        def __init__(self) -> None:
            super().__init__()
            self.shown: dict[int, float] = {}

        def cue(self, cue: Cue, view: SessionView) -> None:
            super().cue(cue, view)
            if cue.kind in (CueKind.REP, CueKind.SET_DONE) and cue.reps:
                self.shown.setdefault(cue.reps, time.monotonic())

        def update(self, view: SessionView, link: SensorLink) -> None:
            super().update(view, link)  # renders the new count before the time is kept

    async def run(ui: CountTimes, store: CompanionStore) -> tuple[list[float], list[float]]:
        spec = SetSpec(0, "bridge", 1, 1, None, None)
        options = RunOptions(scan_timeout_s=0.5, rest_s=0.0)
        async with sim_link(recording, speed=1.0) as link:
            await run_sets([spec], store, ui, options, ble=link)
            sensor = link.sensors[0]
            shown = [(k, ui.shown[k + 1]) for k in range(len(ends)) if k + 1 in ui.shown]
            return ([t - sensor.wall_time_of(ends[k]) for k, t in shown],
                    [t - sensor.wall_time_of(lowers[k]) for k, t in shown])

    ui = CountTimes()
    with ui, CompanionStore.open(tmp / "lat.db") as store:
        from_end, from_lower = _run_in(store, run(ui, store))
    lat = np.array(from_end) * 1000
    low = np.array(from_lower) * 1000
    print(f"latency rep's last sample (simulator truth) -> count on the live display, real "
          f"time, {len(lat)}/{len(ends)} reps ({recording.duration_s:.0f} s set, our profile at "
          f"100 Hz, MTU 247): p50 {np.percentile(lat, 50):.0f} ms, "
          f"p95 {np.percentile(lat, 95):.0f} ms, max {lat.max():.0f} ms "
          f"(negative: counted before the pelvis is fully back at rest); from the start of the "
          f"lowering: p50 {np.percentile(low, 50):.0f} ms, p95 {np.percentile(low, 95):.0f} ms")


async def _bare_stream(csv: Path, speed: float, mtu: int = 247) -> int:
    """The simulated sensor answered by a Bleak client that only counts notifications."""
    from bleak import BleakClient

    from firmware_protocol.registry import PROFILES
    from wearable.bumble_backend.transport import sim_link

    profile = PROFILES["rehablink"]
    count = 0

    def on_data(_: Any, data: bytearray) -> None:
        nonlocal count
        count += 1

    async with sim_link(csv, speed=speed, faults=Faults(mtu=mtu)) as link, \
            BleakClient(link.sensor_address, backend=link.client_backend) as client:
        for uuid in profile.subscribe_first:
            await client.start_notify(uuid, lambda _c, _d: None)
        await client.start_notify(profile.data_uuid, on_data)
        for uuid, value, response in profile.start_commands():
            await client.write_gatt_char(uuid, value, response=response)
        await link.sensors[0].finished.wait()
    return count


def cpu(tmp: Path, seconds: float = 30.0) -> None:
    recording = tile(bridge_set(4, seed=5), seconds)
    csv = tmp / "cpu.csv"
    recording.write_csv(csv)
    spec = SetSpec(0, "bridge", 1, 1, None, None)
    for mtu in (247, 23):
        # CPU seconds per second of recording streamed (scan and connection included)
        c0 = time.process_time()
        asyncio.run(_bare_stream(csv, speed=1.0, mtu=mtu))
        bare = (time.process_time() - c0) / recording.duration_s
        c0 = time.process_time()
        with BufferedLiveUI() as ui:
            _record(csv, tmp / f"cpu{mtu}.db", [spec], ui, speed=1.0, mtu=mtu)
        full = (time.process_time() - c0) / recording.duration_s
        print(f"cpu, {recording.duration_s:.0f} s of our profile at 100 Hz, MTU {mtu}, real "
              f"time: simulated sensor + Bumble host + bare Bleak client {bare * 100:.1f} % of "
              f"a core; with the companion instead {full * 100:.1f} %; companion per streaming "
              f"sensor {(full - bare) * 100:.1f} % of a core")


def memory(tmp: Path, speed: float) -> None:
    hour = tile(bridge_set(6, seed=9), 3600.0)
    csv = tmp / "hour.csv"
    hour.write_csv(csv)
    reps = 6 * int(np.ceil(3600.0 / (bridge_set(6, seed=9).duration_s + 0.02)))
    sets = [SetSpec(i, "bridge", i + 1, reps // 6, 6, None) for i in range(reps // 6)]

    class SamplingUI(QuietUI):
        def __init__(self) -> None:
            self.samples: list[tuple[float, float]] = []
            self.start = time.monotonic()

        def update(self, view: SessionView, link: SensorLink) -> None:
            world = (time.monotonic() - self.start) * speed
            if not self.samples or world - self.samples[-1][0] >= 300:
                self.samples.append((world, rss_mb()))

    ui = SamplingUI()
    before = rss_mb()
    result = _record(csv, tmp / "hour.db", sets, ui, speed=speed)
    received = sum(o.samples_received for o in result.outcomes)
    marks = ", ".join(f"{w / 60:.0f} min {m:.0f} MB" for w, m in ui.samples)
    print(f"memory over one simulated hour ({speed:g}x real time; {len(result.outcomes)} sets, "
          f"{received} samples stored): before {before:.0f} MB; {marks}")
    if len(ui.samples) >= 3:
        first, last = ui.samples[1][1], ui.samples[-1][1]
        print(f"  growth from 5 min to the end: {last - first:+.1f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=["latency", "cpu", "memory", "all"], default="all")
    parser.add_argument("--speed", type=float, default=20.0,
                        help="speed-up of the simulated hour (memory part)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        if args.part in ("latency", "all"):
            latency(tmp)
        if args.part in ("cpu", "all"):
            cpu(tmp)
        if args.part in ("memory", "all"):
            memory(tmp, args.speed)


if __name__ == "__main__":
    main()
