"""The session trace: pelvic tilt over time with every rep and hold marked (pure functions).

The companion uploads raw samples (acceleration in g); for display the tilt of the sensor is the
angle between the low-passed gravity vector and its direction at rest at the start of the set.
This is a picture of the movement, not a re-analysis: the reps, holds and flags drawn on it are
the motion engine's results as uploaded.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
from markupsafe import Markup
from scipy.signal import butter, sosfiltfilt

from dashboards.charts import empty_chart
from dashboards.svg import (
    OKABE_ITO,
    Frame,
    Scale,
    as_markup,
    esc,
    fmt,
    label_number,
    nice_ticks,
    open_svg,
    y_axis,
)
from rehablink.recording import Recording
from rehablink.results import Rep

FloatArray = npt.NDArray[np.float64]

#: Low-pass cut-off for the displayed tilt, Hz: keeps movement, drops tremor and impacts.
TILT_CUTOFF_HZ = 3.0
#: Duration taken as "at rest" at the start of the set, s.
REST_WINDOW_S = 0.5


def tilt_deg(recording: Recording) -> FloatArray:
    """Tilt of the sensor relative to its orientation at the start of the set, degrees.

    Parameters
    ----------
    recording : Recording
        Raw samples; acceleration in g.

    Returns
    -------
    ndarray, shape (n,)
        Angle between each (low-passed) acceleration vector and the mean vector of the first
        :data:`REST_WINDOW_S` seconds, degrees, in [0, 180].
    """
    acc = np.asarray(recording.acc, dtype=np.float64)
    n = len(recording)
    if n == 0:
        return np.zeros(0)
    rate = recording.sample_rate_hz
    if rate > 2 * TILT_CUTOFF_HZ and n > 30:
        sos = butter(2, TILT_CUTOFF_HZ, btype="low", fs=rate, output="sos")
        acc = sosfiltfilt(sos, acc, axis=0)
    rest = recording.t <= recording.t[0] + REST_WINDOW_S
    ref = acc[rest].mean(axis=0)
    norms = np.linalg.norm(acc, axis=1) * np.linalg.norm(ref)
    with np.errstate(invalid="ignore", divide="ignore"):
        cos = np.where(norms > 0, acc @ ref / norms, 1.0)
    return np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))


def downsample(t: FloatArray, y: FloatArray,
               max_points: int = 1200) -> tuple[FloatArray, FloatArray]:
    """Keep the shape of a long trace with at most ``max_points`` points (min and max per bucket).

    Examples
    --------
    >>> t = np.arange(10_000) / 100.0
    >>> len(downsample(t, np.sin(t))[0]) <= 1200
    True
    """
    n = len(t)
    if n <= max_points:
        return t, y
    buckets = max_points // 2
    edges = np.linspace(0, n, buckets + 1).astype(int)
    keep: list[int] = []
    for a, b in itertools.pairwise(edges.tolist()):
        if b <= a:
            continue
        seg = y[a:b]
        i, j = a + int(np.argmin(seg)), a + int(np.argmax(seg))
        keep.extend(sorted({i, j}))
    idx = np.array(keep)
    return t[idx], y[idx]


def trace_chart(t: Sequence[float] | FloatArray, angle_deg: Sequence[float] | FloatArray,
                reps: Sequence[Rep], *, title: str, width: int = 1000,
                height: int = 260) -> Markup:
    """Draw the tilt trace with rep numbers, hold bands and flagged reps.

    Parameters
    ----------
    t : array, shape (n,)
        Sample times, s (the recording's clock, the same as the reps').
    angle_deg : array, shape (n,)
        Tilt, degrees.
    reps : sequence of Rep
        The uploaded reps; each is numbered above the trace, its hold (top to lower start) is a
        shaded band labelled with its duration, and a flagged rep gets a "!" marker.
    """
    tt = np.asarray(t, dtype=np.float64)
    yy = np.asarray(angle_deg, dtype=np.float64)
    if tt.size < 2 or tt.size != yy.size:
        return empty_chart(title, "No raw samples for this set")
    tt, yy = downsample(tt, yy)
    frame = Frame(width, height, top=30, bottom=58)
    t0, t1 = float(tt[0]), float(tt[-1])
    xs = Scale(t0, t1 if t1 > t0 else t0 + 1, frame.x0, frame.x1)
    ticks = nice_ticks(0.0, max(float(np.nanmax(yy)), 1.0))
    ys = Scale(ticks[0], ticks[-1], frame.y0, frame.y1)
    flagged = sum(1 for r in reps if r.flags)
    holds = [r.hold_s for r in reps if r.hold_s > 0.05]
    desc = (f"Tilt over {t1 - t0:.0f} s with {len(reps)} reps marked"
            + (f", holds from {min(holds):.1f} to {max(holds):.1f} s" if holds else "")
            + (f", {flagged} flagged reps" if flagged else "") + ".")
    out = open_svg(width, height, title, desc, "chart-trace")
    out += y_axis(frame, ys, ticks, "tilt (deg)")
    out.append('<g class="axis x-axis">')
    for tick in nice_ticks(0.0, t1 - t0, 8):
        if tick > t1 - t0 + 1e-9:
            continue
        x = xs(t0 + tick)
        out.append(f'<text x="{fmt(x)}" y="{fmt(frame.y0 + 16)}" text-anchor="middle">'
                   f"{esc(label_number(tick))}</text>")
    out.append(f'<text class="axis-label" x="{fmt((frame.x0 + frame.x1) / 2)}" '
               f'y="{fmt(frame.y0 + 32)}" text-anchor="middle">time (s)</text></g>')
    out.append('<g class="reps">')
    for k, rep in enumerate(reps, start=1):
        xa, xb = xs(rep.start), xs(rep.end)
        xt, xl = xs(rep.top), xs(rep.lower_start)
        flags = ", ".join(rep.flags) if rep.flags else "no flags"
        tip = (f"Rep {k}: {rep.start:.1f}–{rep.end:.1f} s, range {rep.rom_deg:.1f} deg, "
               f"hold {rep.hold_s:.1f} s, {flags}")
        out.append(f'<g class="rep{" rep-flagged" if rep.flags else ""}" data-rep="{k}">'
                   f"<title>{esc(tip)}</title>")
        out.append(f'<rect class="rep-span" x="{fmt(xa)}" y="{fmt(frame.y1)}" '
                   f'width="{fmt(max(xb - xa, 1))}" height="{fmt(frame.y0 - frame.y1)}" '
                   f'fill="{OKABE_ITO["sky_blue"]}" fill-opacity="0.12"/>')
        if rep.hold_s > 0.05:
            out.append(f'<rect class="hold" x="{fmt(xt)}" y="{fmt(frame.y1)}" '
                       f'width="{fmt(max(xl - xt, 1))}" height="{fmt(frame.y0 - frame.y1)}" '
                       f'fill="{OKABE_ITO["bluish_green"]}" fill-opacity="0.3"/>')
            out.append(f'<text class="hold-label" x="{fmt((xt + xl) / 2)}" '
                       f'y="{fmt(frame.y0 - 4)}" text-anchor="middle">{rep.hold_s:.1f}s</text>')
        out.append(f'<line x1="{fmt(xa)}" x2="{fmt(xa)}" y1="{fmt(frame.y1)}" '
                   f'y2="{fmt(frame.y0)}" stroke="#555" stroke-width="0.75"/>')
        label = f"{k}!" if rep.flags else str(k)
        colour = OKABE_ITO["vermillion"] if rep.flags else "#000"
        out.append(f'<text class="rep-label" x="{fmt((xa + xb) / 2)}" y="{fmt(frame.y1 - 6)}" '
                   f'text-anchor="middle" fill="{colour}">{label}</text></g>')
    out.append("</g>")
    coords = " ".join(f"{fmt(xs(a))},{fmt(ys(b))}" for a, b in zip(tt, yy, strict=True)
                      if math.isfinite(b))
    out.append(f'<polyline class="trace" points="{coords}" fill="none" '
               f'stroke="{OKABE_ITO["blue"]}" stroke-width="1.5"/>')
    ly = frame.y0 + 48
    out.append(
        f'<g class="legend"><rect x="{fmt(frame.x0)}" y="{ly - 10}" width="14" height="12" '
        f'fill="{OKABE_ITO["bluish_green"]}" fill-opacity="0.3"/>'
        f'<text x="{fmt(frame.x0 + 18)}" y="{ly}">hold (seconds written below)</text>'
        f'<text x="{fmt(frame.x0 + 260)}" y="{ly}">1, 2, … rep number above the trace</text>'
        f'<text x="{fmt(frame.x0 + 520)}" y="{ly}" fill="{OKABE_ITO["vermillion"]}">'
        f"n! flagged rep</text></g>")
    out.append("</svg>")
    return as_markup(out)
