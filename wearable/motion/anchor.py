"""New rest postures found inside an excursion: the anchor logic of the excursion detector.

A still orientation inside an excursion (the "anchor") is either a hold at the top or a new rest
posture (after lying down, getting up or shifting). Leaving the anchor, coming back to it and
staying still there (or leaving it again the same way, for reps without a pause) is what a rep
from a rest posture does: the anchor becomes the rest direction and that movement is closed as
an excursion. The same recognition runs one level down while away from the anchor, since the
anchor may have been a pause on the way to the rest posture (sitting on the way to the floor).
Where the anchor may be a rep's top, a movement out of it and back is no rep on its own when it
goes toward the rest (a dip in the hold) or goes less far than sway in a hold that far from the
rest may; a second such movement like it makes the anchor the rest and both movements reps.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

#: Ticks of stillness that make an orientation an anchor (a hold or a new rest posture).
ANCHOR_TICKS = 5
#: An anchor is left, or returned to, at this share of the movement away from it.
EXIT_SHARE = 0.3
#: Shortest time out and back that can be a movement of the exercise, s.
MIN_EXCURSION_S = 0.35
#: ... and for a step-up's half at the thigh: stepping up briskly, the thigh is beyond the opening
#: tilt for 0.3 s, s.
MIN_STEP_EXCURSION_S = 0.25
#: A tilt from the anchor within these multiples of the typical range is a rep's.
HELD_SHARE = (0.5, 1.5)
#: Two directions further apart than this are different ways, degrees.
SHIFT_ANGLE_DEG = 60.0
#: A movement out of the anchor and back makes the anchor a new rest only from this share of
#: the typical range on (of the anchor's tilt from the rest, if larger, where the anchor may be
#: a rep's top): less is sway in a hold at the top (in a long hip hitch hold, sway of a degree
#: or two before the set's range was known made the top the rest, and the set was counted
#: inside out), unless a second movement like it follows (see ``LIKE_RATIO``). (Half the
#: range lost reps from a rest a posture shift had moved part of the way to the anchor.)
REBASE_SHARE = 0.35
#: A movement out of the anchor and back that is no rep on its own (a dip toward the rest, or
#: less than ``REBASE_SHARE`` of the anchor's tilt), followed by another the same way whose
#: range is within these ratios of its own (each at least ``REBASE_SHARE`` of the typical
#: range), is a rep from a new rest at the anchor, and so is the other: a hold's wobbles do
#: not repeat alike. (Set by hand, not fitted: a fatigued set's reps shrink by a third.)
LIKE_RATIO = (0.5, 2.0)

#: A movement out of the anchor and back: start, close, peak time (s), peak tilt from the
#: anchor (degrees), peak gravity direction (unit).
Move = tuple[float, float, float, float, list[float]]


def norm(v: list[float]) -> list[float]:
    """``v`` scaled to unit length."""
    n = math.sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2]) or 1.0
    return [v[0] / n, v[1] / n, v[2] / n]


def angle(a: list[float], b: list[float]) -> float:
    """Angle between unit vectors, degrees."""
    c = a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
    # Clamped to [-1, 1] as min/max would (NaN too becomes 1), without their call overhead:
    # this runs several times per tick.
    c = c if c < 1.0 else 1.0
    return math.degrees(math.acos(c if c > -1.0 else -1.0))


def tangent_angle(a: list[float], b: list[float], ref: list[float]) -> float:
    """Angle between the directions in which ``a`` and ``b`` lie away from ``ref``, degrees."""
    da = [a[i] - ref[i] * (a[0] * ref[0] + a[1] * ref[1] + a[2] * ref[2]) for i in range(3)]
    db = [b[i] - ref[i] * (b[0] * ref[0] + b[1] * ref[1] + b[2] * ref[2]) for i in range(3)]
    return angle(norm(da), norm(db))


@dataclass(frozen=True)
class Rebase:
    """The anchor is the new rest: ``ref`` and the tilt from it now (``valley``, degrees); with
    ``close`` the movement away from it (start, close, peak time, peak degrees, peak direction),
    or None when it was walking (aborted)."""

    ref: list[float]
    valley: float
    close: Move | None
    #: An earlier movement from the anchor like ``close``, a rep before it (``LIKE_RATIO``).
    earlier: Move | None = None


@dataclass
class _Second:
    """A still orientation met while away from the anchor, and the movement out of it."""

    g: list[float]
    away: bool = False
    start: float = 0.0
    dist: float = 0.0
    peak_t: float = 0.0
    peak_g: list[float] = field(default_factory=lambda: [0.0, 0.0, 1.0])
    walk: bool = False
    returned: int = 0


class AnchorTracker:
    """The anchor state of one excursion; :meth:`step` once per tick while it is open."""

    def __init__(self) -> None:
        self.anchor: list[float] | None = None
        self.anchor_t = 0.0
        self._away = False
        self._away_start = self._away_dist = self._away_peak_t = 0.0
        self._away_peak_g: list[float] = [0.0, 0.0, 1.0]
        self._away_walk = False
        self._away_hole = False
        self._returned = 0
        self._back_t: float | None = None
        self._back_min = 0.0
        self._back_from: list[float] = [0.0, 0.0, 1.0]
        self._second: _Second | None = None
        # The last movement out and back that was no rep on its own (``_repeatable``), and the
        # anchor it left (the anchor follows the segment while still).
        self._last: Move | None = None
        self._last_anchor: list[float] = [0.0, 0.0, 1.0]

    def step(self, t: float, g: list[float], still: bool, still_ticks: int, walking: bool,
             enter_deg: float, typical_deg: float, far_deg: float,
             in_hole: bool = False, rest: list[float] | None = None) -> Rebase | None:
        """Advance one tick.

        Parameters
        ----------
        t : float
            Tick time, s.
        g : list of 3 floats
            Unit gravity direction.
        still, still_ticks : bool, int
            Whether the segment is still, and for how many ticks it has been.
        walking : bool
            Whether footfalls say walking.
        enter_deg, typical_deg : float
            Tilt that opens an excursion and the set's typical range, degrees.
        far_deg : float
            Stillness this far from the anchor is a later stage of a posture change, degrees.
        in_hole : bool
            Whether the tick is interpolated across a hole in the data. A movement away from
            the anchor that went through a hole is not a rep from it: where the segment went
            is unknown (a hold at the top, then a return to the rest and the next rep's lift
            hidden, looks like a movement out of the top and back).
        rest : list of 3 floats, optional
            The rest direction, when the anchor may be a rep's top (only then). A movement from
            it toward the rest and back is a dip in a hold (a step-up's upright moment on the
            step between its two leans), not a rep from a new rest, unless another like it
            follows (``LIKE_RATIO``).
        """
        if not self._away:
            if still and still_ticks >= ANCHOR_TICKS:
                self.anchor, self.anchor_t = g, t
            if self.anchor is None:
                return None
            d = angle(g, self.anchor)
            if d > enter_deg:
                self._leave(t, g, walking, in_hole, d)
            return None
        assert self.anchor is not None
        d = angle(g, self.anchor)
        if still and still_ticks >= ANCHOR_TICKS and self._back_t is None and d > far_deg:
            # Still again, far beyond any rep from the anchor: the anchor was a pause on the way
            # (sitting on the way down to the floor); this is a later stage of the change.
            self.anchor, self.anchor_t, self._away = g, t, False
            self._second = self._last = None
            return None
        self._away_walk = self._away_walk or walking
        self._away_hole = self._away_hole or in_hole
        second = self._second_step(t, g, still, still_ticks, walking, enter_deg, typical_deg)
        if second is not None:
            return second
        if d > self._away_dist:
            self._away_dist, self._away_peak_t, self._away_peak_g = d, t, g
        back = d < max(EXIT_SHARE * self._away_dist, 0.5 * enter_deg)
        self._returned = self._returned + 1 if back and still else 0
        if back:
            if self._back_t is None:
                self._back_t, self._back_min = t, d
            self._back_min = min(self._back_min, d)
        elif self._back_t is None:
            self._back_from = g
        elif d > self._back_min + enter_deg:
            # Out, back and out again without a pause: a second movement from the anchor
            # (reps with no rest after getting up or lying down). The first was a rep-sized
            # movement from a new rest posture; a wobble during a hold is far smaller.
            back_t, self._back_t = self._back_t, None
            if self._no_rep(rest):  # judged afresh: a movement out of the anchor from here
                if self._away_hole or self._away_walk:
                    self._last = None  # (as below)
                self._leave(back_t, g, walking, in_hole, d)
                return None
            if (self._away_dist >= 0.5 * typical_deg and not self._away_walk
                    and back_t - self._away_start >= MIN_EXCURSION_S
                    and tangent_angle(g, self._away_peak_g, self.anchor) < SHIFT_ANGLE_DEG
                    and tangent_angle(g, self._back_from, self.anchor) < SHIFT_ANGLE_DEG):
                return self._rebase(back_t, self._back_min)
        if self._returned < ANCHOR_TICKS:
            return None
        # Where the anchor may be a rep's top, sway is measured against its tilt from the rest
        # too (before the set's range is known, the typical range is the exercise's lowest).
        scale = typical_deg if rest is None else max(typical_deg, angle(rest, self.anchor))
        if self._no_rep(rest) or self._away_dist < REBASE_SHARE * scale:
            if not self._repeatable(t, typical_deg):
                # Sway or a knock between two movements alike leaves them alike; a hole or a
                # walk between them does not (what went on there is unknown).
                if self._away_hole or self._away_walk:
                    self._last = None
            elif self._like_last(enter_deg):
                # The second movement like it out of the same anchor and back: a hold's
                # wobbles do not repeat alike, so the anchor is a new rest and both are reps.
                earlier, self._last = self._last, None
                return Rebase(list(self.anchor), d, self._move(t), earlier)
            else:
                self._last, self._last_anchor = self._move(t), self.anchor
            self._away = False  # back at the anchor, still: the next movement is judged afresh
            return None
        if self._away_walk:
            return Rebase(list(self.anchor), d, None)
        return self._rebase(t, d)

    def _no_rep(self, rest: list[float] | None) -> bool:
        """Whether the movement out of the anchor and back can be no rep from it: it went
        through a hole in the data, or from a rep's top toward the rest."""
        assert self.anchor is not None
        return self._away_hole or (
            rest is not None
            and tangent_angle(self._away_peak_g, rest, self.anchor) < SHIFT_ANGLE_DEG)

    def _repeatable(self, t: float, typical_deg: float) -> bool:
        """Whether the movement out of the anchor and back (no rep from it on its own) would be
        one if another like it followed: at least ``REBASE_SHARE`` of the typical range, long
        enough for a movement of the exercise, with nothing hidden or walked."""
        return (not self._away_hole and not self._away_walk
                and t - self._away_start >= MIN_EXCURSION_S
                and self._away_dist >= REBASE_SHARE * typical_deg)

    def _like_last(self, enter_deg: float) -> bool:
        """Whether the movement out of the anchor and back is like the last one remembered
        (``_repeatable``): out of the same anchor, the same way, of a like range."""
        last = self._last
        return (last is not None and self.anchor is not None
                and angle(self.anchor, self._last_anchor) <= enter_deg
                and LIKE_RATIO[0] <= self._away_dist / last[3] <= LIKE_RATIO[1]
                and tangent_angle(self._away_peak_g, last[4], self.anchor) < SHIFT_ANGLE_DEG)

    def _move(self, close_t: float) -> Move:
        """The movement out of the anchor that returned at ``close_t`` (s)."""
        return (self._away_start, close_t, self._away_peak_t, self._away_dist,
                self._away_peak_g)

    def _leave(self, t: float, g: list[float], walking: bool, in_hole: bool, d: float) -> None:
        """A movement out of the anchor begins (at ``t``, ``d`` degrees from it now)."""
        self._away, self._away_start, self._away_dist = True, t, d
        self._away_peak_t, self._away_peak_g, self._away_walk = t, g, walking
        self._away_hole = in_hole
        self._returned = 0
        self._back_t = None
        self._second = None

    def held_from_anchor(self, g: list[float], typical_deg: float) -> bool:
        """Whether ``g`` is a rep's range away from the anchor, left since it was still there:
        a hold at the top of a rep from a new rest posture (a shift just before the rep), which
        the stillness rules must not take for a posture change itself."""
        if not self._away or self.anchor is None:
            return False
        return HELD_SHARE[0] * typical_deg <= angle(g, self.anchor) <= HELD_SHARE[1] * typical_deg

    def _second_step(self, t: float, g: list[float], still: bool, still_ticks: int,
                     walking: bool, enter_deg: float, typical_deg: float) -> Rebase | None:
        """The same recognition one level down, while away from the anchor.

        The first still orientation away from the anchor may be the rest posture itself (the
        anchor was a pause on the way to it): a rep-sized movement out of it and back, still
        again, makes it the rest. A hold at the top of a rep from the anchor never gets there
        first: its lowering returns to the anchor.
        """
        sec = self._second
        if sec is None or not sec.away:
            if still and still_ticks >= ANCHOR_TICKS and self._back_t is None:
                sec = self._second = _Second(g)
            if sec is None:
                return None
        d = angle(g, sec.g)
        if not sec.away:
            if d > enter_deg:
                sec.away, sec.start, sec.dist, sec.peak_t, sec.peak_g = True, t, d, t, g
                sec.walk, sec.returned = walking, 0
            return None
        sec.walk = sec.walk or walking
        if d > sec.dist:
            sec.dist, sec.peak_t, sec.peak_g = d, t, g
        back = d < max(EXIT_SHARE * sec.dist, 0.5 * enter_deg)
        sec.returned = sec.returned + 1 if back and still else 0
        if (sec.returned < ANCHOR_TICKS or sec.walk or sec.dist < 0.5 * typical_deg
                or t - sec.start < MIN_EXCURSION_S):
            return None
        self.anchor = sec.g
        self._away_start, self._away_dist = sec.start, sec.dist
        self._away_peak_t, self._away_peak_g = sec.peak_t, sec.peak_g
        return self._rebase(t, d)

    def _rebase(self, close_t: float, valley: float) -> Rebase:
        assert self.anchor is not None
        return Rebase(list(self.anchor), valley, self._move(close_t))
