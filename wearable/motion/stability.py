"""Pelvic stability: motion about the axes other than the rep's own, and its flag.

The accelerometer sees rotation about the two horizontal axes; the rep moves about one of them, so
the other (``across``) is compensation such as a pelvic drop or roll. With a gyro, the rotation
about every axis but the set's main one is integrated directly (a twist about the vertical
included, which gravity cannot see).
"""

from __future__ import annotations

from wearable.motion.profiles import PELVIS_ROTATING_DEG, MotionProfile
from wearable.motion.reps import RepTiming


def stability_deg(timing: RepTiming, profile: MotionProfile) -> float | None:
    """Peak motion about the other axes during the rep, degrees (None where not checked).

    For clamshells at the pelvis the counted motion is itself the pelvic roll, so its range is
    the compensation reported.
    """
    if profile.roll_is_compensation:
        return timing.rom_deg
    if not profile.stability_checked:
        return None
    yaw = timing.yaw_deg if timing.yaw_deg is not None else 0.0
    return max(timing.across_deg, yaw)


def is_rotating(stability: float | None) -> bool:
    """Whether a rep's stability measure earns the ``pelvis_rotating`` flag."""
    return stability is not None and stability > PELVIS_ROTATING_DEG
