"""The sampling rates a sensor family can be set to, and the one nearest to a rate asked for.

Pure data, one :class:`Rates` per family in the registry (:mod:`firmware_protocol.registry`):
either a list of rates (a code table: RehabLink, WitMotion, Movesense; the periods a micro:bit
accepts), or every whole number in a span (the Thingy:52's motion processing frequency). A
sensor started from what it offers (Polar PMD) has none here: its own answer lists them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Rates:
    """Sampling rates a sensor takes, Hz: ``listed`` ones, or every whole number in ``span_hz``.

    Examples
    --------
    >>> rates = Rates(listed=(25, 50, 100, 200))
    >>> rates.nearest(60.0), rates.nearest(75.0), rates.nearest(1000.0), rates.supports(50.0)
    (50, 50, 200, True)
    >>> rates.words()
    '25, 50, 100 or 200 Hz'
    >>> Rates(span_hz=(1, 200)).nearest(52.4), Rates(span_hz=(1, 200)).words()
    (52, '1 to 200 Hz in whole numbers')
    """

    listed: tuple[float, ...] = ()
    span_hz: tuple[int, int] | None = None

    def __post_init__(self) -> None:
        if bool(self.listed) == (self.span_hz is not None):
            raise ValueError("give either listed rates or a span")
        if any(not (math.isfinite(r) and r > 0) for r in self.listed):
            raise ValueError(f"rates must be positive, got {self.listed}")
        if self.span_hz is not None and not 0 < self.span_hz[0] <= self.span_hz[1]:
            raise ValueError(f"a span of rates goes up from 1 Hz, got {self.span_hz}")

    def nearest(self, rate_hz: float) -> float:
        """The rate closest to ``rate_hz`` (the slower of two as close), Hz."""
        if self.span_hz is not None:
            low, high = self.span_hz
            return min(max(math.ceil(rate_hz - 0.5), low), high)
        return min(sorted(self.listed), key=lambda r: abs(r - rate_hz))

    def supports(self, rate_hz: float) -> bool:
        """Whether the sensor takes exactly ``rate_hz``."""
        return self.nearest(rate_hz) == rate_hz

    def words(self) -> str:
        """The rates for a person to read."""
        if self.span_hz is not None:
            return f"{self.span_hz[0]} to {self.span_hz[1]} Hz in whole numbers"
        shown = [f"{r:g}" for r in sorted(self.listed)]
        head = ", ".join(shown[:-1])
        return f"{head} or {shown[-1]} Hz" if head else f"{shown[-1]} Hz"
