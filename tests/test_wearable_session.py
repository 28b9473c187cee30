"""The guided session state machine, the plan file and the end questions (pure: no terminal)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rich.console import Console

from rehablink.clinical import SEEK_CARE_ADVICE, URGENT_ADVICE
from rehablink.results import Rep
from wearable.display import LinkView, render
from wearable.motion.events import (
    HoldTargetReached,
    RepCompleted,
    RepStarted,
    StabilityWarning,
    TopReached,
)
from wearable.plan import PlanError, load_plan, parse_plan, session_sets
from wearable.questions import AnswersError, parse_answers
from wearable.session import CueKind, GuidedSession, Phase
from wearable.stream import LinkState

PLAN = {"version": 3, "effective_from": "2026-11-01", "exercises": [
    {"exercise": "bridge", "sets": 2, "reps": 2, "hold_s": 5.0, "days_per_week": 5,
     "note": "Slow lowering"},
    {"exercise": "clamshell", "sets": 1, "reps": 3, "hold_s": None}]}


def _rep(end: float, hold: float = 5.0) -> Rep:
    return Rep(end - hold - 2, end - hold - 1, end - 1, end, 20.0)


def _session(rest_s: float = 30.0) -> GuidedSession:
    return GuidedSession(session_sets(parse_plan(PLAN)), rest_s=rest_s)


def test_plan_sets_in_order_with_targets() -> None:
    sets = session_sets(parse_plan(PLAN))
    assert [(s.exercise, s.set_number, s.of_sets, s.target_reps, s.hold_s) for s in sets] == [
        ("bridge", 1, 2, 2, 5.0), ("bridge", 2, 2, 2, 5.0), ("clamshell", 1, 1, 3, None)]
    assert [s.index for s in sets] == [0, 1, 2]


@pytest.mark.parametrize(("bad", "message"), [
    ({"exercises": []}, "no exercises"),
    ({"exercises": [{"exercise": "deadlift"}]}, "unknown exercise 'deadlift'; known: bridge"),
    ({"exercises": [{"exercise": "bridge", "sets": 0}]}, "'sets' must be a whole number"),
    ({"exercises": [{"exercise": "bridge", "reps": "ten"}]}, "'reps' must be a whole number"),
    ({"exercises": [{"exercise": "bridge", "hold_s": -1}]}, "'hold_s' must be a number"),
    ([1, 2], 'an object with an "exercises" list'),
])
def test_plan_rejects_what_cannot_be_followed(bad: object, message: str) -> None:
    with pytest.raises(PlanError, match=message.replace("(", r"\(")):
        parse_plan(bad)


def test_plan_file_errors_say_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(PlanError, match="no plan at"):
        load_plan(tmp_path / "missing.json")
    broken = tmp_path / "plan.json"
    broken.write_text('{"exercises": [')
    with pytest.raises(PlanError, match="not valid JSON"):
        load_plan(broken)
    broken.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(PlanError, match="cannot read"):
        load_plan(broken)
    good = tmp_path / "good.json"
    good.write_text(json.dumps(PLAN))
    assert load_plan(good).version == 3


def test_session_counts_reps_cues_hold_and_ends_set_at_target() -> None:
    s = _session()
    assert s.start()[0].kind == CueKind.SET_START
    assert s.on_event(RepStarted(1.0), 0.0) == []
    s.on_event(TopReached(2.0), 0.0)
    s.on_samples(4.5)
    view = s.view(0.0)
    assert view.holding and view.hold_s == pytest.approx(2.5) and view.hold_target_s == 5.0
    assert [c.kind for c in s.on_event(HoldTargetReached(7.0), 0.0)] == [CueKind.HOLD_REACHED]
    assert [c.text for c in s.on_event(RepCompleted(9.0, _rep(9.0), 1), 0.0)] == ["1"]
    assert s.view(0.0).reps == 1 and not s.view(0.0).holding
    cues = s.on_event(RepCompleted(17.0, _rep(17.0), 2), 100.0)
    assert [c.kind for c in cues] == [CueKind.SET_DONE]
    assert cues[0].set_index == 0 and cues[0].reps == 2
    assert s.phase == Phase.REST and s.view(110.0).rest_left_s == pytest.approx(20.0)


def test_session_rest_timer_pause_and_next_set() -> None:
    s = _session(rest_s=30.0)
    s.start()
    s.on_event(RepCompleted(5.0, _rep(5.0), 2), 0.0)
    assert s.phase == Phase.REST
    s.on_key("p", 10.0)  # pause the rest at 20 s left
    assert s.tick(100.0) == [] and s.view(100.0).rest_left_s == pytest.approx(20.0)
    s.on_key("p", 100.0)
    assert s.tick(119.0) == []
    cues = s.tick(120.0)
    assert [c.kind for c in cues] == [CueKind.REST_OVER, CueKind.SET_START]
    assert s.phase == Phase.EXERCISE and s.current.spec.set_number == 2


def test_session_skip_set_skip_rest_and_stop() -> None:
    s = _session(rest_s=30.0)
    s.start()
    assert [c.text for c in s.on_key("s", 0.0)] == ["Set skipped"]
    assert s.progress[0].skipped and s.phase == Phase.REST
    s.on_key("s", 1.0)  # no need to wait for the rest either
    assert s.phase == Phase.EXERCISE and s.index == 1
    s.on_event(RepCompleted(5.0, _rep(5.0), 1), 2.0)
    s.on_key("q", 3.0)
    assert s.phase == Phase.QUESTIONS and s.stopped
    assert not s.progress[1].skipped  # the set done so far is kept


def test_session_events_while_paused_or_resting_are_ignored() -> None:
    s = _session(rest_s=0.0)
    s.start()
    s.on_key("p", 0.0)
    assert s.on_event(RepCompleted(5.0, _rep(5.0), 1), 0.0) == []
    assert s.view(0.0).paused
    s.on_key("p", 1.0)
    s.on_event(StabilityWarning(6.0, 7.5), 2.0)
    assert s.view(3.0).warning == "Keep your pelvis still"
    assert s.view(10.0).warning is None
    assert s.progress[0].warnings == 1


def test_session_without_rest_goes_straight_to_the_next_set_and_ends() -> None:
    s = _session(rest_s=0.0)
    s.start()
    for _ in range(2):
        s.on_event(RepCompleted(5.0, _rep(5.0), 2), 0.0)
    assert s.index == 2
    cues = s.on_event(RepCompleted(5.0, _rep(5.0), 3), 0.0)
    assert [c.kind for c in cues] == [CueKind.SET_DONE, CueKind.SESSION_DONE]
    assert s.phase == Phase.QUESTIONS


def test_display_renders_each_phase_with_link_state() -> None:
    s = _session(rest_s=10.0)
    s.start()
    s.on_event(TopReached(1.0), 0.0)
    s.on_samples(7.0)
    console = Console(width=100, record=True, color_system=None)
    console.print(render(s.view(0.0), LinkView("RehabLink-01", LinkState.RECONNECTING, 12)))
    text = console.export_text()
    assert "Glute bridge - set 1 of 2" in text and "Reps: 0 / 2" in text
    assert "HOLD REACHED" in text and "reconnecting" in text
    assert "battery 12%" in text and "charge it" in text
    assert "Note from your physiotherapist: Slow lowering" in text
    s.on_event(RepCompleted(8.0, _rep(8.0), 2), 0.0)
    console.print(render(s.view(3.0), LinkView("RehabLink-01", LinkState.STREAMING, 80)))
    assert "Rest:   7 s" in console.export_text()


def test_display_asks_to_come_near_in_a_long_drop_out_and_says_when_the_sensor_is_lost() -> None:
    s = _session(rest_s=10.0)
    s.start()

    def status(link: LinkView) -> str:
        console = Console(width=120, record=True, color_system=None)
        console.print(render(s.view(0.0), link))
        (line,) = [t for t in console.export_text().splitlines() if "Sensor RehabLink-01" in t]
        return line.strip("│ ")

    brief = LinkView("RehabLink-01", LinkState.RECONNECTING, 80, 9, 120.0)
    assert status(brief) == "Sensor RehabLink-01: reconnecting… keep going   battery 80%"
    long = LinkView("RehabLink-01", LinkState.RECONNECTING, 80, 25, 120.0)
    assert status(long) == ("Sensor RehabLink-01: no signal for 25 s - come near this computer "
                            "(stops after 2 minutes)   battery 80%")
    lost = LinkView("RehabLink-01", LinkState.LOST, 80, None, 120.0)
    assert status(lost) == "Sensor RehabLink-01: lost - the session has stopped   battery 80%"


def test_answers_parse_and_advice() -> None:
    assert parse_answers("pain=3,flags=none").pain == 3
    a = parse_answers("pain=7,flags=night_pain+bladder_bowel")
    assert a.red_flags == ("night_pain", "bladder_bowel")
    assert a.advice == [URGENT_ADVICE, SEEK_CARE_ADVICE]
    assert parse_answers("flags=trauma").advice == [SEEK_CARE_ADVICE]
    assert parse_answers("pain=skip").pain is None
    for bad, message in [("pain=11", "0 to 10"), ("pain=x", "0 to 10"),
                         ("flags=back_ache", "unknown red flag"), ("mood=ok", "cannot read")]:
        with pytest.raises(AnswersError, match=message):
            parse_answers(bad)
