"""Timing and classification of reps: start, top, lower_start and end from the tilt speed;
partial attempts and reduced range against the set's typical range.

Definitions (issue 2, section 3; see docs/motion.md): ``top`` is when the lift stops (the tilt speed
falls below ``SPEED_SHARE`` of the lift's peak speed), ``lower_start`` when the return begins (the
speed exceeds that share of the lowering's peak speed), ``hold_s = lower_start - top``. ``rom_deg``
is the peak tilt change along the rep's direction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from wearable.motion.orientation import across_angle, cross, plane_angles, tangent_direction
from wearable.motion.preprocess import GRID_HZ, zero_phase_lowpass
from wearable.motion.profiles import MIN_REP_S, PARTIAL_SHARE, REDUCED_ROM_SHARE

FloatArray = npt.NDArray[np.float64]

#: Lower of the two speed levels (share of a phase's peak speed) used to time a stop.
SPEED_SHARE = 0.2
#: Grid samples the speed must stay under a level for the crossing to count (0.2 s at 50 Hz):
#: sway and sensor noise on small, slow reps dip the speed under 20 % of its peak mid-movement.
DWELL = 10
#: Upper of the two speed levels (share of a phase's peak speed).
UPPER_SHARE = 0.5
#: Movements beyond this multiple of the typical range are posture changes, not reps.
OUTLIER_SHARE = 2.2
#: A rep starts and ends at about the same tilt: ends further apart than this share of the lift
#: mean the movement went on to another posture.
UNEVEN_SHARE = 0.5
#: ... and further apart than this, degrees (sway and a posture shift between reps move the rest
#: by a few degrees; getting up or lying down by tens). Step-ups lean two ways by nature.
UNEVEN_FLOOR_DEG = 10.0
#: The lowering's peak speed is searched this close to where the tilt is halfway back, s.
HALFWAY_S = 0.3
#: Data kept around an excursion for its timing, s.
MARGIN_S = 1.5
#: A step-up's two humps need a dip between them at least this share of its peak tilt deep
#: (the low-passed tilt's noise) ...
DIP_SHARE = 0.02
#: ... that stays this share of the way up from rest to the peak (a flicker back through rest
#: has no top between).
DIP_LEVEL_SHARE = 0.25
#: The tilt's way of travel at a hole's edges is measured over this long, s ...
HOLE_EDGE_S = 0.4
#: ... and is a way when it moves at least this share of the rep's range in that time (a hold
#: drifts and sways by less).
HOLE_EDGE_SHARE = 0.05


@dataclass(frozen=True)
class RepTiming:
    """The refined timing and angles of one excursion (s on the recording's clock, degrees)."""

    start: float
    top: float
    lower_start: float
    end: float
    rom_deg: float
    across_deg: float  # motion about the perpendicular horizontal axis (from gravity)
    yaw_deg: float | None  # motion about the other axes from the gyro (gyro only)
    rise_m: float | None = None  # step-ups: net vertical motion, m (stepping.rise)
    rest: tuple[float, float, float] | None = None  # gravity at the rest it rose from (unit)


def _crossing(t: FloatArray, x: FloatArray, i: int, level: float) -> float:
    """Time where ``x`` crosses ``level`` between samples i-1 and i (linear interpolation)."""
    if i <= 0 or i >= x.size:
        return float(t[min(max(i, 0), x.size - 1)])
    x0, x1 = float(x[i - 1]), float(x[i])
    if x1 == x0:
        return float(t[i])
    frac = min(max((level - x0) / (x1 - x0), 0.0), 1.0)
    return float(t[i - 1] + frac * (t[i] - t[i - 1]))


def minjerk_ratio(upper: float, lower: float) -> float:
    """On the minimum-jerk profile, the time from the ``lower`` share of the peak speed to the
    stop over the time from the ``upper`` share to the ``lower`` (1.268 for 50 % and 20 %).

    The profile's speed is 30 u^2 (1 - u)^2 (peak 1.875 at u = 0.5) for u from 0 to 1, so it
    falls to a share v of its peak at u = 1/2 + sqrt(1/4 - sqrt(v) / 4).
    """
    def u(v: float) -> float:
        return 0.5 + float(np.sqrt(0.25 - np.sqrt(v) / 4.0))
    return (1.0 - u(lower)) / (u(lower) - u(upper))


#: ``minjerk_ratio`` of the two speed levels used to time a stop.
STOP_RATIO = minjerk_ratio(UPPER_SHARE, SPEED_SHARE)


def _first_stay(speed: list[float], level: float) -> int | None:
    """Index where ``speed`` first goes under ``level`` to stay there for ``DWELL`` samples, or
    None.

    A dip of the speed shorter than the dwell is noise in the movement, not its stop; within
    the last ``DWELL - 1`` samples (the window's end) a shorter stay under the level still
    counts. (A plain loop: the stay is usually found within a few tenths of a second of the
    peak, long before a vectorised search over the window would pay for itself.)
    """
    run = 0
    for k, v in enumerate(speed):
        if v < level:
            run += 1
            if run == DWELL:
                return k - DWELL + 1
        else:
            run = 0
    n = len(speed)
    return next((k for k in range(max(n - DWELL + 1, 0), n) if speed[k] < level), None)


def stop_time(t: FloatArray, speed: FloatArray, i_peak: int, i_limit: int,
              forward: bool) -> float:
    """When a movement stops (forward) or starts (backward), s.

    ``speed`` is normalised to 1 at ``i_peak``. Human point-to-point movements follow the
    minimum-jerk profile (Flash & Hogan 1985); on it the speed falls from ``UPPER_SHARE`` to
    ``SPEED_SHARE`` of its peak in a fixed share (``minjerk_ratio``) of the time it then takes
    to reach zero. Extrapolating from those two well-measured crossings finds the stop without
    depending on the noisy tail of the speed.
    """
    step = 1 if forward else -1
    idx = np.arange(i_peak, i_limit + step, step) if i_limit != i_peak else np.array([i_peak])
    seg: list[float] = speed[idx].tolist()
    times = []
    for level in (UPPER_SHARE, SPEED_SHARE):
        j = _first_stay(seg, level)
        if j is None:
            return float(t[idx[-1]])
        if j == 0:
            times.append(float(t[idx[0]]))
            continue
        x0, x1 = seg[j - 1], seg[j]
        frac = (x0 - level) / (x0 - x1) if x0 != x1 else 1.0
        ta, tb = float(t[idx[j - 1]]), float(t[idx[j]])
        times.append(ta + frac * (tb - ta))
    t50, t20 = times
    stop = t20 + STOP_RATIO * (t20 - t50)
    lim = float(t[idx[-1]])
    return min(stop, lim) if forward else max(stop, lim)


def _dip(along: FloatArray, i_open: int, i_close: int, ip: int,
         rest: float) -> tuple[int, int, int] | None:
    """(first hump, dip, second hump) indices of a two-humped excursion, or None.

    The dip is the deepest point below both the highest tilt before it and the highest after it;
    it must be ``DIP_SHARE`` of the peak tilt deep and stay ``DIP_LEVEL_SHARE`` of the way up
    from ``rest`` (degrees) to the peak.
    """
    seg = along[i_open:i_close + 1]
    if seg.size < 3:
        return None
    depth = np.minimum(np.maximum.accumulate(seg),
                       np.maximum.accumulate(seg[::-1])[::-1]) - seg
    imin = i_open + int(np.argmax(depth))
    if (float(depth[imin - i_open]) < DIP_SHARE * float(along[ip])
            or along[imin] < rest + DIP_LEVEL_SHARE * (float(along[ip]) - rest)):
        return None
    p1 = i_open + int(np.argmax(along[i_open:imin + 1]))
    p2 = imin + int(np.argmax(along[imin:i_close + 1]))
    return p1, imin, p2


def _lowering_peak(along: FloatArray, rate: FloatArray, ip: int, hi_i: int) -> int:
    """Index of the lowering's peak speed, between the top ``ip`` and the return ``hi_i``.

    A minimum-jerk movement is fastest halfway, so the peak is searched within ``HALFWAY_S``
    of where the tilt first falls halfway back: a jolt after the return (a fidget, the clip
    settling) or at the top is not taken for the lowering.
    """
    w = int(HALFWAY_S * GRID_HZ)
    below = np.flatnonzero(along[ip:hi_i + 1] < 0.5 * float(along[ip] + along[hi_i]))
    mid = ip + (int(below[0]) if below.size else hi_i - ip)
    a, b = max(ip, mid - w), min(hi_i, mid + w)
    return a + int(np.argmin(rate[a:b + 1]))


def tilt_rate(g: FloatArray, along: FloatArray, ref: FloatArray, direction: FloatArray,
              gyro: FloatArray | None) -> FloatArray:
    """Tilt speed along the rep's direction, deg/s (from the gyro where present)."""
    deriv = np.gradient(along) * GRID_HZ
    if gyro is None or gyro.shape[0] != g.shape[0] or g.shape[0] < 4:
        return zero_phase_lowpass(deriv[:, None])[:, 0]
    th = np.radians(along)[:, None]
    e_theta = np.cos(th) * direction[None, :] - np.sin(th) * ref[None, :]
    dg = -cross(np.radians(gyro), g)
    rate = np.degrees(np.einsum("ij,ij->i", dg, e_theta))
    # A sensor whose axes form a left-handed frame would flip the sign: trust the data.
    if float(np.dot(rate, deriv)) < 0.0:
        return zero_phase_lowpass(deriv[:, None])[:, 0]
    # Gyro bias (commonly 0.5-2 deg/s) is as large as the slow tilt speeds near a stop; the
    # accelerometer's angle has no bias, so the median difference over the window removes it.
    rate = rate - float(np.median(rate - deriv))
    return zero_phase_lowpass(rate[:, None])[:, 0]


def refine(t: FloatArray, g: FloatArray, gyro: FloatArray | None, ref: FloatArray,
           direction: FloatArray | None, start_t: float, close_t: float, two_phase: bool = False,
           set_direction: FloatArray | None = None,
           set_axis: FloatArray | None = None,
           window: tuple[float, float] | None = None,
           min_s: float = MIN_REP_S, in_hole: bool = False) -> RepTiming | None:
    """Time one excursion from the grid samples around it.

    Parameters
    ----------
    t, g, gyro : ndarray
        Grid samples covering ``[start_t - MARGIN_S, close_t + MARGIN_S]`` (or ``window``, and
        beyond it): times (s), gravity directions (unit; fused with the gyro where there is one,
        which is immune to linear acceleration, else the zero-phase low-passed acceleration)
        and angular rate (deg/s; with a gyro the timing comes from its rate).
    window : (float, float), optional
        The times (s) the rep may occupy, when the samples reach beyond them: those beyond only
        feed the tilt speed's filter, so that its edges are real data, not made-up padding.
    min_s : float
        Shortest movement that can be timed as a rep, s (``MotionProfile.min_movement_s``).
    in_hole : bool
        Whether ``window`` ends (or begins) at a hole in the data that hid the rep's return
        (or its lift): the tilt there is no rest, so ending far from where it began is no
        posture change.
    two_phase : bool
        Step-ups: the pelvis leans while stepping up and again while stepping down, less so on
        the step, so the tilt has two humps: the top is where the fall from the first into the
        dip between them stops, and the lowering begins where the rise into the second starts.
    set_direction : ndarray, shape (3,), optional
        The way gravity moves in the set's reps (their mean); compensation is measured across
        it, since one rep's own direction would absorb a roll that comes with the lift.
    set_axis : ndarray, shape (3,), optional
        With a gyro: the set's main rotation axis in the sensor frame; compensation is then the
        rotation about the other two axes, integrated from the gyro.
    ref : ndarray, shape (3,)
        Rest gravity direction (unit).
    direction : ndarray, shape (3,), or None
        The way the excursion's peak lies from the rest (unit, ``Excursion.way``); None when
        they coincide (nothing to time).
    start_t, close_t : float
        When the excursion opened and closed, s.

    Returns
    -------
    RepTiming or None
        None when the window is too short to time.
    """
    if direction is None or t.size < 8:
        return None
    along, across = plane_angles(g, ref, direction)
    rate = tilt_rate(g, along, ref, direction, gyro)
    if window is not None:
        k0, k1 = np.searchsorted(t, window[0]), np.searchsorted(t, window[1], side="right")
        t, g, along, across, rate = t[k0:k1], g[k0:k1], along[k0:k1], across[k0:k1], rate[k0:k1]
        gyro = None if gyro is None else gyro[k0:k1]
        if t.size < 8:
            return None
    i_open = int(np.searchsorted(t, start_t))
    i_close = min(int(np.searchsorted(t, close_t)), t.size - 1)
    i_open = min(i_open, i_close)
    ip = i_open + int(np.argmax(along[i_open:i_close + 1]))
    lo_i = max(0, i_open - int(MARGIN_S * GRID_HZ))
    lo_i = lo_i + int(np.argmin(along[lo_i:ip + 1]))
    hi_lim = min(t.size, i_close + int(MARGIN_S * GRID_HZ))
    hi_i = ip + int(np.argmin(along[ip:hi_lim]))
    rom = float(along[ip] - min(along[lo_i], along[hi_i]))
    lift = float(along[ip] - max(along[lo_i], along[hi_i]))
    uneven = abs(float(along[lo_i] - along[hi_i]))
    if not two_phase and not in_hole and uneven > max(UNEVEN_SHARE * lift, UNEVEN_FLOOR_DEG):
        # Out from one posture and back past it to another far off (crouching on the way down
        # to the floor, or up from it): part of a posture change, not a rep.
        return None

    dip = _dip(along, i_open, i_close, ip, float(along[ip]) - rom) if two_phase else None
    if dip is not None:
        p1, imin, p2 = dip
        lo_i = max(0, i_open - int(MARGIN_S * GRID_HZ))
        lo_i = lo_i + int(np.argmin(along[lo_i:p1 + 1]))
        hi_i = p2 + int(np.argmin(along[p2:max(hi_lim, p2 + 1)]))
        iu = lo_i + int(np.argmax(rate[lo_i:p1 + 1]))
        idn = p2 + int(np.argmin(rate[p2:hi_i + 1]))
    else:
        iu = lo_i + int(np.argmax(rate[lo_i:ip + 1]))
        idn = _lowering_peak(along, rate, ip, hi_i)
    v_up = max(float(rate[iu]), 1e-6)
    v_dn = max(float(-rate[idn]), 1e-6)
    up, down = rate / v_up, -rate / v_dn  # the lift's and the lowering's speed, 1 at the peak
    start = stop_time(t, up, iu, lo_i, forward=False)
    end = stop_time(t, down, idn, hi_i, forward=True)
    if dip is not None:
        # Upright on the step: the top is where the first hump's fall stops, the lowering
        # begins where the second hump's rise starts.
        p1, imin, p2 = dip
        i_fall = p1 + int(np.argmin(rate[p1:imin + 1]))
        i_rise = imin + int(np.argmax(rate[imin:p2 + 1]))
        top = stop_time(t, -rate / max(float(-rate[i_fall]), 1e-6), i_fall, i_rise, forward=True)
        lower_start = stop_time(t, rate / max(float(rate[i_rise]), 1e-6), i_rise, i_fall,
                                forward=False)
    else:
        top = stop_time(t, up, iu, idn, forward=True)
        lower_start = stop_time(t, down, idn, iu, forward=False)
    lower_start = max(lower_start, top)
    start, end = min(start, top), max(end, lower_start)
    if end - start < min_s:
        return None
    if end - start < 0.4 * (close_t - start_t) and not two_phase:
        return None  # a flicker inside a long posture change (a step-up's humps are its own)

    i0 = int(np.searchsorted(t, start))
    i1 = max(int(np.searchsorted(t, end)), i0 + 1)
    if set_direction is not None:
        across_dir = tangent_direction(set_direction, ref)
        if across_dir is not None:
            across = across_angle(g, ref, across_dir)
    seg = across[i0:i1]
    across_deg = float(seg.max() - seg.min()) if seg.size else 0.0
    yaw_deg = None
    if gyro is not None and gyro.shape[0] == t.size and i1 - i0 > 1:
        w = gyro[i0:i1]
        if set_axis is not None:  # rotation about everything but the rep's own axis
            w = w - np.outer(w @ set_axis, set_axis)
        else:  # rotation about the world's vertical, the current gravity direction
            w = np.einsum("ij,ij->i", w, g[i0:i1])[:, None] * g[i0:i1]
        path = np.cumsum(w, axis=0) / GRID_HZ
        # A gyro's bias (0.5-2 deg/s) integrates to a ramp over a long rep: remove the straight
        # line from the rep's start to its end, which leaves a motion and its return.
        path = path - np.linspace(path[0], path[-1], path.shape[0])
        yaw_deg = float(np.sqrt(np.einsum("ij,ij->i", path, path)).max())
    return RepTiming(start, top, lower_start, end, rom, across_deg, yaw_deg)


def turned_in_hole(t: FloatArray, along: FloatArray, hole: Sequence[float],
                   rom_deg: float) -> bool:
    """Whether the tilt turned back up inside a hole in the data: the return of one rep and
    the lift of the next hidden there.

    The tilt's way of travel just before the hole and just after it (over ``HOLE_EDGE_S``, by
    at least ``HOLE_EDGE_SHARE`` of the rep's range) says what the hole hid: lowering into it
    and lifting out of it, it went down and up again; lifting on both sides but out of it
    lower than into it, it went up, down and up; lowering on both sides but out of it higher,
    down, up and down. (Lifting into the hole and lowering out of it is one rep's top; a hold
    goes into it and out of it still.)

    Parameters
    ----------
    t, along : ndarray
        Grid times (s) and tilt along the rep's way (deg) around the hole, the hole's own
        samples interpolated.
    hole : (float, float)
        The hole's first and last times, s.
    rom_deg : float
        The range of the movement that spans the hole, degrees.

    Examples
    --------
    >>> t = np.arange(0.0, 10.0, 0.01)
    >>> down_up = np.abs(t - 5.0) * 2.0  # back to rest at 5 s, inside the hole
    >>> turned_in_hole(t, down_up, (4.0, 6.0), 10.0)
    True
    >>> turned_in_hole(t, 10.0 - down_up, (4.0, 6.0), 10.0)  # a top hidden: one rep
    False
    """
    g0, g1 = hole
    if t.size < 2 or t[0] > g0 - HOLE_EDGE_S or t[-1] < g1 + HOLE_EDGE_S:
        return False
    a0, a1, b0, b1 = np.interp([g0 - HOLE_EDGE_S, g0, g1, g1 + HOLE_EDGE_S], t, along)
    least = HOLE_EDGE_SHARE * rom_deg
    into, out_of = a1 - a0, b1 - b0  # the tilt's change before the hole and after it, deg
    if into <= -least and out_of >= least:
        return True
    if into >= least and out_of >= least:
        return bool(b0 < a1 - least)
    return bool(into <= -least and out_of <= -least and b0 > a1 + least)


def typical_range(roms: list[float], prior_deg: float | None = None) -> float:
    """The set's typical range, degrees: the median of the larger excursions.

    Partial attempts and fidgets are left out by keeping excursions above 40 % of the 80th
    percentile; ``prior_deg`` (the exercise's usual low end) joins while fewer than three are known.
    """
    values = list(roms)
    if prior_deg is not None and len(values) < 3:
        values.append(prior_deg)
    if not values:
        return prior_deg or 0.0
    arr = np.asarray(values)
    q = float(np.percentile(arr, 80))
    return float(np.median(arr[arr >= 0.4 * q]))


def classify(rom_deg: float, typical_deg: float) -> str:
    """``"partial"``, ``"reduced"``, ``"full"`` or ``"outlier"`` (far beyond the set's range:
    a posture change, not a rep) for a movement of this range in this set."""
    if rom_deg > OUTLIER_SHARE * typical_deg:
        return "outlier"
    if rom_deg < PARTIAL_SHARE * typical_deg:
        return "partial"
    if rom_deg < REDUCED_ROM_SHARE * typical_deg:
        return "reduced"
    return "full"
