"""Adherence, progression, pain and alerts: computed here and only here (pure functions).

Inputs are plain records (from :mod:`server.reports`, which queries the database) and the
patient's plan versions; outputs are frozen dataclasses the dashboards render as they are.

Rules (issue 5, docs/server.md):

- a prescribed set is *done* when it reached >= 80 % of the prescribed reps and, with a hold
  target, a median hold >= 80 % of it; the plan version in effect on the set's day decides. A
  set of a free recording (kind ``record``: recorded outside the plan, such as a check of the
  sensor's fit) is never done: adherence is about the prescribed programme;
- over a window, each plan item asks ``sets`` sets on ``round(days_per_week * n / 7)`` days
  (``n`` days of the window under that version); done sets count at most ``sets`` per day and
  at most the prescribed total; adherence = done sets / prescribed sets;
- an *active day* has at least one done set; active days are compared with prescribed days
  (the item with the most days per week), missed days = prescribed days - active days;
- progression per exercise and week, and the compensation alert, are about the sets of the
  plan too: the sets of free recordings are left out of both;
- alerts: any red flag not yet reviewed; mean pain of the last 7 days >= 2 points above the 7
  days before; no session of the programme for N days (free recordings do not count);
  pelvis compensation increasing; and, last, the red-flag
  questions not all answered in each of the patient's latest ``UNANSWERED_SESSIONS`` sessions
  of the last 14 days (a session that does not say whether they were breaks the run, as one
  that answers them all does; the alert ends with the next session that answers them all).
  Free recordings (kind ``record``) ask no questions and are not sessions of the plan: that
  rule skips them, so they neither count towards the run nor break it.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from rehablink.clinical import RED_FLAGS
from rehablink.exercises import EXERCISES
from server.prescriptions import Item, Prescription, in_effect

DONE_FRACTION = 0.8
PAIN_RISE_POINTS = 2.0
COMPENSATION_RATE_RISE = 0.2  # fraction of reps flagged pelvis_rotating, week on week
COMPENSATION_STABILITY_RISE_DEG = 1.5
MIN_REPS_FOR_COMPENSATION = 5
UNANSWERED_SESSIONS = 3

#: Alert kinds in the order a physiotherapist should see them.
ALERT_ORDER = ("red_flag", "pain_rising", "no_session", "compensation_rising",
               "questions_unanswered")


@dataclass(frozen=True, slots=True)
class SetRecord:
    """One stored set, reduced to what the analytics need (angles deg, times s);
    ``free_recording`` when it belongs to a free recording (never a done prescribed set)."""

    day: date
    exercise: str
    skipped: bool
    rep_count: int
    median_hold_s: float | None = None
    median_rom_deg: float | None = None
    median_stability_deg: float | None = None
    median_tempo_s: float | None = None
    rotating_reps: int = 0
    session_id: str = ""
    free_recording: bool = False


@dataclass(frozen=True)
class SessionRecord:
    """One stored session: its day, pain (0-10), the red-flag ids answered yes, and those not
    asked (None: not known whether all were); ``started_at`` (ISO 8601) orders a day's
    sessions; ``kind`` what made it (``server.validate.KINDS``; None: not known, read as a
    guided session)."""

    id: str
    day: date
    pain: int | None = None
    red_flags: tuple[str, ...] = ()
    reviewed: bool = False
    red_flags_unasked: tuple[str, ...] | None = None
    started_at: str = ""
    kind: str | None = None


@dataclass(frozen=True)
class Adherence:
    """Adherence over ``start``..``end`` (inclusive). Ratios are None when nothing was asked."""

    start: date
    end: date
    prescribed_sets: int
    done_sets: int
    prescribed_days: int
    active_days: int

    @property
    def ratio(self) -> float | None:
        """Done sets / prescribed sets (0..1)."""
        return self.done_sets / self.prescribed_sets if self.prescribed_sets else None

    @property
    def active_ratio(self) -> float | None:
        """Active days / prescribed days, capped at 1."""
        if not self.prescribed_days:
            return None
        return min(self.active_days, self.prescribed_days) / self.prescribed_days

    @property
    def missed_days(self) -> int:
        """Prescribed days without a done set."""
        return max(0, self.prescribed_days - self.active_days)


@dataclass(frozen=True)
class Day:
    """One calendar day: sets a full day of the plan asks for, and sets done."""

    day: date
    planned_sets: int
    done_sets: int
    sessions: int


@dataclass(frozen=True)
class WeekProgress:
    """One exercise in one ISO week (``week`` like ``"2026-W47"``, ``week_start`` its Monday)."""

    exercise: str
    week: str
    week_start: date
    sets: int
    reps_per_set: float
    median_hold_s: float | None
    hold_target_s: float | None
    median_rom_deg: float | None
    median_stability_deg: float | None
    median_tempo_s: float | None
    compensation_rate: float | None


@dataclass(frozen=True)
class Alert:
    """Something the physiotherapist should look at; ``kind`` is one of ALERT_ORDER."""

    kind: str
    message: str
    day: date | None = None
    urgent: bool = False

    @property
    def rank(self) -> int:
        """Sort position: urgent red flags first, then ALERT_ORDER."""
        return -1 if self.urgent else ALERT_ORDER.index(self.kind)


def _days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def _item(plan: Prescription | None, exercise: str) -> Item | None:
    return None if plan is None else plan.by_exercise.get(exercise)


def set_done(record: SetRecord, item: Item | None) -> bool:
    """Whether a set counts as a done prescribed set under ``item`` (see module rules)."""
    if item is None or record.skipped or record.free_recording:
        return False
    if record.rep_count < DONE_FRACTION * item.reps:
        return False
    if item.hold_s:
        return record.median_hold_s is not None and \
            record.median_hold_s >= DONE_FRACTION * item.hold_s
    return True


DoneByDay = dict[date, dict[str, int]]


def done_by_day(sets: Iterable[SetRecord], versions: Sequence[Prescription]) -> DoneByDay:
    """Done sets per day and exercise, capped at the sets the plan asks per day."""
    out: DoneByDay = {}
    plans: dict[date, dict[str, Item]] = {}
    for record in sets:
        day = record.day
        items = plans.get(day)
        if items is None:
            plan = in_effect(versions, day)
            items = plans[day] = plan.by_exercise if plan else {}
        item = items.get(record.exercise)
        if item is not None and set_done(record, item):
            per = out.setdefault(day, {})
            count = per.get(record.exercise, 0)
            if count < item.sets:
                per[record.exercise] = count + 1
    return out


def adherence(sets: Iterable[SetRecord], versions: Sequence[Prescription],
              start: date, end: date) -> Adherence:
    """Adherence over ``start``..``end`` inclusive (see module rules)."""
    window = [r for r in sets if start <= r.day <= end]
    return adherence_from_done(done_by_day(window, versions), versions, start, end)


#: One day of a window: the plan in effect and the done sets per exercise, capped per day.
PlanDay = tuple[date, Prescription | None, dict[str, int]]


def plan_days(done: DoneByDay, versions: Sequence[Prescription], start: date,
              end: date) -> list[PlanDay]:
    """The days ``start``..``end`` with their plan and done sets (counts above what the plan
    asks per day, or of exercises not in it, are dropped). Slices of the result give the
    adherence of sub-windows with :func:`adherence_of_days`."""
    out: list[PlanDay] = []
    for day in _days(start, end):
        plan = in_effect(versions, day)
        per = done.get(day)
        capped: dict[str, int] = {}
        if plan is not None and per:
            items = plan.by_exercise
            capped = {ex: min(n, items[ex].sets) for ex, n in per.items() if ex in items}
        out.append((day, plan, capped))
    return out


def adherence_from_done(done: DoneByDay, versions: Sequence[Prescription], start: date,
                        end: date) -> Adherence:
    """:func:`adherence` from a :func:`done_by_day` map (computed once for many windows)."""
    return adherence_of_days(start, end, plan_days(done, versions, start, end))


def adherence_of_days(start: date, end: date, days: Sequence[PlanDay]) -> Adherence:
    """Adherence over the given days (a window ``start``..``end`` of :func:`plan_days`)."""
    days_under: dict[int, int] = {}  # plan version -> days of the window it governs
    plans: dict[int, Prescription] = {}
    got: dict[tuple[int, str], int] = {}  # (version, exercise) -> done sets
    active = 0
    for _day, plan, per in days:
        if any(per.values()):
            active += 1
        if plan is None:
            continue
        days_under[plan.version] = days_under.get(plan.version, 0) + 1
        plans[plan.version] = plan
        for exercise, count in per.items():
            key = (plan.version, exercise)
            got[key] = got.get(key, 0) + count
    prescribed_sets = done_sets = prescribed_days = 0
    for version, n in days_under.items():
        plan = plans[version]
        for item in plan.items:
            asked = item.sets * round(item.days_per_week * n / 7)
            prescribed_sets += asked
            done_sets += min(asked, got.get((version, item.exercise), 0))
        if plan.items:
            prescribed_days += round(max(it.days_per_week for it in plan.items) * n / 7)
    return Adherence(start, end, prescribed_sets, done_sets, prescribed_days, active)


def calendar(sets: Iterable[SetRecord], sessions: Iterable[SessionRecord],
             versions: Sequence[Prescription], start: date, end: date) -> list[Day]:
    """One :class:`Day` per day of the window (planned sets 0 where no plan was in effect)."""
    sets = list(sets)
    done = done_by_day(sets, versions)
    per_day: dict[date, int] = defaultdict(int)
    for s in sessions:
        per_day[s.day] += 1
    out = []
    for day in _days(start, end):
        plan = in_effect(versions, day)
        planned = sum(it.sets for it in plan.items) if plan else 0
        out.append(Day(day, planned, sum(done.get(day, {}).values()), per_day.get(day, 0)))
    return out


def streaks(active_days: Iterable[date], today: date) -> tuple[int, int]:
    """``(current, longest)`` runs of consecutive active days. The current run may end
    yesterday (today is not over yet)."""
    days = sorted(set(active_days))
    longest = run = 0
    previous: date | None = None
    for day in days:
        run = run + 1 if previous is not None and day - previous == timedelta(days=1) else 1
        longest = max(longest, run)
        previous = day
    active = set(days)
    cursor = today if today in active else today - timedelta(days=1)
    current = 0
    while cursor in active:
        current += 1
        cursor -= timedelta(days=1)
    return current, longest


def _median(values: Iterable[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return float(statistics.median(present)) if present else None


def progression(sets: Iterable[SetRecord],
                versions: Sequence[Prescription]) -> list[WeekProgress]:
    """Per exercise and ISO week, oldest first: reps per set, holds against the target,
    range of motion, pelvic stability, tempo and the share of reps with compensation, of the
    sets of the plan (free recordings left out)."""
    groups: dict[tuple[str, date], list[SetRecord]] = defaultdict(list)
    for r in sets:
        if not r.skipped and not r.free_recording:
            groups[(r.exercise, r.day - timedelta(days=r.day.weekday()))].append(r)
    out = []
    for (exercise, monday), rows in sorted(groups.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        reps = sum(r.rep_count for r in rows)
        iso = monday.isocalendar()
        item = _item(in_effect(versions, monday + timedelta(days=6)), exercise)
        out.append(WeekProgress(
            exercise=exercise, week=f"{iso.year}-W{iso.week:02d}", week_start=monday,
            sets=len(rows), reps_per_set=reps / len(rows),
            median_hold_s=_median(r.median_hold_s for r in rows),
            hold_target_s=item.hold_s if item else None,
            median_rom_deg=_median(r.median_rom_deg for r in rows),
            median_stability_deg=_median(r.median_stability_deg for r in rows),
            median_tempo_s=_median(r.median_tempo_s for r in rows),
            compensation_rate=sum(r.rotating_reps for r in rows) / reps if reps else None,
        ))
    return out


def pain_series(sessions: Iterable[SessionRecord]) -> list[tuple[date, int]]:
    """``(day, pain)`` of every session that recorded pain, oldest first."""
    return sorted((s.day, s.pain) for s in sessions if s.pain is not None)


def _mean_pain(sessions: Sequence[SessionRecord], start: date, end: date) -> float | None:
    values = [s.pain for s in sessions if s.pain is not None and start <= s.day <= end]
    return statistics.fmean(values) if values else None


@dataclass(frozen=True)
class CompensationWeek:
    """A week of the sets that need a still pelvis: reps, reps flagged ``pelvis_rotating``
    and each set's median stability (deg)."""

    reps: int = 0
    rotating: int = 0
    stabilities: tuple[float, ...] = ()

    @property
    def rate(self) -> float | None:
        """Share of reps with compensation."""
        return self.rotating / self.reps if self.reps else None


def compensation_week(sets: Iterable[SetRecord], start: date, end: date) -> CompensationWeek:
    """Sum up the sets of ``start``..``end`` for the compensation alert (free recordings left
    out)."""
    rows = [r for r in sets if start <= r.day <= end and not r.skipped
            and not r.free_recording and EXERCISES[r.exercise].stability_matters]
    return CompensationWeek(sum(r.rep_count for r in rows), sum(r.rotating_reps for r in rows),
                            tuple(r.median_stability_deg for r in rows
                                  if r.median_stability_deg is not None))


def compensation_rising(now: CompensationWeek, before: CompensationWeek) -> bool:
    """The alert rule: enough reps both weeks, and more rotating reps or a less stable pelvis."""
    if min(now.reps, before.reps) < MIN_REPS_FOR_COMPENSATION:
        return False
    rate_now, rate_then = now.rate, before.rate
    stab_now, stab_then = _median(now.stabilities), _median(before.stabilities)
    rate_up = rate_now is not None and rate_then is not None and \
        rate_now - rate_then >= COMPENSATION_RATE_RISE
    stab_up = stab_now is not None and stab_then is not None and \
        stab_now - stab_then >= COMPENSATION_STABILITY_RISE_DEG
    return rate_up or stab_up


def alerts(sessions: Sequence[SessionRecord], sets: Sequence[SetRecord], today: date,
           last_session: date | None, has_plan_since: date | None,
           no_session_days: int = 3,
           compensation: tuple[CompensationWeek, CompensationWeek] | None = None
           ) -> list[Alert]:
    """Alerts for one patient, most important first.

    ``sessions`` and ``sets`` need to cover the last 14 days (older red flags may be added);
    ``last_session`` is the day of the patient's latest session of the programme (free
    recordings left out); ``has_plan_since`` the
    start of their first plan (None: no plan, no inactivity alert). ``compensation`` (this
    week, the week before) may be given already summed up instead of ``sets``.
    """
    out: list[Alert] = []
    for s in sorted(sessions, key=lambda s: s.day, reverse=True):
        if s.red_flags and not s.reviewed:
            urgent = any(RED_FLAGS[f].urgent for f in s.red_flags if f in RED_FLAGS)
            names = ", ".join(s.red_flags)
            out.append(Alert("red_flag", f"Red flag reported on {s.day}: {names}", s.day, urgent))
    week_ago, fortnight = today - timedelta(days=6), today - timedelta(days=13)
    recent = _mean_pain(sessions, week_ago, today)
    before = _mean_pain(sessions, fortnight, week_ago - timedelta(days=1))
    if recent is not None and before is not None and recent - before >= PAIN_RISE_POINTS:
        out.append(Alert("pain_rising",
                         f"Pain up from {before:.1f} to {recent:.1f} (0-10) over a week", today))
    since = last_session or has_plan_since
    if has_plan_since is not None and since is not None and since <= today:
        idle = (today - since).days
        if idle >= no_session_days:
            what = f"No session for {idle} days" if last_session else \
                f"No session yet, {idle} days after the plan started"
            out.append(Alert("no_session", what, today))
    if compensation is None:
        compensation = (compensation_week(sets, week_ago, today),
                        compensation_week(sets, fortnight, week_ago - timedelta(days=1)))
    if compensation_rising(*compensation):
        out.append(Alert("compensation_rising",
                         "Pelvis compensation increasing over the last week", today))
    unanswered = questions_unanswered(sessions, fortnight)
    if unanswered:
        out.append(Alert("questions_unanswered",
                         f"Red-flag questions not all answered in the last {len(unanswered)} "
                         f"sessions (since {unanswered[-1].day})", unanswered[0].day))
    return sorted(out, key=lambda a: a.rank)


def questions_unanswered(sessions: Iterable[SessionRecord],
                         since: date) -> list[SessionRecord]:
    """The patient's latest :data:`UNANSWERED_SESSIONS` sessions from ``since`` on, newest
    first, when none of them had its red-flag questions all answered; else ``[]``. Free
    recordings, which never ask them, are left out."""
    latest = guided_newest_first(sessions, since)[:UNANSWERED_SESSIONS]
    if len(latest) < UNANSWERED_SESSIONS or not all(s.red_flags_unasked for s in latest):
        return []
    return latest


def guided_newest_first(sessions: Iterable[SessionRecord],
                        since: date = date.min) -> list[SessionRecord]:
    """The sessions from ``since`` on that ask the end questions, newest first: free
    recordings (kind ``record``) are left out; a session of unknown kind is read as guided."""
    return sorted((s for s in sessions if s.day >= since and s.kind != "record"),
                  key=lambda s: (s.day, s.started_at), reverse=True)


def questions_left(sessions: Iterable[SessionRecord]) -> SessionRecord | None:
    """The patient's latest guided session when its red-flag questions were not all answered
    (what the patient is asked to answer next time), else None; a session that does not say
    whether they were counts as answered."""
    latest = next(iter(guided_newest_first(sessions)), None)
    return latest if latest is not None and latest.red_flags_unasked else None


def attention_key(alert_list: Sequence[Alert], adherence_7d: float | None,
                  name: str) -> tuple[int, int, float, str]:
    """Sort key for the patient list: most serious alert first, then more alerts, then
    lowest 7-day adherence, then name."""
    top = min((a.rank for a in alert_list), default=len(ALERT_ORDER))
    return (top, -len(alert_list), 2.0 if adherence_7d is None else adherence_7d, name.lower())
