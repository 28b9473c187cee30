"""Rest and movement: the excursion detector that runs once per tick (0.1 s).

A rep is an excursion of the segment's tilt away from its rest direction and back. The detector
tracks the rest direction while the segment is still, opens an excursion when the tilt leaves rest
by more than a share of the set's typical range, and closes it when the tilt has come back.
Walking (footfall impacts), posture changes (lying down, getting up, a shift in the middle of the
set) and long stillness away from rest abort the excursion and re-learn the rest direction.

The per-tick work is a few float operations in plain Python: at 10 ticks per second an hour of
data is 36,000 steps.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from enum import Enum
from functools import cached_property

import numpy as np
import numpy.typing as npt

from wearable.motion.anchor import (
    EXIT_SHARE,
    MIN_EXCURSION_S,
    MIN_STEP_EXCURSION_S,
    SHIFT_ANGLE_DEG,
    AnchorTracker,
    tangent_angle,
)
from wearable.motion.anchor import angle as _angle
from wearable.motion.anchor import norm as _norm
from wearable.motion.orientation import tangent_direction
from wearable.motion.profiles import OTHER_POSTURE_DEG, MotionProfile

FloatArray = npt.NDArray[np.float64]

#: Ticks per second: decisions are taken every 0.1 s.
TICK_HZ = 10.0
#: Tilt speed below which the segment counts as still, deg/s (at most; see ``Segmenter.step``).
STILL_DEG_S = 4.0
#: ... and at least, deg/s.
STILL_FLOOR_DEG_S = 1.0
#: Smoothed RMS of the acceleration magnitude in the step band that means walking, g.
WALK_G = 0.05
#: Still time needed to learn a (new) rest direction, s.
SETTLE_S = 0.8
#: Time constant of the rest direction's slow tracking while still near rest (drift), s.
REST_TAU_S = 5.0
#: An excursion opens above this share of the typical range ...
ENTER_SHARE = 0.25
#: ... and never below this tilt, degrees (noise, breathing).
ENTER_FLOOR_DEG = 0.8
# An excursion closes when the tilt has come back by (1 - EXIT_SHARE) of its rise from where it
# began (its valley: the rest, or a level the tilt settled at beside it, say after a disconnect
# or a slipped clip), and lasts at least MIN_EXCURSION_S to be a movement of the exercise (both
# shared with the anchor logic).
#: At rest between reps, staying put this long (s) ...
REST_MOVED_S = 1.5
#: ... this far from the learned rest (and half the opening tilt), degrees, is a new rest: a
#: posture shift moved it. (Below 3 deg breathing and sway in the small-range exercises
#: (clamshell, hip hitch) moved the rest as well.)
REST_MOVED_DEG = 3.0
#: Stillness away from rest in a direction unlike the reps' (``MotionProfile.shift_angle_deg``
#: apart) is a posture shift after this time, s ...
SHIFT_S = 1.0
#: ... from this share of the typical range on: the share at which an excursion opens
#: (``ENTER_SHARE``). (A shift of half a rep's range the other way left every later rep's top
#: near the old rest; 0.3 missed smaller shifts: 16 development sets gained, 1 lost.)
SHIFT_MIN_SHARE = 0.25
#: Unlike the reps' way: further from their mean direction than the furthest of them by this,
#: degrees, once ``SPREAD_MIN_REPS`` reps are learned (reps scatter about their mean: a
#: step-up's pelvis leans sideways with the leading leg) ...
SPREAD_MARGIN_DEG = 30.0
SPREAD_MIN_REPS = 3
#: ... never nearer than the profile's ``shift_angle_deg`` and never further than this, degrees.
SHIFT_MAX_DEG = 120.0
#: Stillness stays put (``Segmenter._put_ticks``: a new rest between reps, an anchor, a new
#: posture after the profile's longest time away from rest) only while the tilt creeps less than
#: this share of the opening tilt from where the stillness began: a slow rep of a small range
#: creeps on under the still speed. (0.5 took the slow lift of a reduced rep for a new rest:
#: 0.42, 0.35, 0.3, 0.25 and 0.2 gave +6, +10, +15, +16 and -5 on 16,200 development sets.)
STILL_SPAN_SHARE = 0.3
#: Ticks over which the tilt speed is measured.
SPEED_TICKS = 3
#: Stillness this multiple of the typical range away from the anchor is a later anchor.
FAR_SHARE = 2.2
#: Before any rep is counted, stillness beyond this multiple of the exercise's plausible range is
#: a new posture (lying down after standing), not a hold; so is stillness beyond the range itself
#: (and ``OTHER_POSTURE_DEG``) that lasts longer than the exercise pauses at a rep's top
#: (``MotionProfile.top_still_s``: standing up from lying, 80-100 deg, before hip hinges of up
#: to 80 deg). Either is a hold where the reps seen so far hold (``Segmenter._like_top``): hip
#: hitches of 14-15 deg, beyond the usual 4-12, lost the set after their third rep's top.
FAR_UNLEARNED_SHARE = 1.3
#: A movement opening the other way than the one that just closed, with no stillness between,
#: passed through the rest: directions this far apart, degrees.
THROUGH_ANGLE_DEG = 120.0
#: ... and going at least this share of its range the other way, unlike a rep's overshoot.
THROUGH_SHARE = 0.5
#: Walking swings the thigh less than this from upright, degrees (15-25 in gait); a step-up's
#: thigh tilts 30-70: landing on the step is the exercise's impact, not a walk's. (35 left
#: small step-ups' stepping up, 30-35 deg, cut short as the first steps of a walk.)
WALK_SWING_MAX_DEG = 30.0
#: Walking sways the pelvis by less than this, degrees (a few in gait): before a set's reps are
#: learned, a squat or step-up at the pelvis tilting further is the exercise, whose landing
#: shakes the footfall band, not the first steps of a walk.
PELVIS_WALK_TILT_DEG = 10.0
#: How far back the detector looks, when it first settles, for the rest the segment left (the
#: first still moment of a set can be the top of its first rep), s.
LOOKBACK_S = 6.0
#: Stillness before that movement that counts as having rested there, s.
LOOKBACK_STILL_S = 0.5
#: ... and how far beyond its end that one movement may pass on the way (a multiple of its range).
LOOKBACK_OVERSHOOT = 1.3
#: How far back it looks, at the stillness that ends a settling, for reps it did not see, s:
#: without a pause between reps (with sway at rest before them, straight after a walk, or after
#: getting up from the floor) a whole set can pass before the segment is still.
SET_LOOKBACK_S = 90.0
#: Each rep found that way before the last one went this share of the last one's range (more
#: while fresh, less with a reduced range; the way into the posture goes further, a partial
#: attempt less, and the search stops there).
CHAIN_SHARE = (0.4, 2.5)
#: ... and the last of them may be this share of the exercise's usual lowest range: a fatigued
#: set's last reps are 30-40 % smaller than its first (hip hinges of 25 deg after a walk, never
#: still between them, were not looked for below the usual 30).
FATIGUED_SHARE = 0.6
#: An orientation within these multiples of the typical range from rest may be a rep's top
#: (``Segmenter._at_top``).
TOP_SHARE = (0.7, 1.5)
#: ... and before any rep is counted, within the exercise's plausible range up to this tilt,
#: degrees (lying down from standing is 80-90 deg).
UNLEARNED_TOP_MAX_DEG = 70.0
#: After a walk, a standing set (squats and step-ups) starts from the rest left for it
#: without stillness once the tilt has been within this share of the opening tilt of that rest
#: ...
BACK_SHARE = 0.5
#: ... for this long, s ...
BACK_S = 0.3
#: ... with the footfall measure below this share of walking's.
BACK_CALM_SHARE = 0.5
#: Smoothing of the footfall measure, s.
WALK_TAU_S = 0.3
#: Shortest walk, s: footfalls for less time than this are not walking (a knock, a fast squat,
#: a loose clip ringing as a leg lifts).
WALK_MIN_S = 3.0
#: The footfall measure must stay high this long to mean walking, s.
WALK_SUSTAIN_S = 1.5
#: For squats and step-ups at the pelvis, whose level of walking is twice the usual (their own
#: landing shakes the band), the measure stays high once it is, down to this share of that
#: level: a slow walk's footfalls rise and fall about it with every step and never held it for
#: 1.5 s, so the steps before a set were counted as step-ups. (0.6, 0.7, 0.75, 0.8, 0.85 and
#: 0.9 gave +5, +6, +7, +8, +7 and +7 on the 3,600 development squat and step-up sets.)
WALK_HOLD_SHARE = 0.8
#: Standing exercises at the thigh (squats, step-ups): a walk's footfalls come in a rhythm,
#: a rep's landing is one burst. Over the last ``WALK_RHYTHM_S`` of ticks, the footfall
#: measure's autocorrelation at a step's period (``WALK_STEP_TICKS``: 0.4-0.7 s, steps at
#: 1.4-2.5 Hz) less that at half a period (``WALK_HALF_STEP_TICKS``: a burst's smooth rise
#: and fall correlates at every short lag, a rhythm only at its period) ...
WALK_RHYTHM_S = 2.0
WALK_STEP_TICKS = range(4, 8)
WALK_HALF_STEP_TICKS = range(2, 4)
#: ... below this, with the measure beyond ``WALK_BURST_SHARE`` times walking's level, is a
#: burst, not a walk (an accelerometer-only thigh stepping up briskly shakes the footfall band
#: at 10-80 times walking's level for the 1.5-2.5 s of the rep: it was taken for the first
#: steps of a walk and the rep was lost; walks at the thigh reach 4-20 times) ...
WALK_RHYTHM_MIN = 0.15
WALK_BURST_SHARE = 15.0
#: ... unless the shaking lasts this long, s (no rep's landing rings so long).
WALK_SURE_S = 3.0
#: The level is the smoothed measure's highest over the last this many ticks (the sustained
#: shaking).
WALK_LEVEL_TICKS = round(WALK_SUSTAIN_S * TICK_HZ) + 1


def _autocorrelation(x: list[float], lags: range) -> float:
    """The highest normalised autocorrelation of ``x`` (mean removed) at ``lags`` (samples)."""
    power = sum(v * v for v in x)
    if power <= 0.0:
        return 0.0
    return max((sum(a * b for a, b in zip(x[:-k], x[k:], strict=True)) / power
                for k in lags if 0 < k < len(x)), default=0.0)


class Phase(Enum):
    """Where the detector is."""

    SETTLING = "settling"
    REST = "rest"
    ACTIVE = "active"


@dataclass(frozen=True)
class Excursion:
    """A closed excursion away from rest (times in s on the recording's clock)."""

    start_t: float
    close_t: float
    peak_t: float
    peak_deg: float
    ref: tuple[float, float, float]
    peak_g: tuple[float, float, float]

    @cached_property
    def way(self) -> FloatArray | None:
        """Unit direction in which the peak lies away from the rest (sensor frame), or None
        when they coincide."""
        return tangent_direction(np.asarray(self.peak_g), np.asarray(self.ref))


@dataclass(frozen=True)
class TickEvent:
    """What a tick changed: ``kind`` is ``"start"``, ``"top"``, ``"close"`` or ``"abort"``
    (with the aborted excursion where there was one: a fidget, steps)."""

    kind: str
    t: float
    excursion: Excursion | None = None


class Segmenter:
    """The excursion state machine; call :meth:`step` once per tick."""

    def __init__(self, profile: MotionProfile) -> None:
        self.profile = profile
        self.phase = Phase.SETTLING
        self.typical_deg = profile.rom_range_deg[0]
        self.direction: list[float] | None = None  # learned way the reps move gravity
        # ... and the largest angle of a learned rep's way from it, degrees.
        self.direction_spread_deg = 0.0
        self.learned = False  # whether typical_deg and direction come from counted reps
        self.ref: list[float] | None = None
        self._recent: list[list[float]] = []
        self._still_ticks = 0
        self._put_ticks = 0  # still ticks without creeping from where the stillness began
        self._put_from: list[float] = [0.0, 0.0, 1.0]
        self._walk = 0.0
        self._walk_alpha = 1.0 / (WALK_TAU_S * TICK_HZ)
        self._rest_alpha = 1.0 / (REST_TAU_S * TICK_HZ)
        self._valley = 0.0
        self._walk_ticks = 0
        # Standing exercises at the thigh: the footfall measure's last ticks (raw, and as a
        # share of walking's level smoothed), and whether the shaking now going on is a walk.
        self._rhythm = profile.thigh_outswings_gait
        self._footfalls: deque[tuple[float, float]] = deque(
            maxlen=round(WALK_RHYTHM_S * TICK_HZ))
        self._walking = False
        self._min_excursion_s = (MIN_STEP_EXCURSION_S if profile.step_halves
                                 else MIN_EXCURSION_S)
        self._swung_t = -math.inf  # when the thigh last swung beyond a walk's swing, s
        # The last close (s, peak degrees, peak direction) with nothing still since, and one
        # the segment may be passing on from through the rest: for telling the first part of
        # a posture change (lying down: bending forward, then sitting back past upright) from a
        # rep that came back to the rest. Not for step-ups, whose leg and pelvis swing back
        # past upright between the two halves of every rep.
        self._closed: tuple[float, float, list[float]] | None = None
        self._through: tuple[float, float, list[float]] | None = None
        self._steps = profile.two_phase or profile.step_halves
        self.passed_through: list[float] = []  # close times of such movements, s
        # The last ticks (time, gravity direction, still, walking), for looking back at a
        # settling's stillness; and the last close returned, s (what came after is uncounted).
        self._history: deque[tuple[float, list[float], bool, bool]] = deque(
            maxlen=round(SET_LOOKBACK_S * TICK_HZ))
        self._counted_t = -math.inf
        # Closes found at once after the one a tick returned, in time order (``_reps_before``);
        # the caller takes them right after that one.
        self.queued: list[TickEvent] = []
        self.walk_started: list[float] = []  # times at which walking began, s
        self.walk_ended: list[float] = []  # ... and ended (one fewer while walking), s
        self._left_ref: list[float] | None = None  # the rest left when walking began
        self._back_ticks = 0  # ticks back near the rest left for a walk (BACK_S)
        # Squats and step-ups, at the pelvis or the thigh: begun standing where a walk ends.
        self._standing = profile.step_impacts or profile.thigh_outswings_gait
        # How far a walk tilts the segment, degrees.
        self._walk_tilt_deg = (WALK_SWING_MAX_DEG if profile.placement == "thigh"
                               else PELVIS_WALK_TILT_DEG)
        walk_g = WALK_G * (2.0 if profile.step_impacts else 1.0)
        self._walk_ms = walk_g * walk_g
        # ... and the level it must stay above once shaking (see WALK_HOLD_SHARE).
        self._walk_hold_ms = self._walk_ms * (WALK_HOLD_SHARE if profile.step_impacts else 1.0)
        self._reset_active()

    def _walks_in_rhythm(self, residual_ms: float, sustained: bool) -> bool:
        """Whether shaking sustained for ``WALK_SUSTAIN_S`` (``sustained``) is a walk, for the
        standing exercises at the thigh: its footfalls come in a step's rhythm, or they are no
        stronger than a walk's, or they have gone on for ``WALK_SURE_S``. Asked at every tick
        of the shaking until it is a walk, which it then stays while the shaking lasts."""
        self._footfalls.append((residual_ms, self._walk / self._walk_ms))
        if self._walk_ticks == 0:
            self._walking = False
        elif sustained and not self._walking:
            mean = sum(f for f, _ in self._footfalls) / len(self._footfalls)
            x = [f - mean for f, _ in self._footfalls]
            rhythm = _autocorrelation(x, WALK_STEP_TICKS) - _autocorrelation(
                x, WALK_HALF_STEP_TICKS)
            level = max(s for _, s in list(self._footfalls)[-WALK_LEVEL_TICKS:])
            self._walking = (rhythm >= WALK_RHYTHM_MIN or level <= WALK_BURST_SHARE
                             or self._walk_ticks >= WALK_SURE_S * TICK_HZ)
        return self._walking

    def _reset_active(self) -> None:
        self._start_t = 0.0
        self._peak = 0.0
        self._peak_t = 0.0
        self._peak_g: list[float] = [0.0, 0.0, 1.0]
        self._disturbed = False
        self._topped = False
        self._active_still = 0
        self._anchors = AnchorTracker()
        self._base = 0.0

    @property
    def typical_deg(self) -> float:
        """The set's typical range, degrees (the exercise's low end until reps say more)."""
        return self._typical_deg

    @typical_deg.setter
    def typical_deg(self, deg: float) -> None:
        # The levels that scale with the typical range are worked out here, once per change,
        # not on every tick.
        self._typical_deg = deg
        high = self.profile.rom_range_deg[1]
        self._enter_deg = max(ENTER_FLOOR_DEG, ENTER_SHARE * min(deg, high))
        # Small-range exercises move slowly in degrees per second: stillness scales with them.
        self._still_deg_s = min(STILL_DEG_S, max(STILL_FLOOR_DEG_S, 0.5 * deg))
        self._far_deg = max(FAR_SHARE * deg, high)

    @property
    def enter_deg(self) -> float:
        """Current tilt that opens an excursion, degrees."""
        return self._enter_deg

    def step(self, t: float, g: list[float], residual_ms: float,
             in_hole: bool = False) -> TickEvent | None:
        """Advance one tick.

        Parameters
        ----------
        t : float
            Tick time, s.
        g : list of 3 floats
            Unit gravity direction in the sensor frame.
        residual_ms : float
            Mean square acceleration above the tilt band over the tick, g².
        in_hole : bool
            Whether the tick has samples interpolated across a hole in the data of 1 s or more:
            such a tick is never still, and a movement from a rep's top through it makes no new
            rest (``AnchorTracker.step``).
        """
        enter_deg = self._enter_deg
        # Speed over SPEED_TICKS ticks: sensor noise averages out, slow drifts stay slow.
        self._recent.append(g)
        if len(self._recent) > SPEED_TICKS + 1:
            del self._recent[0]
        speed = _angle(g, self._recent[0]) * TICK_HZ / max(len(self._recent) - 1, 1)
        self._walk += self._walk_alpha * (residual_ms - self._walk)
        # Walking is sustained: a fast squat shakes the step band too, but only for a moment.
        still_deg_s = self._still_deg_s
        # A walking thigh is never still; a thigh standing on the step rings from the landing;
        # a thigh just back from a swing beyond a walk's (squats, step-ups without a pause) is
        # between reps, not walking: shaking then counts only ``WALK_SUSTAIN_S`` after it.
        shaking = (self._walk > (self._walk_hold_ms if self._walk_ticks else self._walk_ms)
                   and not (self.profile.step_halves and speed < still_deg_s)
                   and t - self._swung_t >= WALK_SUSTAIN_S)
        self._walk_ticks = self._walk_ticks + 1 if shaking else 0
        walking = self._walk_ticks >= WALK_SUSTAIN_S * TICK_HZ
        if self._rhythm:
            walking = self._walks_in_rhythm(residual_ms, walking)
        # Data interpolated across a hole are no evidence of stillness (nor of a rest there).
        still = speed < still_deg_s and not walking and not in_hole
        self._still_ticks = self._still_ticks + 1 if still else 0
        self._active_still = self._active_still + 1 if still else 0
        if not still or _angle(g, self._put_from) > STILL_SPAN_SHARE * enter_deg:
            # Staying put, not creeping on as a slow rep of a small range does.
            self._put_from, self._put_ticks = g, 0
        self._put_ticks += still

        if walking and len(self.walk_started) == len(self.walk_ended):
            # Walking just became certain: what closed in the last seconds was its first steps.
            self.walk_started.append(t - WALK_SUSTAIN_S)
        elif self._walk_ticks == 0 and len(self.walk_ended) < len(self.walk_started):
            self.walk_ended.append(t)
        self._history.append((t, g, still, walking))
        if self.phase is Phase.SETTLING:
            if self._still_ticks >= SETTLE_S * TICK_HZ:
                left = self._top_after_shaking(g)
                self._left_ref = None
                self._back_ticks = 0
                # Reps may have gone on unseen while settling: at the recording's start, after
                # a walk, after a posture change the detector gave up on.
                before = self._reps_before(g) if left is None else []
                if left is None and self.ref is None and not before:
                    left = self._rest_left()
                if left is not None:  # still at the top of a rep that began while settling
                    # (after shaking that was no walk, or at the recording's first stillness)
                    self.ref = left[1]
                    self.phase = Phase.ACTIVE
                    self._reset_active()
                    theta = _angle(g, self.ref)
                    self._start_t, self._peak, self._peak_t, self._peak_g = left[0], theta, t, g
                    return TickEvent("start", left[0])
                self.ref = list(g)
                self.phase = Phase.REST
                self._valley = 0.0
                if before:  # whole reps before the stillness
                    self.queued = [TickEvent("close", ex.close_t, ex) for ex in before[1:]]
                    self._counted_t = before[-1].close_t
                    return TickEvent("close", before[0].close_t, before[0])
                return None
            # Standing sets begun straight after walking up are never still for SETTLE_S
            # (slow step-ups without a pause): back at the standing rest left for the walk,
            # with the footfalls calm, the set starts from it.
            back = (self._standing and self.ref is not None and not walking
                    and self._walk < BACK_CALM_SHARE * self._walk_ms
                    and _angle(g, self.ref) < BACK_SHARE * enter_deg)
            self._back_ticks = self._back_ticks + 1 if back else 0
            if self.ref is not None and self._back_ticks >= round(BACK_S * TICK_HZ):
                self._back_ticks = 0
                self._left_ref = None
                self.phase = Phase.REST
                self._valley = _angle(g, self.ref)
            return None
        assert self.ref is not None
        theta = _angle(g, self.ref)

        if self.phase is Phase.REST:
            self._through = None  # the movement that passed through ended short of it
            if walking:
                self.phase = Phase.SETTLING
                self._left_ref = self.ref
                return None
            # Re-arm from the lowest tilt since the last excursion closed, so the tail of a
            # lowering never opens a new excursion and reps without a pause still do.
            self._valley = min(self._valley, theta)
            if still:
                self._closed = None
            if theta > self._valley + enter_deg:
                if (self._closed is not None and not self.learned and not self._steps
                        and self._closed[1] >= self.profile.rom_range_deg[0]
                        and tangent_angle(g, self._closed[2], self.ref) > THROUGH_ANGLE_DEG):
                    # Straight on past the rest the other way, never still: once it goes half
                    # as far, the movement that closed was the first part of a posture change
                    # (lying down: bending forward, then sitting back), not a rep to learn the
                    # set's range from (a rep's lowering overshoots the rest by less).
                    self._through = self._closed
                self._closed = None
                self.phase = Phase.ACTIVE
                self._reset_active()
                self._base = self._valley  # the level the excursion rose from
                self._start_t, self._peak, self._peak_t, self._peak_g = t, theta, t, g
                return TickEvent("start", t)
            if (still and theta >= max(0.5 * enter_deg, REST_MOVED_DEG)
                    and self._put_ticks >= REST_MOVED_S * TICK_HZ):
                # Staying put away from the rest between reps: a posture shift moved the rest
                # (left there, a rep of half the range from it may never open an excursion).
                self.ref, self._valley = list(g), 0.0
                return None
            if still and theta < 0.5 * enter_deg:
                a = self._rest_alpha
                r = self.ref
                self.ref = _norm([r[0] + a * (g[0] - r[0]), r[1] + a * (g[1] - r[1]),
                                  r[2] + a * (g[2] - r[2])])
            return None

        # ACTIVE
        if theta > self._peak:
            self._peak, self._peak_t, self._peak_g = theta, t, g
            if self._through is not None and theta > THROUGH_SHARE * self._through[1]:
                self.passed_through.append(self._through[0])
                self._through = None
        # Squats and step-ups shake the step band themselves: during a full-size excursion
        # (before the reps are learned, one tilting beyond a walk's sway) the footfall signal
        # is the exercise, not a walk. Once the reps are learned, so is it during any
        # full-size excursion tilting beyond a walk's sway or swing (a brisk hip hinge).
        full = self._peak >= 0.5 * self._typical_deg
        exercising = ((self.profile.step_impacts and full
                       and (self.learned or self._peak >= PELVIS_WALK_TILT_DEG))
                      or (self.profile.thigh_outswings_gait
                          and self._peak >= WALK_SWING_MAX_DEG)
                      or (self.learned and full and self._peak >= self._walk_tilt_deg))
        if (walking and not exercising) or theta > self.profile.max_rom_deg:
            self._disturbed = True
        if theta < self._base + EXIT_SHARE * (self._peak - self._base):
            self.phase = Phase.REST
            self._valley = theta
            # Footfalls around the return: the first steps of a walk, not a rep. A flick out and
            # back within a few ticks is a fidget (a knock, an adjustment), not even an attempt.
            ex = Excursion(self._start_t, t, self._peak_t, self._peak,
                           (self.ref[0], self.ref[1], self.ref[2]),
                           (self._peak_g[0], self._peak_g[1], self._peak_g[2]))
            # Shaking earlier in it (a fidget as the rep began) spoils it only if it does not
            # look like the set's reps.
            if ((self._disturbed and not self._like_top(self._peak_g, self._peak))
                    or (self._walk_ticks >= 0.5 * TICK_HZ and not exercising)
                    or t - self._start_t < self._min_excursion_s):
                return TickEvent("abort", t, ex)
            if self.profile.thigh_outswings_gait and self._peak >= WALK_SWING_MAX_DEG:
                self._swung_t = t
            self._closed = (t, self._peak, self._peak_g)
            self._counted_t = t
            return TickEvent("close", t, ex)
        # Held at what may be a rep's top, a movement through a hole in the data or toward the
        # rest and back is no rep from a new rest there (see AnchorTracker.step).
        at_top = self._at_top(self._anchors.anchor)
        # An anchor is where the segment stays put: a slow lift of a small range moves below
        # the stillness speed, and an anchor creeping along with it is left only near the top,
        # so the rep from a new rest is never seen. (Step-ups keep plain stillness: the upright
        # moment between their two leans is a dip in the hold, which the anchor must follow.)
        anchor_ticks = (self._active_still if self._steps
                        else min(self._active_still, self._put_ticks))
        rebase = self._anchors.step(t, g, still, anchor_ticks, walking, enter_deg,
                                    self._typical_deg, self._far_deg, in_hole and at_top,
                                    self.ref if at_top else None)
        if rebase is not None:
            self.ref, self.phase, self._valley = rebase.ref, Phase.REST, rebase.valley
            if rebase.close is None:  # walking
                return TickEvent("abort", t)
            # (Two movements alike close two excursions: the earlier first, the other queued.)
            at = (rebase.ref[0], rebase.ref[1], rebase.ref[2])
            closes = [TickEvent("close", m[1], Excursion(m[0], m[1], m[2], m[3], at,
                                                         (m[4][0], m[4][1], m[4][2])))
                      for m in (rebase.earlier, rebase.close) if m is not None]
            self._counted_t = rebase.close[1]
            self.queued.extend(closes[1:])
            return closes[0]
        if t - max(self._start_t, self._anchors.anchor_t) > self.profile.max_excursion_s:
            # Far too long for a rep: a new posture the detector has not recognised.
            self.phase = Phase.SETTLING
            return TickEvent("abort", t)
        if self._is_posture_change(theta, g, still):
            self.ref = list(g)
            self.phase = Phase.REST
            self._valley = 0.0
            return TickEvent("abort", t)
        if (not self._topped and still and self._active_still >= 2
                and theta >= 0.6 * self._peak):
            self._topped = True
            return TickEvent("top", t - 0.1)
        return None

    def _at_top(self, g: list[float] | None, ref: list[float] | None = None) -> bool:
        """Whether the orientation ``g`` may be a rep's top: a rep's range from the rest ``ref``
        (the current one by default; the typical range's once reps are seen, the exercise's
        plausible one before)."""
        ref = self.ref if ref is None else ref
        if g is None or ref is None:
            return False
        tilt = _angle(g, ref)
        if self.direction is not None:  # reps seen
            return TOP_SHARE[0] * self._typical_deg <= tilt <= TOP_SHARE[1] * self._typical_deg
        return self.profile.rom_range_deg[0] <= tilt <= min(self.profile.rom_range_deg[1],
                                                            UNLEARNED_TOP_MAX_DEG)

    def _top_after_shaking(self, g: list[float]) -> tuple[float, list[float]] | None:
        """When the segment, first still at ``g`` after footfall-band shaking that stopped
        within ``WALK_MIN_S`` (not a walk), is at a rep's top from the rest it left: the
        shaking came with the rep's lift (a loose clip ringing, a knock), and the rest stays.
        Then (time the shaking began, s; that rest's gravity direction), else None."""
        rest = self._left_ref
        if (rest is not None and len(self.walk_ended) == len(self.walk_started) > 0
                and self.walk_ended[-1] - self.walk_started[-1] < WALK_MIN_S
                and _angle(g, rest) >= self.enter_deg and self._at_top(g, rest)):
            return self.walk_started[-1], rest
        return None

    def _settled(self, lookback_s: float = LOOKBACK_S,
                 ) -> tuple[list[tuple[float, list[float], bool, bool]], int]:
        """The ticks of the last ``lookback_s`` after the last close (time, gravity direction,
        still, walking), and the index of the last one before the current still run (-1 when
        all are still)."""
        ticks = [x for x in list(self._history)[-round(lookback_s * TICK_HZ):]
                 if x[0] > self._counted_t]
        i = len(ticks) - 1
        while i >= 0 and ticks[i][2]:
            i -= 1
        return ticks, i

    def _reps_before(self, here: list[float]) -> list[Excursion]:
        """At the stillness that ends a settling, the whole reps just before it that nothing
        counted, out of this rest and back, in time order, if the data show any (a recording
        begun at once with the set; a set begun straight after walking up, or after getting up
        from the floor, in a posture change the detector gave up on).

        The largest tilt from this orientation in the last ``LOOKBACK_S`` must be within a rep's
        range (from ``FATIGUED_SHARE`` of the exercise's lowest up to the largest a rep may
        be): it sets the levels at which a
        movement leaves this rest and is back. Going back from the stillness, each movement
        that left near this orientation and came back is a rep: the last one within that range,
        each one before within ``CHAIN_SHARE`` of the last one's range, with no walking in it
        or between. Reps without a pause can go on like this back to the start of the set with
        never a still moment. The search stops at the first movement that is not such a rep
        (the way into the posture, a walk, a partial attempt, one longer than an excursion may
        last), at the last close and at ``SET_LOOKBACK_S``; a recording begun part way out of
        the rest, less far than the level of being back, has its first rep from its first tick.
        """
        ticks, i = self._settled(SET_LOOKBACK_S)
        w0 = max(0, len(ticks) - round(LOOKBACK_S * TICK_HZ))
        if i < w0 + 2:
            return []
        away = [_angle(x[1], here) for x in ticks[:i + 1]]
        scale = max(away[w0:])
        low = FATIGUED_SHARE * self.profile.rom_range_deg[0]
        high = self.profile.max_rom_deg
        if not low <= scale <= high:
            return []
        enter, leave = ENTER_SHARE * scale, EXIT_SHARE * scale
        lo, hi = low, high  # the last rep's range sets those of the reps before it
        reps: list[Excursion] = []
        k = i
        while True:
            while k > 0 and away[k] < leave and not ticks[k][3]:
                k -= 1  # back over the rest between two reps
            if k == 0 or ticks[k][3]:
                break
            close = k + 1
            while k > 0 and away[k] > enter and not ticks[k][3]:
                k -= 1  # back over the movement to where it left the rest
            if away[k] > (leave if k == 0 else enter) or ticks[k][3]:
                break  # it began before the data kept, or came out of a walk
            top = k + max(range(close - k), key=lambda j: away[k + j])  # (close <= i + 1)
            if (not lo <= away[top] <= hi
                    or not MIN_EXCURSION_S <= ticks[close][0] - ticks[k][0]
                    <= self.profile.max_excursion_s):
                break
            if not reps:
                lo, hi = CHAIN_SHARE[0] * away[top], min(CHAIN_SHARE[1] * away[top], high)
            reps.insert(0, self._excursion(ticks, k, close, top, away[top], here))
        return reps

    @staticmethod
    def _excursion(ticks: list[tuple[float, list[float], bool, bool]], k0: int, k1: int,
                   ip: int, peak: float, here: list[float]) -> Excursion:
        pg = ticks[ip][1]
        return Excursion(ticks[k0][0], ticks[k1][0], ticks[ip][0], peak,
                         (here[0], here[1], here[2]), (pg[0], pg[1], pg[2]))

    def _rest_left(self) -> tuple[float, list[float]] | None:
        """At the recording's first stillness, the rest the segment left for it, if it was
        still there for ``LOOKBACK_STILL_S`` just before and moved here by a rep's range in one
        movement: (time it left, s; its gravity direction). Still runs near this orientation
        are this stillness broken by a moment of sway, and the search goes on past them.
        Otherwise None: this stillness is the rest. (A set begun at once is first still at the
        top of its first rep; learning the rest there would count the set inside out. Later
        settlings follow walking or a posture change, where the movement into the new
        stillness is not a rep.)"""
        ticks, i = self._settled()
        here = ticks[-1][1]
        need = round(LOOKBACK_STILL_S * TICK_HZ)
        run = 0
        for j in range(i, -1, -1):
            run = run + 1 if ticks[j][2] else 0
            if run >= need:
                t_left, g_left = ticks[j + need - 1][0], ticks[j + need - 1][1]
                away = _angle(here, g_left)
                between = max(_angle(x[1], g_left) for x in ticks[j:])
                low = ENTER_SHARE * self.profile.rom_range_deg[0]
                if away < low:  # this stillness, broken by a moment of sway: look further back
                    run = 0
                    continue
                # one movement of a rep's range, not a wander beyond and back
                if (low <= away <= self.profile.rom_range_deg[1]
                        and between <= LOOKBACK_OVERSHOOT * away):
                    return t_left, list(g_left)
                return None
        return None

    def _is_posture_change(self, theta: float, g: list[float], still: bool) -> bool:
        if not still:
            return False
        still_s = self._active_still / TICK_HZ
        hi_deg = self.profile.rom_range_deg[1]
        if self._disturbed and still_s >= SETTLE_S:
            # Still after shaking or a movement too large: a new posture, unless this is just
            # where the set's reps hold (a fidget shook the start of a rep).
            return not self._like_top(g, theta)
        if self._put_ticks >= self.profile.max_still_away_s * TICK_HZ:
            return True
        if not self.learned and not self._like_top(g, theta) and (
                (still_s >= SHIFT_S and theta > FAR_UNLEARNED_SHARE * hi_deg)
                or (still_s >= self.profile.top_still_s
                    and theta > max(hi_deg, OTHER_POSTURE_DEG))):
            return True
        if still_s < SHIFT_S or not self.learned or theta < SHIFT_MIN_SHARE * self._typical_deg:
            return False
        if self._anchors.held_from_anchor(g, self._typical_deg):
            return False
        if theta > 3.0 * self._typical_deg:
            return True
        unlike_deg = min(max(self.profile.shift_angle_deg,
                             self.direction_spread_deg + SPREAD_MARGIN_DEG), SHIFT_MAX_DEG)
        return self._away_angle(g) > unlike_deg

    def _like_top(self, g: list[float], theta: float) -> bool:
        """Whether ``g`` (``theta`` degrees from the rest) is where the set's reps hold: a rep's
        range from the rest, the way the reps go."""
        return (self.direction is not None and theta <= self.profile.max_rom_deg
                and self._at_top(g) and self._away_angle(g) <= SHIFT_ANGLE_DEG)

    def _away_angle(self, g: list[float]) -> float:
        """Angle between the way ``g`` lies from the rest and the way the set's reps go,
        degrees (0 before the way is learned or at the rest itself)."""
        if self.direction is None or self.ref is None:
            return 0.0
        r = self.ref
        dot = g[0] * r[0] + g[1] * r[1] + g[2] * r[2]
        d = [g[0] - dot * r[0], g[1] - dot * r[1], g[2] - dot * r[2]]
        if math.sqrt(d[0] ** 2 + d[1] ** 2 + d[2] ** 2) <= 1e-6:
            return 0.0
        return _angle(_norm(d), self.direction)
