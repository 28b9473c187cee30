"""Events of the live detector (times in s on the recording's clock)."""

from __future__ import annotations

from dataclasses import dataclass

from rehablink.results import Rep


@dataclass(frozen=True)
class RepStarted:
    """The segment left rest."""

    t: float


@dataclass(frozen=True)
class TopReached:
    """The lift stopped: the hold timer runs from ``t``."""

    t: float


@dataclass(frozen=True)
class HoldTargetReached:
    """The hold has lasted the prescribed time."""

    t: float


@dataclass(frozen=True)
class RepCompleted:
    """A rep was counted; ``count`` is the set's count with it, as the set-level review gives
    it (movements counted before and found to be no reps are taken back, a rep a hole in the
    data hid is added: it rises by one or more). ``rep.end`` is provisional (the segment may
    still be settling); :meth:`LiveDetector.finish` gives the final timing."""

    t: float
    rep: Rep
    count: int


@dataclass(frozen=True)
class CountRevised:
    """The set's review changed the count other than by a rep just counted: movements counted
    earlier were no reps after all (the way into the exercise's posture, the first steps of a
    walk), or a hole in the data hid a rep. ``count`` is the set's count now."""

    t: float
    count: int


@dataclass(frozen=True)
class PartialAttempt:
    """A movement below a third of the set's typical range: not counted."""

    t: float
    rom_deg: float


@dataclass(frozen=True)
class StabilityWarning:
    """The pelvis moved about its other axes by ``deg`` during a rep."""

    t: float
    deg: float


Event = (RepStarted | TopReached | HoldTargetReached | RepCompleted | CountRevised
         | PartialAttempt | StabilityWarning)
