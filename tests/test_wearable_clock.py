"""ClockAligner: wraparound, drift, latency jitter, late (resent) batches and reboots."""

from __future__ import annotations

import numpy as np
import pytest

from wearable.clock import ClockAligner


def _simulate(aligner: ClockAligner, *, seconds: float, rate_hz: float, skew: float,
              offset: float, wrap_s: float | None, seed: int = 1,
              late_every: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Feed batches of 10 samples; returns true host times and the aligner's estimates.

    The fixed part of the radio latency (7.5 ms, one connection interval) cannot be told apart
    from a clock offset, so the returned "true" times include it.
    """
    rng = np.random.default_rng(seed)
    true_sensor = np.arange(0.0, seconds, 1.0 / rate_hz)
    true_host = offset + true_sensor * (1.0 + skew)
    estimates = np.empty_like(true_sensor)
    for b, start in enumerate(range(0, len(true_sensor), 10)):
        last = min(start + 10, len(true_sensor)) - 1
        # Arrival: after the batch's last sample, plus a connection-event delay of 7.5-50 ms
        latency = 0.0075 + rng.exponential(0.02)
        if late_every and b % late_every == 0:
            latency += 2.0  # resent after a reconnect
        raw = true_sensor[last] % wrap_s if wrap_s else true_sensor[last]
        unwrapped_last = aligner.observe(raw, true_host[last] + latency)
        for i in range(start, last + 1):
            estimates[i] = aligner.to_host(unwrapped_last - (true_sensor[last] - true_sensor[i]))
    return true_host + 0.0075, estimates


def test_clock_200ppm_drift_over_ten_minutes_tracked_within_15ms() -> None:
    # 200 ppm is 0.12 s of drift in 10 min: ignoring it would be far outside 15 ms.
    aligner = ClockAligner(wrap_s=None)
    true_host, est = _simulate(aligner, seconds=600, rate_hz=50, skew=200e-6, offset=5000.0,
                               wrap_s=None)
    err = np.abs(est - true_host)[len(est) // 10:]  # after the fit has data
    assert err.max() < 0.015
    assert aligner.fit.skew == pytest.approx(200e-6, abs=30e-6)


def test_clock_wraparound_of_a_16bit_millisecond_counter_is_unwrapped() -> None:
    aligner = ClockAligner(wrap_s=65.536)
    true_host, est = _simulate(aligner, seconds=200, rate_hz=25, skew=0.0, offset=10.0,
                               wrap_s=65.536)
    assert np.abs(est - true_host)[50:].max() < 0.015
    assert aligner.reboots == 0


def test_clock_late_resent_batches_do_not_shift_the_estimate() -> None:
    aligner = ClockAligner(wrap_s=None)
    true_host, est = _simulate(aligner, seconds=300, rate_hz=50, skew=-150e-6, offset=1.0,
                               wrap_s=None, late_every=7)
    assert np.abs(est - true_host)[len(est) // 5:].max() < 0.015


def test_clock_reboot_starts_a_new_epoch_after_the_old_one() -> None:
    aligner = ClockAligner(wrap_s=None)
    assert aligner.observe(100.0, 200.0) == 100.0
    assert aligner.observe(100.5, 200.5) == 100.5
    after = aligner.observe(0.2, 204.0)  # the sensor restarted its clock, 3.5 s later
    assert aligner.reboots == 1
    assert after == pytest.approx(104.0)  # placed by the host clock: the downtime is a gap
    assert aligner.to_host(after) == pytest.approx(204.0)


def test_clock_before_any_observation_is_an_error() -> None:
    with pytest.raises(RuntimeError):
        ClockAligner().to_host(1.0)
    with pytest.raises(ValueError):
        ClockAligner(wrap_s=0)
