"""Step-ups timed from the pelvis's vertical motion (a pure set-level rule).

The pelvis leans forward while stepping up and again while stepping down, so its tilt shows two
humps per rep, shallow or deep by person and tempo: tilt alone splits some reps and merges others.
The vertical motion does not: the body rises once (stepping up) and falls once (stepping down).
Tilting leaves the magnitude of the acceleration at 1 g, so ``|acc| - 1 g`` is the vertical
acceleration (plus a second-order share of the horizontal one) in any mounting orientation and
without a gyro. Integrated and high-passed it gives the vertical velocity: one rise then one fall
of it is one rep: ``top`` is when the rise stops, ``lower_start`` when the fall begins.

Counting by the rises and falls was tried (development seeds): it repaired reps the tilt split or
merged but lost about as many elsewhere (a missed rise pairs two reps' halves; fidgets; slow steps
whose vertical speed is lost in sway), so the count stays the tilt's and only the timing of the
top and the return is taken from the vertical motion, where each of the tilt's movements holds
exactly one rise and one fall.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import numpy.typing as npt
from scipy import signal

from wearable.motion.preprocess import GRID_HZ
from wearable.motion.reps import RepTiming, classify, stop_time, typical_range

FloatArray = npt.NDArray[np.float64]

#: Standard gravity, m/s².
G = 9.80665
#: Band of the vertical acceleration kept, Hz: a step up or down lasts 0.5-5 s; above 3 Hz are
#: heel strikes and mount resonance.
VERTICAL_BAND_HZ = (0.08, 3.0)
#: High-pass of the integrated velocity, Hz (removes the drift of the remaining bias).
VELOCITY_HP_HZ = 0.08
#: A rise or fall is a run of vertical velocity beyond this share of the set's typical peak.
PULSE_SHARE = 0.35
#: A phase's extent (where its velocity is back under this share of its peak), for telling a
#: step from a jolt.
STOP_SHARE = 0.1
#: Below this typical peak vertical speed (very slow steps) the tilt's timing stands, m/s: sway
#: moves the pelvis up and down at 0.01-0.03 m/s.
MIN_PEAK_MS = 0.05
#: Shortest rise or fall of a step-up, s.
MIN_PHASE_S = 0.6
#: Data around the movements searched, s.
SPAN_MARGIN_S = 1.0
#: Data filtered around them, s: the band-pass's edges ring for a few seconds.
FILTER_MARGIN_S = 5.0
#: The stepping down after a movement rises less than this (when it has ended): a second that
#: clearly rose is the next rep's stepping up, m.
CLEAR_RISE_M = 0.1
#: Two movements are one rep's halves when the first rises more than the second by more than
#: ``PAIR_RISE_M + PAIR_RISE_PER_S x`` the time between them (s): a brisk swing of the thigh puts
#: a movement's measured rise off by 0.1-0.2 m, so two movements close together are halves
#: unless the first clearly fell the more, and the longer the person seems to stand between
#: them the clearer the rise must be (between reps they stand on the floor, within one on the
#: step, usually briefly: step-ups have no hold), m and m/s.
PAIR_RISE_M = -0.2
PAIR_RISE_PER_S = 0.2
#: Longest time between the thigh's two movements of one rep, holes in the data included, s
#: (without a hole, the rise the time rule then asks is already beyond any step's).
PAIR_GAP_S = 10.0
#: Live, a movement rising less than this is not held for a partner but is announced as a rep
#: at once (the body rises 15-25 cm onto the step; a brisk stepping up read lower is joined to
#: its stepping down by the set's review all the same, without a second count), m.
STEPPED_UP_M = 0.1

_SOS_BAND = signal.butter(2, VERTICAL_BAND_HZ, "bandpass", fs=GRID_HZ, output="sos")
_SOS_VHP = signal.butter(1, VELOCITY_HP_HZ, "highpass", fs=GRID_HZ, output="sos")


def vertical_velocity(acc: FloatArray) -> FloatArray:
    """Vertical velocity of the sensor, m/s (up positive), from grid accelerations in g."""
    if acc.shape[0] < 16:
        return np.zeros(acc.shape[0])
    a = (np.sqrt(np.einsum("ij,ij->i", acc, acc)) - 1.0) * G
    a = a - float(np.median(a))  # a scale error of the accelerometer
    pad = min(a.size - 1, 200)
    a = signal.sosfiltfilt(_SOS_BAND, a, padlen=pad)
    v = np.cumsum(a) / GRID_HZ
    return np.asarray(signal.sosfiltfilt(_SOS_VHP, v, padlen=pad), dtype=np.float64)


def _runs(mask: npt.NDArray[np.bool_]) -> list[tuple[int, int]]:
    """[first, last] index pairs of the runs of True."""
    edges = np.flatnonzero(np.diff(np.concatenate(([0], mask.astype(np.int8), [0]))))
    return [(int(a), int(b) - 1) for a, b in zip(edges[::2], edges[1::2], strict=True)]


def _phase(v: FloatArray, a: int, b: int, sign: float) -> tuple[int, int, int]:
    """(start, peak, stop) indices of a rise (sign 1) or fall (sign -1) around run [a, b]."""
    s = sign * v
    ip = a + int(np.argmax(s[a:b + 1]))
    level = STOP_SHARE * float(s[ip])
    before = np.flatnonzero(s[:ip] < level)
    after = np.flatnonzero(s[ip:] < level)
    i0 = int(before[-1]) if before.size else 0
    i1 = ip + int(after[0]) if after.size else v.size - 1
    return i0, ip, i1


def _stop(tt: FloatArray, v: FloatArray, peak: int, limit: int, forward: bool) -> float:
    """When the phase peaking at ``peak`` stops (forward) or starts (backward), searched up to
    ``limit``, s: extrapolated from its speed's fall like a tilt's (``reps.stop_time``; the
    10 % crossing alone comes a tenth of the phase early)."""
    lo, hi = min(peak, limit), max(peak, limit) + 1
    return stop_time(tt[lo:hi], v[lo:hi] / float(v[peak]), peak - lo, limit - lo, forward)


def step_timing(t: FloatArray, acc: FloatArray, timings: list[RepTiming],
              gaps: Sequence[Sequence[float]] = ()) -> list[RepTiming]:
    """The set's step-ups with ``top`` and ``lower_start`` from the pelvis's rise and fall.

    Parameters
    ----------
    t, acc : ndarray
        Grid times (s) and accelerations (g) of the whole recording.
    timings : list of RepTiming
        The movements the tilt found (their span is searched; their angles are kept).
    gaps : sequence of (first, last)
        Holes in the data, s: the tilt's movements around them stand as they are.

    Returns
    -------
    list of RepTiming
        ``timings`` with ``top`` (the rise stops) and ``lower_start`` (the fall begins) from the
        vertical velocity for each movement that alone overlaps one rise and fall; the others
        unchanged.
    """
    if not timings or t.size < 16:
        return timings
    lo = int(np.searchsorted(t, timings[0].start - FILTER_MARGIN_S))
    hi = int(np.searchsorted(t, timings[-1].end + FILTER_MARGIN_S))
    tt, v = t[lo:hi], vertical_velocity(acc[lo:hi])
    if tt.size < 16:
        return timings
    inside = np.zeros(tt.size, dtype=bool)
    for tm in timings:
        i0, i1 = np.searchsorted(tt, [tm.start - SPAN_MARGIN_S, tm.end + SPAN_MARGIN_S])
        inside[i0:i1] = True
    peaks_up = [float(v[i0:i1].max()) for i0, i1 in
                (np.searchsorted(tt, [tm.start, tm.end]) for tm in timings) if i1 > i0]
    peaks_dn = [float(-v[i0:i1].min()) for i0, i1 in
                (np.searchsorted(tt, [tm.start, tm.end]) for tm in timings) if i1 > i0]
    if not peaks_up:
        return timings
    typ_up, typ_dn = float(np.median(peaks_up)), float(np.median(peaks_dn))
    if min(typ_up, typ_dn) < MIN_PEAK_MS:
        return timings  # slow steps: the vertical speed is lost in sway and noise
    up_level, dn_level = PULSE_SHARE * typ_up, PULSE_SHARE * typ_dn
    pulses = sorted([(a, b, 1.0) for a, b in _runs((v > up_level) & inside)]
                    + [(a, b, -1.0) for a, b in _runs((v < -dn_level) & inside)])
    merged: list[tuple[int, int, float]] = []
    for a, b, s in pulses:  # a rise that dips under the level briefly is still one rise
        if merged and merged[-1][2] == s:
            merged[-1] = (merged[-1][0], b, s)
        else:
            merged.append((a, b, s))
    steps: list[tuple[float, float, float, float]] = []  # (start, top, lower_start, end)
    for (a, b, s), (c, d, s2) in itertools.pairwise(merged):
        if s < 0 or s2 > 0:
            continue
        r0, rp, r1 = _phase(v, a, b, 1.0)
        f0, fp, f1 = _phase(v, c, d, -1.0)
        if min(float(tt[r1] - tt[r0]), float(tt[f1] - tt[f0])) < MIN_PHASE_S:
            continue  # a jolt (fidget, shuffle) is briefer than stepping up or down
        start, top = _stop(tt, v, rp, r0, False), _stop(tt, v, rp, fp, True)
        lower_start = max(_stop(tt, v, fp, rp, False), top)
        end = _stop(tt, v, fp, f1, True)
        if any(g0 <= end + SPAN_MARGIN_S and g1 >= start - SPAN_MARGIN_S for g0, g1 in gaps):
            continue  # a hole in the data hides part of the motion: the tilt's timing stands
        steps.append((start, top, lower_start, end))
    # Only the timing is taken from the vertical motion (the count stays the tilt's), and only
    # where a movement and a rise-and-fall overlap one another alone.
    out = []
    for tm in timings:
        mine = [st for st in steps if st[0] < tm.end and st[3] > tm.start]
        if len(mine) != 1 or sum(mine[0][0] < o.end and mine[0][3] > o.start
                                 for o in timings) != 1:
            out.append(tm)
            continue
        top = min(max(mine[0][1], tm.start), tm.end)
        out.append(replace(tm, top=top, lower_start=min(max(mine[0][2], top), tm.end)))
    return out


def rise(t: FloatArray, acc: FloatArray, tm: RepTiming) -> float:
    """Net vertical displacement over a movement, m (up positive).

    The body is at rest at a movement's start and end (zero vertical velocity), so the velocity
    integrated from ``|acc| - 1 g`` over the movement alone is corrected by the straight line
    that brings it back to zero at the end (removing a constant bias, e.g. a scale error), then
    integrated again. Only the movement's own samples count: neighbours cannot leak into it, and
    live and offline measure the same.

    Parameters
    ----------
    t, acc : ndarray
        Grid times (s) and accelerations (g) covering the movement.
    tm : RepTiming
        The movement.
    """
    i0, i1 = np.searchsorted(t, [tm.start, tm.end])
    if i1 - i0 < 4:
        return 0.0
    seg = acc[i0:i1]
    a = (np.sqrt(np.einsum("ij,ij->i", seg, seg)) - 1.0) * G
    v = np.cumsum(a) / GRID_HZ
    v = v - np.linspace(0.0, float(v[-1]), v.size)
    return float(np.sum(v)) / GRID_HZ


def are_halves(first: RepTiming, second: RepTiming, second_ended: bool = True,
               hole_s: float = 0.0) -> bool:
    """Whether two movements (with ``rise_m`` measured) are the stepping up and the stepping
    down of one rep.

    The first must rise more than the second by more than ``PAIR_RISE_M`` plus
    ``PAIR_RISE_PER_S`` for each second between them (less ``hole_s``, the time a hole in the
    data hides between them: no standing was seen there), the second must begin within
    ``PAIR_GAP_S`` of the first's end and, once ended, rise less than ``CLEAR_RISE_M``. Live,
    the second is measured when it closes, before the body has quite come down
    (``second_ended`` False): its own rise is not asked.
    """
    a, b = first.rise_m, second.rise_m
    gap = second.start - first.end
    if a is None or b is None or gap > PAIR_GAP_S:
        return False
    standing = max(gap - hole_s, 0.0)
    return (a - b > PAIR_RISE_M + PAIR_RISE_PER_S * standing
            and (b < CLEAR_RISE_M or not second_ended))


def hole_between(gaps: Sequence[Sequence[float]], t0: float, t1: float) -> float:
    """Time (s) that holes in the data (disjoint [first, last] runs, s) take up between ``t0``
    and ``t1``."""
    return sum(max(0.0, min(g1, t1) - max(g0, t0)) for g0, g1 in gaps)


def may_be_stepping_up(movement: RepTiming) -> bool:
    """Whether a movement (with ``rise_m`` measured) may be the stepping up of a rep whose
    stepping down is still to come: it rose by ``STEPPED_UP_M`` or more (or its rise is
    unknown)."""
    return movement.rise_m is None or movement.rise_m >= STEPPED_UP_M


def pair_steps(timings: list[RepTiming], gaps: Sequence[Sequence[float]] = (),
               prior_deg: float | None = None) -> list[RepTiming]:
    """Step-ups seen as two movements (at the thigh): each stepping up (the body rises) and the
    stepping down that follows (it falls) are one rep.

    ``top`` is when the first movement ends (upright on the step) and ``lower_start`` when the
    second begins. A half left without its partner (the other one hidden by a hole in the data
    or lost in a fidget) is a rep on its own: half a step-up seen is still a step-up done. A
    partial attempt (by the movements' typical range) is no half: a fidget just before a rep,
    taken for its stepping up, would leave the rep's stepping down to count again.

    Parameters
    ----------
    timings : list of RepTiming
        The movements in time order, with ``rise_m`` measured (:func:`rise`).
    gaps : sequence of (first, last)
        Holes in the data, s (disjoint runs).
    prior_deg : float, optional
        The exercise's usual low end of the range, degrees, joining the typical range while
        fewer than three movements are known (``reps.typical_range``, as live).
    """
    typical = typical_range([tm.rom_deg for tm in timings], prior_deg)
    out: list[RepTiming] = []
    held: RepTiming | None = None  # a movement waiting for the next whole one
    for tm in timings:
        if classify(tm.rom_deg, typical) == "partial":
            out.append(tm)  # between two halves too (a fidget on the step), as live
        elif held is not None and are_halves(held, tm, hole_s=hole_between(gaps, held.end,
                                                                            tm.start)):
            out.append(join_steps(held, tm))
            held = None
        else:
            if held is not None:
                out.append(held)
            held = tm
    if held is not None:
        out.append(held)
    return sorted(out, key=lambda tm: tm.start)


def join_steps(up: RepTiming, down: RepTiming) -> RepTiming:
    """One rep from the movement stepping up and the one stepping down."""
    yaw = (None if up.yaw_deg is None or down.yaw_deg is None
           else max(up.yaw_deg, down.yaw_deg))
    return RepTiming(start=up.start, top=up.end, lower_start=max(down.start, up.end),
                     end=down.end, rom_deg=max(up.rom_deg, down.rom_deg),
                     across_deg=max(up.across_deg, down.across_deg), yaw_deg=yaw,
                     rest=up.rest)
