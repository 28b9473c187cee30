"""The sensor's view of a recording: samples at its own rate and on its own (drifting) clock.

Pure and deterministic: no event loop, no Bluetooth. The simulated sensor asks
:meth:`Replay.samples_until` for the samples its crystal has produced by a given moment of
recording time and turns them into notifications.

Clock model: the world runs on recording time ``tau`` (s since the recording's first sample).
A sensor whose crystal runs ``drift_ppm`` fast takes sample ``k`` of a stream started at
``tau_start`` when its own clock has advanced ``k / rate``, i.e. at
``tau_k = tau_start + k / (rate * (1 + drift))``, and stamps it with its own clock. The value is
the recording at ``tau_k`` (linear interpolation; exact when the rates match and the stream starts
on a recording sample).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from rehablink.recording import Recording

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, eq=False)
class Samples:
    """Samples produced by the sensor, in order.

    Attributes
    ----------
    tau_s : ndarray, shape (n,)
        Recording time at which each sample was taken, s.
    sensor_time_s : ndarray, shape (n,)
        The sensor's own clock for each sample, s since its last boot.
    acc_g : ndarray, shape (n, 3)
        Acceleration, g.
    gyro_dps : ndarray, shape (n, 3) or None
        Angular rate, deg/s, when the recording has it.
    """

    tau_s: FloatArray
    sensor_time_s: FloatArray
    acc_g: FloatArray
    gyro_dps: FloatArray | None

    def __len__(self) -> int:
        return int(self.tau_s.shape[0])


class Replay:
    """A recording replayed by a sensor sampling at ``rate_hz`` with a drifting clock.

    Parameters
    ----------
    recording : Recording
        The motion to replay.
    rate_hz : float
        The sensor's nominal sampling rate, Hz.
    drift_ppm : float
        Crystal error, ppm (positive: the sensor's clock runs fast).

    Examples
    --------
    >>> t = np.arange(5) / 50.0
    >>> rec = Recording(t, np.column_stack([t, t, t]))
    >>> r = Replay(rec, 50.0)
    >>> r.start(0.0, boot_tau_s=0.0)
    >>> s = r.samples_until(0.05)
    >>> s.acc_g[:, 0].tolist(), s.sensor_time_s.tolist()
    ([0.0, 0.02, 0.04], [0.0, 0.02, 0.04])
    """

    def __init__(self, recording: Recording, rate_hz: float, drift_ppm: float = 0.0) -> None:
        if len(recording) < 2:
            raise ValueError("a recording needs at least two samples to be replayed")
        if rate_hz <= 0:
            raise ValueError("rate must be positive")
        self._t = recording.t - recording.t[0]
        self._acc = recording.acc
        self._gyro = recording.gyro
        self.rate_hz = float(rate_hz)
        self.drift = drift_ppm * 1e-6
        self._start_tau: float | None = None
        self._boot_tau = 0.0
        self._next_k = 0

    @property
    def duration_s(self) -> float:
        """Recording time from the first to the last sample, s."""
        return float(self._t[-1])

    @property
    def has_gyro(self) -> bool:
        """True when the recording has angular rate."""
        return self._gyro is not None

    @property
    def streaming(self) -> bool:
        """True between :meth:`start` and :meth:`stop`."""
        return self._start_tau is not None

    def sensor_clock_s(self, tau_s: float) -> float:
        """The sensor's clock at recording time ``tau_s``, s since its last boot."""
        return (tau_s - self._boot_tau) * (1.0 + self.drift)

    def start(self, tau_s: float, boot_tau_s: float) -> None:
        """Start sampling at the first recording sample at or after ``tau_s``.

        ``boot_tau_s`` is when the sensor last booted (its clock's zero).
        """
        grid = self._t[np.searchsorted(self._t, tau_s - 1e-9)] if tau_s <= self._t[-1] else tau_s
        self._start_tau = float(grid)
        self._boot_tau = boot_tau_s
        self._next_k = 0

    def stop(self) -> None:
        """Stop sampling."""
        self._start_tau = None

    def set_rate(self, rate_hz: float) -> None:
        """Change the nominal rate (only while stopped)."""
        if self.streaming:
            raise RuntimeError("the rate can only change while stopped")
        self.rate_hz = float(rate_hz)

    def _tau_of(self, k: int) -> float:
        assert self._start_tau is not None
        return self._start_tau + k / (self.rate_hz * (1.0 + self.drift))

    def next_sample_tau(self) -> float | None:
        """Recording time of the next sample to be taken, or None when stopped or finished."""
        if self._start_tau is None or self.finished:
            return None
        return self._tau_of(self._next_k)

    @property
    def finished(self) -> bool:
        """True once every sample up to the end of the recording has been taken."""
        return self._start_tau is not None and self._tau_of(self._next_k) > self._t[-1] + 1e-9

    def samples_until(self, tau_s: float) -> Samples:
        """Samples taken up to recording time ``tau_s`` (inclusive) since the last call."""
        if self._start_tau is None:
            return _empty(self.has_gyro)
        end = min(tau_s, float(self._t[-1])) + 1e-9
        last_k = math.floor((end - self._start_tau) * self.rate_hz * (1.0 + self.drift))
        if last_k < self._next_k:
            return _empty(self.has_gyro)
        k = np.arange(self._next_k, last_k + 1, dtype=np.float64)
        self._next_k = last_k + 1
        tau = self._start_tau + k / (self.rate_hz * (1.0 + self.drift))
        tau = np.minimum(tau, self._t[-1])
        acc = np.column_stack([np.interp(tau, self._t, self._acc[:, i]) for i in range(3)])
        gyro = (
            np.column_stack([np.interp(tau, self._t, self._gyro[:, i]) for i in range(3)])
            if self._gyro is not None
            else None
        )
        sensor_time = (self._start_tau - self._boot_tau) * (1.0 + self.drift) + k / self.rate_hz
        return Samples(tau, sensor_time, acc, gyro)


def _empty(has_gyro: bool) -> Samples:
    none = np.zeros(0)
    return Samples(none, none, np.zeros((0, 3)), np.zeros((0, 3)) if has_gyro else None)
