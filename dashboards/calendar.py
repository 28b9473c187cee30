"""Adherence calendar: prescribed against done, one cell per day (a pure SVG function).

Weeks are rows (Monday first), weekdays are columns. Each cell shows the day of the month and a
glyph that says the result without colour: ✓ all prescribed sets done, ◐ some, ✕ none (on a
day of the plan; with fewer than 7 days a week some of these are the patient's free days), and
no glyph where nothing was prescribed. The fill (Okabe–Ito blue shades) repeats the glyph.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from markupsafe import Markup

from dashboards.charts import empty_chart
from dashboards.svg import OKABE_ITO, as_markup, esc, open_svg

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass(frozen=True)
class DayAdherence:
    """Prescribed and done sets on one day."""

    day: date
    prescribed: int
    done: int

    @property
    def status(self) -> str:
        """``"rest"`` (nothing prescribed), ``"missed"``, ``"partial"`` or ``"done"``."""
        if self.prescribed <= 0:
            return "done" if self.done > 0 else "rest"
        if self.done <= 0:
            return "missed"
        return "done" if self.done >= self.prescribed else "partial"

    def sentence(self) -> str:
        """What the cell says to a screen reader, e.g. ``"Mon 12 Oct: 2 of 3 sets done"``."""
        when = f"{WEEKDAYS[self.day.weekday()]} {self.day.day} {self.day:%b}"
        if self.prescribed <= 0:
            extra = f", {self.done} extra sets done" if self.done else ""
            return f"{when}: nothing prescribed{extra}"
        return f"{when}: {self.done} of {self.prescribed} sets done"


#: status -> (fill, text colour, glyph, legend text)
STYLES: dict[str, tuple[str, str, str, str]] = {
    "done": (OKABE_ITO["blue"], "#ffffff", "✓", "all sets done"),
    "partial": ("#9ccbe8", "#000000", "◐", "some sets done"),
    "missed": ("#ffffff", "#000000", "✕", "none done"),
    "rest": ("#eeeeee", "#555555", "", "nothing prescribed"),
    "today": ("#ffffff", "#000000", "…", "today, not done yet"),
}

CELL = 34
GAP = 4


def calendar_heatmap(days: Sequence[DayAdherence], *, title: str,
                     today: date | None = None) -> Markup:
    """Draw the calendar of ``days`` (any order; missing dates: nothing prescribed).

    Parameters
    ----------
    days : sequence of DayAdherence
        One entry per date with the sets prescribed and done.
    title : str
        Accessible name of the chart.
    today : date, optional
        Days after it are left blank (no result yet).
    """
    if not days:
        return empty_chart(title, "No prescription in this period")
    by_day = {d.day: d for d in days}
    first = min(by_day)
    last = max(by_day)
    start = first - timedelta(days=first.weekday())
    weeks = (last - start).days // 7 + 1
    left, top = 56, 22
    width = left + 7 * (CELL + GAP)
    height = top + weeks * (CELL + GAP) + 66
    counts = {k: 0 for k in STYLES}
    prescribed = sum(d.prescribed for d in days)
    done = sum(min(d.done, d.prescribed) for d in days)
    for d in days:
        counts[d.status] += 1
    desc = (f"{len(days)} days from {first:%d %b %Y} to {last:%d %b %Y}: "
            f"{counts['done']} complete, {counts['partial']} partial, "
            f"{counts['missed']} with none done, {counts['rest']} with nothing prescribed; "
            f"{done} of {prescribed} prescribed sets done.")
    out = open_svg(width, height, title, desc, "chart-calendar")
    for col, name in enumerate(WEEKDAYS):
        x = left + col * (CELL + GAP) + CELL / 2
        out.append(f'<text class="weekday" x="{x:.0f}" y="14" text-anchor="middle">{name}</text>')
    for week in range(weeks):
        monday = start + timedelta(days=7 * week)
        y = top + week * (CELL + GAP)
        out.append(f'<text class="week-label" x="{left - 6}" y="{y + CELL / 2 + 4:.0f}" '
                   f'text-anchor="end">{monday:%d %b}</text>')
        for col in range(7):
            day = monday + timedelta(days=col)
            if day < first or day > last or (today is not None and day > today):
                continue
            entry = by_day.get(day, DayAdherence(day, 0, 0))
            status = "today" if day == today and entry.status == "missed" else entry.status
            fill, ink, glyph, _ = STYLES[status]
            x = left + col * (CELL + GAP)
            border = {"missed": ' stroke="#000" stroke-width="1.5"',
                      "today": ' stroke="#000" stroke-width="1" stroke-dasharray="3 2"'}.get(
                status, ' stroke="#999" stroke-width="0.5"')
            out.append(
                f'<g class="day day-{status}" data-date="{day.isoformat()}">'
                f"<title>{esc(entry.sentence())}{' so far' if status == 'today' else ''}</title>"
                f'<rect x="{x}" y="{y}" width="{CELL}" height="{CELL}" rx="3" '
                f'fill="{fill}"{border}/>'
                f'<text x="{x + 3}" y="{y + 11}" class="day-number" fill="{ink}">{day.day}</text>'
                f'<text x="{x + CELL / 2:.0f}" y="{y + CELL - 6}" text-anchor="middle" '
                f'class="glyph" fill="{ink}">{glyph}</text></g>')
    ly = top + weeks * (CELL + GAP) + 14
    out.append('<g class="legend">')
    shown = [k for k in STYLES if k != "today" or (today is not None and first <= today <= last)]
    for k, key in enumerate(shown):
        fill, ink, glyph, text = STYLES[key]
        x = 4 + (k % 2) * (width - 8) / 2
        y = ly + (k // 2) * 18
        out.append(f'<rect x="{x:.0f}" y="{y - 10}" width="14" height="14" fill="{fill}" '
                   f'stroke="#000" stroke-width="0.5"/><text x="{x + 7:.0f}" y="{y + 1}" '
                   f'text-anchor="middle" class="glyph-small" fill="{ink}">{glyph}</text>'
                   f'<text x="{x + 20:.0f}" y="{y + 1}" class="legend-text">{esc(text)}</text>')
    out.append("</g></svg>")
    return as_markup(out)
