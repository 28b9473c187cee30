"""Wiring of the dashboards into the server app: static files, templates, filters, home page."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from flask import Blueprint, Flask, g, redirect, url_for

bp = Blueprint("dashboards", __name__, static_folder="static",
               static_url_path="/assets/dashboards", template_folder="templates")


@bp.get("/")
def home() -> Any:
    """Send each person to their own start page (or to the login page)."""
    if g.get("physio"):
        return redirect(url_for("physio.patient_list"))
    if g.get("patient"):
        return redirect(url_for("me.today"))
    return redirect(url_for("auth.login"))


def percent(ratio: float | None) -> str:
    """A 0–1 ratio as a whole percentage; "–" when there is nothing to measure."""
    return "–" if ratio is None else f"{100 * ratio:.0f}%"


def num(value: float | None, decimals: int = 1) -> str:
    """A number with ``decimals`` decimals; "–" for None."""
    return "–" if value is None else f"{value:.{decimals}f}"


def day_ago(day: date | str | None, today: date | None = None) -> str:
    """``"today"``, ``"yesterday"``, ``"5 days ago (16 Nov)"`` or ``"never"``."""
    if day is None:
        return "never"
    if isinstance(day, str):
        day = date.fromisoformat(day[:10])
    days = ((today or date.today()) - day).days
    if days == 0:
        return "today"
    if days == 1:
        return "yesterday"
    return f"{days} days ago ({day:%d %b})" if days > 0 else f"{day:%d %b %Y}"


def when(stamp: str | None) -> str:
    """An ISO date-time as ``"Sat 21 Nov 2026, 09:30"`` (in the time zone it was recorded in)."""
    if not stamp:
        return "–"
    try:
        value = datetime.fromisoformat(stamp)
    except ValueError:
        return stamp
    return f"{value:%a %d %b %Y, %H:%M}"


def register(app: Flask) -> None:
    """Add the dashboards' blueprints and make them the start pages after login."""
    from dashboards import figures, patient, people, physio

    app.register_blueprint(bp)
    app.register_blueprint(physio.bp)
    app.register_blueprint(patient.bp)
    app.register_blueprint(people.bp)
    app.config.setdefault("HOME_ENDPOINT", "physio.patient_list")
    app.config.setdefault("PATIENT_HOME_ENDPOINT", "me.today")
    for name, fn in (("percent", percent), ("num", num), ("day_ago", day_ago), ("when", when)):
        app.add_template_filter(fn, name)
    app.add_template_global(figures.exercise_name, "exercise_name")
    app.add_template_global(figures.screen_words, "screen_words")
    app.add_template_global(figures.sensor_words, "sensor_words")
    app.jinja_env.globals.update(red_flag_names=figures.RED_FLAG_NAMES,
                                 recording_words=figures.RECORDING_WORDS,
                                 recording_note=figures.RECORDING_NOTE,
                                 alert_labels=figures.ALERT_LABELS,
                                 alert_glyphs=figures.ALERT_GLYPHS)
