"""The end questions of ``rehab session`` left part-way: what is asked, what is stored on a real
companion database, what the clinic accepts and alerts on, and what the patient is told."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import click
import pytest

from rehablink.clinical import RED_FLAGS, SEEK_CARE_ADVICE, URGENT_SIGN
from server import analytics
from server.validate import session_document as validate
from wearable.guided import QUESTIONS_SKIPPED, _ask_interactively
from wearable.questions import NOT_ASKED, Answers, AnswersError, parse_answers
from wearable.store import CompanionStore, SensorInfo

FLAGS = list(RED_FLAGS)
PAIN_QUESTION = "How bad is your back pain today"


def _patient(monkeypatch: pytest.MonkeyPatch, replies: list[Any]) -> list[str]:
    """Answer click's prompts and confirmations from ``replies``, in order, as the patient
    would type them; an exception in ``replies`` is raised instead (``click.Abort`` is how
    click reports Ctrl-C and Ctrl-D). Returns the questions asked, as they are asked."""
    asked: list[str] = []

    def answer(text: str, *args: Any, **kwargs: Any) -> Any:
        asked.append(text)
        assert len(asked) <= len(replies), f"asked more than the patient answered: {text!r}"
        reply = replies[len(asked) - 1]
        if isinstance(reply, BaseException):
            raise reply
        return reply

    monkeypatch.setattr(click, "prompt", answer)
    monkeypatch.setattr(click, "confirm", answer)
    return asked


def _stored_document(tmp_path: Path, answers: Answers) -> dict[str, Any]:
    """A one-set session closed with ``answers`` in a companion database file, as its upload
    document."""
    with CompanionStore.open(tmp_path / "companion.db") as store:
        sid = store.create_session(sensor=SensorInfo("rehablink", "RehabLink-01"))
        store.begin_set(sid, 0, "bridge", target_reps=8)
        store.finish_set(sid, 0, None, skipped=True)
        store.finish_session(sid, "completed", answers)
    with CompanionStore.open(tmp_path / "companion.db") as store:  # as read back later
        return store.session_document(sid)


@pytest.mark.parametrize("leave", [click.Abort(), KeyboardInterrupt(), EOFError()],
                         ids=["abort", "ctrl-c", "eof"])
def test_leaving_at_the_first_red_flag_question_leaves_every_red_flag_not_asked(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        leave: BaseException, tmp_path: Path) -> None:
    """Pain is answered, then the patient leaves at the first red-flag question. The
    questions not asked used to be stored exactly like answers of "no": the session now says
    that none of them was asked."""
    asked = _patient(monkeypatch, ["4", leave])
    answers = _ask_interactively()
    assert answers == Answers(4, (), tuple(FLAGS))
    assert asked[0].startswith(PAIN_QUESTION) and asked[1:] == [RED_FLAGS[FLAGS[0]].question]
    assert capsys.readouterr().out.count(QUESTIONS_SKIPPED) == 1
    document = _stored_document(tmp_path, answers)
    assert (document["pain"], document["red_flags"], document["red_flags_unasked"]) == \
        (4, [], FLAGS)
    assert validate(document).red_flags_unasked == tuple(FLAGS)


def test_a_yes_before_leaving_is_kept_and_alerts_and_the_rest_are_not_asked(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Yes to the first red flag, then Ctrl-C at the second: the yes is kept with its advice,
    stored, accepted by the clinic and raises the red-flag alert; the four still to come are
    not asked (not "no"), and the patient is told to answer them next time."""
    _patient(monkeypatch, ["", True, KeyboardInterrupt()])
    answers = _ask_interactively()
    assert answers == Answers(None, (FLAGS[0],), tuple(FLAGS[1:]))
    assert answers.advice == [SEEK_CARE_ADVICE]
    document = _stored_document(tmp_path, answers)
    assert (document["red_flags"], document["red_flags_unasked"]) == ([FLAGS[0]], FLAGS[1:])
    doc = validate(document)
    assert (doc.red_flags, doc.red_flags_unasked) == ((FLAGS[0],), tuple(FLAGS[1:]))
    day = date.fromisoformat(doc.day)
    record = analytics.SessionRecord(doc.id, day, doc.pain, doc.red_flags,
                                     red_flags_unasked=doc.red_flags_unasked)
    (alert,) = analytics.alerts([record], [], day, day, None)
    assert alert.kind == "red_flag" and FLAGS[0] in alert.message
    notice = answers.unfinished_notice
    assert notice[0] == f"The safety questions were not finished: {len(FLAGS) - 1} of " \
        f"{len(FLAGS)} were not asked."
    assert "answer them at the end of your next session" in notice[1]
    assert "If you have any of these warning signs, contact your physiotherapist or GP " \
        "today:" in notice[1]
    assert notice[2:] == [f"  - {RED_FLAGS[f].sign}" + (URGENT_SIGN if RED_FLAGS[f].urgent
                                                         else "") for f in FLAGS[1:]]


def test_every_question_answered_is_a_complete_screen(monkeypatch: pytest.MonkeyPatch,
                                                      tmp_path: Path) -> None:
    _patient(monkeypatch, ["2"] + [f == "night_pain" for f in FLAGS])
    answers = _ask_interactively()
    assert answers == Answers(2, ("night_pain",), ())
    assert answers.unfinished_notice == []
    document = _stored_document(tmp_path, answers)
    assert (document["red_flags"], document["red_flags_unasked"]) == (["night_pain"], [])


@pytest.mark.parametrize(("given", "expected"), [
    ("pain=3,flags=none", Answers(3, (), ())),
    ("pain=3,flags=trauma", Answers(3, ("trauma",), ())),
    ("pain=3", Answers(3, (), tuple(FLAGS))),
    ("pain=3,flags=skip", Answers(3, (), tuple(FLAGS))),
    ("", NOT_ASKED),
])
def test_scripted_answers_say_whether_the_red_flags_were_answered(given: str,
                                                                  expected: Answers) -> None:
    """``--answers`` without ``flags`` (or ``flags=skip``) answers no red-flag question: it
    used to answer them all "no"."""
    assert parse_answers(given) == expected


@pytest.mark.parametrize("given", ["pain=3,flags=", "flags=+", "flags= + "])
def test_scripted_answers_with_an_empty_flags_value_are_refused(given: str) -> None:
    """``flags=`` with nothing after it used to answer every red-flag question no."""
    with pytest.raises(AnswersError, match="flags needs a value; expected pain=N"):
        parse_answers(given)


def test_the_patient_is_told_plainly_when_no_safety_question_was_asked() -> None:
    notice = NOT_ASKED.unfinished_notice
    assert notice[0] == "The safety questions were not asked this time."
    assert len(notice) == 2 + len(FLAGS)
    urgent = [line for line in notice if "urgent medical care" in line]
    assert urgent == ["  - new loss of bladder or bowel control, or numbness around your bottom "
                      "or genitals: this needs urgent medical care now (call emergency services "
                      "or go to the nearest emergency department)"]


def test_a_red_flag_cannot_be_both_answered_yes_and_not_asked() -> None:
    with pytest.raises(ValueError, match="answered yes and not asked"):
        Answers(None, ("trauma",), ("trauma",))


def test_a_session_nobody_answered_for_is_stored_as_not_asked(tmp_path: Path) -> None:
    """``rehab record`` and a session whose process died before the questions close with no
    answers: every red-flag question not asked, never "no"."""
    path = tmp_path / "companion.db"
    with CompanionStore.open(path) as store:
        free = store.create_session("record")
        store.finish_session(free)
        died = store.create_session()
        store.db.execute("UPDATE sessions SET writer_pid = 2147483000 WHERE id = ?", [died])
        store.db.commit()
    with CompanionStore.open(path) as store:
        assert store.recovered == [died]
        documents: list[dict[str, Any]] = [store.session_document(s) for s in (free, died)]
    for document in documents:
        assert (document["pain"], document["red_flags"], document["red_flags_unasked"]) == \
            (None, [], FLAGS)
    json.dumps(documents)  # the upload documents stay plain JSON


def test_a_session_with_nothing_recorded_is_kept_for_red_flags_answered_no(
        tmp_path: Path) -> None:
    """The sensor sent nothing, pain was skipped and every red-flag question was answered no.
    Only pain or a yes used to count as an answer, so the session was dropped and the
    physiotherapist never learnt that the patient had been asked; now that "no" is told from
    "not asked", a complete screen is kept. A session nobody answered for is still dropped."""
    from firmware_protocol.registry import PROFILES
    from wearable.link import SensorLost
    from wearable.scan import FoundSensor
    from wearable.stopped import SessionStopped

    sensor = FoundSensor(PROFILES["rehablink"], "RehabLink-01", "F0:52:4C:00:00:01", -50)
    info = SensorInfo("rehablink", "RehabLink-01", "F0:52:4C:00:00:01")
    with CompanionStore.open(tmp_path / "companion.db") as store:
        screened, unanswered = store.create_session(sensor=info), store.create_session(sensor=info)
        kept = SessionStopped(SensorLost("gone"), screened, sensor, [], 120.0, False)
        line = kept.close(store, parse_answers("pain=skip,flags=none"))
        dropped = SessionStopped(SensorLost("gone"), unanswered, sensor, [], 120.0, False)
        dropped.close(store, NOT_ASKED)
        assert (kept.kept, dropped.kept) == (screened, None)
        assert f"your answers are saved (session {screened[:8]})" in line
        assert [s["id"] for s in store.sessions()] == [screened]
        document = store.session_document(screened)
        assert store.pending_uploads() == [screened]
    assert (document["status"], document["pain"], document["red_flags"],
            document["red_flags_unasked"]) == ("interrupted", None, [], [])
    assert validate(document).red_flags_unasked == ()
