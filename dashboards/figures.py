"""Turns the server's computed figures (``server.reports`` / ``server.analytics``) into charts.

Nothing here computes adherence, progression or alerts: it only picks the figures out of the
server's dataclasses, lays them on a week axis and draws them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from markupsafe import Markup

from dashboards.calendar import DayAdherence, calendar_heatmap
from dashboards.charts import Series, line_chart
from rehablink.clinical import RED_FLAGS
from rehablink.exercises import EXERCISES
from server.analytics import Alert, Day, WeekProgress
from server.prescriptions import Prescription

#: Alert kinds (``server.analytics.ALERT_ORDER``) as words and a glyph, so colour is never alone.
ALERT_LABELS: dict[str, str] = {
    "red_flag": "Red flag",
    "pain_rising": "Pain rising",
    "no_session": "Missed days",
    "compensation_rising": "Compensation rising",
    "questions_unanswered": "Red-flag questions unanswered",
}
ALERT_GLYPHS: dict[str, str] = {
    "red_flag": "⚠", "pain_rising": "↑", "no_session": "○", "compensation_rising": "↻",
    "questions_unanswered": "?",
}
#: What a free recording (kind ``record``) says where a session says whether its red-flag
#: questions were answered: it never asks them, and that is not a warning.
RECORDING_WORDS = "Free recording: no questions asked"
#: Why a free recording is listed but left out of the figures of the plan.
RECORDING_NOTE = ("Free recordings (a set recorded outside the plan, such as a check of the "
                  "sensor's fit) are kept and listed, but do not count towards adherence, the "
                  "progression charts or the missed-days and compensation alerts, and ask no "
                  "questions.")
#: Short names of the red-flag questions, from the registry's ids.
RED_FLAG_NAMES: dict[str, str] = {f: f.replace("_", " ").capitalize() for f in RED_FLAGS}


def screen_words(unasked: Sequence[str] | None, names: bool = True) -> str:
    """Whether a session's red-flag questions were all answered, in words: ``unasked`` the ids
    not asked (None: not known); ``names`` adds which ones.

    Examples
    --------
    >>> screen_words([])
    'all answered'
    >>> screen_words(["night_pain", "trauma"])
    'not finished: 2 of 6 not asked (Night pain, Trauma)'
    >>> screen_words(list(RED_FLAGS))
    'not asked'
    >>> screen_words(None)
    'not known whether all were asked'
    """
    if unasked is None:
        return "not known whether all were asked"
    if not unasked:
        return "all answered"
    if len(unasked) >= len(RED_FLAGS):
        return "not asked"
    which = " (" + ", ".join(RED_FLAG_NAMES.get(f, f) for f in unasked) + ")" if names else ""
    return f"not finished: {len(unasked)} of {len(RED_FLAGS)} not asked{which}"


def sensor_words(sensor: Mapping[str, Any]) -> str:
    """The sensor of a session (its stored ``sensor``) in a few words: its name (its family's
    profile id when it has none), then the model it said it is, when it did (sessions stored
    before the companion sent it have none).

    Examples
    --------
    >>> sensor_words({"profile": "polar_pmd", "name": "Polar H10 1A2B", "model": "Polar H10"})
    'Polar H10 1A2B (model Polar H10)'
    >>> sensor_words({"profile": "rehablink", "name": "RehabLink-1A2B"}), sensor_words({})
    ('RehabLink-1A2B', 'unknown')
    """
    name = sensor.get("name") or sensor.get("profile") or "unknown"
    model = sensor.get("model")
    return f"{name} (model {model})" if model else str(name)


def exercise_name(exercise_id: str) -> str:
    """The exercise's display name (the id itself for an unknown id)."""
    ex = EXERCISES.get(exercise_id)
    return ex.name if ex else exercise_id


def alert_kinds(alerts: Sequence[Alert]) -> set[str]:
    """The kinds present in a list of alerts."""
    return {a.kind for a in alerts}


@dataclass(frozen=True)
class ExerciseCharts:
    """Progression of one exercise: captioned charts and the weekly figures as a table."""

    exercise: str
    name: str
    charts: tuple[tuple[str, Markup], ...]
    weeks: tuple[WeekProgress, ...]


def week_axis(today: date, weeks: int) -> list[date]:
    """Mondays of the last ``weeks`` ISO weeks, oldest first, ending with this week."""
    monday = today - timedelta(days=today.weekday())
    return [monday - timedelta(weeks=k) for k in range(weeks - 1, -1, -1)]


def plan_targets(plan: Prescription | None, exercise: str) -> tuple[int | None, float | None]:
    """Prescribed ``(reps, hold_s)`` of an exercise in the plan (Nones when not in it)."""
    item = next((i for i in plan.items if i.exercise == exercise), None) if plan else None
    return (item.reps, item.hold_s) if item else (None, None)


def shows_hold(exercise_id: str, holds: Sequence[float | None],
               target_hold_s: float | None) -> bool:
    """Whether holds are worth a chart: a hold target, or a held exercise with holds of 1 s+."""
    ex = EXERCISES.get(exercise_id)
    held = ex is None or ex.holds
    return bool(target_hold_s) or (held and max((v or 0.0) for v in holds) >= 1.0)


def exercise_charts(progression: Sequence[WeekProgress], plan: Prescription | None,
                    today: date, weeks: int) -> list[ExerciseCharts]:
    """Charts per exercise over the last ``weeks`` weeks: reps per set against the prescribed
    reps, median hold against the target, range of motion, pelvic motion and tempo."""
    axis = week_axis(today, weeks)
    labels = [d.strftime("%d %b") for d in axis]
    by_ex: dict[str, dict[date, WeekProgress]] = {}
    for w in progression:
        if w.week_start >= axis[0]:
            by_ex.setdefault(w.exercise, {})[w.week_start] = w
    ordered = [e for e in EXERCISES if e in by_ex] + sorted(set(by_ex) - set(EXERCISES))
    out = []
    for ex_id in ordered:
        rows = by_ex[ex_id]
        name = exercise_name(ex_id)
        target_reps, target_hold = plan_targets(plan, ex_id)

        def values(attr: str, rows: dict[date, WeekProgress] = rows) -> list[float | None]:
            return [getattr(rows[d], attr) if d in rows else None for d in axis]

        charts = [(f"{name}: reps per set", line_chart(
            labels, [Series("Reps per set", values("reps_per_set"))],
            title=f"{name}: reps per set by week", y_label="reps per set", unit="reps",
            target=target_reps, target_label="prescribed"))]
        holds = values("median_hold_s")
        ex = EXERCISES.get(ex_id)
        if shows_hold(ex_id, holds, target_hold):
            targets = values("hold_target_s")
            if len({t for t in targets if t is not None}) > 1:
                # The target changed with a plan version: draw it week by week.
                series = [Series("Median hold", holds), Series("Target of that week", targets)]
                line_target = None
            else:
                series, line_target = [Series("Median hold", holds)], target_hold
            charts.append((f"{name}: hold against target", line_chart(
                labels, series, title=f"{name}: median hold by week", y_label="hold (s)",
                unit="s", target=line_target, target_label="target")))
        charts.append((f"{name}: range of motion", line_chart(
            labels, [Series("Median range", values("median_rom_deg"))],
            title=f"{name}: range of motion by week", y_label="range (deg)", unit="deg")))
        if ex is None or ex.stability_matters:
            charts.append((f"{name}: pelvic stability (lower is steadier)", line_chart(
                labels, [Series("Median pelvic motion", values("median_stability_deg"))],
                title=f"{name}: pelvic motion about the other axes by week",
                y_label="pelvic motion (deg)", unit="deg")))
        charts.append((f"{name}: tempo (seconds per rep)", line_chart(
            labels, [Series("Median rep duration", values("median_tempo_s"))],
            title=f"{name}: tempo by week", y_label="seconds per rep", unit="s")))
        out.append(ExerciseCharts(ex_id, name, tuple(charts),
                                  tuple(rows[d] for d in axis if d in rows)))
    return out


def calendar_chart(days: Sequence[Day], today: date, title: str) -> Markup:
    """The adherence calendar of the server's :class:`~server.analytics.Day` list."""
    return calendar_heatmap([DayAdherence(d.day, d.planned_sets, d.done_sets) for d in days],
                            title=title, today=today)


def pain_chart(pain: Sequence[tuple[date, int]], today: date, days: int) -> Markup:
    """Pain (0–10) after each session, one point per day (the day's last answer)."""
    start = today - timedelta(days=days - 1)
    per_day = {d: p for d, p in pain if d >= start}
    axis = [start + timedelta(days=i) for i in range(days)]
    return line_chart([d.strftime("%d %b") for d in axis],
                      [Series("Pain after the session", [per_day.get(d) for d in axis])],
                      title="Pain over time (0 = none, 10 = worst)", y_label="pain (0-10)",
                      y_min=0, y_max=10)
