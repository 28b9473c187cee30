"""Red flags: symptoms with back pain that need medical assessment, not exercise.

Asked at the end of every guided session; any "yes" shows advice to seek care and is stored as a
flag that raises an alert for the physiotherapist.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class RedFlag:
    """One red-flag question. ``urgent`` ones need emergency care; ``sign`` names the warning
    sign in the patient's words (told to a patient who did not answer the question)."""

    id: str
    question: str
    sign: str
    urgent: bool = False


RED_FLAGS: dict[str, RedFlag] = {
    f.id: f
    for f in (
        RedFlag("leg_symptoms",
                "Is the pain spreading below your knee, with numbness, tingling or leg weakness?",
                "pain spreading below the knee, with numbness, tingling or leg weakness"),
        RedFlag("bladder_bowel",
                "Have you newly lost control of your bladder or bowel, or is there numbness "
                "around your bottom or genitals?",
                "new loss of bladder or bowel control, or numbness around your bottom or "
                "genitals", urgent=True),
        RedFlag("night_pain",
                "Is the pain severe and unrelenting, not eased by rest, or worse at night?",
                "severe, unrelenting pain not eased by rest, or worse at night"),
        RedFlag("systemic",
                "Do you have a fever, unexplained weight loss or feel generally unwell?",
                "a fever, unexplained weight loss or feeling generally unwell"),
        RedFlag("trauma", "Did the pain start after a fall or another injury?",
                "pain that started after a fall or another injury"),
        RedFlag("no_improvement",
                "Has the pain not improved at all after about six weeks of exercises?",
                "pain not improved at all after about six weeks of exercises"),
    )
}

SEEK_CARE_ADVICE = (
    "Please stop these exercises for now and contact your GP or physiotherapist today. "
    "Your physiotherapist has been alerted."
)
URGENT_ADVICE = (
    "This can be serious: please seek urgent medical care now (call emergency services or go to "
    "the nearest emergency department)."
)

#: Said after a warning sign that needs emergency care, in the list of those not asked about.
URGENT_SIGN = (": this needs urgent medical care now (call emergency services or go to the "
               "nearest emergency department)")
#: Told to a patient whose red-flag questions were not all answered, before the warning signs
#: of those not asked (:func:`unasked_signs`).
ANSWER_NEXT_TIME = ("Please answer them at the end of your next session. If you have any of "
                    "these warning signs, contact your physiotherapist or GP today:")


def unasked_signs(unasked: Iterable[str]) -> list[str]:
    """The warning signs of the red-flag questions not asked, in the patient's words; urgent
    ones say to seek urgent care (unknown ids are left out).

    Examples
    --------
    >>> unasked_signs(["trauma"])
    ['pain that started after a fall or another injury']
    """
    return [RED_FLAGS[f].sign + (URGENT_SIGN if RED_FLAGS[f].urgent else "")
            for f in unasked if f in RED_FLAGS]
