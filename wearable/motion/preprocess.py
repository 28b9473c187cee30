"""Resampling onto a uniform grid and causal filtering, in chunks that carry their state.

Feeding a recording in one chunk or in many small ones gives the same output to the last bit of
ordering (the same operations on the same samples), which is what keeps the live detector's counts
equal to the offline analysis.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import signal

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

#: Rate of the uniform grid the engine works on, Hz. Tilt motions of the exercises stay below
#: ~2 Hz; 50 Hz leaves 0.02 s of timing resolution.
GRID_HZ = 50.0
#: Low-pass cut-off for the tilt estimate, Hz: passes slow and fast reps, drops tremor and impacts.
TILT_CUTOFF_HZ = 2.0
#: A hole in the data longer than this is a gap (disconnect), s.
GAP_S = 0.3

#: Band of the footfall measure (magnitude of the acceleration), Hz: the step rate of walking
#: (1.6-2.2 steps/s), above the slow rise and fall of the exercises and below muscle tremor
#: during holds (8-12 Hz).
STEP_BAND_HZ = (1.3, 3.0)

_SOS_HP = signal.butter(2, STEP_BAND_HZ, "bandpass", fs=GRID_HZ, output="sos")


@dataclass(frozen=True)
class GridChunk:
    """Samples on the uniform grid.

    Attributes
    ----------
    index : ndarray of int, shape (m,)
        Grid indices (sample k is at ``t0 + k / GRID_HZ``).
    t : ndarray, shape (m,)
        Times on the recording's clock, s.
    acc : ndarray, shape (m, 3)
        Acceleration, linearly interpolated, g.
    gyro : ndarray, shape (m, 3) or None
        Angular rate, deg/s.
    gap : ndarray of bool, shape (m,)
        True where the sample lies in a hole in the data longer than ``GAP_S``.
    """

    index: npt.NDArray[np.int64]
    t: FloatArray
    acc: FloatArray
    gyro: FloatArray | None
    gap: BoolArray

    def __len__(self) -> int:
        return int(self.t.shape[0])


class Resampler:
    """Linear interpolation of irregular samples onto the ``GRID_HZ`` grid, chunk by chunk.

    Grid point ``k`` is emitted once a sample at or after its time has arrived. Samples older than
    the last one seen are dropped (out-of-order packets).
    """

    def __init__(self) -> None:
        self.t0: float | None = None
        self._next_k = 0
        self._last_t = -np.inf
        self._last_acc = np.zeros(3)
        self._last_gyro: FloatArray | None = None
        self.has_gyro: bool | None = None

    def push(self, t: FloatArray, acc: FloatArray, gyro: FloatArray | None = None) -> GridChunk:
        """Add samples (t in s, acc in g (n, 3), gyro in deg/s (n, 3) or None)."""
        if self.has_gyro is None and t.size:
            self.has_gyro = gyro is not None
        if self.has_gyro and gyro is None:  # a batch without gyro: hold the last rates
            gyro = np.repeat(self._last_gyro_or_zero()[None, :], t.size, axis=0)
        if not self.has_gyro:
            gyro = None
        # Drop out-of-order samples and exact duplicates: keep strictly increasing times.
        prev = np.maximum.accumulate(np.concatenate(([self._last_t], t)))[:-1]
        keep = t > prev
        if not keep.all():
            t, acc = t[keep], acc[keep]
            gyro = gyro[keep] if gyro is not None else None
        if t.size == 0:
            return self._empty()
        if self.t0 is None:
            self.t0 = float(t[0])
            self._last_t = float(t[0]) - 1e-9
            self._last_acc = acc[0].astype(np.float64)
            if gyro is not None:
                self._last_gyro = gyro[0].astype(np.float64)
        # Known samples: the carried last one, then the new ones.
        ts = np.concatenate(([self._last_t], t))
        k_end = int(np.floor((ts[-1] - self.t0) * GRID_HZ)) + 1
        ks = np.arange(self._next_k, max(k_end, self._next_k), dtype=np.int64)
        tg = self.t0 + ks / GRID_HZ
        acc_s = np.vstack((self._last_acc[None, :], acc))
        out_acc = np.empty((ks.size, 3))
        for i in range(3):
            out_acc[:, i] = np.interp(tg, ts, acc_s[:, i])
        out_gyro = None
        if gyro is not None:
            gyro_s = np.vstack((self._last_gyro_or_zero()[None, :], gyro))
            out_gyro = np.empty((ks.size, 3))
            for i in range(3):
                out_gyro[:, i] = np.interp(tg, ts, gyro_s[:, i])
            self._last_gyro = gyro[-1].astype(np.float64)
        # Gap: the two samples around the grid point are far apart.
        pos = np.searchsorted(ts, tg, side="right")
        pos = np.clip(pos, 1, ts.size - 1)
        gap = (ts[pos] - ts[pos - 1]) > GAP_S
        self._last_t = float(t[-1])
        self._last_acc = acc[-1].astype(np.float64)
        self._next_k = max(k_end, self._next_k)
        return GridChunk(ks, tg, out_acc, out_gyro, gap)

    def _last_gyro_or_zero(self) -> FloatArray:
        return self._last_gyro if self._last_gyro is not None else np.zeros(3)

    def _empty(self) -> GridChunk:
        return GridChunk(np.zeros(0, np.int64), np.zeros(0), np.zeros((0, 3)),
                         np.zeros((0, 3)) if self.has_gyro else None, np.zeros(0, bool))


@functools.cache
def _lowpass_sos(cutoff_hz: float) -> FloatArray:
    """2nd-order Butterworth low-pass on the grid (second-order sections)."""
    return np.asarray(signal.butter(2, cutoff_hz, fs=GRID_HZ, output="sos"), dtype=np.float64)


class LowPass:
    """Causal 2nd-order Butterworth low-pass on columns, with state.

    Parameters
    ----------
    cutoff_hz : float
        Cut-off, Hz (``TILT_CUTOFF_HZ`` unless the profile asks for less).
    """

    def __init__(self, cutoff_hz: float = TILT_CUTOFF_HZ) -> None:
        self._sos = _lowpass_sos(cutoff_hz)
        self._zi: FloatArray | None = None

    def push(self, x: FloatArray) -> FloatArray:
        """Filter the next rows of ``x`` (shape (m, channels))."""
        if x.shape[0] == 0:
            return x.copy()
        if self._zi is None:  # start settled on the first value: no start-up transient
            self._zi = signal.sosfilt_zi(self._sos)[:, :, None] * x[0][None, None, :]
        y, self._zi = signal.sosfilt(self._sos, x, axis=0, zi=self._zi)
        return np.asarray(y, dtype=np.float64)


@functools.cache
def _lowpass_zi(cutoff_hz: float) -> FloatArray:
    """Steady-state filter state of :func:`_lowpass_sos` for a unit step, shape (sections, 2, 1)."""
    return np.asarray(signal.sosfilt_zi(_lowpass_sos(cutoff_hz)), dtype=np.float64)[:, :, None]


def zero_phase_lowpass(x: FloatArray, cutoff_hz: float = TILT_CUTOFF_HZ) -> FloatArray:
    """Forward-backward version of :class:`LowPass` for a finished window (no delay).

    The same as ``scipy.signal.sosfiltfilt(sos, x, axis=0, padlen=min(len(x) - 1, 50))`` (odd
    extension at both ends, each pass started settled on its first value), with the filter's
    steady state computed once rather than on every call: the engine times each rep with it,
    and on short windows working out that state cost a third of the filtering.
    """
    m = x.shape[0]
    if m < 16:
        return x.copy()
    sos, zi = _lowpass_sos(cutoff_hz), _lowpass_zi(cutoff_hz)
    n = min(m - 1, 50)
    ext = np.concatenate((2.0 * x[0] - x[n:0:-1], x, 2.0 * x[-1] - x[-2:-n - 2:-1]))
    y, _ = signal.sosfilt(sos, ext, axis=0, zi=zi * ext[0])
    y = y[::-1]
    y, _ = signal.sosfilt(sos, y, axis=0, zi=zi * y[0])
    return np.asarray(y[::-1][n:m + n], dtype=np.float64)


class ImpactMeter:
    """Squared band-passed magnitude of the acceleration, g² (footfalls), with state.

    Tilting leaves the magnitude at 1 g, so this responds to steps and not to the tilt.
    """

    def __init__(self) -> None:
        self._zi = np.zeros((_SOS_HP.shape[0], 2))
        self._started = False

    def push(self, acc: FloatArray) -> FloatArray:
        """Per-row squared band-passed magnitude of ``acc`` (shape (m, 3)), g²."""
        mag = np.sqrt(np.einsum("ij,ij->i", acc, acc))
        if mag.size == 0:
            return mag
        if not self._started:  # start settled on the first value (a step input gives nothing)
            self._zi = signal.sosfilt_zi(_SOS_HP) * mag[0]
            self._started = True
        y, self._zi = signal.sosfilt(_SOS_HP, mag, zi=self._zi)
        return np.asarray(y, dtype=np.float64) ** 2
