"""Adherence, streaks, progression and alerts on small hand-built histories.

Expected values are worked out by hand from the rules in server/analytics.py's docstring.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

from rehablink.clinical import RED_FLAGS
from server.analytics import (
    SessionRecord,
    SetRecord,
    adherence,
    alerts,
    attention_key,
    calendar,
    progression,
    questions_left,
    set_done,
    streaks,
)
from server.prescriptions import Item, Prescription

MON = date(2026, 11, 2)  # a Monday
BRIDGE = Item("bridge", sets=2, reps=10, hold_s=5.0, days_per_week=7)
CLAM = Item("clamshell", sets=1, reps=10, hold_s=None, days_per_week=7)
PLAN = Prescription(1, MON, (BRIDGE,))


def bridge(day: date, reps: int = 10, hold: float | None = 5.0, **kw: object) -> SetRecord:
    return SetRecord(day=day, exercise="bridge", skipped=False, rep_count=reps,
                     median_hold_s=hold, **kw)  # type: ignore[arg-type]


def test_set_done_needs_80_percent_of_reps_and_hold() -> None:
    assert set_done(bridge(MON, reps=8, hold=4.0), BRIDGE)
    assert not set_done(bridge(MON, reps=7, hold=5.0), BRIDGE)
    assert not set_done(bridge(MON, reps=10, hold=3.9), BRIDGE)
    assert not set_done(bridge(MON, reps=10, hold=None), BRIDGE)
    assert set_done(SetRecord(MON, "clamshell", False, 8), CLAM)
    assert not set_done(SetRecord(MON, "clamshell", True, 10), CLAM)  # skipped
    assert not set_done(bridge(MON), None)  # not prescribed


def test_sets_of_free_recordings_are_never_done_prescribed_sets() -> None:
    """A free recording is outside the plan: its sets count neither as done sets nor as
    active days, whatever their reps and holds; the guided sets of the same day still do."""
    free = bridge(MON, free_recording=True)
    assert not set_done(free, BRIDGE)
    result = adherence([free, free, bridge(MON + timedelta(days=1))], [PLAN], MON,
                       MON + timedelta(days=1))
    assert (result.prescribed_sets, result.done_sets, result.active_days) == (4, 1, 1)
    days = calendar([free], [], [PLAN], MON, MON)
    assert [(d.planned_sets, d.done_sets) for d in days] == [(2, 0)]


def test_adherence_full_week_half_done() -> None:
    # 7 days x 2 sets asked = 14; done: both sets on Mon-Wed (6), one set on Thu (1) = 7.
    sets = [bridge(MON + timedelta(days=d)) for d in range(3) for _ in range(2)]
    sets.append(bridge(MON + timedelta(days=3)))
    result = adherence(sets, [PLAN], MON, MON + timedelta(days=6))
    assert (result.prescribed_sets, result.done_sets) == (14, 7)
    assert result.ratio == 0.5
    assert (result.prescribed_days, result.active_days, result.missed_days) == (7, 4, 3)


def test_extra_sets_do_not_count_beyond_the_plan() -> None:
    sets = [bridge(MON) for _ in range(5)]  # 5 sets on one day; the plan asks 2 a day
    result = adherence(sets, [PLAN], MON, MON)
    assert (result.prescribed_sets, result.done_sets) == (2, 2)


def test_days_per_week_scales_the_window() -> None:
    plan = Prescription(1, MON, (Item("bridge", 1, 10, None, days_per_week=3),))
    # 14 days at 3 days a week: 6 days, 6 sets asked; 7 done, capped at 6.
    sets = [bridge(MON + timedelta(days=d), hold=None) for d in range(7)]
    result = adherence(sets, [plan], MON, MON + timedelta(days=13))
    assert (result.prescribed_sets, result.done_sets, result.prescribed_days) == (6, 6, 6)
    assert result.active_ratio == 1.0


def test_new_version_does_not_rewrite_the_past() -> None:
    # Week 1 under v1 (10 reps); v2 from week 2 asks 20 reps. Week 1's 10-rep sets stay done.
    v2 = Prescription(2, MON + timedelta(days=7), (Item("bridge", 2, 20, 5.0, 7),))
    sets = [bridge(MON + timedelta(days=d)) for d in range(14) for _ in range(2)]
    week1 = adherence(sets, [PLAN, v2], MON, MON + timedelta(days=6))
    week2 = adherence(sets, [PLAN, v2], MON + timedelta(days=7), MON + timedelta(days=13))
    assert week1.ratio == 1.0
    assert week2.ratio == 0.0


def test_no_plan_means_nothing_prescribed() -> None:
    result = adherence([bridge(MON)], [], MON, MON + timedelta(days=6))
    assert result.ratio is None and result.active_ratio is None


def test_calendar_days() -> None:
    sets = [bridge(MON), bridge(MON), bridge(MON + timedelta(days=1), reps=3)]
    sessions = [SessionRecord("a", MON), SessionRecord("b", MON + timedelta(days=1))]
    days = calendar(sets, sessions, [PLAN], MON - timedelta(days=1), MON + timedelta(days=1))
    assert [(d.planned_sets, d.done_sets, d.sessions) for d in days] == \
        [(0, 0, 0), (2, 2, 1), (2, 0, 1)]


def test_streaks() -> None:
    today = date(2026, 11, 20)
    active = [today - timedelta(days=d) for d in (1, 2, 3, 6, 7, 8, 9, 10)]
    assert streaks(active, today) == (3, 5)  # today not over yet: the run ending yesterday
    assert streaks([*active, today], today) == (4, 5)
    assert streaks([], today) == (0, 0)


def test_progression_per_iso_week() -> None:
    sets = [bridge(MON, reps=8, hold=3.0, median_rom_deg=20.0, rotating_reps=2),
            bridge(MON + timedelta(days=1), reps=10, hold=4.0, median_rom_deg=24.0),
            bridge(MON + timedelta(days=7), reps=12, hold=6.0)]
    weeks = progression(sets, [PLAN])
    assert [(w.week, w.sets, w.reps_per_set, w.median_hold_s, w.hold_target_s) for w in weeks] \
        == [("2026-W45", 2, 9.0, 3.5, 5.0), ("2026-W46", 1, 12.0, 6.0, 5.0)]
    assert weeks[0].median_rom_deg == 22.0
    assert weeks[0].compensation_rate == 2 / 18


def test_alerts_in_clinical_order() -> None:
    today = MON + timedelta(days=13)
    sessions = [SessionRecord("old", MON + timedelta(days=1), pain=2),
                SessionRecord("new", MON + timedelta(days=8), pain=5,
                              red_flags=("leg_symptoms",))]
    found = alerts(sessions, [], today, last_session=MON + timedelta(days=8),
                   has_plan_since=MON, no_session_days=3)
    assert [a.kind for a in found] == ["red_flag", "pain_rising", "no_session"]
    assert "leg_symptoms" in found[0].message and not found[0].urgent
    assert found[2].message == "No session for 5 days"


def test_reviewed_red_flags_do_not_alert_but_urgent_ones_rank_first() -> None:
    today = MON + timedelta(days=2)
    seen = SessionRecord("a", MON, red_flags=("night_pain",), reviewed=True)
    urgent = SessionRecord("b", today, red_flags=("bladder_bowel",))
    found = alerts([seen, urgent], [], today, today, MON)
    assert len(found) == 1 and found[0].urgent and found[0].rank == -1


def test_pain_rise_below_two_points_is_quiet() -> None:
    today = MON + timedelta(days=13)
    sessions = [SessionRecord("a", MON + timedelta(days=2), pain=3),
                SessionRecord("b", today, pain=4)]
    assert alerts(sessions, [], today, today, MON) == []


def test_compensation_rising() -> None:
    today = MON + timedelta(days=13)
    calm = [SetRecord(MON + timedelta(days=d), "clamshell", False, 10, rotating_reps=1)
            for d in range(3)]
    rolling = [SetRecord(today - timedelta(days=d), "clamshell", False, 10, rotating_reps=5)
               for d in range(3)]
    found = alerts([], calm + rolling, today, today, MON)
    assert [a.kind for a in found] == ["compensation_rising"]
    # The bridge does not demand a still pelvis: its flags never raise this alert.
    bridges = [bridge(d.day, rotating_reps=d.rotating_reps) for d in calm + rolling]
    assert alerts([], bridges, today, today, MON) == []


def test_free_recordings_are_left_out_of_progression_and_compensation() -> None:
    """A free recording is not a set of the plan (a check of the sensor's fit, a try of an
    exercise): its reps, holds and rotating reps used to feed the progression of the week
    and the compensation alert while adherence left them out. Both now count the plan's sets
    only, and a week of free recordings alone is no week of progression."""
    sets = [bridge(MON, reps=8, hold=3.0),
            bridge(MON, reps=20, hold=9.0, median_rom_deg=40.0, rotating_reps=20,
                   free_recording=True),
            bridge(MON + timedelta(days=7), free_recording=True)]
    weeks = progression(sets, [PLAN])
    assert [(w.week, w.sets, w.reps_per_set, w.median_hold_s, w.median_rom_deg,
             w.compensation_rate) for w in weeks] == [("2026-W45", 1, 8.0, 3.0, None, 0.0)]
    today = MON + timedelta(days=13)
    calm = [SetRecord(day, "clamshell", False, 10, rotating_reps=1, median_stability_deg=1.0)
            for d in range(3) for day in (MON + timedelta(days=d), today - timedelta(days=d))]
    rolling = [SetRecord(today - timedelta(days=d), "clamshell", False, 10, rotating_reps=10,
                         median_stability_deg=9.0, free_recording=True) for d in range(3)]
    assert alerts([], calm + rolling, today, today, MON) == []
    guided = [replace(r, free_recording=False) for r in rolling]
    assert [a.kind for a in alerts([], calm + guided, today, today, MON)] == \
        ["compensation_rising"]


def test_attention_key_sorts_red_flags_then_low_adherence() -> None:
    flagged = alerts([SessionRecord("a", MON, red_flags=("trauma",))], [], MON, MON, MON)
    keys = {"flag": attention_key(flagged, 0.9, "Zed"), "low": attention_key([], 0.1, "Amy"),
            "high": attention_key([], 0.9, "Bob"), "none": attention_key([], None, "Cy")}
    assert sorted(keys, key=keys.__getitem__) == ["flag", "low", "high", "none"]


def _screen(sid: str, day: date, unasked: tuple[str, ...] | None, at: str = "09:00",
            **kw: object) -> SessionRecord:
    return SessionRecord(sid, day, red_flags_unasked=unasked,  # type: ignore[arg-type]
                         started_at=f"{day}T{at}:00+00:00", **kw)


def test_red_flag_questions_unanswered_in_the_last_three_sessions_alert_last() -> None:
    today = MON + timedelta(days=13)
    left = ("night_pain", "systemic")
    history = [_screen("a", today - timedelta(days=20), left),  # outside the 14 days
               _screen("b", today - timedelta(days=5), ()),
               _screen("c", today - timedelta(days=4), left),
               _screen("d", today - timedelta(days=2), left),
               _screen("e", today, left, pain=2)]
    found = alerts(history, [], today, today, MON)
    assert [(a.kind, a.day, a.urgent) for a in found] == [("questions_unanswered", today, False)]
    assert found[0].message == "Red-flag questions not all answered in the last 3 sessions " \
        f"(since {today - timedelta(days=4)})"
    # lowest rank: after every other alert, and after a red flag answered before leaving
    flagged = [*history[:-1], _screen("e", today, left[1:], red_flags=("night_pain",))]
    assert [a.kind for a in alerts(flagged, [], today, today, MON)] == \
        ["red_flag", "questions_unanswered"]


def test_red_flag_questions_answered_or_unknown_break_the_run() -> None:
    today = MON + timedelta(days=13)
    left = ("trauma",)
    runs = {
        "latest answered": [_screen("a", today - timedelta(days=3), left),
                            _screen("b", today - timedelta(days=2), left),
                            _screen("c", today - timedelta(days=1), left),
                            _screen("d", today, ())],
        # the same day: started later, so the latest
        "answered later that day": [_screen("a", today - timedelta(days=2), left),
                                    _screen("b", today, left, at="08:00"),
                                    _screen("c", today, (), at="18:00"),
                                    _screen("d", today, left, at="07:00")],
        # not skipped: with it left out, the latest three would not have answered them all
        "not known": [_screen("z", today - timedelta(days=3), left),
                      _screen("a", today - timedelta(days=2), left),
                      _screen("b", today - timedelta(days=1), None),
                      _screen("c", today, left)],
        "only two": [_screen("a", today - timedelta(days=1), left), _screen("b", today, left)],
    }
    for name, sessions in runs.items():
        assert alerts(sessions, [], today, today, MON) == [], name


def test_free_recordings_neither_count_towards_nor_break_the_unanswered_questions_run() -> None:
    """A free recording (``rehab record``, e.g. to check the sensor's fit) asks no questions:
    every red-flag question is stored as not asked. Three of them in a row raised
    questions_unanswered; they are now left out of that rule, on both sides."""
    today = MON + timedelta(days=13)
    every = tuple(RED_FLAGS)
    left = ("trauma",)

    def recording(sid: str, day: date, at: str = "12:00") -> SessionRecord:
        return _screen(sid, day, every, at, kind="record")

    only_recordings = [recording(f"r{k}", today - timedelta(days=k)) for k in range(4)]
    assert alerts(only_recordings, [], today, today, MON) == []
    # two guided sessions with questions left, the newest sessions being recordings
    two_guided = [_screen("a", today - timedelta(days=3), left, kind="session"),
                  _screen("b", today - timedelta(days=2), left),  # kind not known: guided
                  *only_recordings[:2]]
    assert alerts(two_guided, [], today, today, MON) == []
    # a third guided session between the recordings: the run is the three guided ones
    three_guided = [*two_guided, _screen("c", today, left, at="09:00", kind="session")]
    found = alerts(three_guided, [], today, today, MON)
    assert [(a.kind, a.day) for a in found] == [("questions_unanswered", today)]
    assert found[0].message == "Red-flag questions not all answered in the last 3 sessions " \
        f"(since {today - timedelta(days=3)})"
    # a red flag answered yes alerts whatever the session was
    flagged = SessionRecord("y", today, red_flags=("trauma",),
                            red_flags_unasked=tuple(f for f in every if f != "trauma"),
                            kind="record")
    assert [(a.kind, a.message) for a in alerts([flagged], [], today, today, MON)] == \
        [("red_flag", f"Red flag reported on {today}: trauma")]


def test_questions_left_is_the_latest_guided_session_when_not_all_answered() -> None:
    """What the patient's own page asks them to answer next time: the latest session that
    asks the questions (free recordings left out) when its questions were not all answered;
    nothing once one answers them all, or when it does not say (an older companion)."""
    day = MON + timedelta(days=3)
    left = ("trauma", "no_improvement")
    guided = _screen("g", day - timedelta(days=1), left, kind="session")
    recording = _screen("r", day, tuple(RED_FLAGS), kind="record")
    assert questions_left([guided, recording]) == guided
    assert questions_left([recording]) is None
    answered = _screen("a", day, (), at="18:00")
    assert questions_left([guided, recording, answered]) is None
    not_known = _screen("n", day, None, at="18:00")
    assert questions_left([guided, not_known]) is None
    assert questions_left([]) is None
