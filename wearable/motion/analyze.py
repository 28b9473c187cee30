"""Offline analysis of one recorded set."""

from __future__ import annotations

from rehablink.recording import Recording
from rehablink.results import SetResult
from wearable.motion.engine import Engine
from wearable.motion.profiles import get_profile


def analyze(recording: Recording, exercise: str, placement: str = "pelvis",
            hold_target_s: float | None = None) -> SetResult:
    """Count the reps and time the holds of one set.

    Parameters
    ----------
    recording : Recording
        The samples (s, g, deg/s), any mounting orientation, 25-200 Hz, gaps allowed.
    exercise : str
        Exercise id (see ``rehablink.exercises.EXERCISES``).
    placement : str
        ``"pelvis"`` (default) or ``"thigh"``.
    hold_target_s : float, optional
        Prescribed hold, s (reported back; the live detector announces it).

    Returns
    -------
    SetResult

    Raises
    ------
    KeyError
        Unknown exercise.
    ValueError
        Unknown placement.

    Examples
    --------
    >>> result = analyze(load_recording("bridge.csv"), "bridge")  # doctest: +SKIP
    >>> result.rep_count  # doctest: +SKIP
    10
    """
    engine = Engine(get_profile(exercise, placement), hold_target_s)
    if len(recording):
        engine.push(recording.t, recording.acc, recording.gyro)
    return engine.result(recording.duration_s, recording.sample_rate_hz)
