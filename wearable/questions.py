"""End-of-session questions: pain today (0-10) and the red flags of ``rehablink.clinical``.

Answers come from the patient (interactive) or from ``--answers pain=3,flags=none`` (demo, tests,
scripts). Any "yes" shows advice to seek care (urgent advice for urgent flags) and is stored as a
flag for the physiotherapist.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from rehablink.clinical import RED_FLAGS, SEEK_CARE_ADVICE, URGENT_ADVICE


class AnswersError(ValueError):
    """An ``--answers`` value that cannot be read; the message shows the expected form."""


@dataclass(frozen=True)
class Answers:
    """Pain today (0-10, None when not answered) and the red flags answered yes."""

    pain: int | None
    red_flags: tuple[str, ...]

    @property
    def advice(self) -> list[str]:
        """What to tell the patient: nothing, seek care, or seek urgent care."""
        if not self.red_flags:
            return []
        if any(RED_FLAGS[f].urgent for f in self.red_flags):
            return [URGENT_ADVICE, SEEK_CARE_ADVICE]
        return [SEEK_CARE_ADVICE]


_FORM = "pain=N,flags=none (or flags=ID+ID; ids: " + ", ".join(RED_FLAGS) + ")"


def parse_answers(text: str) -> Answers:
    """Parse ``pain=3,flags=none`` / ``pain=5,flags=leg_symptoms+night_pain`` / ``pain=skip``."""
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
    raw_flags = values.get("flags", "none")
    flags: tuple[str, ...] = ()
    if raw_flags != "none":
        flags = tuple(dict.fromkeys(f.strip() for f in raw_flags.split("+") if f.strip()))
        unknown = [f for f in flags if f not in RED_FLAGS]
        if unknown:
            raise AnswersError(f"unknown red flag {unknown[0]!r}; ids: {', '.join(RED_FLAGS)}")
    return Answers(pain, flags)


def ask(prompt_int: Callable[[str], int | None], confirm: Callable[[str], bool]) -> Answers:
    """Ask the questions with the given prompt functions (click's, in the terminal)."""
    pain = prompt_int("How bad is your back pain today, from 0 (none) to 10 (worst)?")
    flags = tuple(f.id for f in RED_FLAGS.values() if confirm(f.question))
    return Answers(pain, flags)
