"""Exponential backoff (pure): how long to wait after ``attempt`` failures in a row."""

from __future__ import annotations

import random

BASE_S = 1.0
CAP_S = 300.0
#: Between background runs the wait grows to at most six hours.
BACKGROUND_CAP_S = 6 * 3600.0


def backoff_delay(attempt: int, base_s: float = BASE_S, cap_s: float = CAP_S,
                  jitter: float = 0.1, rng: random.Random | None = None) -> float:
    """Seconds to wait before retry number ``attempt`` (1 = first retry).

    ``base * 2**(attempt-1)``, capped at ``cap_s``, spread by +-``jitter`` (a fraction) so
    that many companions do not retry in step.

    Examples
    --------
    >>> [backoff_delay(n, jitter=0) for n in (1, 2, 3, 10)]
    [1.0, 2.0, 4.0, 300.0]
    """
    if attempt < 1:
        return 0.0
    delay = min(cap_s, base_s * 2.0 ** min(attempt - 1, 60))
    spread = (rng or random).uniform(-jitter, jitter) if jitter else 0.0
    return max(0.0, delay * (1.0 + spread))
