"""Shared pieces of the server-rendered SVG charts: palette, escaping, scales and the frame.

Every chart is an accessible inline ``<svg role="img">`` with a ``<title>`` and a ``<desc>``
referenced by ``aria-labelledby``, so a screen reader announces what the chart shows, and every
colour comes with a second cue (a marker shape, a dash pattern or a text label).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

#: Okabe & Ito's colour-blind-safe palette (Okabe and Ito, "Color Universal Design", 2008).
OKABE_ITO: dict[str, str] = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "bluish_green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7",
}

#: Order in which series take colours; each also has its own marker and dash (never colour alone).
SERIES_STYLES: tuple[tuple[str, str, str], ...] = (
    (OKABE_ITO["blue"], "circle", ""),
    (OKABE_ITO["vermillion"], "square", "6 3"),
    (OKABE_ITO["bluish_green"], "triangle", "2 2"),
    (OKABE_ITO["reddish_purple"], "diamond", "8 3 2 3"),
    (OKABE_ITO["orange"], "circle", "1 3"),
)

TARGET_COLOUR = OKABE_ITO["black"]

_ids = itertools.count(1)


def next_id(prefix: str) -> str:
    """A document-unique id for ``<title>``/``<desc>`` elements of one chart."""
    return f"{prefix}-{next(_ids)}"


def esc(text: object) -> str:
    """Escape text for SVG/HTML content and attributes."""
    return str(escape(str(text)))


def fmt(value: float) -> str:
    """A coordinate with one decimal, without a trailing ``.0``."""
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def label_number(value: float) -> str:
    """A tick label: integers without decimals, others with up to two significant decimals."""
    if math.isclose(value, round(value), abs_tol=1e-9):
        return str(round(value))
    return f"{value:.2f}".rstrip("0").rstrip(".")


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values covering ``[low, high]`` (steps of 1, 2 or 5 times a power of ten).

    Examples
    --------
    >>> nice_ticks(0, 9.3)
    [0, 5, 10]
    """
    if not math.isfinite(low) or not math.isfinite(high):
        return [0.0, 1.0]
    if high <= low:
        high = low + 1.0
    raw = (high - low) / max(count - 1, 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = math.floor(low / step + 1e-9)
    last = math.ceil(high / step - 1e-9)
    ticks = [round(k * step, 10) for k in range(first, last + 1)]
    return ticks


@dataclass(frozen=True)
class Scale:
    """Linear map from data values to pixels."""

    d0: float
    d1: float
    p0: float
    p1: float

    def __call__(self, value: float) -> float:
        span = self.d1 - self.d0
        if span == 0:
            return (self.p0 + self.p1) / 2
        return self.p0 + (value - self.d0) / span * (self.p1 - self.p0)


@dataclass(frozen=True)
class Frame:
    """Plot area inside the chart: margins for the axes, in pixels."""

    width: int
    height: int
    left: int = 48
    right: int = 16
    top: int = 12
    bottom: int = 40

    @property
    def x0(self) -> float:
        return float(self.left)

    @property
    def x1(self) -> float:
        return float(self.width - self.right)

    @property
    def y0(self) -> float:
        """Bottom of the plot area (pixel y grows downwards)."""
        return float(self.height - self.bottom)

    @property
    def y1(self) -> float:
        return float(self.top)


def open_svg(width: int, height: int, title: str, desc: str, css_class: str) -> list[str]:
    """Start an accessible SVG element; close it with ``"</svg>"``."""
    tid, did = next_id("t"), next_id("d")
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart {esc(css_class)}" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
        f'aria-labelledby="{tid} {did}" preserveAspectRatio="xMinYMin meet">',
        f'<title id="{tid}">{esc(title)}</title>',
        f'<desc id="{did}">{esc(desc)}</desc>',
    ]


def marker(shape: str, x: float, y: float, colour: str, size: float = 3.5) -> str:
    """A data-point marker; the shape tells series apart without colour."""
    if shape == "square":
        return (f'<rect x="{fmt(x - size)}" y="{fmt(y - size)}" width="{fmt(2 * size)}" '
                f'height="{fmt(2 * size)}" fill="{colour}"/>')
    if shape == "triangle":
        pts = f"{fmt(x)},{fmt(y - size * 1.2)} {fmt(x - size)},{fmt(y + size)} " \
              f"{fmt(x + size)},{fmt(y + size)}"
        return f'<polygon points="{pts}" fill="{colour}"/>'
    if shape == "diamond":
        pts = f"{fmt(x)},{fmt(y - size * 1.3)} {fmt(x + size)},{fmt(y)} " \
              f"{fmt(x)},{fmt(y + size * 1.3)} {fmt(x - size)},{fmt(y)}"
        return f'<polygon points="{pts}" fill="{colour}"/>'
    return f'<circle cx="{fmt(x)}" cy="{fmt(y)}" r="{fmt(size)}" fill="{colour}"/>'


def y_axis(frame: Frame, scale: Scale, ticks: Sequence[float], label: str) -> list[str]:
    """Horizontal grid lines with tick labels and a rotated axis label."""
    out = ['<g class="axis y-axis">']
    for tick in ticks:
        y = scale(tick)
        out.append(f'<line class="grid" x1="{fmt(frame.x0)}" x2="{fmt(frame.x1)}" '
                   f'y1="{fmt(y)}" y2="{fmt(y)}"/>')
        out.append(f'<text x="{fmt(frame.x0 - 6)}" y="{fmt(y + 4)}" '
                   f'text-anchor="end">{esc(label_number(tick))}</text>')
    mid = (frame.y0 + frame.y1) / 2
    out.append(f'<text class="axis-label" transform="translate(12 {fmt(mid)}) rotate(-90)" '
               f'text-anchor="middle">{esc(label)}</text>')
    out.append("</g>")
    return out


def x_labels(frame: Frame, positions: Sequence[float], labels: Sequence[str],
             max_labels: int = 7) -> list[str]:
    """Category labels under the plot, thinned so they never overlap."""
    step = max(1, math.ceil(len(labels) / max_labels))
    out = ['<g class="axis x-axis">',
           f'<line class="baseline" x1="{fmt(frame.x0)}" x2="{fmt(frame.x1)}" '
           f'y1="{fmt(frame.y0)}" y2="{fmt(frame.y0)}"/>']
    for i, (x, text) in enumerate(zip(positions, labels, strict=True)):
        if i % step == 0:
            out.append(f'<text x="{fmt(x)}" y="{fmt(frame.y0 + 16)}" '
                       f'text-anchor="middle">{esc(text)}</text>')
    out.append("</g>")
    return out


def as_markup(parts: Sequence[str]) -> Markup:
    """Join SVG fragments into markup that templates insert without escaping again."""
    return Markup("".join(parts))  # every text input went through esc()
