"""End-of-session questions: pain today (0-10) and the red flags of ``rehablink.clinical``.

Answers come from the patient (interactive) or from ``--answers pain=3,flags=none`` (demo, tests,
scripts). Any "yes" shows advice to seek care (urgent advice for urgent flags) and is stored as a
flag for the physiotherapist. A red-flag question that was not asked (the patient left the
questions, or nobody was there to ask: ``--yes``, ``--headless``) is recorded as not asked,
never as "no", and the patient is told to answer it next time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from rehablink.clinical import (
    ANSWER_NEXT_TIME,
    RED_FLAGS,
    SEEK_CARE_ADVICE,
    URGENT_ADVICE,
    unasked_signs,
)


class AnswersError(ValueError):
    """An ``--answers`` value that cannot be read; the message shows the expected form."""


@dataclass(frozen=True)
class Answers:
    """The answers to the end questions.

    Attributes
    ----------
    pain : int or None
        Pain today, 0-10; None when not answered.
    red_flags : tuple of str
        Ids of the red flags answered yes.
    red_flags_unasked : tuple of str
        Ids of the red-flag questions not asked, in the order they are asked: those after the
        patient left the questions and the one they left at (shown, not answered), or all of
        them when nobody answered. The others were answered (yes: in ``red_flags``; else no).
    """

    pain: int | None
    red_flags: tuple[str, ...]
    red_flags_unasked: tuple[str, ...]

    def __post_init__(self) -> None:
        both = set(self.red_flags) & set(self.red_flags_unasked)
        if both:
            raise ValueError(f"a red flag is answered yes and not asked: {sorted(both)}")

    @property
    def answered(self) -> bool:
        """Whether any question was answered: pain, or a red-flag question (yes or no)."""
        return self.pain is not None or len(self.red_flags_unasked) < len(RED_FLAGS)

    @property
    def advice(self) -> list[str]:
        """What to tell the patient: nothing, seek care, or seek urgent care."""
        if not self.red_flags:
            return []
        if any(RED_FLAGS[f].urgent for f in self.red_flags):
            return [URGENT_ADVICE, SEEK_CARE_ADVICE]
        return [SEEK_CARE_ADVICE]

    @property
    def unfinished_notice(self) -> list[str]:
        """What to tell a patient whose red-flag questions were not all asked (nothing when they
        were): answer them next time, and the warning signs not asked about, to act on now."""
        if not self.red_flags_unasked:
            return []
        n, total = len(self.red_flags_unasked), len(RED_FLAGS)
        lead = "The safety questions were not asked this time." if n >= total else \
            f"The safety questions were not finished: {n} of {total} were not asked."
        return [lead, ANSWER_NEXT_TIME,
                *(f"  - {sign}" for sign in unasked_signs(self.red_flags_unasked))]


#: Nobody answered: pain unknown and every red-flag question not asked.
NOT_ASKED = Answers(None, (), tuple(RED_FLAGS))

_FORM = "pain=N|skip,flags=none|ID+ID|skip (ids: " + ", ".join(RED_FLAGS) + ")"


def parse_answers(text: str) -> Answers:
    """Parse ``pain=3,flags=none`` / ``pain=5,flags=leg_symptoms+night_pain`` / ``pain=skip``.

    ``flags=none`` answers no to every red flag not listed; ``flags=skip``, or no ``flags``,
    leaves them all not asked (as ``pain=skip``, or no ``pain``, leaves pain unanswered).
    """
    values: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        key, sep, value = part.partition("=")
        if not sep or key.strip() not in ("pain", "flags"):
            raise AnswersError(f"cannot read {part!r}; expected {_FORM}")
        values[key.strip()] = value.strip()
    pain: int | None = None
    raw_pain = values.get("pain", "skip")
    if raw_pain != "skip":
        if not raw_pain.isdigit() or not 0 <= int(raw_pain) <= 10:
            raise AnswersError(f"pain must be a whole number from 0 to 10, got {raw_pain!r}")
        pain = int(raw_pain)
    raw_flags = values.get("flags", "skip")
    if raw_flags == "skip":
        return Answers(pain, (), NOT_ASKED.red_flags_unasked)
    flags: tuple[str, ...] = ()
    if raw_flags != "none":
        flags = tuple(dict.fromkeys(f.strip() for f in raw_flags.split("+") if f.strip()))
        if not flags:  # not taken as "none": that would answer every question no
            raise AnswersError(f"flags needs a value; expected {_FORM}")
        unknown = [f for f in flags if f not in RED_FLAGS]
        if unknown:
            raise AnswersError(f"unknown red flag {unknown[0]!r}; ids: {', '.join(RED_FLAGS)}")
    return Answers(pain, flags, ())


def ask(prompt_int: Callable[[str], int | None],
        confirm: Callable[[str], bool | None]) -> Answers:
    """Ask the questions with the given prompt functions (click's, in the terminal).

    ``confirm`` answers None for a question it did not ask (the patient left the questions):
    that red flag is recorded as not asked.
    """
    pain = prompt_int("How bad is your back pain today, from 0 (none) to 10 (worst)?")
    replies = {f.id: confirm(f.question) for f in RED_FLAGS.values()}
    return Answers(pain, tuple(f for f, yes in replies.items() if yes),
                   tuple(f for f, yes in replies.items() if yes is None))
