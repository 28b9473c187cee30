"""What every decoder produces: a batch of motion samples in physical units.

Decoders are pure: ``feed(payload)`` turns the bytes of one notification into zero or more
:class:`SampleBatch` objects and never raises on bad bytes; malformed frames are counted in
``dropped`` instead (bytes from the air are hostile, and an exception inside a BLE callback
would kill the stream).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, eq=False)
class SampleBatch:
    """Samples decoded from one frame or notification.

    Attributes
    ----------
    acc_g : ndarray, shape (n, 3), float64
        Acceleration in g, sensor axes x, y, z.
    gyro_dps : ndarray, shape (n, 3), float64, or None
        Angular rate in deg/s, or None when the sensor sends no gyroscope.
    sensor_time_s : ndarray, shape (n,), float64, or None
        The sensor's own clock for each sample in seconds (unwrapped, arbitrary origin), where the
        profile carries timestamps; None otherwise.
    sequence : int or None
        Packet sequence number, where the profile has one.
    rate_hz : float or None
        Sampling rate in Hz, where the frame states it.

    Examples
    --------
    >>> b = SampleBatch(np.zeros((2, 3)))
    >>> len(b), b.has_gyro
    (2, False)
    """

    acc_g: FloatArray
    gyro_dps: FloatArray | None = None
    sensor_time_s: FloatArray | None = None
    sequence: int | None = None
    rate_hz: float | None = None

    def __post_init__(self) -> None:
        acc = np.asarray(self.acc_g, dtype=np.float64)
        if acc.ndim != 2 or acc.shape[1] != 3:
            raise ValueError(f"acc_g must have shape (n, 3), got {acc.shape}")
        object.__setattr__(self, "acc_g", acc)
        n = acc.shape[0]
        if self.gyro_dps is not None:
            gyro = np.asarray(self.gyro_dps, dtype=np.float64)
            if gyro.shape != (n, 3):
                raise ValueError(f"gyro_dps must have shape ({n}, 3), got {gyro.shape}")
            object.__setattr__(self, "gyro_dps", gyro)
        if self.sensor_time_s is not None:
            t = np.asarray(self.sensor_time_s, dtype=np.float64)
            if t.shape != (n,):
                raise ValueError(f"sensor_time_s must have shape ({n},), got {t.shape}")
            object.__setattr__(self, "sensor_time_s", t)

    def __len__(self) -> int:
        return int(self.acc_g.shape[0])

    @property
    def has_gyro(self) -> bool:
        """True when the batch carries angular rate."""
        return self.gyro_dps is not None

    def rows(self) -> list[list[float]]:
        """Samples as ``[ax, ay, az]`` or ``[ax, ay, az, gx, gy, gz]`` lists (g, deg/s)."""
        if self.gyro_dps is None:
            return [[float(v) for v in row] for row in self.acc_g]
        both = np.hstack([self.acc_g, self.gyro_dps])
        return [[float(v) for v in row] for row in both]


class StreamDecoder(Protocol):
    """Turns consecutive notification payloads of one characteristic into sample batches."""

    @property
    def dropped(self) -> int:
        """Malformed frames dropped so far."""
        ...

    def feed(self, payload: bytes) -> list[SampleBatch]:
        """Decode one notification payload; never raises on bad bytes."""
        ...


@runtime_checkable
class ControlledDecoder(Protocol):
    """A stream decoder that also needs what the sensor's control channel says (Polar PMD)."""

    def on_started(self, rate_hz: float) -> None:
        """The sensor was started at ``rate_hz`` (the rate it offered closest to the one asked)."""
        ...

    def on_control_response(self, payload: bytes) -> None:
        """One control-point response (a start response may carry stream parameters)."""
        ...


class TimestampUnwrapper:
    """Unwrap a wrapping unsigned sensor clock into a monotonic count.

    Works for packets that arrive out of order or are resent, as long as two consecutive
    values are less than half the wrap period apart.

    Parameters
    ----------
    bits : int
        Width of the counter on the wire (32 for a u32 microsecond clock).

    Examples
    --------
    >>> u = TimestampUnwrapper(8)
    >>> [u.unwrap(v) for v in (250, 4, 200)]
    [250, 260, 200]
    """

    def __init__(self, bits: int) -> None:
        self._modulus = 1 << bits
        self._last_raw: int | None = None
        self._last: int = 0

    def unwrap(self, raw: int) -> int:
        """Return the unwrapped value of ``raw`` (same units as the counter)."""
        if self._last_raw is None:
            self._last_raw, self._last = raw, raw
            return raw
        delta = (raw - self._last_raw) % self._modulus
        if delta >= self._modulus // 2:
            delta -= self._modulus
        self._last_raw = raw
        self._last += delta
        return self._last
