"""The streaming detector: samples as they arrive, events for the live display."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from rehablink.results import SetResult
from wearable.motion.engine import Engine
from wearable.motion.events import Event
from wearable.motion.profiles import get_profile

FloatArray = npt.NDArray[np.float64]

#: Samples are processed once this much time has been buffered, s: numpy's per-call cost is
#: shared by several samples while the added delay stays small.
PROCESS_EVERY_S = 0.2


class LiveDetector:
    """Count reps while the set is going on.

    Parameters
    ----------
    exercise : str
        Exercise id.
    placement : str
        ``"pelvis"`` or ``"thigh"``.
    hold_target_s : float, optional
        Prescribed hold, s: ``HoldTargetReached`` is emitted when it is reached.
    sample_rate_hz : float, optional
        Nominal rate, reported in the result (estimated from the timestamps otherwise).

    Examples
    --------
    >>> det = LiveDetector("bridge", hold_target_s=3.0)
    >>> for t, acc in batches:  # doctest: +SKIP
    ...     for event in det.feed(t, acc):
    ...         show(event)
    >>> det.finish().rep_count  # doctest: +SKIP
    """

    def __init__(self, exercise: str, placement: str = "pelvis",
                 hold_target_s: float | None = None,
                 sample_rate_hz: float | None = None) -> None:
        self._engine = Engine(get_profile(exercise, placement), hold_target_s, live=True)
        self._rate = sample_rate_hz
        self._bt: list[FloatArray] = []
        self._ba: list[FloatArray] = []
        self._bg: list[FloatArray] = []
        self._gyro: bool | None = None
        self._buffer_from: float | None = None
        self._first_t: float | None = None
        self._last_t: float | None = None
        self._dts: list[float] = []

    def feed(self, t: FloatArray, acc: FloatArray, gyro: FloatArray | None = None) -> list[Event]:
        """Add a batch of samples and return the events it completes.

        Parameters
        ----------
        t : ndarray, shape (n,)
            Sample times, s.
        acc : ndarray, shape (n, 3)
            Acceleration, g.
        gyro : ndarray, shape (n, 3), optional
            Angular rate, deg/s.
        """
        # Per-call work stays minimal: batches are only collected here and processed together.
        # They are copied, since a caller may refill the same buffers for the next batch.
        t = np.array(t, dtype=np.float64).reshape(-1)
        if t.size == 0:
            return []
        if self._gyro is None:
            self._gyro = gyro is not None
        if self._gyro:
            self._bg.append(np.zeros((t.size, 3)) if gyro is None
                            else np.array(gyro, dtype=np.float64))
        first = float(t[0])
        if self._buffer_from is None:
            self._buffer_from = first
            if self._first_t is None:
                self._first_t = first
        self._last_t = float(t[-1])
        self._bt.append(t)
        self._ba.append(np.array(acc, dtype=np.float64))
        if self._last_t - self._buffer_from < PROCESS_EVERY_S:
            return []
        return self._flush()

    def _flush(self) -> list[Event]:
        if not self._bt:
            return []
        t = np.concatenate(self._bt)
        acc = np.asarray(np.concatenate(self._ba), dtype=np.float64).reshape(-1, 3)
        gyro = (np.asarray(np.concatenate(self._bg), dtype=np.float64).reshape(-1, 3)
                if self._gyro else None)
        if len(self._dts) < 2000:
            self._dts.extend(np.diff(t).tolist())
        self._bt, self._ba, self._bg = [], [], []
        self._buffer_from = None
        return self._engine.push(t, acc, gyro)

    def finish(self) -> SetResult:
        """End the set: process what is buffered and return the analysis of the whole set."""
        self._flush()
        duration = 0.0
        if self._first_t is not None and self._last_t is not None:
            duration = self._last_t - self._first_t
        rate = self._rate
        if rate is None:
            dts = np.asarray([d for d in self._dts if d > 0])
            rate = float(1.0 / np.median(dts)) if dts.size else 0.0
        return self._engine.result(duration, rate)
