"""Sample times on the host clock, and the gaps of a stream.

Pure. Sensors that stamp their samples are mapped through :class:`~wearable.clock.ClockAligner`.
Sensors that do not (WitMotion, micro:bit) sample at a known rate, so the n-th sample is at
n / rate on a virtual sensor clock; when notifications are lost, the batch that follows arrives
later than that clock predicts, by the time of the samples lost. :class:`UntimedTimeline` reads
that lag and moves its clock on, so the loss becomes a gap of the right length.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from wearable.clock import ClockAligner
from wearable.store import Gap

FloatArray = npt.NDArray[np.float64]


class UntimedTimeline:
    """Times on a virtual sensor clock (sample count / rate, s) for a sensor that sends no
    timestamps, moved on past the samples lost when a batch arrives late.

    Parameters
    ----------
    rate_hz : float
        The sensor's sampling rate, Hz.
    lag_threshold_s : float
        A batch arriving this much later than predicted means lost samples, s (radio latency
        jitter below it is ignored).

    Example
    -------
    >>> tl = UntimedTimeline(50.0)
    >>> tl.place(5, host_s=10.0).round(2).tolist()
    [0.0, 0.02, 0.04, 0.06, 0.08]
    >>> tl.place(5, host_s=11.1).round(2).tolist()  # late: a loss, or a busy computer?
    [0.1, 0.12, 0.14, 0.16, 0.18]
    >>> tl.place(5, host_s=11.3).round(2).tolist()  # still late: samples were lost
    [1.3, 1.32, 1.34, 1.36, 1.38]
    >>> tl.samples_lost  # 50 lost, and the 5 late ones counted in the gap they preceded
    55
    """

    def __init__(self, rate_hz: float, lag_threshold_s: float = 0.25,
                 confirm_s: float = 0.15) -> None:
        if rate_hz <= 0:
            raise ValueError(f"rate_hz must be positive, got {rate_hz}")
        self.rate_hz = rate_hz
        self.lag_threshold_s = lag_threshold_s
        self.confirm_s = confirm_s
        self.aligner = ClockAligner(wrap_s=None, max_jump_back_s=None)
        self._count = 0  # samples placed or skipped so far (virtual clock = count / rate)
        self._late_since: float | None = None
        self.samples_lost = 0

    def place(self, n: int, host_s: float) -> FloatArray:
        """Sensor-clock times, s, of a batch of ``n`` samples that arrived at ``host_s``.

        A late batch is not taken as a loss at once: a busy computer delivers notifications
        late and then in a burst that catches up. Only when batches keep arriving late for
        ``confirm_s`` (host s) is the lag a loss; the gap then opens before the current batch.
        """
        if n <= 0:
            return np.zeros(0)
        last_virtual = (self._count + n - 1) / self.rate_hz
        if self._count:
            lag = host_s - self.aligner.to_host(last_virtual)
            if lag <= self.lag_threshold_s:
                self._late_since = None
            elif self._late_since is None:
                self._late_since = host_s
            elif host_s - self._late_since >= self.confirm_s:
                # host seconds → sensor seconds (the sensor's clock may run fast or slow)
                skipped = round(lag / (1.0 + self.aligner.fit.skew) * self.rate_hz)
                self.samples_lost += skipped
                self._count += skipped
                last_virtual = (self._count + n - 1) / self.rate_hz
                self._late_since = None
        if self._late_since is None:  # late arrivals would only blur the clock fit
            self.aligner.observe_unwrapped(last_virtual, host_s)
        first = self._count
        self._count += n
        return (first + np.arange(n)) / self.rate_hz

    def reset_after_disconnect(self) -> None:
        """Nothing to do: the lag of the first batch after the reconnect measures the gap."""


def find_gaps(t: FloatArray, rate_hz: float, min_missing: int = 2) -> tuple[list[Gap], int]:
    """Gaps in sorted sample times, and the number of samples they miss.

    A gap is a step longer than ``(min_missing + 0.5) / rate_hz``; its duration is the time
    without samples beyond one sampling period.

    Parameters
    ----------
    t : ndarray, shape (n,)
        Sample times, s, sorted.
    rate_hz : float
        Nominal sampling rate, Hz.
    min_missing : int
        Report only gaps missing at least this many samples (single missing samples are
        radio jitter on untimed sensors, and cannot change a rep count).

    >>> find_gaps(np.array([0.0, 0.01, 0.02, 0.53, 0.54]), 100.0)
    ([Gap(start=0.02, duration_s=0.5)], 50)
    """
    if len(t) < 2 or rate_hz <= 0:
        return [], 0
    period = 1.0 / rate_hz
    steps = np.diff(t)
    idx = np.flatnonzero(steps > (min_missing + 0.5) * period)
    gaps = [Gap(start=round(float(t[i]), 6), duration_s=round(float(steps[i] - period), 6))
            for i in idx]
    lost = int(sum(round(float(steps[i]) * rate_hz) - 1 for i in idx))
    return gaps, lost
