"""Sensor clock → host clock: unwrap the sensor's wrapping timestamp and follow its drift.

Pure: no Bluetooth, no event loop. The streaming edge feeds it, per decoded batch, the sensor
timestamp and the host's ``time.monotonic()`` at arrival; it answers the host time of any sensor
timestamp.

How it works. Arrival = sensor time × (1 + skew) + offset + latency, where the radio latency is
always positive and often large (a connection event, a retransmission, a reconnect). The smallest
``host - sensor`` seen in each block of sensor time is the closest to the true offset, so the
aligner keeps one minimum per block and fits a straight line through the recent minima: its
slope is the clock drift (a 200 ppm crystal error is 0.72 s an hour) and its intercept the offset.
Until three blocks exist the running minimum alone is used (no drift).

Example
-------
>>> a = ClockAligner(wrap_s=65.536)
>>> a.observe(65.5, 1000.0)
65.5
>>> a.observe(0.1, 1000.136)  # wrapped: 0.1 s is 65.636 s on the unwrapped clock
65.636
>>> round(a.to_host(65.636), 3)
1000.136
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ClockFit:
    """The current sensor → host mapping: ``host = sensor + offset_s + skew * (sensor - ref_s)``.

    ``skew`` is dimensionless (200 ppm fast host clock → 2e-4).
    """

    offset_s: float
    skew: float
    ref_s: float

    def to_host(self, sensor_s: float) -> float:
        """Host time, s, of an unwrapped sensor time, s."""
        return sensor_s + self.offset_s + self.skew * (sensor_s - self.ref_s)

    def to_sensor(self, host_s: float) -> float:
        """Inverse of :meth:`to_host`."""
        return (host_s - self.offset_s + self.skew * self.ref_s) / (1.0 + self.skew)


class ClockAligner:
    """Unwrap a wrapping sensor clock and map it onto the host's monotonic clock.

    Parameters
    ----------
    wrap_s : float or None
        Period after which the sensor timestamp wraps to zero, s (e.g. 65.536 for a 16-bit
        millisecond counter); None when it never wraps in practice.
    block_s : float
        Length of sensor time over which one minimum delay is kept, s.
    history_blocks : int
        How many recent block minima the drift fit uses.
    max_jump_back_s : float or None
        A step back of the sensor clock larger than this (and not a wrap) is a reboot: the
        aligner starts a new epoch (see :attr:`reboots`). None when the caller detects reboots
        itself (resent packets legitimately step back) and calls :meth:`restart_epoch`.
    """

    def __init__(self, wrap_s: float | None = None, block_s: float = 2.0,
                 history_blocks: int = 150, max_jump_back_s: float | None = 1.0) -> None:
        if wrap_s is not None and wrap_s <= 0:
            raise ValueError(f"wrap_s must be positive, got {wrap_s}")
        if block_s <= 0 or history_blocks < 3:
            raise ValueError("block_s must be positive and history_blocks at least 3")
        self.wrap_s = wrap_s
        self.block_s = block_s
        self.max_jump_back_s = max_jump_back_s
        self._blocks: deque[tuple[float, float]] = deque(maxlen=history_blocks)
        self._block_index: int | None = None
        self._last_raw: float | None = None
        self._wraps = 0
        self._epoch_shift = 0.0
        self._last_unwrapped: float | None = None
        self._fit: ClockFit | None = None
        #: Number of sensor reboots (clock restarts) seen.
        self.reboots = 0

    # -- unwrapping -------------------------------------------------------------------------
    def unwrap(self, raw_s: float, host_s: float | None = None) -> float:
        """Unwrapped sensor time of a raw timestamp, s (updates the wrap count).

        A reboot (the clock restarts) starts a new epoch placed where the host clock ``host_s``
        says it is (without ``host_s``, right after the last time seen), so unwrapped time never
        runs backwards and the time the sensor was down shows as a gap.
        """
        if self._last_raw is not None:
            back = self._last_raw - raw_s
            if self.wrap_s is not None and back > self.wrap_s / 2:
                self._wraps += 1
            elif self.max_jump_back_s is not None and back > self.max_jump_back_s:
                self._restart_epoch(raw_s, host_s)
        self._last_raw = raw_s
        value = raw_s + self._wraps * (self.wrap_s or 0.0) + self._epoch_shift
        self._last_unwrapped = value
        return value

    def restart_epoch(self, raw_s: float, host_s: float | None) -> None:
        """The sensor rebooted: its next timestamp ``raw_s`` (arriving at ``host_s``) starts a
        new epoch, placed on the host clock after the old one."""
        if self._last_unwrapped is not None:
            self._restart_epoch(raw_s, host_s)
            self._last_raw = None

    def _restart_epoch(self, raw_s: float, host_s: float | None) -> None:
        assert self._last_unwrapped is not None
        self.reboots += 1
        self._wraps = 0
        start = self._last_unwrapped
        if host_s is not None and self._blocks:
            # Where the old mapping puts this arrival (its latency is within the new fit).
            start = max(start, self.fit.to_sensor(host_s))
        self._epoch_shift = start - raw_s
        self._blocks.clear()
        self._block_index = None
        self._fit = None

    # -- alignment --------------------------------------------------------------------------
    def observe(self, raw_sensor_s: float, host_s: float) -> float:
        """Record that a sample stamped ``raw_sensor_s`` arrived at host time ``host_s``.

        Returns the unwrapped sensor time, s.
        """
        s = self.unwrap(raw_sensor_s, host_s)
        self.observe_unwrapped(s, host_s)
        return s

    def observe_unwrapped(self, sensor_s: float, host_s: float) -> None:
        """As :meth:`observe` for a time already unwrapped (no wrap bookkeeping)."""
        delay = host_s - sensor_s
        index = int(sensor_s // self.block_s)
        if self._block_index == index and self._blocks:
            if delay < self._blocks[-1][1]:
                self._blocks[-1] = (sensor_s, delay)
        else:
            self._blocks.append((sensor_s, delay))
            self._block_index = index
        self._fit = None

    @property
    def fit(self) -> ClockFit:
        """The current mapping (raises ``RuntimeError`` before the first observation)."""
        if self._fit is None:
            self._fit = self._compute_fit()
        return self._fit

    def _compute_fit(self) -> ClockFit:
        if not self._blocks:
            raise RuntimeError("no observation yet")
        pts = np.asarray(self._blocks, dtype=np.float64)
        s, d = pts[:, 0], pts[:, 1]
        if len(pts) < 3 or float(np.ptp(s)) < 2 * self.block_s:
            return ClockFit(offset_s=float(d.min()), skew=0.0, ref_s=float(s[-1]))
        ref = float(s[-1])
        skew, intercept = np.polyfit(s - ref, d, 1)
        if len(pts) >= 6:
            # Blocks whose every sample came late (a resend after a reconnect) sit far above
            # the line; refit on the lower half so they cannot tilt it.
            resid = d - (intercept + skew * (s - ref))
            low = resid <= np.median(resid)
            if int(low.sum()) >= 3 and float(np.ptp(s[low])) >= 2 * self.block_s:
                skew, intercept = np.polyfit(s[low] - ref, d[low], 1)
        # The line through the minima still sits above the true offset by the typical minimum
        # latency's scatter; shift it down to the lowest residual so no minimum lies below it.
        resid = d - (intercept + skew * (s - ref))
        return ClockFit(offset_s=float(intercept + resid.min()), skew=float(skew), ref_s=ref)

    def to_host(self, sensor_s: float) -> float:
        """Host time, s, of an unwrapped sensor time, s."""
        return self.fit.to_host(sensor_s)
