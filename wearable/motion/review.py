"""Set-level review of the excursions: rules that need the whole set (pure functions).

The engine applies them when it builds the set's result (``Engine.result``, which the live
detector's ``finish()`` also runs, so live and offline counts stay equal).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable
from dataclasses import replace
from itertools import pairwise
from statistics import median

import numpy as np
import numpy.typing as npt

from rehablink.results import Rep
from wearable.motion.anchor import angle, norm
from wearable.motion.preprocess import GRID_HZ
from wearable.motion.profiles import OTHER_POSTURE_DEG
from wearable.motion.reps import RepTiming, classify
from wearable.motion.segment import WALK_MIN_S, Excursion

FloatArray = npt.NDArray[np.float64]

#: A rep lasting this multiple of the set's median rep, with a hole in the data of at least
#: ``GAP_SPLIT_S`` (time for a return and a new lift) between its top and its lowering, is two
#: reps whose turn the hole hid.
GAP_SPLIT_SHARE = 1.6
GAP_SPLIT_S = 1.0
#: So is one whose hold (with such a hole in it) outlasts the set's median hold by this
#: multiple of the set's median lift and lowering together: in slow sets the lift and the
#: lowering, not the hold, make up most of a rep's time.
GAP_SPLIT_HOLD_SHARE = 1.5
#: A hole in the data at least this long can hide most of a rep (and a rep overlapping one is
#: flagged ``in_gap``: its times and range are partly interpolated), s.
HIDE_MIN_S = 1.0
#: Two reps timed on either side of a hole (the first's return and the second's lift unseen,
#: within this of its edges, s) ...
JOIN_TOL_S = 0.3
#: ... are one rep whose top the hole hid when their tops are less than this many of the set's
#: periods apart.
JOIN_PERIODS = 0.6
#: Reps whose tops are this many of the set's periods apart (or more) had a rep between them ...
HIDE_PERIODS = 1.6
#: ... when the rhythm is steady: the tops' spacing varies by at most this share of the period
#: (median absolute deviation) ...
HIDE_STEADY = 0.2
#: ... measured over at least this many spacings with no hole between their tops.
HIDE_MIN_SPACINGS = 2
#: A rep placed in a hole that overlaps a counted rep by more than this share of its own
#: length is that rep, timed partly across the hole, not another one ...
HIDE_OVERLAP_SHARE = 0.3
#: ... when the counted rep lasts less than this multiple of the set's median rep (two reps
#: timed as one across the hole that hid the return between them last about twice as long).
HIDE_ONE_REP_SHARE = 1.4
#: A hole with no rep over it hid one when, within this of an edge, s, ...
EDGE_S = 0.5
#: ... (this in the exercises that do not hold at the top: a squat's, hinge's or step-up's
#: lift into the hole or return out of it goes on moving for up to 2 s, where a hold's sway
#: over as long moves a small-range segment by a quarter of its range) ...
EDGE_NO_HOLD_S = 2.0
#: ... the segment moves by at least this share of the typical range where no counted rep
#: does (the data stop during a lift, or resume during a return).
EDGE_SHARE = 0.25
#: A hole after the set's last rep hid one more when the rhythm's next top falls inside it and
#: it lasts at least this share of the period (the rep's ends, seen on either side of a
#: shorter hole, made no movement of their own).
HIDE_LAST_SHARE = 0.35
#: A rep after a hole timed to top inside it, or this soon after it, had its lift hidden, s.
HIDE_TOP_AFTER_S = 0.5
#: An excursion whose direction has a cosine below this with the set's mean direction goes the
#: other way (120 degrees or more apart) ...
AGAINST_COS = -0.5
#: ... and is not a rep when it is also smaller than this share of the set's other excursions.
AGAINST_SHARE = 0.7
#: Step-ups: such an excursion is the other lean of a neighbouring rep only when another
#: excursion closes this soon before it opens or opens this soon after it closes, s (the two
#: leans of one step-up, up and down, lie within a second or two; the pelvis of some reps leans
#: only the other way, and alone such a movement is a rep).
STEP_LEAN_APART_S = 2.5
#: A movement whose rest lies further than ``OTHER_POSTURE_DEG`` from the set's rest is in
#: another posture when it is also further than this multiple of the set's typical range (a hip
#: hinge's 60-80 deg rep from a rest learned at its top is still the set's).
OTHER_POSTURE_SHARE = 1.5
#: The rest around a movement is that of up to this many movements on each side of it.
POSTURE_NEIGHBOURS = 3
#: A movement below the set's full range that lasts less than this share of the set's median
#: full rep is a fidget, not a rep nor a partial attempt.
FIDGET_TEMPO_SHARE = 0.3
#: Pelvis step-ups: a movement below this share of the typical range ...
STEP_PARTIAL_SHARE = 0.45
#: ... lasting less than this share of the set's median full rep is a partial attempt.
STEP_PARTIAL_TEMPO_SHARE = 0.6
#: A set is inside out (its rest learned at the reps' top) when the segment spends at least
#: this long, s, ...
INSIDE_OUT_STILL_S = 2.0
#: ... of this long before its first rep and again after its last, s (inside out, the real
#: rest lies a real hold and a lift before the first counted rep) ...
INSIDE_OUT_WINDOW_S = 8.0
#: ... or of this long in exercises that hold at the top (for up to 10 s), s, ...
INSIDE_OUT_HELD_WINDOW_S = 16.0
#: ... within this share of the rest-to-top angle of the reps' top orientation.
INSIDE_OUT_NEAR_SHARE = 0.25
#: A rep lasting less than this share of the set's median rep ...
FRAGMENT_SHARE = 0.6
#: ... that overlaps a neighbouring rep by more than this is part of that rep, s.
FRAGMENT_OVERLAP_S = 0.1


def note_gaps(gaps: list[list[float]], times: FloatArray) -> None:
    """Add grid times that fall in holes of the data to ``gaps``, as [first, last] runs (s)."""
    step = 1.5 / GRID_HZ
    for ti in times.tolist():
        if gaps and ti - gaps[-1][1] <= step:
            gaps[-1][1] = ti
        else:
            gaps.append([ti, ti])


def split_at_gaps(kept: list[RepTiming], gaps: list[list[float]]) -> list[RepTiming]:
    """Split reps whose turn a disconnect hid.

    A disconnect can hide the return between two reps; the tilt is then interpolated straight
    from one top to the next and the two look like one long rep. A rep that lasts far longer
    than the set's others and holds a hole long enough for a return and a lift after its start
    (the hole may begin before the top, which is then interpolated too) is split at the hole
    (the two reps' times inside it are its edges). So is one whose hold with such a hole in it
    is longer than the set's holds by more than a return and a lift take
    (``GAP_SPLIT_HOLD_SHARE``).
    """
    if len(kept) < 3 or not gaps:
        return kept
    median_s = float(np.median([tm.end - tm.start for tm in kept]))
    hold_s = float(np.median([tm.lower_start - tm.top for tm in kept]))
    turn_s = float(np.median([tm.top - tm.start for tm in kept])
                   + np.median([tm.end - tm.lower_start for tm in kept]))
    out: list[RepTiming] = []
    for tm in kept:
        hole = next((g for g in gaps if tm.start < g[0] and g[1] <= tm.lower_start
                     and g[1] - g[0] >= GAP_SPLIT_S), None)
        long_rep = tm.end - tm.start >= GAP_SPLIT_SHARE * median_s
        long_hold = tm.lower_start - tm.top - hold_s >= GAP_SPLIT_HOLD_SHARE * turn_s
        if hole is None or not (long_rep or long_hold):
            out.append(tm)
            continue
        out.append(replace(tm, top=min(tm.top, hole[0]), lower_start=hole[0], end=hole[0]))
        out.append(replace(tm, start=hole[1], top=hole[1]))
    return out


def join_at_gaps(kept: list[RepTiming], gaps: list[list[float]]) -> list[RepTiming]:
    """Join the two halves of a rep whose turn at the top a disconnect hid.

    The tilt is interpolated straight across a hole in the data. When a rep lifts (or holds)
    into a hole and lowers out of it, its two sides can be timed as two reps: one whose return
    is not seen before the hole (its lowering begins at the hole, within ``JOIN_TOL_S``) and
    one whose lift is not seen after it (its top at the hole's end). They are one rep when
    their tops lie less than ``JOIN_PERIODS`` of the set's period apart (the median spacing of
    its reps' tops): two reps whose return and next lift the hole hid lie about a period
    apart. (So a long rep that ``split_at_gaps`` split at a hole too short to hide a return
    and a lift is joined again.) ``kept`` is in time order.
    """
    holes = [g for g in gaps if g[1] - g[0] >= HIDE_MIN_S]
    if not holes or len(kept) < 3:
        return kept
    period = float(np.median([b.top - a.top for a, b in pairwise(kept)]))
    out: list[RepTiming] = []
    for tm in kept:
        a = out[-1] if out else None
        if a is not None and tm.top - a.top < JOIN_PERIODS * period and any(
                a.lower_start >= g0 - JOIN_TOL_S and a.end <= g1 + JOIN_TOL_S
                and tm.start >= g0 - JOIN_TOL_S and tm.top <= g1 + JOIN_TOL_S
                for g0, g1 in holes):
            out[-1] = replace(a, lower_start=tm.lower_start, end=tm.end,
                              rom_deg=max(a.rom_deg, tm.rom_deg))
            continue
        out.append(tm)
    return out


def hidden_reps(reps: list[Rep], gaps: list[list[float]]) -> list[Rep]:
    """Reps that a disconnect hid, estimated from the set's rhythm (flagged ``in_gap``).

    A rep whose most lies in a hole in the data is not seen: the tilt is interpolated straight
    across the hole. When the set's reps come at a steady period and the two reps around a hole
    are two or more periods apart, the missing reps are placed at even spacing between them,
    with the set's median phase durations and the neighbours' mean range. The hole must be able
    to hold most of each: a hole shorter than half a period hides none, and one of n periods
    hides at most n reps. None is placed over a counted rep of one rep's length
    (``HIDE_OVERLAP_SHARE``, ``HIDE_ONE_REP_SHARE``): that rep was timed partly across the
    hole. The rep after the hole, when its lift was hidden, is timed to top inside the hole or
    just after it (the tilt is interpolated up to where the data resume): it is one of those
    n. After the last rep, a hole of at least ``HIDE_LAST_SHARE`` of a period hid one rep when
    the rhythm's next top falls inside it (a disconnect over the set's last rep; the set may
    as well have ended, but the rhythm's slot lay inside the hole).
    Before the first rep nothing is placed: where the set began is unknown.
    ``reps`` are the counted reps in time order.
    """
    if not gaps or len(reps) < HIDE_MIN_SPACINGS + 1:
        return []
    tops = [r.top for r in reps]
    holes = [g for g in gaps if g[1] - g[0] >= HIDE_MIN_S]
    spacings = np.array([b - a for a, b in pairwise(tops)
                         if not any(a < g[1] and g[0] < b for g in holes)])
    if spacings.size < HIDE_MIN_SPACINGS:
        return []
    period = float(np.median(spacings))
    if float(np.median(np.abs(spacings - period))) > HIDE_STEADY * period:
        return []
    placed = _placer(reps)
    one_rep_s = HIDE_ONE_REP_SHARE * float(np.median([r.end - r.start for r in reps]))

    def seen(rep: Rep) -> bool:
        return any(min(rep.end, r.end) - max(rep.start, r.start)
                   > HIDE_OVERLAP_SHARE * (rep.end - rep.start)
                   and r.end - r.start < one_rep_s for r in reps)

    out: list[Rep] = []
    for g0, g1 in holes:
        mid = 0.5 * (g0 + g1)
        k = bisect_left(tops, mid)
        if k == len(reps):  # after the last rep: one hidden if the next one was due inside
            due = reps[-1].top + period
            last = placed(due, reps[-1].rom_deg)
            if g1 - g0 >= HIDE_LAST_SHARE * period and g0 <= due <= g1 and not seen(last):
                out.append(last)
            continue
        if k == 0:
            continue  # before the first rep: where the set began is unknown
        prev, nxt = reps[k - 1], reps[k]
        span = nxt.top - prev.top
        if span < HIDE_PERIODS * period:
            continue
        n = min(round(span / period) - 1, int((g1 - g0) / period + 0.5))
        if g0 <= nxt.top <= g1 + HIDE_TOP_AFTER_S:
            n -= 1  # the rep after the hole was timed to top inside it: it is one of them
        for j in range(1, n + 1):
            rep = placed(prev.top + j * span / (n + 1), 0.5 * (prev.rom_deg + nxt.rom_deg))
            if not seen(rep):
                out.append(rep)
    return out


def _placer(reps: list[Rep]) -> Callable[[float, float], Rep]:
    """A maker of reps placed where the data do not show them: ``(top, s; range, degrees)``
    -> a rep with the set's median lift, hold and lowering times, flagged ``in_gap``."""
    lift = float(np.median([r.lift_s for r in reps]))
    hold = float(np.median([r.hold_s for r in reps]))
    lower = float(np.median([r.lower_s for r in reps]))

    def placed(top: float, rom_deg: float) -> Rep:
        return Rep(start=top - lift, top=top, lower_start=top + hold, end=top + hold + lower,
                   rom_deg=rom_deg, flags=("in_gap",))

    return placed


def cut_reps(reps: list[Rep], gaps: list[list[float]], t: FloatArray, g: FloatArray,
             typical_deg: float, edge_s: float = EDGE_S) -> list[Rep]:
    """Reps that a disconnect cut: the data stop during a movement or resume during one.

    When nothing counted lies over a hole in the data (``reps`` include those that
    ``hidden_reps`` placed) but the segment moves by ``EDGE_SHARE`` of the typical range
    within ``edge_s`` of one of its edges, where no counted rep does, a rep went on in the
    hole: its lift was seen going in, or its return coming out, too little of it to be timed
    (the tilt is interpolated straight across the hole). It is placed at the hole's middle
    with the set's median phase durations (flagged ``in_gap``).

    Parameters
    ----------
    t, g : ndarray
        Grid times (s) and gravity directions (unit) of the whole recording.
    typical_deg : float
        The set's typical range, degrees.
    edge_s : float
        How far from a hole's edges the movement is looked for, s (``EDGE_S``, or
        ``EDGE_NO_HOLD_S`` for the exercises that do not hold at the top).
    """
    holes = [h for h in gaps if h[1] - h[0] >= HIDE_MIN_S]
    if not holes or not reps or t.size < 2:
        return []
    placed = _placer(reps)
    last = t.size - 1
    out: list[Rep] = []
    for g0, g1 in holes:
        if any(r.start < g1 and r.end > g0 for r in reps):
            continue
        moved = 0.0
        i0, im = int(np.searchsorted(t, g0)), int(np.searchsorted(t, g0 - edge_s))
        if 0 <= im < i0 - 1 and not any(r.end > g0 - edge_s and r.start < g0 for r in reps):
            moved = angle(g[im].tolist(), g[i0 - 1].tolist())
        i1 = int(np.searchsorted(t, g1, side="right"))
        i2 = min(int(np.searchsorted(t, g1 + edge_s)), last)
        if i1 < i2 and not any(r.start < g1 + edge_s and r.end > g1 for r in reps):
            moved = max(moved, angle(g[i1].tolist(), g[i2].tolist()))
        if moved >= EDGE_SHARE * typical_deg:
            out.append(placed(0.5 * (g0 + g1), typical_deg))
    return out


def real_walks(started: list[float], ended: list[float]) -> list[float]:
    """Start times of the walks that went on for at least ``WALK_MIN_S`` (or still go on), s.

    A moment of footfall-band shaking that stops as soon as it is certain is the exercise itself
    (a fast squat on a loose belt), not a walk whose first steps would cancel the reps around it.
    """
    return [w for i, w in enumerate(started) if i >= len(ended) or ended[i] - w >= WALK_MIN_S]


def overshoots(excursions: list[Excursion], set_direction: FloatArray | None,
               apart_s: float | None = None) -> list[bool]:
    """Which excursions are small movements the opposite way to the set's reps: the overshoot of
    a return below a rest learned part-way up (reps without a pause), not reps.

    With ``apart_s`` (step-ups: ``STEP_LEAN_APART_S``) only such a movement with another
    excursion within ``apart_s`` before or after it: a step-up's lean the other way, on its
    own, is a rep (its pelvis leaned only that way), next to another it is that rep's other
    lean. ``excursions`` are in time order.
    """
    if set_direction is None:
        return [False] * len(excursions)
    against = []
    for ex in excursions:
        against.append(ex.way is not None and float(ex.way @ set_direction) < AGAINST_COS)
    along = [ex.peak_deg for ex, a in zip(excursions, against, strict=True) if not a]
    small = AGAINST_SHARE * float(np.median(along)) if along else 0.0
    out = [a and ex.peak_deg < small for ex, a in zip(excursions, against, strict=True)]
    if apart_s is None:
        return out

    def near(k: int) -> bool:
        return ((k > 0 and excursions[k].start_t - excursions[k - 1].close_t < apart_s)
                or (k + 1 < len(excursions)
                    and excursions[k + 1].start_t - excursions[k].close_t < apart_s))

    return [o and near(k) for k, o in enumerate(out)]


def full_rep_s(kept: list[RepTiming], typical_deg: float) -> float:
    """The set's median full rep, start to end, s (0 until three full reps).

    A smaller movement over in ``FIDGET_TEMPO_SHARE`` of it is a fidget (an adjustment, a
    knock), not an attempt at the exercise (``Engine.result``).
    """
    full_s = [tm.end - tm.start for tm in kept if classify(tm.rom_deg, typical_deg) == "full"]
    return float(np.median(full_s)) if len(full_s) >= 3 else 0.0


def is_step_partial(tm: RepTiming, typical_deg: float, full_s: float) -> bool:
    """Whether a pelvis step-up movement of reduced range is a partial attempt.

    The pelvis's lean is a poor measure of a step-up's size (it leans up, is upright on the
    step, leans down, and sways sideways with the step): a foot lifted toward the step and put
    back reads at a third to almost half of the set's range. A step-up done short still takes
    the set's tempo; an aborted one is quick. So a movement below ``STEP_PARTIAL_SHARE`` of
    the typical range that lasts less than ``STEP_PARTIAL_TEMPO_SHARE`` of the set's median
    full rep (``full_s``, s; 0 while unknown) is a partial attempt.
    """
    return (full_s > 0.0 and tm.rom_deg < STEP_PARTIAL_SHARE * typical_deg
            and tm.end - tm.start < STEP_PARTIAL_TEMPO_SHARE * full_s)


def fragments(reps: list[Rep]) -> list[bool]:
    """Which reps (in time order) are part of a neighbouring rep rather than reps of their own.

    Two reps cannot overlap in time. A short one (under ``FRAGMENT_SHARE`` of the set's median
    rep) that overlaps its neighbour by more than ``FRAGMENT_OVERLAP_S`` is a wobble at that
    rep's top, a fidget as it began or ended, or a rep's own movement found a second time
    (a lowering timed apart from its lift); a rep of its own with no pause meets its neighbours
    at most at their ends (timing 0.1-0.2 s apart). Needs three reps to know the set's tempo.
    """
    if len(reps) < 3:
        return [False] * len(reps)
    short = FRAGMENT_SHARE * float(np.median([r.end - r.start for r in reps]))
    out: list[bool] = []
    for i, r in enumerate(reps):
        before = i > 0 and reps[i - 1].end - r.start > FRAGMENT_OVERLAP_S
        after = i + 1 < len(reps) and r.end - reps[i + 1].start > FRAGMENT_OVERLAP_S
        out.append(r.end - r.start < short and (before or after))
    return out


def other_posture(kept: list[RepTiming], typical_deg: float) -> list[bool]:
    """Which movements (with ``rest`` known) rose from a rest in another posture than the reps
    before and after them.

    The rest on each side of a movement is the median of the rests of up to
    ``POSTURE_NEIGHBOURS`` movements there. A movement from a rest further than
    ``OTHER_POSTURE_DEG`` and ``OTHER_POSTURE_SHARE`` typical ranges from the rest on both sides
    (on the one side with three movements, at a set's edge) is done in another posture: a thigh
    swinging as the patient stands up or walks off around a set on the floor, not a rep of the
    set. (Sets one after the other with the sensor clipped on anew change posture between two
    reps, each near the rest on its own side.)
    """
    limit = max(OTHER_POSTURE_DEG, OTHER_POSTURE_SHARE * typical_deg)
    known = [(i, tm.rest) for i, tm in enumerate(kept) if tm.rest is not None]
    out = [False] * len(kept)
    for j, (i, rest) in enumerate(known):
        sides = [[r for _, r in known[max(0, j - POSTURE_NEIGHBOURS):j]],
                 [r for _, r in known[j + 1:j + 1 + POSTURE_NEIGHBOURS]]]
        sides = [side for side in sides if len(side) >= 2]
        if not sides or max(len(side) for side in sides) < 3:
            continue
        out[i] = all(angle(list(rest), _mean_direction(side)) > limit for side in sides)
    return out


def _mean_direction(rests: list[tuple[float, float, float]]) -> list[float]:
    """The component-wise median of unit vectors, scaled to unit length (a few of them: plain
    Python, as the live review runs it at every rep)."""
    return norm([median(c) for c in zip(*rests, strict=True)])


def _time_near(t: FloatArray, dist: FloatArray, lo: float, hi: float, near: float) -> float:
    """Time (s) in [lo, hi] the segment spends within ``near`` degrees (``dist``: degrees from
    the orientation, per grid sample)."""
    i0, i1 = np.searchsorted(t, [lo, hi])
    return float(np.count_nonzero(dist[i0:i1] < near)) / GRID_HZ


def is_inside_out(t: FloatArray, to_top: FloatArray, reps: list[Rep], apart_deg: float,
                  held: bool = False) -> bool:
    """Whether the set was counted inside out: its rest learned at the reps' top.

    A set begins and ends at rest: the patient is there before the first rep and goes back
    there after the last. When the segment instead stays at the reps' top orientation for
    ``INSIDE_OUT_STILL_S`` of the ``INSIDE_OUT_WINDOW_S`` (``INSIDE_OUT_HELD_WINDOW_S`` if
    ``held``: the reps hold at the top) before the first rep and again after the last (within
    ``INSIDE_OUT_NEAR_SHARE`` of ``apart_deg``), that is the real rest: the
    rest the detector learned (say, from a hold right after getting up) is the top, and each
    counted rep is a lowering, a rest and the next lift.

    Parameters
    ----------
    t, to_top : ndarray
        Grid times (s) and the angle from the reps' mean top orientation (deg).
    reps : list of Rep
        The counted reps in time order.
    apart_deg : float
        Angle between the learned rest and the reps' top orientation, degrees.
    held : bool
        Whether the exercise holds at the top of a rep.
    """
    if len(reps) < 3:
        return False
    near = INSIDE_OUT_NEAR_SHARE * apart_deg
    window = INSIDE_OUT_HELD_WINDOW_S if held else INSIDE_OUT_WINDOW_S
    first, last = reps[0].start, reps[-1].end
    return (_time_near(t, to_top, first - window, first, near) >= INSIDE_OUT_STILL_S
            and _time_near(t, to_top, last, last + window, near) >= INSIDE_OUT_STILL_S)


def turn_inside_out(reps: list[Rep]) -> list[Rep]:
    """The reps of a set counted inside out (:func:`is_inside_out`), the right way round.

    Each counted rep went from the top (the learned rest) down to the real rest and back up:
    its lowering, a rest and the next lift. So each real rep runs from one counted rep's
    return (its lift) through the hold between the two (its hold) to the next one's lift (its
    lowering): one more rep than counted. The first one's lift and the last one's lowering lie
    outside the counted reps and are placed with the set's median phases.
    """
    lift = float(np.median([r.lower_s for r in reps]))
    lower = float(np.median([r.lift_s for r in reps]))
    hold = float(np.median([b.start - a.end for a, b in pairwise(reps)]))
    first, last = reps[0], reps[-1]
    out = [Rep(start=first.start - hold - lift, top=first.start - hold,
               lower_start=first.start, end=first.top, rom_deg=first.rom_deg,
               flags=first.flags, stability_deg=first.stability_deg)]
    for a, b in pairwise(reps):
        out.append(Rep(start=a.lower_start, top=a.end, lower_start=b.start, end=b.top,
                       rom_deg=max(a.rom_deg, b.rom_deg), flags=b.flags,
                       stability_deg=b.stability_deg))
    out.append(Rep(start=last.lower_start, top=last.end, lower_start=last.end + hold,
                   end=last.end + hold + lower, rom_deg=last.rom_deg, flags=last.flags,
                   stability_deg=last.stability_deg))
    return out
