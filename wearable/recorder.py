"""One set being recorded: samples to the live detector and the store, gaps, rep latency.

Synchronous and free of Bluetooth: the runner hands it :class:`~wearable.pipeline.SampleBlock`
objects (stream clock, s) and it answers the detector's events. Times it keeps are on the set's
clock: seconds since the set's first sample.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from rehablink.results import SetResult
from wearable.motion.events import Event, RepCompleted
from wearable.motion.live import LiveDetector
from wearable.pipeline import SampleBlock
from wearable.plan import SetSpec
from wearable.store import CompanionStore, Gap, SampleWriter
from wearable.timeline import find_gaps


@dataclass
class SetOutcome:
    """A finished set: the engine's result and what the link went through."""

    spec: SetSpec
    result: SetResult | None
    skipped: bool
    samples_received: int
    samples_lost: int
    gaps: list[Gap]
    reconnects: int
    latencies_s: list[float] = field(default_factory=list)


class SetRecorder:
    """Feeds one set's samples to a :class:`LiveDetector` and a :class:`SampleWriter`.

    Parameters
    ----------
    spec : SetSpec
        The set.
    store : CompanionStore
        Where the samples and the result go.
    session_id : str
        The session the set belongs to.
    rate_hz : float
        The stream's nominal rate, Hz (for gap detection and the detector).
    host_time : callable
        Maps a stream-clock time to the host's monotonic clock (for the latency figures).
    clock : callable
        The host's monotonic clock.
    """

    def __init__(self, spec: SetSpec, store: CompanionStore, session_id: str, rate_hz: float,
                 host_time: Callable[[float], float], clock: Callable[[], float],
                 reconnects_at_start: int = 0, placement: str = "pelvis") -> None:
        self.spec, self.store, self.session_id = spec, store, session_id
        self.rate_hz, self.host_time, self.clock = rate_hz, host_time, clock
        self.placement = placement
        store.begin_set(session_id, spec.index, spec.exercise, placement, spec.target_reps,
                        spec.hold_s)
        self.detector = LiveDetector(spec.exercise, placement, hold_target_s=spec.hold_s,
                                     sample_rate_hz=rate_hz)
        self.writer = SampleWriter(store, session_id, spec.index)
        self.origin: float | None = None
        self.last_t: float | None = None
        self.received = 0
        self.gaps: list[Gap] = []
        self.lost = 0
        self.latencies_s: list[float] = []
        self._paused = False
        self.reconnects_at_start = reconnects_at_start
        self.started_host = clock()

    def feed(self, block: SampleBlock) -> list[Event]:
        """Add a block; returns the detector's events."""
        if self.origin is None:
            self.origin = float(block.t[0])
        t = block.t - self.origin
        # Samples before the set began, or already given (a late resend), are not this set's.
        keep = t > (self.last_t if self.last_t is not None else -1e-9)
        if not np.all(keep):
            t, acc = t[keep], block.acc[keep]
            gyro = None if block.gyro is None else block.gyro[keep]
        else:
            acc, gyro = block.acc, block.gyro
        if len(t) == 0:
            return []
        joined = t if self.last_t is None or self._paused else \
            np.concatenate(([self.last_t], t))
        self._paused = False
        gaps, lost = find_gaps(joined, self.rate_hz)
        self.gaps += gaps
        self.lost += lost
        self.last_t = float(t[-1])
        self.received += len(t)
        self.writer.add(t, acc, gyro)
        events = self.detector.feed(t, acc, gyro)
        now = self.clock()
        for event in events:
            if isinstance(event, RepCompleted):
                # From the rep's last sample, as the live detector times it, to the count.
                self.latencies_s.append(now - self.host_time(self.origin + event.rep.end))
        return events

    def pause(self) -> None:
        """The patient paused: the time until the next sample is not a link gap."""
        self._paused = True
        self.writer.flush()

    def tick(self) -> None:
        """Commit buffered samples when due (called a few times a second)."""
        self.writer.tick()

    def finish(self, skipped: bool, reconnects_now: int) -> SetOutcome:
        """End the set: final analysis, stored with its statistics."""
        self.writer.flush()
        result = self.detector.finish() if self.received >= 2 else None
        reconnects = reconnects_now - self.reconnects_at_start
        self.store.finish_set(self.session_id, self.spec.index, result,
                              samples_received=self.received, samples_lost=self.lost,
                              gaps=self.gaps, reconnects=reconnects, skipped=skipped)
        return SetOutcome(self.spec, result, skipped, self.received, self.lost, self.gaps,
                          reconnects, self.latencies_s)
