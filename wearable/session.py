"""The guided session as a pure state machine: sets, reps, holds, rest, pause, skip, stop.

No terminal, no Bluetooth, no clock of its own: the runner passes in the motion engine's events,
the patient's keys and the time (``now``, s, monotonic), and shows :meth:`GuidedSession.view`.
Every method returns the :class:`Cue` objects to play (bell, beep, spoken words), so what the
patient hears is testable.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from rehablink.exercises import get_exercise
from wearable.motion.events import (
    CountRevised,
    Event,
    HoldTargetReached,
    RepCompleted,
    RepStarted,
    StabilityWarning,
    TopReached,
)
from wearable.plan import SetSpec

#: Rest between sets, s (overridden by the runner's --rest).
DEFAULT_REST_S = 30.0
#: How long a stability warning stays on screen, s.
WARNING_SHOW_S = 4.0


class Phase(StrEnum):
    """Where the session is."""

    EXERCISE = "exercise"
    REST = "rest"
    QUESTIONS = "questions"
    DONE = "done"


class CueKind(StrEnum):
    """What happened, for the cue player (each kind has its own sound)."""

    SET_START = "set_start"
    REP = "rep"
    HOLD_REACHED = "hold_reached"
    SET_DONE = "set_done"
    STABILITY = "stability"
    REST_OVER = "rest_over"
    SESSION_DONE = "session_done"
    # about the sensor (wearable.link_cues)
    SIGNAL_LOST = "signal_lost"
    SIGNAL_BACK = "signal_back"
    SENSOR_LOST = "sensor_lost"


@dataclass(frozen=True)
class Cue:
    """Something the patient must notice, with the words to show or say."""

    kind: CueKind
    text: str
    set_index: int | None = None  # the set it is about
    reps: int | None = None  # reps of that set when the cue fired


@dataclass
class SetProgress:
    """What happened in one set so far."""

    spec: SetSpec
    reps: int = 0
    skipped: bool = False
    warnings: int = 0
    hold_started: float | None = None  # time (recording clock) the current hold began
    hold_reached: bool = False
    last_hold_s: float = 0.0


@dataclass(frozen=True)
class SessionView:
    """Everything the display shows, already worked out."""

    phase: Phase
    exercise_name: str
    cue: str
    note: str
    set_number: int
    of_sets: int
    set_index: int
    total_sets: int
    reps: int
    target_reps: int | None
    hold_target_s: float | None
    hold_s: float  # current (or last) hold, s
    holding: bool
    paused: bool
    warning: str | None
    rest_left_s: float | None
    waiting_for_sensor: bool = False  # the rest is over; the next set waits for the sensor


@dataclass
class GuidedSession:
    """The sequence of sets of one session.

    Parameters
    ----------
    sets : list of SetSpec
        In order (from :func:`wearable.plan.session_sets`, or one free set).
    rest_s : float
        Rest between sets, s; 0 for none. When it is over, the next set waits for the sensor
        (:meth:`tick`), so that it does not start while the patient is away with it.
    """

    sets: list[SetSpec]
    rest_s: float = DEFAULT_REST_S
    phase: Phase = Phase.EXERCISE
    index: int = 0
    paused: bool = False
    stopped: bool = False
    waiting_for_sensor: bool = False
    progress: list[SetProgress] = field(default_factory=list)
    _rest_until: float | None = None
    _rest_left: float = 0.0
    _warning_until: float = -1.0
    _recording_now: float = 0.0

    def __post_init__(self) -> None:
        if not self.sets:
            raise ValueError("a session needs at least one set")
        self.progress = [SetProgress(s) for s in self.sets]

    @property
    def current(self) -> SetProgress:
        return self.progress[min(self.index, len(self.progress) - 1)]

    def start(self) -> list[Cue]:
        """Begin the first set."""
        return [self._set_start_cue()]

    def _set_start_cue(self) -> Cue:
        spec = self.current.spec
        ex = get_exercise(spec.exercise)
        target = f", {spec.target_reps} reps" if spec.target_reps else ""
        return Cue(CueKind.SET_START,
                   f"{ex.name}: set {spec.set_number} of {spec.of_sets}{target}. {ex.cue}",
                   spec.index, 0)

    # -- inputs -----------------------------------------------------------------------------
    def on_event(self, event: Event, now: float) -> list[Cue]:
        """One event of the live detector (its ``t`` is on the set's recording clock)."""
        if self.phase != Phase.EXERCISE or self.paused:
            return []
        p = self.current
        self._recording_now = max(self._recording_now, event.t)
        if isinstance(event, RepStarted):
            p.hold_started, p.hold_reached, p.last_hold_s = None, False, 0.0
        elif isinstance(event, TopReached):
            p.hold_started, p.hold_reached = event.t, False
        elif isinstance(event, HoldTargetReached):
            p.hold_reached = True
            return [Cue(CueKind.HOLD_REACHED, "Hold reached - now lower slowly", p.spec.index,
                        p.reps)]
        elif isinstance(event, StabilityWarning):
            p.warnings += 1
            self._warning_until = now + WARNING_SHOW_S
            return [Cue(CueKind.STABILITY, "Keep your pelvis still", p.spec.index, p.reps)]
        elif isinstance(event, RepCompleted):
            p.reps = event.count
            p.last_hold_s = max(event.rep.hold_s, 0.0)
            p.hold_started = None
            if p.spec.target_reps is not None and p.reps >= p.spec.target_reps:
                return self._end_set(now, skipped=False)
            return [Cue(CueKind.REP, f"{p.reps}", p.spec.index, p.reps)]
        elif isinstance(event, CountRevised):
            # A movement counted earlier was no rep (or a hole hid one): the count on screen
            # follows without a cue, and a set whose target it reaches is done.
            p.reps = event.count
            if p.spec.target_reps is not None and p.reps >= p.spec.target_reps:
                return self._end_set(now, skipped=False)
        return []

    def on_samples(self, t_last: float) -> None:
        """The recording clock has reached ``t_last`` (s): the hold bar follows it."""
        self._recording_now = max(self._recording_now, t_last)

    def on_key(self, key: str, now: float) -> list[Cue]:
        """``p`` pause/resume, ``s`` skip this set (or the rest), ``q`` stop the session."""
        key = key.lower()
        if key == "q":
            return self.stop(now)
        if key == "p" and self.phase in (Phase.EXERCISE, Phase.REST):
            self.paused = not self.paused
            if self.phase == Phase.REST and self._rest_until is not None:
                if self.paused:  # the rest timer stops while paused
                    self._rest_left = max(self._rest_until - now, 0.0)
                else:
                    self._rest_until = now + self._rest_left
            return []
        if key == "s":
            if self.phase == Phase.EXERCISE:
                return self._end_set(now, skipped=True)
            if self.phase == Phase.REST:
                return self._next_set()
        return []

    def tick(self, now: float, sensor_ready: bool = True) -> list[Cue]:
        """Time passes: ends the rest when its timer runs out (not while paused) and the
        sensor sends data (``sensor_ready``); until it does, the next set waits for it."""
        due = self._rest_until is not None and now >= self._rest_until
        if self.phase == Phase.REST and due and not self.paused:
            if not sensor_ready:
                self.waiting_for_sensor = True
                return []
            return self._next_set()
        return []

    @property
    def expects_data(self) -> bool:
        """Whether the patient is meant to be exercising with the sensor now: during a set, or
        once the rest is over, but not while paused or resting (they may put the sensor down or
        walk away with it then)."""
        if self.paused:
            return False
        return self.phase == Phase.EXERCISE or (self.phase == Phase.REST
                                                 and self.waiting_for_sensor)

    def end_set(self, now: float) -> list[Cue]:
        """The set ended from outside (duration reached, end of stream)."""
        if self.phase != Phase.EXERCISE:
            return []
        return self._end_set(now, skipped=False)

    def stop(self, now: float) -> list[Cue]:
        """Stop the session: the current set ends (kept as far as it went), then questions."""
        self.stopped = True
        if self.phase == Phase.EXERCISE and self.current.reps == 0:
            self.current.skipped = True
        self.phase = Phase.QUESTIONS
        self.paused = False
        return [Cue(CueKind.SESSION_DONE, "Session stopped")]

    # -- transitions ------------------------------------------------------------------------
    def _end_set(self, now: float, skipped: bool) -> list[Cue]:
        p = self.current
        p.skipped = skipped
        p.hold_started = None
        last = self.index >= len(self.sets) - 1
        if skipped:
            cues = [Cue(CueKind.SET_DONE, "Set skipped", p.spec.index, p.reps)]
        else:
            cues = [Cue(CueKind.SET_DONE, f"Set done: {p.reps} reps. Well done!", p.spec.index,
                        p.reps)]
        if last:
            self.phase = Phase.QUESTIONS
            cues.append(Cue(CueKind.SESSION_DONE, "That was the last set."))
        elif self.rest_s > 0:
            self.phase = Phase.REST
            self._rest_until = now + self.rest_s
        else:
            cues += self._next_set()
        return cues

    def _next_set(self) -> list[Cue]:
        self.index += 1
        self.phase = Phase.EXERCISE
        self.paused = False
        self.waiting_for_sensor = False
        self._rest_until = None
        self._recording_now = 0.0
        return [Cue(CueKind.REST_OVER, "Next set"), self._set_start_cue()]

    def finish(self) -> None:
        """The questions are answered."""
        self.phase = Phase.DONE

    # -- output -----------------------------------------------------------------------------
    def view(self, now: float) -> SessionView:
        p = self.current
        spec = p.spec
        ex = get_exercise(spec.exercise)
        holding = p.hold_started is not None
        hold = (self._recording_now - p.hold_started) if p.hold_started is not None \
            else p.last_hold_s
        rest_left = None
        if self.phase == Phase.REST and self._rest_until is not None:
            rest_left = self._rest_left if self.paused else max(self._rest_until - now, 0.0)
        return SessionView(
            phase=self.phase, exercise_name=ex.name, cue=ex.cue, note=spec.note,
            set_number=spec.set_number, of_sets=spec.of_sets, set_index=spec.index,
            total_sets=len(self.sets), reps=p.reps, target_reps=spec.target_reps,
            hold_target_s=spec.hold_s, hold_s=max(hold, 0.0), holding=holding,
            paused=self.paused,
            warning="Keep your pelvis still" if now < self._warning_until else None,
            rest_left_s=rest_left,
            waiting_for_sensor=self.phase == Phase.REST and self.waiting_for_sensor,
        )
