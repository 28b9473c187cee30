"""The guided session state machine, the plan file and the end questions (pure: no terminal)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rich.console import Console

from rehablink.clinical import SEEK_CARE_ADVICE, URGENT_ADVICE
from rehablink.results import Rep
from wearable.cues import CuePlayer
from wearable.display import LinkView, render
from wearable.link import LinkState
from wearable.link_cues import SENSOR_LOST_TEXT, SIGNAL_BACK_TEXT, SIGNAL_LOST_TEXT, LinkWatch
from wearable.motion.events import (
    CountRevised,
    HoldTargetReached,
    RepCompleted,
    RepStarted,
    StabilityWarning,
    TopReached,
)
from wearable.plan import PlanError, load_plan, parse_plan, session_sets
from wearable.questions import AnswersError, parse_answers
from wearable.session import Cue, CueKind, GuidedSession, Phase

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


def test_session_follows_a_revised_count_and_does_not_end_the_set_early() -> None:
    """The way into the exercise's posture was counted, then taken back by the set's review:
    the screen follows, with no cue, and the set ends only at the target's real rep."""
    s = _session()
    s.start()
    assert [c.text for c in s.on_event(RepCompleted(3.0, _rep(3.0), 1), 0.0)] == ["1"]
    assert s.on_event(CountRevised(5.0, 0), 1.0) == []
    assert s.view(1.0).reps == 0 and s.phase == Phase.EXERCISE
    s.on_event(RepCompleted(12.0, _rep(12.0), 1), 2.0)
    assert s.phase == Phase.EXERCISE
    # A rep that a hole in the data hid is added back: that reaches the target of two.
    cues = s.on_event(CountRevised(30.0, 2), 3.0)
    assert [c.kind for c in cues] == [CueKind.SET_DONE] and cues[0].reps == 2


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


def test_session_next_set_waits_for_the_sensor_and_the_rest_is_not_silence() -> None:
    """The rest is over while the sensor is out of reach (the patient walked away with it): the
    next set used to start without them. It waits for the sensor; the silence of a lost sensor
    counts (``expects_data``) in a set and once the rest is over, not in the rest or a pause."""
    s = _session(rest_s=30.0)
    s.start()
    assert s.expects_data
    s.on_event(RepCompleted(5.0, _rep(5.0), 2), 0.0)
    assert s.phase == Phase.REST and not s.expects_data
    assert s.tick(29.0, sensor_ready=False) == [] and not s.expects_data
    assert s.tick(30.0, sensor_ready=False) == []
    view = s.view(40.0)
    assert s.phase == Phase.REST and view.waiting_for_sensor and view.rest_left_s == 0.0
    assert s.expects_data  # the rest is over: the give-up time runs again
    s.on_key("p", 41.0)
    assert not s.expects_data and s.tick(50.0, sensor_ready=True) == []
    s.on_key("p", 60.0)
    cues = s.tick(60.1, sensor_ready=True)
    assert [c.kind for c in cues] == [CueKind.REST_OVER, CueKind.SET_START]
    assert s.phase == Phase.EXERCISE and not s.view(60.1).waiting_for_sensor and s.expects_data


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
    # how long is left, not the whole limit (which read as if two minutes were still left)
    assert status(long) == ("Sensor RehabLink-01: no signal for 25 s - come near this computer "
                            "(the session stops in 95 s)   battery 80%")
    assert "(the session stops in 1 minute)" in status(
        LinkView("RehabLink-01", LinkState.RECONNECTING, 80, 60, 120.0))
    lost = LinkView("RehabLink-01", LinkState.LOST, 80, None, 120.0)
    assert status(lost) == "Sensor RehabLink-01: lost - the session has stopped   battery 80%"
    # in a pause or a rest the give-up time does not run: the session waits
    s.on_key("p", 0.0)
    assert status(long) == ("Sensor RehabLink-01: reconnecting… the session waits while you "
                            "rest   battery 80%")


def test_display_rest_waiting_for_the_sensor() -> None:
    s = _session(rest_s=10.0)
    s.start()
    s.on_event(RepCompleted(8.0, _rep(8.0), 2), 0.0)
    s.tick(10.0, sensor_ready=False)
    console = Console(width=120, record=True, color_system=None)
    console.print(render(s.view(12.0), LinkView("RehabLink-01", LinkState.RECONNECTING, 80, 2,
                                                120.0)))
    text = console.export_text()
    assert "Waiting for the sensor: the next set starts when it is back (s to start now)" in text
    assert "Next set starts when the timer ends" not in text
    assert "Sensor RehabLink-01: reconnecting…   battery 80%" in text  # not "keep going"
    console = Console(width=120, record=True, color_system=None)
    console.print(render(s.view(13.0), LinkView("RehabLink-01", LinkState.LOST, 80, None, 120.0)))
    text = console.export_text()  # the last frame: no next set to wait for or start
    assert "lost - the session has stopped" in text and "s to start now" not in text


def test_link_watch_tells_once_out_of_reach_once_back_and_once_lost() -> None:
    watch = LinkWatch(give_up_after_s=120.0)
    assert watch.update(LinkState.STREAMING, 0.02, 5.0) == []
    assert watch.update(LinkState.RECONNECTING, 9.9, 5.0) == []  # a drop-out
    assert watch.update(LinkState.RECONNECTING, 10.0, 5.0) == [
        Cue(CueKind.SIGNAL_LOST, SIGNAL_LOST_TEXT)]
    # connected again but silent (a hung sensor): not back
    assert watch.update(LinkState.STREAMING, 12.0, 5.0) == []
    assert watch.update(LinkState.STREAMING, 0.0, 17.5) == [
        Cue(CueKind.SIGNAL_BACK, SIGNAL_BACK_TEXT)]
    assert watch.update(LinkState.STREAMING, 0.0, 17.6) == []
    # a second loss is told again; the end of a session is not a loss
    assert [c.kind for c in watch.update(LinkState.RECONNECTING, 11.0, 17.6)] == [
        CueKind.SIGNAL_LOST]
    assert watch.update(LinkState.STOPPED, 40.0, 17.6) == []
    assert watch.update(LinkState.LOST, 120.0, 17.6) == [
        Cue(CueKind.SENSOR_LOST, SENSOR_LOST_TEXT)]
    assert watch.update(LinkState.LOST, 121.0, 17.6) == []
    # a short give-up time: told at half of it
    assert [c.kind for c in LinkWatch(3.0).update(LinkState.RECONNECTING, 1.5, None)] == [
        CueKind.SIGNAL_LOST]
    assert LinkWatch(3.0).update(LinkState.STOPPED, 1.5, None) == []


def test_cues_about_the_sensor_ring_twice_when_it_is_out_of_reach_or_lost() -> None:
    rings: list[None] = []
    player = CuePlayer(lambda: rings.append(None), speak=False)
    for kind, expected in ((CueKind.SIGNAL_LOST, 2), (CueKind.SIGNAL_BACK, 0),
                           (CueKind.SENSOR_LOST, 2)):
        rings.clear()
        player.play(Cue(kind, "words"))
        assert len(rings) == expected, kind
    player.close()


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
