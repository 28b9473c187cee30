"""The patient's own pages: today's plan, streak and progress in plain words and simple pictures.

Patients log in through a one-time link from the companion (``server.auth.patient_login``);
every view here shows only the logged-in patient's own record.
"""

from __future__ import annotations

from datetime import date, timedelta

from flask import Blueprint, current_app, render_template

from dashboards import errors, figures, headers, words
from dashboards.charts import bar_chart
from rehablink.clinical import RED_FLAGS, SEEK_CARE_ADVICE, URGENT_ADVICE
from server import analytics, reports
from server.audit import record
from server.auth import current_patient, patient_login_required
from server.db import get_db

bp = Blueprint("me", __name__, url_prefix="/me")
errors.attach(bp)
headers.private(bp)

#: Weeks the patient's progress looks back on ("this month").
PROGRESS_WEEKS = 5


@bp.get("/")
@patient_login_required
def today() -> str:
    """Today's plan and what is done, the streak, and progress over the month."""
    patient = current_patient()
    assert patient is not None  # patient_login_required
    db = get_db()
    day = date.today()
    overview = reports.patient_overview(
        db, patient, day, weeks=PROGRESS_WEEKS,
        no_session_days=int(current_app.config.get("ALERT_NO_SESSION_DAYS", 3)),
        recent_sessions=1)
    record(db, f"patient:{patient['id']}", "view", patient["id"])
    sets_today = reports.load_sets(db, [patient["id"]], day, day).get(patient["id"], [])
    done_today = analytics.done_by_day(sets_today, overview.versions).get(day, {})
    plan = overview.current_plan
    axis = figures.week_axis(day, PROGRESS_WEEKS)
    progress = []
    for ex_id in dict.fromkeys(w.exercise for w in overview.progression):
        weeks = [w for w in overview.progression if w.exercise == ex_id and w.week_start >= axis[0]]
        name = figures.exercise_name(ex_id)
        by_week = {w.week_start: w for w in weeks}
        target_reps, target_hold = figures.plan_targets(plan, ex_id)
        held = figures.shows_hold(ex_id, [w.median_hold_s for w in weeks], target_hold)
        values = [getattr(by_week[d], "median_hold_s" if held else "reps_per_set")
                  if d in by_week else None for d in axis]
        picture = bar_chart(
            [f"{d:%d %b}" for d in axis],
            values, title=f"{name}: {'hold' if held else 'reps per set'} each week",
            y_label="seconds" if held else "reps", unit="s" if held else "reps",
            target=target_hold if held else target_reps, target_label="your goal",
            width=420, height=180)
        progress.append({"name": name, "sentences": words.progress_sentences(weeks, name),
                         "picture": picture})
    week_start = day - timedelta(days=day.weekday())
    week = [d for d in overview.calendar if d.day >= week_start]
    red_alerts = [a for a in overview.alerts if a.kind == "red_flag"]
    advice = None
    if red_alerts:
        advice = URGENT_ADVICE if any(a.urgent for a in red_alerts) else SEEK_CARE_ADVICE
    left = overview.questions_left
    return render_template(
        "dashboards/me.html", patient=patient, plan=plan, done_today=done_today,
        recorded_today=any(s.free_recording for s in sets_today),
        free_recording_today=words.FREE_RECORDING_TODAY,
        questions=words.questions_left_notice(left.red_flags_unasked or ()) if left else [],
        overview=overview, progress=progress, advice=advice, red_flags=RED_FLAGS,
        week_done=sum(min(d.done_sets, d.planned_sets) for d in week),
        calendar=figures.calendar_chart(
            [d for d in overview.calendar if d.day >= day - timedelta(days=27)], day,
            "Your last four weeks"))
