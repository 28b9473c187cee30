"""Progress in plain words for the patient (pure functions over the server's weekly figures).

Examples
--------
>>> hold_sentence("Glute bridge", 3.0, 6.2, "this month")
'Your glute bridge holds went from 3 to 6.2 seconds this month.'
"""

from __future__ import annotations

from collections.abc import Sequence

from rehablink.clinical import ANSWER_NEXT_TIME, RED_FLAGS, unasked_signs
from server.analytics import WeekProgress

#: Smallest change worth telling, in the figure's unit (s for holds, reps for reps per set).
MIN_HOLD_CHANGE_S = 0.5
MIN_REPS_CHANGE = 1.0
#: Told to a patient who made a free recording today (``rehab record``), which is kept but
#: is not part of the plan.
FREE_RECORDING_TODAY = ("You made a free recording today. It is kept for your "
                        "physiotherapist, but only the exercises of a session count towards "
                        "your plan.")


def _n(value: float) -> str:
    return f"{value:.0f}" if abs(value - round(value)) < 0.05 or value >= 10 else f"{value:.1f}"


def _plural(value: float, word: str) -> str:
    return f"{_n(value)} {word}" + ("" if _n(value) == "1" else "s")


def hold_sentence(name: str, first: float, last: float, period: str) -> str:
    """How the median hold changed over ``period``, encouraging but honest."""
    lname = name[0].lower() + name[1:]
    if last - first >= MIN_HOLD_CHANGE_S:
        return f"Your {lname} holds went from {_n(first)} to {_plural(last, 'second')} {period}."
    if first - last >= MIN_HOLD_CHANGE_S:
        return (f"Your {lname} holds were {_plural(first, 'second')} at the start and "
                f"{_plural(last, 'second')} lately: take your time at the top.")
    return f"Your {lname} holds stay steady at about {_plural(last, 'second')}."


def reps_sentence(name: str, first: float, last: float, period: str) -> str:
    """How the reps per set changed over ``period``."""
    lname = name[0].lower() + name[1:]
    if last - first >= MIN_REPS_CHANGE:
        return f"Your {lname} sets went from {_n(first)} to {_plural(last, 'rep')} {period}."
    if first - last >= MIN_REPS_CHANGE:
        return (f"Your {lname} sets went from {_n(first)} to {_plural(last, 'rep')}: "
                f"quality first, the reps will come back.")
    return f"You keep doing about {_plural(last, 'rep')} per {lname} set."


def progress_sentences(weeks: Sequence[WeekProgress], name: str,
                       period: str = "this month") -> list[str]:
    """Sentences comparing the first and the last week of ``weeks`` (one exercise, oldest
    first). Holds are described when the exercise is held; reps otherwise. Fewer than two weeks:
    a single sentence about what was done."""
    if not weeks:
        return []
    first, last = weeks[0], weeks[-1]
    if len(weeks) < 2:
        if last.median_hold_s:
            return [f"This week your {name[0].lower() + name[1:]} holds were about "
                    f"{_plural(last.median_hold_s, 'second')}."]
        return [f"This week you did about {_plural(last.reps_per_set, 'rep')} per "
                f"{name[0].lower() + name[1:]} set."]
    out = []
    if first.median_hold_s and last.median_hold_s and (first.hold_target_s or last.hold_target_s
                                                        or last.median_hold_s >= 1.0):
        out.append(hold_sentence(name, first.median_hold_s, last.median_hold_s, period))
    else:
        out.append(reps_sentence(name, first.reps_per_set, last.reps_per_set, period))
    return out


def questions_left_notice(unasked: Sequence[str]) -> list[str]:
    """What the patient's page says when the red-flag questions were not all answered after
    their last session (``unasked`` the ids not asked; nothing when it is empty): what
    happened, to answer them next time, then the warning signs not asked about, to act on now.

    Examples
    --------
    >>> questions_left_notice(["trauma"])[0]
    'The safety questions were not finished after your last session: 1 of 6 was not asked.'
    """
    if not unasked:
        return []
    n, total = len(unasked), len(RED_FLAGS)
    lead = "The safety questions were not asked after your last session." if n >= total else \
        (f"The safety questions were not finished after your last session: {n} of {total} "
         f"{'was' if n == 1 else 'were'} not asked.")
    return [lead, ANSWER_NEXT_TIME, *unasked_signs(unasked)]
