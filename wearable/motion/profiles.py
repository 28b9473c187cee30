"""Engine settings per exercise and placement: a registry built from the exercise registry.

Angles are degrees of tilt of the body segment the sensor is on; times are seconds.
"""

from __future__ import annotations

from dataclasses import dataclass

from rehablink.exercises import EXERCISES, Placement, get_exercise
from wearable.motion.anchor import SHIFT_ANGLE_DEG
from wearable.motion.preprocess import TILT_CUTOFF_HZ

#: Pelvic motion about the other axes above which a rep is flagged ``pelvis_rotating``, degrees.
#: Physiotherapy cues treat a visible pelvic roll or drop as compensation; 5 degrees is about the
#: smallest roll an observer reliably sees, and well above the sensor's noise after filtering.
PELVIS_ROTATING_DEG = 5.0

#: A rep is a partial attempt below this share of the set's typical range (issue 2, section 3).
PARTIAL_SHARE = 1.0 / 3.0
#: A counted rep below this share of the typical range carries ``reduced_rom``.
REDUCED_ROM_SHARE = 0.7
#: Shortest movement that can be a rep, s: a lift and a lowering of any of the exercises take
#: longer (fast patients about 1.5 s); a quicker flick of full range is a knock, a slip or a
#: step on the way to getting up.
MIN_REP_S = 0.9
#: ... and for step-ups at the thigh, whose movements are halves of a rep (stepping up, stepping
#: down), s.
MIN_STEP_MOVEMENT_S = 0.6
#: A still orientation further than this from the rest is another posture (standing up between
#: floor exercises, or from the floor before standing ones, tilts the pelvis or thigh by 60-90
#: deg), degrees; see also ``review.other_posture``.
OTHER_POSTURE_DEG = 45.0
#: Longest stillness at the top of a rep of an exercise without a hold (hip hinge, squat,
#: step-up), s: they turn there, pausing a moment at most.
TURN_STILL_S = 2.0
#: Stillness away from rest is a posture shift from ``anchor.SHIFT_ANGLE_DEG`` off the reps' way
#: on (see ``segment.SPREAD_MARGIN_DEG`` for the set's own spread of ways), and from this angle
#: on for step-ups at the pelvis, degrees: they lean sideways by 2-6 deg on the step as they
#: lean forward by 3-10, so their tops lie up to about 60 deg from the reps' mean way.
STEP_SHIFT_ANGLE_DEG = 75.0
#: Tilt low-pass without a gyro for the exercises that carry the pelvis bodily (hip hinge, squat,
#: step-up at the pelvis), Hz. Their forward, back, up and down motion (0.1-0.5 m in about a
#: second) bends the accelerometer's gravity by up to 20 deg, where the tilt itself is 3-10 deg
#: for step-ups; a translation starts and ends at rest, so its acceleration averages out over it
#: and a low cut-off removes most of it, where the usual 2 Hz passes it whole. The tilt is
#: smoothed too (lifts take 0.7 s or more). 0.4-0.6 Hz were best on development sets.
TRANSLATION_CUTOFF_HZ = 0.6


@dataclass(frozen=True)
class MotionProfile:
    """How the engine treats one exercise at one placement.

    Attributes
    ----------
    exercise : str
        Exercise id.
    placement : str
        ``"pelvis"`` or ``"thigh"``.
    rom_range_deg : tuple[float, float]
        Plausible tilt range of a good rep, degrees (the low end is the prior of the typical
        range).
    max_rom_deg : float
        Excursions beyond this are posture changes (lying down, getting up), never reps.
    holds : bool
        Whether the exercise holds at the top of a rep (for up to 10 s).
    max_still_away_s : float
        Longest time the segment may stay still away from rest and still be holding a rep.
    top_still_s : float
        Longest stillness at a rep's top: exercises without a hold (hip hinge, squat,
        step-up) only turn there; held ones may hold as long as ``max_still_away_s``.
    shift_angle_deg : float
        Stillness away from rest at least this far from the reps' way (and from their own
        spread of ways) is a posture shift, degrees.
    max_excursion_s : float
        Longest time away from rest that can still be one rep (slow lift, hold, slow lowering).
    stability_checked : bool
        Whether motion about the other axes is reported and flagged.
    roll_is_compensation : bool
        Clamshell at the pelvis: the counted motion itself is the pelvic roll.
    two_phase : bool
        Step-ups: two tilt humps per rep (leaning up, leaning down), upright at the top.
    step_halves : bool
        Step-ups at the thigh: two movements per rep, stepping up (the body rises) and stepping
        down (it falls), upright on the step in between; they are joined into one rep. (At the
        pelvis the lean of the two halves makes one movement; pairing pelvis movements by their
        net rise was tried and lost as many sets as it repaired.)
    step_impacts : bool
        Whether the exercise itself shakes the step band (squats, step-ups: the body rises and
        falls), so walking needs a stronger footfall signal.
    thigh_outswings_gait : bool
        At the thigh, standing exercises whose thigh tilts far beyond a walk's swing (squats,
        step-ups): an excursion that large is the exercise even when it rings in the footfall
        band.
    min_movement_s : float
        Shortest timed movement that can be a rep (or, for step-ups, half of one), s.
    acc_tilt_cutoff_hz : float
        Low-pass of the accelerometer's gravity when there is no gyro, Hz.
    """

    exercise: str
    placement: str
    rom_range_deg: tuple[float, float]
    max_rom_deg: float
    holds: bool
    max_still_away_s: float
    top_still_s: float
    shift_angle_deg: float
    max_excursion_s: float
    stability_checked: bool
    roll_is_compensation: bool
    two_phase: bool
    step_halves: bool
    step_impacts: bool
    thigh_outswings_gait: bool
    min_movement_s: float
    acc_tilt_cutoff_hz: float = TILT_CUTOFF_HZ


#: Typical thigh tilt ranges when the sensor is strapped above the knee, degrees.
_THIGH_RANGE_DEG: dict[str, tuple[float, float]] = {
    "clamshell": (15.0, 60.0),
    # The thigh of the lifted side hangs from the pelvis and tilts with it, somewhat less.
    "hip_hitch": (4.0, 12.0),
    "side_leg_raise": (10.0, 45.0),
    "hip_hinge": (10.0, 60.0),
    "squat": (30.0, 100.0),
    "step_up": (20.0, 90.0),
}


def get_profile(exercise_id: str, placement: str = "pelvis") -> MotionProfile:
    """The engine profile of an exercise at a placement.

    Raises
    ------
    KeyError
        Unknown exercise (message lists the known ids).
    ValueError
        Unknown placement (message lists the known placements).
    """
    ex = get_exercise(exercise_id)
    try:
        place = Placement(placement)
    except ValueError:
        known = ", ".join(p.value for p in Placement)
        raise ValueError(f"unknown placement {placement!r}; known: {known}") from None
    if place is Placement.THIGH:
        lo, hi = _THIGH_RANGE_DEG.get(ex.id, (10.0, 90.0))
    else:
        lo, hi = ex.rom_range_deg
    two_phase = ex.id == "step_up" and place is Placement.PELVIS
    max_still_away_s = 30.0 if ex.holds else 8.0
    # Generous: a strong patient may exceed the textbook range, a posture change is ~60-90 deg.
    max_rom = min(max(2.0 * hi, hi + 15.0), 150.0)
    return MotionProfile(
        exercise=ex.id,
        placement=place.value,
        rom_range_deg=(lo, hi),
        max_rom_deg=max_rom,
        holds=ex.holds,
        max_still_away_s=max_still_away_s,
        top_still_s=max_still_away_s if ex.holds else TURN_STILL_S,
        shift_angle_deg=STEP_SHIFT_ANGLE_DEG if two_phase else SHIFT_ANGLE_DEG,
        max_excursion_s=45.0 if ex.holds else 15.0,
        stability_checked=ex.stability_matters and place is Placement.PELVIS,
        roll_is_compensation=ex.id == "clamshell" and place is Placement.PELVIS,
        two_phase=two_phase,
        step_halves=ex.id == "step_up" and place is Placement.THIGH,
        # At the thigh walking swings the sensor hard, so the usual footfall level applies.
        step_impacts=ex.id in ("step_up", "squat") and place is Placement.PELVIS,
        thigh_outswings_gait=ex.id in ("step_up", "squat") and place is Placement.THIGH,
        min_movement_s=(MIN_STEP_MOVEMENT_S if ex.id == "step_up" and place is Placement.THIGH
                        else MIN_REP_S),
        acc_tilt_cutoff_hz=(TRANSLATION_CUTOFF_HZ if place is Placement.PELVIS
                            and ex.id in ("hip_hinge", "squat", "step_up") else TILT_CUTOFF_HZ),
    )


__all__ = ["EXERCISES", "OTHER_POSTURE_DEG", "PARTIAL_SHARE", "PELVIS_ROTATING_DEG",
           "REDUCED_ROM_SHARE", "TRANSLATION_CUTOFF_HZ", "MotionProfile", "get_profile"]
