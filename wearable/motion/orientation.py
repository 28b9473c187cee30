"""Gravity direction and tilt angles from the accelerometer, with the gyro where there is one.

The accelerometer low-passed (at ``preprocess.TILT_CUTOFF_HZ``, or the profile's lower
``acc_tilt_cutoff_hz`` without a gyro for the exercises that carry the pelvis) gives the direction
of gravity in the sensor frame. Where a gyro is present a complementary filter trusts the gyro
above ``FUSION_HZ`` (it is immune to the linear accelerations of squats and step-ups) and the
accelerometer below (no drift).
The filter is linear, so it runs vectorised with :func:`scipy.signal.lfilter`.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy import signal

from wearable.motion.preprocess import GRID_HZ

FloatArray = npt.NDArray[np.float64]

#: Cross-over of the complementary filter, Hz.
FUSION_HZ = 0.3
#: Passes of the fusion (see ``GravityTracker.push``).
FUSION_PASSES = 2

_ALPHA = 2.0 * np.pi * FUSION_HZ / GRID_HZ
_B = np.array([1.0])
_A = np.array([1.0, -(1.0 - _ALPHA)])


def cross(a: FloatArray, b: FloatArray) -> FloatArray:
    """Cross product ``a x b`` of 3-vectors, row by row (shapes (m, 3) or (3,), broadcast).

    The same products and differences as ``np.cross``, without its axis handling, which costs
    more than the arithmetic on the short windows and single vectors used here.
    """
    if a.ndim == 1 and b.ndim == 1:  # one pair: plain floats are quicker than array views
        x0, x1, x2 = a.tolist()
        y0, y1, y2 = b.tolist()
        return np.array([x1 * y2 - x2 * y1, x2 * y0 - x0 * y2, x0 * y1 - x1 * y0])
    a0, a1, a2 = a[..., 0], a[..., 1], a[..., 2]
    b0, b1, b2 = b[..., 0], b[..., 1], b[..., 2]
    out = np.empty(np.broadcast_shapes(a.shape, b.shape))
    out[..., 0] = a1 * b2 - a2 * b1
    out[..., 1] = a2 * b0 - a0 * b2
    out[..., 2] = a0 * b1 - a1 * b0
    return out


def unit_rows(x: FloatArray) -> FloatArray:
    """Rows of ``x`` scaled to unit length (zero rows stay zero)."""
    norm = np.sqrt(np.einsum("ij,ij->i", x, x))
    return x / np.maximum(norm, 1e-12)[:, None]


class GravityTracker:
    """Causal gravity direction in the sensor frame, chunk by chunk (unit vectors)."""

    def __init__(self) -> None:
        self._zi: list[FloatArray] = []

    def push(self, acc_lp: FloatArray, gyro: FloatArray | None) -> FloatArray:
        """Directions for the next rows.

        Parameters
        ----------
        acc_lp : ndarray, shape (m, 3)
            Low-passed acceleration, g.
        gyro : ndarray, shape (m, 3) or None
            Angular rate, deg/s.
        """
        g_acc = unit_rows(acc_lp)
        if gyro is None or g_acc.shape[0] == 0:
            return g_acc
        if not self._zi:
            self._zi = [(1.0 - _ALPHA) * g_acc[0][None, :] for _ in range(FUSION_PASSES)]
        # A world-fixed vector seen from the rotating sensor moves as dg/dt = -omega x g. The
        # filter is kept linear (vectorised) by taking g in that product from the pass before
        # (the accelerometer's at first): each pass is closer to the gravity the gyro sees,
        # which matters where fast swings bend the accelerometer's by tens of degrees.
        w = np.radians(gyro)
        g = g_acc
        for k in range(FUSION_PASSES):
            u = _ALPHA * g_acc - cross(w, g) / GRID_HZ
            y, self._zi[k] = signal.lfilter(_B, _A, u, axis=0, zi=self._zi[k])
            g = unit_rows(np.asarray(y, dtype=np.float64))
        return g


def angle_deg(g: FloatArray, ref: FloatArray) -> FloatArray:
    """Angle between each unit row of ``g`` and the unit vector ``ref``, degrees."""
    return np.degrees(np.arccos(np.clip(g @ ref, -1.0, 1.0)))


def plane_angles(g: FloatArray, ref: FloatArray, direction: FloatArray) -> tuple[FloatArray,
                                                                                  FloatArray]:
    """Signed tilt along ``direction`` and the tilt out of that plane, degrees.

    Parameters
    ----------
    g : ndarray, shape (m, 3)
        Unit gravity directions.
    ref : ndarray, shape (3,)
        Rest direction (unit).
    direction : ndarray, shape (3,)
        Unit vector perpendicular to ``ref``: the way gravity moves during a rep.

    Returns
    -------
    along, across : ndarray, shape (m,)
        Rotation about the rep's axis (positive towards ``direction``) and about the perpendicular
        horizontal axis, degrees.
    """
    along = np.degrees(np.arctan2(g @ direction, g @ ref))
    return along, across_angle(g, ref, direction)


def across_angle(g: FloatArray, ref: FloatArray, direction: FloatArray) -> FloatArray:
    """The ``across`` of :func:`plane_angles` alone (rotation about the horizontal axis
    perpendicular to ``direction``), degrees."""
    return np.degrees(np.arcsin(np.clip(g @ cross(ref, direction), -1.0, 1.0)))


def tangent_direction(g: FloatArray, ref: FloatArray) -> FloatArray | None:
    """Unit direction in which ``g`` (shape (3,)) lies away from ``ref``, or None if too close."""
    d = g - (g @ ref) * ref
    n = float(np.linalg.norm(d))
    return d / n if n > 1e-6 else None
