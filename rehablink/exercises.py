"""The exercise registry: ids used everywhere in the product (see docs/exercises.md).

The registry is data. Messages about unknown ids are built from its keys so they never drift.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Placement(StrEnum):
    """Where the sensor is worn."""

    PELVIS = "pelvis"
    THIGH = "thigh"


@dataclass(frozen=True)
class Exercise:
    """One exercise of the programme.

    Attributes
    ----------
    id : str
        Stable id used in files, the API and the database.
    name : str
        Name shown to patients and physiotherapists.
    cue : str
        One-line coaching cue for the live display.
    position : str
        Body position during the set: ``"supine"``, ``"side_lying"`` or ``"standing"``.
    pelvis_motion : str
        What the pelvis does in a good rep.
    rom_range_deg : tuple[float, float]
        Typical peak tilt change of the pelvis in a good rep, degrees.
    holds : bool
        Whether the exercise is usually held at the top.
    stability_matters : bool
        Whether the pelvis must stay still about its other axes (stability is reported and flagged).
    """

    id: str
    name: str
    cue: str
    position: str
    pelvis_motion: str
    rom_range_deg: tuple[float, float]
    holds: bool
    stability_matters: bool


EXERCISES: dict[str, Exercise] = {
    e.id: e
    for e in (
        Exercise("bridge", "Glute bridge",
                 "Squeeze your glutes, lift your hips into a line, lower slowly.",
                 "supine", "lifts 8-20 cm and tilts 15-35 deg", (15.0, 35.0), True, False),
        Exercise("single_leg_bridge", "Single-leg bridge",
                 "One foot up, lift your hips and keep them level.",
                 "supine", "lifts and tilts less; should stay level", (8.0, 25.0), True, True),
        Exercise("clamshell", "Clamshell",
                 "Feet together, lift the top knee; keep your pelvis still.",
                 "side_lying", "ideally nothing; a few degrees of roll is compensation",
                 (2.0, 8.0), True, True),
        Exercise("side_leg_raise", "Side-lying leg raise",
                 "Legs straight, lift the top leg, toes slightly down; no rolling back.",
                 "side_lying", "hikes 3-10 deg about the front-back axis", (3.0, 10.0), True, True),
        Exercise("hip_hitch", "Hip hitch",
                 "Stand on one leg, lift the other side of your pelvis, lower slowly.",
                 "standing", "tilts 4-12 deg sideways", (4.0, 12.0), True, True),
        Exercise("hip_hinge", "Hip hinge",
                 "Hinge forward at the hip, back and leg in a line, hips level.",
                 "standing", "pitches forward 30-80 deg; should stay level", (30.0, 80.0), False,
                 True),
        Exercise("squat", "Squat", "Sit back and down, chest up, stand tall.",
                 "standing", "drops 25-50 cm and pitches 10-35 deg", (10.0, 35.0), False, False),
        Exercise("step_up", "Step-up", "Step up, stand tall, step down with control.",
                 "standing", "rises and falls with a small pitch", (3.0, 15.0), False, False),
        Exercise("generic", "Other exercise", "Move steadily through your full range.",
                 "any", "the dominant tilt", (3.0, 90.0), True, False),
    )
}


def get_exercise(exercise_id: str) -> Exercise:
    """Return the exercise with this id.

    Raises
    ------
    KeyError
        With a message listing the known ids.
    """
    try:
        return EXERCISES[exercise_id]
    except KeyError:
        raise KeyError(
            f"unknown exercise {exercise_id!r}; known: {', '.join(EXERCISES)}"
        ) from None
