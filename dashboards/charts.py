"""Line chart with a target line, bar chart and sparkline as accessible inline SVG (pure functions).

The functions take plain numbers and labels and return :class:`markupsafe.Markup` holding one
``<svg>`` element: no JavaScript, no CDN, printable. Missing values (``None``) leave gaps.

Examples
--------
>>> svg = line_chart(["W1", "W2"], [Series("Median hold", [3.0, 4.5])], title="Bridge hold",
...                  y_label="s", target=5.0)
>>> svg.startswith("<svg")
True
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup

from dashboards.svg import (
    OKABE_ITO,
    SERIES_STYLES,
    TARGET_COLOUR,
    Frame,
    Scale,
    as_markup,
    esc,
    fmt,
    label_number,
    marker,
    next_id,
    nice_ticks,
    open_svg,
    x_labels,
    y_axis,
)


@dataclass(frozen=True)
class Series:
    """One line: a name for the legend and one value (or None for a gap) per x label."""

    name: str
    values: Sequence[float | None]


def _finite(values: Sequence[float | None]) -> list[float]:
    return [float(v) for v in values if v is not None and math.isfinite(v)]


def describe_series(name: str, values: Sequence[float | None], unit: str) -> str:
    """A sentence a screen reader can say about a series: first, last, lowest and highest value.

    Examples
    --------
    >>> describe_series("Reps", [8, None, 10], "reps")
    'Reps: from 8 to 10 reps (lowest 8, highest 10).'
    """
    vals = _finite(values)
    if not vals:
        return f"{name}: no data."
    suffix = f" {unit}" if unit else ""
    return (f"{name}: from {label_number(round(vals[0], 2))} to "
            f"{label_number(round(vals[-1], 2))}{suffix} "
            f"(lowest {label_number(round(min(vals), 2))}, "
            f"highest {label_number(round(max(vals), 2))}).")


def empty_chart(title: str, message: str = "No data yet", width: int = 560,
                height: int = 80) -> Markup:
    """A placeholder chart that says why nothing is drawn."""
    parts = open_svg(width, height, title, message, "chart-empty")
    parts.append(f'<text x="{width // 2}" y="{height // 2 + 5}" text-anchor="middle" '
                 f'class="empty-text">{esc(message)}</text></svg>')
    return as_markup(parts)


def _value_range(series: Sequence[Series], target: float | None, y_min: float | None,
                 y_max: float | None) -> tuple[float, float]:
    vals = [v for s in series for v in _finite(s.values)]
    if target is not None:
        vals.append(target)
    low = min(vals) if y_min is None else y_min
    high = max(vals) if y_max is None else y_max
    if y_min is None and low > 0:
        low = 0.0  # magnitudes read honestly from zero
    return low, high


def line_chart(labels: Sequence[str], series: Sequence[Series], *, title: str, y_label: str,
               unit: str = "", target: float | None = None, target_label: str = "target",
               desc: str | None = None, y_min: float | None = None, y_max: float | None = None,
               width: int = 560, height: int = 220) -> Markup:
    """A line chart of one or more series over categories (weeks, days), with a target line.

    Parameters
    ----------
    labels : sequence of str
        X-axis categories, e.g. ``"12 Oct"`` for weeks.
    series : sequence of Series
        Each with one value per label; ``None`` leaves a gap.
    title, y_label : str
        Chart title (also the accessible name) and y-axis label with its unit, e.g. ``"hold (s)"``.
    unit : str
        Unit word used in the generated description, e.g. ``"s"``.
    target : float, optional
        Drawn as a dashed black line with a text label, e.g. the prescribed hold in seconds.
    desc : str, optional
        Accessible description; by default generated from the series values.
    """
    if not labels or not any(_finite(s.values) for s in series):
        return empty_chart(title)
    for s in series:
        if len(s.values) != len(labels):
            raise ValueError(
                f"series {s.name!r} has {len(s.values)} values for {len(labels)} labels")
    legend_rows = math.ceil((len(series) + (target is not None)) / 3)
    right = 16 if target is None else 112  # room for the target's label beside the plot
    frame = Frame(width, height + 18 * legend_rows, right=right, bottom=40 + 18 * legend_rows)
    low, high = _value_range(series, target, y_min, y_max)
    ticks = nice_ticks(low, high)
    ys = Scale(ticks[0], ticks[-1], frame.y0, frame.y1)
    n = len(labels)
    pad = (frame.x1 - frame.x0) / (2 * n) if n > 1 else (frame.x1 - frame.x0) / 2
    xs = Scale(0, max(n - 1, 1), frame.x0 + pad, frame.x1 - pad)
    if desc is None:
        parts_desc = [describe_series(s.name, s.values, unit) for s in series]
        if target is not None:
            parts_desc.append(f"{target_label.capitalize()}: {label_number(target)} {unit}.")
        desc = " ".join(parts_desc)
    out = open_svg(frame.width, frame.height, title, desc, "chart-line")
    out += y_axis(frame, ys, ticks, y_label)
    positions = [xs(i) if n > 1 else (frame.x0 + frame.x1) / 2 for i in range(n)]
    out += x_labels(frame, positions, labels)
    legend: list[tuple[str, str, str, str]] = []
    if target is not None:
        y = ys(target)
        out.append(f'<line class="target" x1="{fmt(frame.x0)}" x2="{fmt(frame.x1)}" '
                   f'y1="{fmt(y)}" y2="{fmt(y)}" stroke="{TARGET_COLOUR}" stroke-width="1.5" '
                   f'stroke-dasharray="4 4"/>')
        out.append(f'<text class="target-label" x="{fmt(frame.x1 + 4)}" y="{fmt(y + 4)}">'
                   f'{esc(target_label)} {esc(label_number(target))}'
                   f'{esc(" " + unit if unit else "")}</text>')
        legend.append((TARGET_COLOUR, "", "4 4", f"{target_label} {label_number(target)}"))
    for k, s in enumerate(series):
        colour, shape, dash = SERIES_STYLES[k % len(SERIES_STYLES)]
        out.append(f'<g class="series" data-series="{esc(s.name)}">')
        segment: list[str] = []
        segments: list[list[str]] = []
        for i, v in enumerate(s.values):
            if v is None or not math.isfinite(v):
                if segment:
                    segments.append(segment)
                segment = []
                continue
            segment.append(f"{fmt(positions[i])},{fmt(ys(v))}")
        if segment:
            segments.append(segment)
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        for seg in segments:
            if len(seg) > 1:
                out.append(f'<polyline points="{" ".join(seg)}" fill="none" stroke="{colour}" '
                           f'stroke-width="2"{dash_attr}/>')
        for i, v in enumerate(s.values):
            if v is not None and math.isfinite(v):
                out.append(f'<g class="point">{marker(shape, positions[i], ys(v), colour)}'
                           f'<title>{esc(labels[i])}: {esc(label_number(round(v, 2)))}'
                           f'{esc(" " + unit if unit else "")}</title></g>')
        out.append("</g>")
        legend.append((colour, shape, dash, s.name))
    out += _legend(frame, legend)
    out.append("</svg>")
    return as_markup(out)


def _legend(frame: Frame, items: Sequence[tuple[str, str, str, str]]) -> list[str]:
    out = ['<g class="legend">']
    col_w = (frame.x1 - frame.x0) / 3
    for k, (colour, shape, dash, name) in enumerate(items):
        x = frame.x0 + (k % 3) * col_w
        y = frame.y0 + 34 + (k // 3) * 18
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        out.append(f'<line x1="{fmt(x)}" x2="{fmt(x + 24)}" y1="{fmt(y - 4)}" y2="{fmt(y - 4)}" '
                   f'stroke="{colour}" stroke-width="2"{dash_attr}/>')
        if shape:
            out.append(marker(shape, x + 12, y - 4, colour))
        out.append(f'<text x="{fmt(x + 30)}" y="{fmt(y)}">{esc(name)}</text>')
    out.append("</g>")
    return out


def bar_chart(labels: Sequence[str], values: Sequence[float | None], *, title: str,
              y_label: str, unit: str = "", target: float | None = None,
              target_label: str = "target", desc: str | None = None,
              y_max: float | None = None, width: int = 560, height: int = 200) -> Markup:
    """Vertical bars, one per label, each with its value written above it.

    Bars that reach ``target`` are drawn solid; bars below it are hatched, so "met" and "not met"
    differ by pattern as well as by colour. ``None`` values are shown as "–" without a bar.
    """
    vals = _finite(values)
    if not labels or not vals:
        return empty_chart(title)
    if len(values) != len(labels):
        raise ValueError(f"{len(values)} values for {len(labels)} labels")
    frame = Frame(width, height, right=16 if target is None else 84)
    high = max([*vals, target or 0.0]) if y_max is None else y_max
    ticks = nice_ticks(0.0, high)
    ys = Scale(0.0, ticks[-1], frame.y0, frame.y1)
    n = len(labels)
    band = (frame.x1 - frame.x0) / n
    if desc is None:
        desc = describe_series(title, values, unit)
        if target is not None:
            desc += f" {target_label.capitalize()}: {label_number(target)} {unit}."
    out = open_svg(width, height, title, desc, "chart-bar")
    pid = next_id("hatch")
    out.append(f'<defs><pattern id="{pid}" width="6" height="6" patternUnits="userSpaceOnUse" '
               f'patternTransform="rotate(45)"><rect width="6" height="6" fill="#fff"/>'
               f'<line x1="0" y1="0" x2="0" y2="6" stroke="{OKABE_ITO["orange"]}" '
               f'stroke-width="3"/></pattern></defs>')
    out += y_axis(frame, ys, ticks, y_label)
    centres = [frame.x0 + band * (i + 0.5) for i in range(n)]
    out += x_labels(frame, centres, labels)
    for i, v in enumerate(values):
        cx = centres[i]
        if v is None or not math.isfinite(v):
            out.append(f'<text class="bar-value" x="{fmt(cx)}" y="{fmt(frame.y0 - 4)}" '
                       f'text-anchor="middle">–</text>')
            continue
        y = ys(v)
        met = target is None or v >= target
        fill = OKABE_ITO["blue"] if met else f"url(#{pid})"
        bw = max(band * 0.6, 2.0)
        out.append(f'<g class="bar"><rect x="{fmt(cx - bw / 2)}" y="{fmt(y)}" width="{fmt(bw)}" '
                   f'height="{fmt(frame.y0 - y)}" fill="{fill}" stroke="{OKABE_ITO["blue"]}"/>'
                   f'<title>{esc(labels[i])}: {esc(label_number(round(v, 2)))}'
                   f'{esc(" " + unit if unit else "")}</title></g>')
        if n <= 16:
            out.append(f'<text class="bar-value" x="{fmt(cx)}" y="{fmt(y - 4)}" '
                       f'text-anchor="middle">{esc(label_number(round(v, 1)))}</text>')
    if target is not None:
        y = ys(target)
        out.append(f'<line class="target" x1="{fmt(frame.x0)}" x2="{fmt(frame.x1)}" '
                   f'y1="{fmt(y)}" y2="{fmt(y)}" stroke="{TARGET_COLOUR}" stroke-width="1.5" '
                   f'stroke-dasharray="4 4"/><text class="target-label" x="{fmt(frame.x1 + 4)}" '
                   f'y="{fmt(y + 4)}">{esc(target_label)} '
                   f'{esc(label_number(target))}</text>')
    out.append("</svg>")
    return as_markup(out)


def sparkline(values: Sequence[float | None], *, label: str, unit: str = "%",
              width: int = 96, height: int = 24) -> Markup:
    """A small trend line for tables; its accessible name states the first and last value.

    The last point is marked with a dot; gaps (``None``) are skipped.
    """
    pts = [(i, float(v)) for i, v in enumerate(values) if v is not None and math.isfinite(v)]
    if not pts:
        return Markup(f'<span class="sparkline-empty">{esc(label)}: no data</span>')
    first, last = pts[0][1], pts[-1][1]
    name = (f"{label}: {label_number(round(first))}{unit} to {label_number(round(last))}{unit}"
            if len(pts) > 1 else f"{label}: {label_number(round(last))}{unit}")
    lo = min(v for _, v in pts)
    hi = max(v for _, v in pts)
    xs = Scale(0, max(len(values) - 1, 1), 2, width - 4)
    ys = Scale(lo, hi if hi > lo else lo + 1, height - 3, 3)
    coords = " ".join(f"{fmt(xs(i))},{fmt(ys(v))}" for i, v in pts)
    lx, ly = xs(pts[-1][0]), ys(last)
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" class="sparkline" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-label="{esc(name)}">'
        f"<title>{esc(name)}</title>"
        f'<polyline points="{coords}" fill="none" stroke="{OKABE_ITO["blue"]}" stroke-width="1.5"/>'
        f'<circle cx="{fmt(lx)}" cy="{fmt(ly)}" r="2.5" fill="{OKABE_ITO["vermillion"]}"/></svg>'
    )
