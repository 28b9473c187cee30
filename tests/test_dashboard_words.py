"""Pure parts of the dashboards: the patient's progress sentences and the CSV export."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

from dashboards.csv_export import COLUMNS, patient_csv
from dashboards.words import (
    hold_sentence,
    progress_sentences,
    questions_left_notice,
    reps_sentence,
)
from rehablink.clinical import ANSWER_NEXT_TIME, RED_FLAGS, URGENT_SIGN
from server.analytics import WeekProgress


def week(k: int, reps: float, hold: float | None, target: float | None = 5.0) -> WeekProgress:
    monday = date(2026, 10, 5) + timedelta(weeks=k)
    return WeekProgress(exercise="bridge", week=f"W{k}", week_start=monday, sets=10,
                        reps_per_set=reps, median_hold_s=hold, hold_target_s=target,
                        median_rom_deg=20.0, median_stability_deg=None, median_tempo_s=6.0,
                        compensation_rate=0.0)


def test_hold_sentences_say_what_changed():
    assert hold_sentence("Glute bridge", 3.0, 6.0, "this month") == \
        "Your glute bridge holds went from 3 to 6 seconds this month."
    assert hold_sentence("Glute bridge", 3.2, 3.4, "this month") == \
        "Your glute bridge holds stay steady at about 3.4 seconds."
    assert "take your time at the top" in hold_sentence("Glute bridge", 6.0, 4.0, "this month")
    assert hold_sentence("Glute bridge", 0.5, 1.0, "this month").endswith("to 1 second this month.")


def test_reps_sentences():
    assert reps_sentence("Clamshell", 8, 12, "this month") == \
        "Your clamshell sets went from 8 to 12 reps this month."
    assert reps_sentence("Clamshell", 12, 12.2, "this month") == \
        "You keep doing about 12 reps per clamshell set."
    assert "quality first" in reps_sentence("Clamshell", 12, 9, "this month")


def test_progress_compares_first_and_last_week():
    weeks = [week(0, 10, 3.0), week(1, 10, 4.2), week(2, 10, 6.0)]
    assert progress_sentences(weeks, "Glute bridge") == [
        "Your glute bridge holds went from 3 to 6 seconds this month."]
    no_holds = [week(0, 8, None, None), week(3, 11, None, None)]
    assert progress_sentences(no_holds, "Squat") == [
        "Your squat sets went from 8 to 11 reps this month."]
    assert progress_sentences([week(0, 10, 4.0)], "Glute bridge") == [
        "This week your glute bridge holds were about 4 seconds."]
    assert progress_sentences([], "Glute bridge") == []


def test_csv_has_one_row_per_set_and_defuses_formulas():
    session = {
        "id": "s1", "day": "2026-11-20", "started_at": "2026-11-20T09:00:00+00:00",
        "status": "completed", "pain": 4, "red_flags": ["leg_symptoms"],
        "sets": [
            {"index": 0, "exercise": "=HYPERLINK(\"http://x\")", "skipped": False,
             "target_reps": 10, "hold_target_s": 5.0, "median_hold_s": 4.25,
             "result": {"rep_count": 2, "partial_count": 1, "duration_s": 20.0,
                        "reps": [{"flags": ["pelvis_rotating"]}, {"flags": []}]},
             "samples_received": 1000, "samples_lost": 3},
            {"index": 1, "exercise": "clamshell", "skipped": True, "result": None},
        ],
    }
    empty = {"id": "s2", "day": "2026-11-21", "sets": []}
    rows = list(csv.DictReader(io.StringIO(patient_csv([session, empty]))))
    assert list(rows[0]) == list(COLUMNS)
    assert len(rows) == 3
    first, skipped, bare = rows
    assert first["exercise"].startswith("'=")  # a spreadsheet shows it as text
    assert (first["reps"], first["partial_reps"], first["median_hold_s"]) == ("2", "1", "4.25")
    assert (first["reps_pelvis_rotating"], first["red_flags"], first["pain"]) == (
        "1", "leg_symptoms", "4")
    assert (skipped["skipped"], skipped["reps"], skipped["duration_s"]) == ("yes", "0", "")
    assert bare["session_id"] == "s2" and bare["exercise"] == ""


def test_csv_says_which_red_flag_questions_were_not_asked() -> None:
    sessions = [{"id": f"s{k}", "red_flags": flags, "sets": [], **extra}
                for k, (flags, extra) in enumerate([
                    (["night_pain"], {"red_flags_unasked": ["systemic", "trauma"]}),
                    ([], {"red_flags_unasked": []}),
                    ([], {"red_flags_unasked": None}),
                    ([], {})])]
    rows = list(csv.DictReader(io.StringIO(patient_csv(sessions))))
    assert [(r["red_flags"], r["red_flags_unasked"]) for r in rows] == [
        ("night_pain", "systemic trauma"), ("", ""), ("", "unknown"), ("", "unknown")]


def test_questions_left_notice_in_plain_words():
    """What the patient's page says when the red-flag questions were left: what happened,
    then to answer them next time, then each warning sign not asked about (urgent: say so)."""
    assert questions_left_notice([]) == []
    every = questions_left_notice(list(RED_FLAGS))
    assert every[:2] == ["The safety questions were not asked after your last session.",
                         ANSWER_NEXT_TIME]
    assert every[2:] == [f.sign + (URGENT_SIGN if f.urgent else "") for f in RED_FLAGS.values()]
    assert questions_left_notice(["night_pain", "trauma"]) == [
        "The safety questions were not finished after your last session: 2 of 6 were not "
        "asked.", ANSWER_NEXT_TIME, RED_FLAGS["night_pain"].sign, RED_FLAGS["trauma"].sign]
