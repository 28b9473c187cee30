"""The chunked pipeline shared by the offline analysis and the live detector.

grid (``Resampler``) -> low-pass -> gravity direction -> ticks of 0.1 s -> ``Segmenter`` ->
excursions -> timing (``reps.refine``) -> partial / rep -> ``SetResult``.
Offline analysis feeds the whole recording as one chunk; the live detector feeds small ones.
Both run the same code, so they reach the same counts.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import replace

import numpy as np
import numpy.typing as npt

from rehablink.results import Rep, SetResult
from wearable.motion import events as ev
from wearable.motion.orientation import (
    GravityTracker,
    angle_deg,
    cross,
    plane_angles,
    unit_rows,
)
from wearable.motion.preprocess import (
    GRID_HZ,
    TILT_CUTOFF_HZ,
    ImpactMeter,
    LowPass,
    Resampler,
    zero_phase_lowpass,
)
from wearable.motion.profiles import PELVIS_ROTATING_DEG, MotionProfile
from wearable.motion.reps import (
    HOLE_EDGE_S,
    MARGIN_S,
    RepTiming,
    classify,
    refine,
    turned_in_hole,
    typical_range,
)
from wearable.motion.review import (
    EDGE_NO_HOLD_S,
    EDGE_S,
    FIDGET_TEMPO_SHARE,
    GAP_SPLIT_S,
    HIDE_MIN_S,
    INSIDE_OUT_HELD_WINDOW_S,
    STEP_LEAN_APART_S,
    cut_reps,
    fragments,
    full_rep_s,
    hidden_reps,
    is_inside_out,
    is_step_partial,
    join_at_gaps,
    note_gaps,
    other_posture,
    overshoots,
    real_walks,
    split_at_gaps,
    turn_inside_out,
)
from wearable.motion.segment import (
    SPREAD_MIN_REPS,
    TICK_HZ,
    WALK_SUSTAIN_S,
    Excursion,
    Phase,
    Segmenter,
    TickEvent,
)
from wearable.motion.stability import is_rotating, stability_deg
from wearable.motion.stepping import (
    are_halves,
    hole_between,
    join_steps,
    may_be_stepping_up,
    pair_steps,
    rise,
    step_timing,
)

FloatArray = npt.NDArray[np.float64]

TICK_SAMPLES = round(GRID_HZ / TICK_HZ)
#: Data filtered beyond a rep's window on either side, s: several time constants of the tilt
#: low-pass.
FILTER_PAD_S = 1.0
#: A rep timed to end this soon after a hole in the data (or inside it) may have returned inside
#: it; one timed to start this soon before it (or inside it) may have lifted inside it, s.
HOLE_END_S = 0.5
#: A rep seen on one side of a hole turns there: its return begins this long before the hole,
#: or its lift stops this long after it, s (else it is the lift or the return of a rep whose
#: top the hole hid).
HOLE_TURN_S = 0.2
#: While the set goes on, the set-level review (``result``) runs again as each rep is counted,
#: at a walk's onset and after a posture change, so that the count the patient watches is the
#: one the set will end with. Between reviews an excursion's timing is kept once a later one has
#: closed (its window never reaches past that one's start), though the set's way and rotation
#: axis it was timed with move on (keeping it only while they moved by less than 10 deg, or
#: 30, showed the same counts on 1,620 development sets, with more timings redone).
#: The review covers at most this many excursions, the latest ones: beyond that (a long
#: recording fed to one detector) the reps before the last ``REVIEW_KEEP_EXCURSIONS`` are
#: counted as the review gave them then, and no longer reviewed (so the cost stays bounded).
REVIEW_MAX_EXCURSIONS = 40
REVIEW_KEEP_EXCURSIONS = 20


class _Grow:
    """An append-only float array with amortised growth."""

    def __init__(self, width: int) -> None:
        self._data = np.empty((1024, width))
        self.size = 0

    def extend(self, rows: FloatArray) -> None:
        n = rows.shape[0]
        if self.size + n > self._data.shape[0]:
            bigger = np.empty((max(2 * self._data.shape[0], self.size + n), self._data.shape[1]))
            bigger[: self.size] = self._data[: self.size]
            self._data = bigger
        self._data[self.size: self.size + n] = rows
        self.size += n

    @property
    def view(self) -> FloatArray:
        return self._data[: self.size]


class Engine:
    """Samples in, events and a :class:`SetResult` out.

    ``live``: review the set as it goes on (``REVIEW_MAX_EXCURSIONS``), so that the events' count is
    the one the set will end with; the offline analysis, with no one watching, skips it.
    """

    def __init__(self, profile: MotionProfile, hold_target_s: float | None = None,
                 live: bool = False) -> None:
        self.profile = profile
        self.hold_target_s = hold_target_s
        self.live = live
        self._resampler = Resampler()
        self._lowpass: LowPass | None = None  # its cut-off depends on the gyro (first chunk)
        self._impacts = ImpactMeter()
        self._gravity = GravityTracker()
        self._t = _Grow(1)
        self._acc = _Grow(3)
        self._gyro = _Grow(3)
        self._g = _Grow(3)
        self._tail_g = np.zeros((0, 3))
        self._tail_r = np.zeros(0)
        self._tail_t = np.zeros(0)
        self.segmenter = Segmenter(profile)
        self.excursions: list[Excursion] = []
        self._kept: dict[int, list[RepTiming]] = {}  # live review: timings of excursions
        self._review_from = 0  # first excursion reviewed
        self._review_before = 0  # reps counted before it
        self._barriers: list[tuple[float, float]] = []  # (start, close) of aborted movements
        self._gaps: list[list[float]] = []  # [first, last] grid times inside holes in the data
        self._roms: list[tuple[float, float]] = []  # live: (close, range) of the candidates
        # live: close (s), range (deg) and way (unit vector) of the reps learned from
        self._dirs = _Grow(5)
        self._walks_seen = 0
        self._throughs_seen = 0
        self.count = 0  # reps counted as they closed (the set is learned from three on)
        self.reviewed = 0  # the count as the set-level review gives it, shown to the patient
        self._top_t: float | None = None
        self._hold_announced = False
        self._warned = False
        self._across0 = 0.0
        self._pending: RepTiming | None = None  # thigh step-ups: a movement held, live

    # -- streaming -------------------------------------------------------------------------
    def push(self, t: FloatArray, acc: FloatArray, gyro: FloatArray | None) -> list[ev.Event]:
        """Process samples (s, g, deg/s) and return the events they caused."""
        chunk = self._resampler.push(t, acc, gyro)
        if len(chunk) == 0:
            return []
        if self._lowpass is None:
            self._lowpass = LowPass(TILT_CUTOFF_HZ if chunk.gyro is not None
                                    else self.profile.acc_tilt_cutoff_hz)
        lp = self._lowpass.push(chunk.acc)
        g = self._gravity.push(lp, chunk.gyro)
        r2 = self._impacts.push(chunk.acc)
        self._t.extend(chunk.t[:, None])
        self._acc.extend(chunk.acc)
        self._g.extend(g)
        if chunk.gyro is not None:
            self._gyro.extend(chunk.gyro)
        if chunk.gap.any():
            note_gaps(self._gaps, chunk.t[chunk.gap])
        gg = np.vstack((self._tail_g, g))
        rr = np.concatenate((self._tail_r, r2))
        tt = np.concatenate((self._tail_t, chunk.t))
        n = (gg.shape[0] // TICK_SAMPLES) * TICK_SAMPLES
        self._tail_g, self._tail_r, self._tail_t = gg[n:], rr[n:], tt[n:]
        if n == 0:
            return []
        tick_t = tt[TICK_SAMPLES - 1:n:TICK_SAMPLES].tolist()
        tick_g = gg[TICK_SAMPLES - 1:n:TICK_SAMPLES].tolist()
        tick_r = rr[:n].reshape(-1, TICK_SAMPLES).mean(axis=1).tolist()
        out: list[ev.Event] = []
        seg = self.segmenter
        step, walks, throughs = seg.step, seg.walk_started, seg.passed_through
        holes = bool(self._gaps)  # (all of this chunk's holes are noted above)
        for ti, gi, ri in zip(tick_t, tick_g, tick_r, strict=True):
            e = step(ti, gi, ri, holes and self._in_hole(ti))
            if e is not None:
                self._on_tick_event(e, out)
                while seg.queued:
                    self._on_tick_event(seg.queued.pop(0), out)
            if seg.phase is Phase.ACTIVE:
                self._watch_active(ti, gi, out)
            if len(walks) > self._walks_seen:
                self._walks_seen += 1
                self._forget_since(walks[-1] - 1.0)
                self._revise(ti, out)
            if len(throughs) > self._throughs_seen:
                self._throughs_seen += 1
                self._forget_since(throughs[-1])
                self._revise(ti, out)
        return out

    def _forget_since(self, t: float) -> None:
        """Walking began; what closed from ``t`` (s) on was its first steps, so their ranges and
        ways must not shape the set's typical range and direction (the result leaves them out
        as well; see ``result``)."""
        self._roms = [(c, r) for c, r in self._roms if c < t]
        kept = self._dirs.view[self._dirs.view[:, 0] < t]
        self._dirs = _Grow(5)
        self._dirs.extend(kept)
        self.segmenter.typical_deg = typical_range([r for _, r in self._roms],
                                                   self.profile.rom_range_deg[0])
        self._update_direction()

    def _in_hole(self, t: float) -> bool:
        """Whether the tick ending at ``t`` (s) has samples in a hole in the data long enough to
        hide a turn of a rep (``GAP_SPLIT_S``; dropped packets are interpolated over). A hole
        is noted whole, with the chunk that ends it, before its ticks are taken."""
        t0 = t - (TICK_SAMPLES - 1) / GRID_HZ
        for g0, g1 in reversed(self._gaps):
            if g1 < t0:
                return False
            if g0 <= t and g1 - g0 >= GAP_SPLIT_S:
                return True
        return False

    def _on_tick_event(self, e: TickEvent, out: list[ev.Event]) -> None:
        if e.kind == "start":
            self._top_t, self._hold_announced, self._warned = None, False, False
            self._across0 = self._across(self.segmenter.ref)
            out.append(ev.RepStarted(e.t))
        elif e.kind == "top":
            self._top_t = e.t
            out.append(ev.TopReached(e.t))
        elif e.kind == "close" and e.excursion is not None:
            self._on_close(e.excursion, out)
        elif e.kind == "abort" and e.excursion is not None:
            # Not a rep, but its motion must not leak into the timing of the reps around it.
            self._barriers.append((e.excursion.start_t, e.excursion.close_t))
        elif e.kind == "abort":  # a new posture, or one the detector gave up on
            if not self.segmenter.learned:
                # Before the set is learned, what was learned in the old posture (say, bending
                # to sit down on the way to the floor) must not set the new one's range.
                self._forget_since(-math.inf)
            self._revise(e.t, out)

    def _across(self, g: list[float] | None) -> float:
        d, r = self.segmenter.direction, self.segmenter.ref
        if d is None or r is None or g is None:
            return 0.0
        axis = cross(np.asarray(r), np.asarray(d))
        return math.degrees(math.asin(max(-1.0, min(1.0, float(np.dot(axis, g))))))

    def _watch_active(self, t: float, g: list[float], out: list[ev.Event]) -> None:
        if (self.hold_target_s is not None and self._top_t is not None
                and not self._hold_announced and t - self._top_t >= self.hold_target_s):
            self._hold_announced = True
            out.append(ev.HoldTargetReached(self._top_t + self.hold_target_s))
        if self.profile.stability_checked and not self._warned:
            deg = abs(self._across(g) - self._across0)
            if deg > PELVIS_ROTATING_DEG:
                self._warned = True
                out.append(ev.StabilityWarning(t, deg))

    def _on_close(self, ex: Excursion, out: list[ev.Event]) -> None:
        # Decide on the data up to now only, so that offline analysis (which has the whole
        # recording in the buffers already) takes exactly the live decisions.
        self.excursions.append(ex)
        for timing in self._times(len(self.excursions) - 1, until=ex.close_t):
            self._on_timed(ex, timing, out)

    def _on_timed(self, ex: Excursion, timing: RepTiming, out: list[ev.Event]) -> None:
        rom = timing.rom_deg
        self._roms.append((ex.close_t, rom))
        typical = typical_range([r for _, r in self._roms], self.profile.rom_range_deg[0])
        kind = classify(rom, typical)
        if kind == "outlier" or rom > self.profile.max_rom_deg:
            self._roms.pop()
            return
        if kind == "partial":
            out.append(ev.PartialAttempt(ex.close_t, rom))
            return
        self.segmenter.typical_deg = typical
        self._learn(ex, rom)
        if self.profile.step_halves:
            paired = self._pair_live(timing)
            if paired is None:  # stepped up: the rep completes when the thigh steps down,
                # unless the review already counts it, as the set's end would
                self._revise(ex.close_t, out, self._rep(timing, kind))
                return
            timing, kind = paired, classify(paired.rom_deg, typical)
        self._complete(timing, kind, ex.close_t, out)

    def _complete(self, timing: RepTiming, kind: str, t: float, out: list[ev.Event]) -> None:
        self._counted()
        self._revise(t, out, self._rep(timing, kind))

    def _counted(self) -> None:
        """One more rep counted as the movements close."""
        self.count += 1
        self.segmenter.learned = self.count >= 3

    def _revise(self, t: float, out: list[ev.Event], rep: Rep | None = None) -> None:
        """Review the set at ``t`` (s) and announce the count if the review changed it: as
        ``RepCompleted`` when ``rep`` was just counted and the count rose (a movement the
        review does not take for a rep yet is not announced)."""
        n = self._review() if self.live else self.count
        if rep is not None and n > self.reviewed:
            out.append(ev.RepCompleted(t, rep, n))
        elif n != self.reviewed:
            out.append(ev.CountRevised(t, n))
        self.reviewed = n

    def _review(self) -> int:
        """The set's count as the set-level review gives it on the data so far
        (``REVIEW_MAX_EXCURSIONS``)."""
        reps = self._result(0.0, 0.0, self._kept_times, self._review_from).reps
        count = self._review_before + len(reps)
        first = len(self.excursions) - REVIEW_KEEP_EXCURSIONS
        if first - self._review_from > REVIEW_MAX_EXCURSIONS - REVIEW_KEEP_EXCURSIONS:
            # Freeze the reps before the latest excursions as counted now.
            cut = self.excursions[first].start_t
            self._review_before += sum(r.top < cut for r in reps)
            for k in range(self._review_from, first):
                self._kept.pop(k, None)
            self._review_from = first
        return count

    def _kept_times(self, k: int, set_direction: FloatArray | None,
                    set_axis: FloatArray | None) -> list[RepTiming]:
        kept = self._kept.get(k)
        if kept is not None:
            return kept
        timings = self._times(k, set_direction=set_direction, set_axis=set_axis)
        if k + 1 < len(self.excursions):
            self._kept[k] = timings
        return timings

    def _with_rises(self, timings: list[RepTiming]) -> list[RepTiming]:
        """Step-ups at the thigh: ``timings`` with their rises (``stepping.rise``)."""
        t = self._t.view[:, 0]
        return [replace(tm, rise_m=rise(t, self._acc.view, tm)) for tm in timings]

    def _pair_live(self, timing: RepTiming) -> RepTiming | None:
        """Step-ups at the thigh, live: the rule of ``stepping.pair_steps`` as the movements
        close (a movement that may be a stepping up is held until the next one says whether
        they are one rep; one that did not rise is a rep at once)."""
        pending, self._pending = self._pending, None
        if pending is None:
            (mine,) = self._with_rises([timing])
        else:
            first, mine = self._with_rises([pending, timing])
            hole_s = hole_between(self._gaps, first.end, mine.start)
            if are_halves(first, mine, second_ended=False, hole_s=hole_s):
                return join_steps(first, mine)
            # The held movement had no partner: it is a rep on its own. Live, the review
            # counted it when it closed, so the count the review gives now is announced with
            # the movement that just closed (the caller's ``_revise``), not with the held one.
            # (Offline, the events are not kept: the count is the set's result.)
            self._counted()
        if may_be_stepping_up(mine):
            self._pending = timing
            return None
        return timing

    def _learn(self, ex: Excursion, rom: float) -> None:
        d = ex.way
        if d is not None:
            self._dirs.extend(np.array([[ex.close_t, rom, d[0], d[1], d[2]]]))
            self._update_direction()

    def _update_direction(self) -> None:
        """The way the set's reps move gravity: the mean of their directions, of the reps that
        reach half the typical range (a small early fidget must not steer it); and how far the
        furthest of those lies from it, once there are ``SPREAD_MIN_REPS`` of them."""
        least = 0.5 * self.segmenter.typical_deg
        rows = self._dirs.view
        ways = rows[rows[:, 1] >= least, 2:]
        total = ways.sum(axis=0)
        n = float(np.linalg.norm(total))
        if n <= 1e-9:
            self.segmenter.direction, self.segmenter.direction_spread_deg = None, 0.0
            return
        mean = total / n
        self.segmenter.direction = mean.tolist()
        self.segmenter.direction_spread_deg = (
            float(np.degrees(np.arccos(np.clip(np.min(ways @ mean), -1.0, 1.0))))
            if len(ways) >= SPREAD_MIN_REPS else 0.0)

    def _set_direction(self, first: int = 0) -> FloatArray | None:
        """The mean way gravity moves in the set's excursions (from ``first`` on; unit), or
        None."""
        total = np.zeros(3)
        for ex in self.excursions[first:]:
            if ex.way is not None:
                total += ex.way
        n = float(np.linalg.norm(total))
        return total / n if n > 1e-9 else None

    def _set_axis(self, first: int = 0) -> FloatArray | None:
        """The dominant rotation axis of the set's excursions (from ``first`` on), sensor frame
        (gyro only)."""
        if not self._gyro.size or len(self.excursions) <= first:
            return None
        t = self._t.view[:, 0]
        scatter = np.zeros((3, 3))
        for ex in self.excursions[first:]:
            i0, i1 = np.searchsorted(t, [ex.start_t, ex.close_t])
            w = self._gyro.view[i0:i1]
            scatter += w.T @ w
        _, vectors = np.linalg.eigh(scatter)
        return np.asarray(vectors[:, -1], dtype=np.float64)

    def _times(self, k: int, until: float | None = None,
               set_direction: FloatArray | None = None,
               set_axis: FloatArray | None = None) -> list[RepTiming]:
        """The reps of excursion ``k``: none (too short to be a rep: a fidget or a step), one,
        or more when a hole in the data hid the return of one rep and the lift of the next.

        The tilt is interpolated straight across the hole, so the excursion does not close
        between the two, and its timing takes one of them: the one before the hole (it then
        ends in the hole) or the one after it (it then starts in the hole); or neither, when
        the two make no rep together (the tilt ends far from where it began). A movement out
        and back on the other side of the hole, long enough to be a rep and turning there (its
        return begun before the hole, or its lift over after it), is the other rep. Timed whole
        across the hole, it is two reps when the tilt's way at the hole's edges says it went
        back down inside (``reps.turned_in_hole``) and each side turns on its own. (Otherwise a
        rep that spans the hole from its top to its lowering is split later, by the set's
        rhythm: ``review.split_at_gaps``; a hold with a hole in it looks the same.)
        """
        timing = self._time(k, until, set_direction, set_axis)
        ex, min_s = self.excursions[k], self.profile.min_movement_s
        holes = [g for g in self._gaps if g[1] - g[0] >= GAP_SPLIT_S]
        before = after = None
        if timing is None:
            before = after = next((g for g in holes if g[0] - ex.start_t >= min_s
                                   and ex.close_t - g[1] >= min_s), None)
        else:
            after = next((g for g in holes if timing.lower_start <= g[1]
                          and g[0] <= timing.end <= g[1] + HOLE_END_S
                          and ex.close_t - g[1] >= min_s), None)
            before = next((g for g in holes if timing.top >= g[0]
                           and g[0] - HOLE_END_S <= timing.start <= g[1]
                           and g[0] - ex.start_t >= min_s), None)
        out = [] if timing is None else [timing]
        inside = None if timing is None or before or after else next(
            (g for g in holes if timing.start < g[0] and g[1] < timing.end
             and g[0] - ex.start_t >= min_s and ex.close_t - g[1] >= min_s), None)
        if inside is not None and timing is not None:
            tb = self._time(k, until, set_direction, set_axis, span=(None, inside[0]))
            ta = self._time(k, until, set_direction, set_axis, span=(inside[1], None))
            if (tb is not None and ta is not None and tb.lower_start < inside[0] - HOLE_TURN_S
                    and ta.top > inside[1] + HOLE_TURN_S
                    and turned_in_hole(*self._tilt(ex, inside, until), inside,
                                       timing.rom_deg)):
                return [tb, ta]
        if before is not None:
            tm = self._time(k, until, set_direction, set_axis, span=(None, before[0]))
            if tm is not None and tm.lower_start < before[0] - HOLE_TURN_S:
                out.insert(0, tm)
        if after is not None:
            tm = self._time(k, until, set_direction, set_axis, span=(after[1], None))
            if tm is not None and tm.top > after[1] + HOLE_TURN_S:
                out.append(tm)
        return out

    def _tilt_rows(self, w0: int, w1: int) -> tuple[FloatArray, FloatArray | None]:
        """Grid rows ``w0:w1`` as the tilt is measured on them: the gravity direction (unit;
        fused with the gyro where there is one, else the zero-phase low-passed acceleration)
        and the angular rate (deg/s; None without a gyro)."""
        if self._gyro.size:
            return self._g.view[w0:w1], self._gyro.view[w0:w1]
        return unit_rows(zero_phase_lowpass(self._acc.view[w0:w1],
                                            self.profile.acc_tilt_cutoff_hz)), None

    def _tilt(self, ex: Excursion, hole: list[float],
              until: float | None) -> tuple[FloatArray, FloatArray]:
        """Times (s) and tilt along the excursion's way (deg) around ``hole``, on the data up
        to ``until`` (s)."""
        t = self._t.view[:, 0]
        end = hole[1] + HOLE_EDGE_S + FILTER_PAD_S
        w0 = int(np.searchsorted(t, hole[0] - HOLE_EDGE_S - FILTER_PAD_S))
        w1 = int(np.searchsorted(t, end if until is None else min(end, until), side="right"))
        if ex.way is None:
            return t[:0], t[:0]
        return t[w0:w1], plane_angles(self._tilt_rows(w0, w1)[0], np.asarray(ex.ref),
                                      ex.way)[0]

    def _time(self, k: int, until: float | None = None,
              set_direction: FloatArray | None = None, set_axis: FloatArray | None = None,
              span: tuple[float | None, float | None] = (None, None)) -> RepTiming | None:
        """Time excursion ``k`` on the data around it, never reaching into its neighbours
        (``span``: only its part after and before these times, s)."""
        ex = self.excursions[k]
        after, before = span
        first = ex.start_t - MARGIN_S if after is None else after
        if k > 0:
            prev = self.excursions[k - 1]
            # The two halves of a step-up at the thigh overlap: stepping down starts before the
            # thigh is quite upright again; the lowest tilt between them is searched instead.
            first = max(first, prev.peak_t if self.profile.step_halves else prev.close_t)
        last = ex.close_t + MARGIN_S if until is None else until
        if before is not None:
            last = min(last, before)
        if k + 1 < len(self.excursions):
            last = min(last, self.excursions[k + 1].start_t)
        for b_start, b_close in self._barriers:
            if b_close <= ex.start_t:
                first = max(first, b_close)
            elif b_start >= ex.close_t:
                last = min(last, b_start)
        # The filters run on real data beyond the window (padding made up at its edge turns a
        # jolt there, a fidget, into a tilt of tens of degrees), never past ``until``: the data
        # the live detector has.
        t = self._t.view[:, 0]
        end = last + FILTER_PAD_S if until is None else until
        w0 = int(np.searchsorted(t, first - FILTER_PAD_S))
        w1 = int(np.searchsorted(t, end, side="right"))
        g, gyro = self._tilt_rows(w0, w1)
        timing = refine(t[w0:w1], g, gyro, np.asarray(ex.ref), ex.way,
                        ex.start_t if after is None else after,
                        ex.close_t if before is None else before,
                        self.profile.two_phase, set_direction, set_axis,
                        (first, last), self.profile.min_movement_s, span != (None, None))
        return None if timing is None else replace(timing, rest=ex.ref)

    def _rep(self, timing: RepTiming, kind: str) -> Rep:
        stab = stability_deg(timing, self.profile)
        flags = []
        if kind == "reduced":
            flags.append("reduced_rom")
        if is_rotating(stab):
            flags.append("pelvis_rotating")
        if any(g[1] - g[0] >= HIDE_MIN_S and g[0] <= timing.end and g[1] >= timing.start
               for g in self._gaps):
            flags.append("in_gap")
        return Rep(start=timing.start, top=timing.top, lower_start=timing.lower_start,
                   end=timing.end, rom_deg=timing.rom_deg, flags=tuple(flags),
                   stability_deg=stab)

    def _inside_out(self, reps: list[Rep], first: int = 0) -> bool:
        """Whether the set was counted inside out (``review.is_inside_out``): the reps' top
        orientation is the mean peak of the excursions timed as reps (from ``first`` on), the
        rest their mean rest."""
        top, rest = np.zeros(3), np.zeros(3)
        spans = sorted((r.start - 1.0, r.end + 1.0) for r in reps)
        starts = [a for a, _ in spans]
        for ex in self.excursions[first:]:
            i = bisect_right(starts, ex.peak_t) - 1  # the last rep starting before the peak
            if i >= 0 and ex.peak_t <= spans[i][1]:
                top += ex.peak_g
                rest += ex.ref
        if not top.any() or not rest.any():
            return False
        top, rest = top / np.linalg.norm(top), rest / np.linalg.norm(rest)
        apart = float(angle_deg(rest[None, :], top)[0])
        t = self._t.view[:, 0]
        i0 = 0 if first == 0 else int(np.searchsorted(
            t, self.excursions[first].start_t - INSIDE_OUT_HELD_WINDOW_S))
        return is_inside_out(t[i0:], angle_deg(self._g.view[i0:], top), reps, apart,
                             self.profile.holds)

    # -- the set ---------------------------------------------------------------------------
    def result(self, duration_s: float, sample_rate_hz: float) -> SetResult:
        """The set so far, with every excursion timed on all the data there is."""
        return self._result(duration_s, sample_rate_hz,
                            lambda k, d, a: self._times(k, set_direction=d, set_axis=a))

    def _result(self, duration_s: float, sample_rate_hz: float,
                times: Callable[[int, FloatArray | None, FloatArray | None], list[RepTiming]],
                first: int = 0) -> SetResult:
        """The set from excursion ``first`` on, each excursion timed by ``times``."""
        walks = real_walks(self.segmenter.walk_started, self.segmenter.walk_ended)
        set_direction, set_axis = self._set_direction(first), self._set_axis(first)
        excursions = self.excursions[first:]
        overshoot = overshoots(excursions, set_direction,
                               STEP_LEAN_APART_S if self.profile.two_phase else None)
        onsets = [(w, w + WALK_SUSTAIN_S + 0.1) for w in walks]  # a walk's first steps, s
        # Excursions that close at a walk's onset are its first steps; so is a movement timed
        # into them (a short excursion just before whose timing ran on into the first steps).
        timings = [tm for k, (ex, o) in enumerate(zip(excursions, overshoot, strict=True), first)
                   if not o and not any(a - 1.0 <= ex.close_t <= b for a, b in onsets)
                   for tm in times(k, set_direction, set_axis)
                   if not any(tm.start < b and tm.end > a for a, b in onsets)]
        kept: list[RepTiming] = []
        for tm in timings:
            if tm.rom_deg > self.profile.max_rom_deg:
                continue
            if kept and tm.top <= kept[-1].lower_start:  # the same movement found twice
                if tm.rom_deg > kept[-1].rom_deg:
                    kept[-1] = tm
                continue
            kept.append(tm)
        kept = join_at_gaps(split_at_gaps(kept, self._gaps), self._gaps)
        if self.profile.two_phase:  # step-ups: the top and the return from the rise and fall
            kept = step_timing(self._t.view[:, 0], self._acc.view, kept, self._gaps)
        prior = self.profile.rom_range_deg[0]
        if self.profile.step_halves:  # step-ups at the thigh: a rep seen as two movements
            kept = pair_steps(self._with_rises(kept), self._gaps, prior)
        typical = typical_range([tm.rom_deg for tm in kept], prior)
        elsewhere = other_posture(kept, typical)
        kept = [tm for tm, o in zip(kept, elsewhere, strict=True) if not o]
        reps: list[Rep] = []
        partials = 0
        full_s = full_rep_s(kept, typical)
        fidget_s = FIDGET_TEMPO_SHARE * full_s
        for tm in kept:
            kind = classify(tm.rom_deg, typical)
            if kind == "outlier" or tm.rom_deg > self.profile.max_rom_deg:
                continue
            if kind != "full" and tm.end - tm.start < fidget_s:
                continue
            if (self.profile.two_phase and kind == "reduced"
                    and is_step_partial(tm, typical, full_s)):
                kind = "partial"
            if kind == "partial":
                partials += 1
            else:
                reps.append(self._rep(tm, kind))
        reps = [r for r, part in zip(reps, fragments(reps), strict=True) if not part]
        reps = sorted(reps + hidden_reps(reps, self._gaps), key=lambda r: r.top)
        t, g = self._t.view[:, 0], self._g.view
        edge_s = EDGE_S if self.profile.holds else EDGE_NO_HOLD_S
        reps = sorted(reps + cut_reps(reps, self._gaps, t, g, typical, edge_s),
                      key=lambda r: r.top)
        if self._inside_out(reps, first):
            reps = turn_inside_out(reps)
        extras = {
            "typical_rom_deg": round(typical, 2),
            "gyro": bool(self._gyro.size),
        }
        if self.profile.stability_checked or self.profile.roll_is_compensation:
            extras["pelvis_rotating_threshold_deg"] = PELVIS_ROTATING_DEG
        if self.hold_target_s is not None:
            extras["hold_target_s"] = self.hold_target_s
        return SetResult(exercise=self.profile.exercise, placement=self.profile.placement,
                         duration_s=duration_s, sample_rate_hz=sample_rate_hz,
                         reps=tuple(reps), partial_count=partials, extras=extras)
