"""A recorded motion stream: timestamps, acceleration and (optionally) angular rate.

The interchange format is a CSV with header ``t,ax,ay,az`` and optional ``gx,gy,gz``: ``t`` in
seconds (irregular steps and gaps allowed), acceleration in g, angular rate in deg/s.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

ACC_COLUMNS = ("t", "ax", "ay", "az")
GYRO_COLUMNS = ("gx", "gy", "gz")


class RecordingError(ValueError):
    """A recording that cannot be used; the message says what is wrong and where."""


@dataclass(frozen=True, eq=False)
class Recording:
    """Samples of one sensor.

    Attributes
    ----------
    t : ndarray, shape (n,)
        Sample times, s, non-decreasing.
    acc : ndarray, shape (n, 3)
        Acceleration in the sensor frame, g.
    gyro : ndarray, shape (n, 3) or None
        Angular rate in the sensor frame, deg/s, where the sensor has a gyro.
    """

    t: FloatArray
    acc: FloatArray
    gyro: FloatArray | None = None

    def __post_init__(self) -> None:
        n = self.t.shape[0]
        if self.t.ndim != 1 or self.acc.shape != (n, 3):
            raise ValueError(f"shape mismatch: t {self.t.shape}, acc {self.acc.shape}")
        if self.gyro is not None and self.gyro.shape != (n, 3):
            raise ValueError(f"shape mismatch: t {self.t.shape}, gyro {self.gyro.shape}")

    def __len__(self) -> int:
        return int(self.t.shape[0])

    @property
    def duration_s(self) -> float:
        """Time from the first to the last sample, s."""
        return float(self.t[-1] - self.t[0]) if len(self) else 0.0

    @property
    def sample_rate_hz(self) -> float:
        """Median sampling rate, Hz (0 for fewer than two samples)."""
        if len(self) < 2:
            return 0.0
        dt = np.diff(self.t)
        dt = dt[dt > 0]
        return float(1.0 / np.median(dt)) if dt.size else 0.0

    def write_csv(self, path: str | Path) -> None:
        """Write the recording in the interchange CSV format (6 significant decimals)."""
        columns = ACC_COLUMNS + (GYRO_COLUMNS if self.gyro is not None else ())
        parts = [self.t[:, None], self.acc] + ([self.gyro] if self.gyro is not None else [])
        table = np.hstack(parts)
        with open(path, "w", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(columns)
            fmt = ["%.4f"] + ["%.5f"] * (table.shape[1] - 1)
            np.savetxt(fh, table, delimiter=",", fmt=fmt)
