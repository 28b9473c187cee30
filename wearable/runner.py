"""Running sets against a live sensor: the link, the session state machine, the store, the UI.

The one place where the pieces meet: :class:`~wearable.stream.SensorLink` streams,
:class:`~wearable.recorder.SetRecorder` feeds the detector and the store,
:class:`~wearable.session.GuidedSession` decides what happens next, and a :class:`SessionUI`
shows it. Used by ``rehab record`` (one free set) and ``rehab session`` (today's plan).
When the link fails mid-session (the sensor is lost, or refuses to start again), the set under
way is finished with what it received and :class:`~wearable.stopped.SessionStopped` is raised
with the session still open, for the caller to ask the end questions and close it.
The silence of a lost sensor counts towards the give-up time only while the patient is meant to
be exercising: not in a pause, not in the rest between sets (the patient may walk away with the
sensor); the next set waits for the sensor, and cues (:mod:`wearable.link_cues`) tell a patient
who is not looking at the screen when it is out of reach and when it is back.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Protocol

from firmware_protocol.registry import PROFILES
from firmware_protocol.simulated.faults import Faults
from wearable.link import LinkState, StreamError
from wearable.link_cues import LinkWatch
from wearable.pipeline import SampleBlock
from wearable.plan import SetSpec
from wearable.recorder import SetOutcome, SetRecorder
from wearable.scan import FoundSensor, scan
from wearable.session import Cue, GuidedSession, Phase, SessionView
from wearable.silence import GIVE_UP_AFTER_S
from wearable.start import rate_note
from wearable.stopped import SessionStopped
from wearable.store import CompanionStore, SensorInfo
from wearable.stream import SensorLink

if TYPE_CHECKING:
    from wearable.bumble_backend.transport import BleLink

#: After a simulated recording ends, the longest wait for resends, s (wall, without data).
END_DRAIN_S = 3.0


class SessionUI(Protocol):
    """What the runner shows and plays; implementations in :mod:`wearable.ui`."""

    def update(self, view: SessionView, link: SensorLink) -> None: ...

    def cue(self, cue: Cue, view: SessionView) -> None: ...

    def note(self, text: str) -> None: ...


@dataclass
class RunOptions:
    """How to run: transport, simulated faults, limits.

    ``sim_profile`` and ``sim_model``: the family and model a ``sim:`` transport's simulated
    sensor plays (``polar_pmd`` and ``h10`` for a Polar H10; model None: the family's default).
    ``give_up_after_s``: how long a sensor that has streamed may send nothing before the
    session stops (:data:`wearable.silence.GIVE_UP_AFTER_S`). ``rate_hz``: the sampling rate to
    ask the sensor for, Hz (None: the sensor family's default); a sensor that cannot sample at
    it streams at its nearest rate, and the UI is given a note saying so.
    """

    transport: str = "os"
    sim_profile: str = "rehablink"
    sim_model: str | None = None
    faults: Faults | None = None
    speed: float = 1.0
    duration_s: float | None = None
    rest_s: float = 30.0
    scan_timeout_s: float = 5.0
    address: str | None = None
    rate_hz: float | None = None
    give_up_after_s: float = GIVE_UP_AFTER_S


@dataclass
class RunResult:
    """What happened: the stored session and each set's outcome."""

    session_id: str
    sensor: FoundSensor
    outcomes: list[SetOutcome] = field(default_factory=list)
    reconnects: int = 0
    stopped_early: bool = False


class _Run:
    """State of one run (kept out of the coroutine so the callbacks stay small)."""

    def __init__(self, sets: list[SetSpec], store: CompanionStore, session_id: str,
                 ui: SessionUI, options: RunOptions, clock: Callable[[], float]) -> None:
        self.machine = GuidedSession(sets, rest_s=options.rest_s)
        self.store, self.session_id, self.ui, self.options = store, session_id, ui, options
        self.clock = clock
        self.recorder: SetRecorder | None = None
        self.recorder_pos = 0  # position in ``sets`` of the set being recorded
        self.outcomes: list[SetOutcome] = []
        self.done = asyncio.Event()
        self.link: SensorLink | None = None
        self.watch = LinkWatch(options.give_up_after_s)

    def view(self) -> SessionView:
        return self.machine.view(self.clock())

    def play(self, cues: list[Cue]) -> None:
        view = self.view()
        for cue in cues:
            self.ui.cue(cue, view)
        self.after_transition()

    def on_samples(self, block: SampleBlock) -> None:
        m = self.machine
        if m.paused and self.recorder is not None:
            self.recorder.pause()
        if m.phase != Phase.EXERCISE or m.paused or self.link is None:
            return
        if self.recorder is None:
            self.recorder_pos = m.index
            self.recorder = SetRecorder(
                m.current.spec, self.store, self.session_id, self.link.rate_hz,
                self.link.host_time, self.clock, self.link.counters.reconnects)
        events = self.recorder.feed(block)
        if self.recorder.last_t is not None:
            m.on_samples(self.recorder.last_t)
        now = self.clock()
        for event in events:
            self.play(m.on_event(event, now))
            if self.recorder is None:  # the set ended on this event
                break
        self.ui.update(self.view(), self.link)

    def after_transition(self) -> None:
        """Close the recorder when its set has ended; finish when the questions are due. The
        link counts no silence while the patient is not meant to be exercising (paused, or
        resting between sets)."""
        m = self.machine
        if self.link is not None:
            self.link.set_resting(not m.expects_data)
        rec = self.recorder
        if rec is not None and (m.phase != Phase.EXERCISE or m.index != self.recorder_pos):
            progress = m.progress[self.recorder_pos]
            assert self.link is not None
            self.outcomes.append(rec.finish(progress.skipped, self.link.counters.reconnects))
            self.recorder = None
        if m.phase in (Phase.QUESTIONS, Phase.DONE):
            self.done.set()

    def key(self, key: str) -> None:
        """A key: p, s, q (see :meth:`GuidedSession.on_key`), or ``end`` (Ctrl-C in a free
        set: the set ends normally)."""
        if key == "end":
            self.play(self.machine.end_set(self.clock()))
            if self.machine.phase == Phase.REST:
                self.play(self.machine.stop(self.clock()))
        else:
            self.play(self.machine.on_key(key, self.clock()))
        if self.link is not None:
            self.ui.update(self.view(), self.link)

    def tick(self) -> None:
        if self.recorder is not None:
            self.recorder.tick()

    def link_changed(self) -> None:
        """On a change of the link's state: play the cues about the sensor that are due, and
        show the link."""
        self._link_cues()
        if self.link is not None:
            self.ui.update(self.view(), self.link)

    def _link_cues(self) -> None:
        """Play the cues about the sensor that are due."""
        link = self.link
        if link is None:
            return
        cues = self.watch.update(link.state, link.silent_for_s(self.clock()), link.last_data_s)
        if cues:
            self.play(cues)

    def periodic(self) -> None:
        """A few times a second: the cues about the sensor, the session's clock, the set's
        time limit, then one update of the display."""
        self._link_cues()
        now = self.clock()
        ready = self.link is not None and self.link.receiving
        self.play(self.machine.tick(now, sensor_ready=ready))
        rec, limit = self.recorder, self.options.duration_s
        if rec is not None and limit is not None and now - rec.started_host >= limit:
            self.play(self.machine.end_set(now))
        if self.link is not None:
            self.ui.update(self.view(), self.link)

    def stream_ended(self) -> None:
        """The sensor has nothing more to send (end of a simulated recording)."""
        now = self.clock()
        if self.machine.phase == Phase.EXERCISE:
            self.play(self.machine.end_set(now))
        if self.machine.phase not in (Phase.QUESTIONS, Phase.DONE):
            self.play(self.machine.stop(now))
        # a stop may leave a set open that never began streaming
        self.after_transition()


async def _wait_first_connection(streaming: asyncio.Task[None], link: SensorLink) -> None:
    """Return once the link streams; raise the link's error if the first connection fails."""
    while link.state == LinkState.CONNECTING and not streaming.done():
        await asyncio.sleep(0.05)
    if streaming.done():
        streaming.result()


async def run_sets(sets: list[SetSpec], store: CompanionStore, ui: SessionUI,
                   options: RunOptions, *, kind: str = "session",
                   prescription_version: int | None = None,
                   keys: asyncio.Queue[str] | None = None,
                   ble: BleLink | None = None,
                   session_id: str | None = None) -> RunResult:
    """Find the sensor, stream it and run ``sets`` to the end (or until stopped).

    The session is created in ``store`` as ``recording``; the caller finishes it (pain and red
    flags are asked after the sets), also when the link ended it (:class:`SessionStopped`).
    ``ble`` is an already open link (otherwise the one ``options.transport`` names is opened
    and closed here). ``session_id`` continues a session already in the store (say, after the
    sensor was changed between sets): ``sets`` then carry their indices in that session.

    Raises
    ------
    StreamError
        No supported sensor found, or the first connection failed (a new session is dropped).
    SessionStopped
        Mid-session, the sensor sent nothing for ``options.give_up_after_s`` (its ``failure``
        is a :class:`~wearable.link.SensorLost`) or refused to start again: the set under way
        is stored with what it received, and the session is left for the caller to close with
        :meth:`SessionStopped.close`.
    """
    from wearable.bumble_backend.transport import open_link

    if ble is not None:
        return await _run_on(ble, sets, store, ui, options, kind, prescription_version, keys,
                             session_id)
    async with open_link(options.transport, profile=options.sim_profile,
                         model=options.sim_model, faults=options.faults,
                         speed=options.speed) as opened:
        return await _run_on(opened, sets, store, ui, options, kind, prescription_version, keys,
                             session_id)


async def _run_on(ble: BleLink, sets: list[SetSpec], store: CompanionStore, ui: SessionUI,
                  options: RunOptions, kind: str, prescription_version: int | None,
                  keys: asyncio.Queue[str] | None, continued: str | None) -> RunResult:
    found = await scan(options.scan_timeout_s, ble.scanner_backend)
    if options.address:
        found = [f for f in found if f.address.lower() == options.address.lower()]
    if not found:
        supported = "; ".join(p.name for p in PROFILES.values())
        raise StreamError(
            "no supported motion sensor found nearby"
            + (f" with address {options.address}" if options.address else "")
            + ". Switch the sensor on, keep it close, and check it is one of: " + supported)
    sensor = found[0]
    info = SensorInfo(sensor.profile.id, sensor.name, sensor.address, sensor.profile.has_gyro)
    session_id = continued or store.create_session(kind, info, prescription_version)
    run = _Run(sets, store, session_id, ui, options, time.monotonic)
    stop = asyncio.Event()
    link = SensorLink(sensor, run.on_samples, client_backend=ble.client_backend,
                      scanner_backend=ble.scanner_backend, rate_hz=options.rate_hz,
                      on_state=lambda _s: run.link_changed(), on_tick=run.tick,
                      give_up_after_s=options.give_up_after_s)
    run.link = link
    run.play(run.machine.start())
    streaming = asyncio.create_task(link.run(stop))
    sim_finished = ble.sensors[0].finished if ble.sensors else None
    tail_asked_s: float | None = None  # when the sensor was asked for its tail (monotonic s)
    try:
        await _wait_first_connection(streaming, link)
    except StreamError:
        if continued is None:
            store.discard_session(session_id)
        raise
    if continued is None and link.model is not None:  # what the sensor says it is
        store.set_sensor(session_id, replace(info, model=link.model))
    if options.rate_hz is not None:
        note = rate_note(sensor.name, sensor.profile, options.rate_hz, link.rate_hz)
        if note is not None:
            ui.note(note)
    try:
        while not run.done.is_set() and not streaming.done():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(run.done.wait(), 0.1)
            while keys is not None and not keys.empty():
                run.key(keys.get_nowait())
            run.periodic()
            if sim_finished is not None and sim_finished.is_set():
                # The recording is over once the sensor has gone quiet (its queue may
                # still be draining), its tail was asked for and no resend is awaited.
                # Quiet counts from the last data or the tail request, whichever is later, so
                # the answer to that request has time to arrive on a busy computer.
                quiet = time.monotonic() - max(link.last_data_s or 0.0, tail_asked_s or 0.0)
                if quiet > 0.3 and tail_asked_s is None:
                    tail_asked_s = time.monotonic()
                    if await link.fetch_tail():
                        continue
                if (quiet > 0.5 and link.ledger.missing == 0) or quiet > END_DRAIN_S:
                    run.stream_ended()
    finally:
        stop.set()
        failure: StreamError | None = None
        try:
            with contextlib.suppress(asyncio.CancelledError):
                await streaming
        except StreamError as exc:  # the link ended the session
            failure = exc
        if run.recorder is not None:  # stopped by the link or an exception mid-set
            if failure is not None:  # the set ends with what it received, never as skipped
                run.machine.end_set(time.monotonic())
            run.machine.stop(time.monotonic())
            run.after_transition()
    if failure is not None:
        raise SessionStopped(failure, session_id, sensor, run.outcomes, options.give_up_after_s,
                             continued is not None)
    return RunResult(session_id, sensor, run.outcomes, link.counters.reconnects,
                     run.machine.stopped)

