"""The demo's companion side: the guided session over simulated sensors (one virtual BLE
link per set) through the real Bleak client, and the sync."""

from __future__ import annotations

import contextlib
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rehablink.demo.clinic import DemoError

#: The automatic end-of-session answers (a real patient answers them): pain 2/10 and "no" to
#: every red-flag question.
DEMO_PAIN = 2
#: Margin for one headless set beyond its recording's replay time, s (wall).
SET_TIMEOUT_S = 30.0
#: Replay speed of the simulated sensor: watchable, and fast for --headless.
LIVE_SPEED, HEADLESS_SPEED = 6.0, 40.0
#: Rest between sets on the live display at LIVE_SPEED, wall s (shorter when faster).
REST_S = 3.0
#: Attempts, one a second, while another sync holds the lock.
SYNC_BUSY_TRIES = 30


@dataclass(frozen=True)
class SetRun:
    """One set as the companion counted it, against the recording's truth."""

    exercise: str
    set_number: int
    reps_counted: int | None
    truth_reps: int
    session_id: str
    completed: bool = True  # False when the set was skipped or the session stopped during it

    @property
    def match(self) -> bool:
        return self.reps_counted == self.truth_reps

    def to_json(self) -> dict[str, Any]:
        return {"exercise": self.exercise, "set": self.set_number,
                "reps_counted": self.reps_counted, "truth_reps": self.truth_reps,
                "match": self.match, "completed": self.completed,
                "session_id": self.session_id}


def _duration_s(exercise: str) -> float:
    """Length of the bundled recording of ``exercise``, s."""
    from rehablink.recording import load_recording
    from rehablink.recordings import bundled

    t = load_recording(bundled(exercise)).t
    return float(t[-1] - t[0])


def truth_reps(exercise: str) -> int:
    """Reps in the bundled recording of ``exercise``, from its truth file."""
    from rehablink.recordings import bundled_truth

    return int(json.loads(bundled_truth(exercise).read_text())["rep_count"])


def run_session(home: Path, speed: float, live: bool) -> list[SetRun]:
    """Today's plan (downloaded by the sync) set by set through the real Bleak client.

    Each set has its own virtual BLE link with a simulated sensor replaying the bundled
    recording of its exercise; all sets go into one stored session, as if the patient had
    changed sensors between sets. The answers to the end questions (pain, red flags) are
    automatic.
    """
    import asyncio

    from rehablink.recordings import bundled
    from wearable.cli import _run
    from wearable.plan import load_plan, session_sets
    from wearable.questions import parse_answers
    from wearable.runner import RunOptions, run_sets
    from wearable.stopped import SessionStopped
    from wearable.store import CompanionStore
    from wearable.ui import LiveUI, QuietUI

    plan = load_plan(home / "plan.json")
    sets = session_sets(plan)
    answers = parse_answers(f"pain={DEMO_PAIN},flags=none")
    runs: list[SetRun] = []
    session_id: str | None = None
    with CompanionStore.open(home / "companion.db") as store:
        async def go(keys: asyncio.Queue[str]) -> None:
            nonlocal session_id
            ui_context = LiveUI(speak=False) if live else contextlib.nullcontext(QuietUI())
            with ui_context as ui:
                for spec in sets:
                    if live and spec.index:
                        await _rest(ui, spec, REST_S * LIVE_SPEED / speed)
                    options = RunOptions(transport=f"sim:{bundled(spec.exercise)}",
                                         speed=speed, rest_s=0.0, scan_timeout_s=1.0,
                                         rate_hz=50.0)
                    running = run_sets([spec], store, ui, options, keys=keys,
                                       prescription_version=plan.version,
                                       session_id=session_id)
                    # Headless runs must end: a set gets its recording's duration plus a margin.
                    limit = None if live else SET_TIMEOUT_S + _duration_s(spec.exercise) / speed
                    try:
                        result = await asyncio.wait_for(running, limit)
                    except TimeoutError:
                        raise DemoError(f"{spec.exercise} set {spec.set_number} did not end "
                                        f"within {limit:.0f} s") from None
                    session_id = result.session_id
                    outcome = result.outcomes[0] if result.outcomes else None
                    counted = outcome.result.rep_count \
                        if outcome is not None and outcome.result is not None else None
                    completed = outcome is not None and not outcome.skipped \
                        and not result.stopped_early
                    runs.append(SetRun(spec.exercise, spec.set_number, counted,
                                       truth_reps(spec.exercise), result.session_id,
                                       completed))
                    if result.stopped_early:
                        break

        try:
            _run(go, end_key="q")
        except SessionStopped as stopped:  # a simulated sensor lost: kept, as interrupted
            raise DemoError(stopped.close(store, answers)) from None
        if session_id is not None:
            store.finish_session(session_id, "completed", answers)
    return runs


async def _rest(ui: Any, spec: Any, seconds: float) -> None:
    """A rest of ``seconds`` (wall) between sets on the live display; the next set's sensor
    link opens after it."""
    import asyncio
    import math

    from rich.text import Text

    from rehablink.exercises import get_exercise

    name = get_exercise(spec.exercise).name
    end = time.monotonic() + seconds
    while (left := end - time.monotonic()) > 0:
        ui.live.update(Text(f"\nRest: {math.ceil(left)} s - next: {name}, set "
                            f"{spec.set_number} of {spec.of_sets}\n", style="bold cyan"),
                       refresh=True)
        await asyncio.sleep(min(left, 0.5))


def sync_now(home: Path) -> dict[str, Any]:
    """``rehab sync`` for the demo companion; returns what it did."""
    from wearable.sync.runner import SyncBusy, sync

    for _ in range(SYNC_BUSY_TRIES):  # a background sync started by the companion may hold the lock
        try:
            report = sync(home)
            break
        except SyncBusy:
            time.sleep(1.0)
    else:
        raise DemoError("another sync kept the lock")
    if report is None:
        raise DemoError("the sync did not run")
    return {"ok": report.ok, "uploaded_sessions": len(report.new_sessions)
            + len(report.known_sessions), "sample_sets": report.sample_sets,
            "rejected": len(report.rejected), "pending_left": report.pending_left,
            "plan_version": report.plan_version,
            "lines": report.lines()}


def patient_link(home: Path) -> dict[str, Any]:
    """A one-time link to the patient's own pages, as ``rehab portal`` asks for it, and
    whether it opens (the GET shows the login button without using the link up)."""
    import urllib.request

    from wearable.sync import device
    from wearable.sync.api_client import ApiClient

    config = device.load(home)
    body = ApiClient(config.server, config.token).request("POST", "/api/v1/patient-link").body
    with urllib.request.urlopen(body["url"], timeout=10) as r:
        status = r.status
    return {"url": str(body["url"]), "expires_in_s": int(body["expires_in_s"]),
            "status": status}
