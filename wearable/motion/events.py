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
    """A rep was counted; ``count`` is the running count. ``rep.end`` is provisional (the
    segment may still be settling); :meth:`LiveDetector.finish` gives the final timing."""

    t: float
    rep: Rep
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


Event = (RepStarted | TopReached | HoldTargetReached | RepCompleted | PartialAttempt
         | StabilityWarning)
