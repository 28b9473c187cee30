"""Speed of the motion engine on a one-hour 100 Hz six-axis recording.

Prints: loading time, offline analysis as a multiple of real time (parsing excluded), the wall
time of ``rehab analyze`` on the file end to end (a subprocess: interpreter start, imports,
parsing, analysis, output) and the live detector's cost per sample for batches of 1, 5 and 20.

    .venv/bin/python benchmarks/speed.py
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from rehablink.recording import Recording, load_recording
from rehablink.simulator import SetSpec, simulate
from wearable.motion.analyze import analyze
from wearable.motion.live import LiveDetector

HOUR_S = 3600.0


def one_hour(rate_hz: float = 100.0) -> Recording:
    """Simulated bridge sets back to back (with their rests) until an hour is filled."""
    ts, accs, gyros = [], [], []
    offset = 0.0
    seed = 3_000_000
    while offset < HOUR_S:
        rec, _ = simulate(SetSpec("bridge", n_reps=12, rate_hz=rate_hz), seed)
        t = rec.t - rec.t[0] + offset
        keep = t < HOUR_S
        ts.append(t[keep])
        accs.append(rec.acc[keep])
        assert rec.gyro is not None
        gyros.append(rec.gyro[keep])
        offset = float(t[-1]) + 1.0 / rate_hz
        seed += 1
    return Recording(t=np.concatenate(ts), acc=np.vstack(accs), gyro=np.vstack(gyros))


def best_of(n: int, fn: object) -> float:
    """Fastest of ``n`` runs of ``fn()``, s."""
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - t0)
    return min(times)


def live_cost_us(rec: Recording, batch: int, seconds: float = 600.0) -> float:
    """Microseconds per sample feeding ``seconds`` of the recording in batches of ``batch``."""
    n = int(np.searchsorted(rec.t, rec.t[0] + seconds))
    assert rec.gyro is not None
    batches = [(rec.t[i:i + batch], rec.acc[i:i + batch], rec.gyro[i:i + batch])
               for i in range(0, n, batch)]
    det = LiveDetector("bridge")
    t0 = time.perf_counter()
    for t, a, g in batches:
        det.feed(t, a, g)
    det.finish()
    return (time.perf_counter() - t0) / n * 1e6


def main() -> int:
    rec = one_hour()
    print(f"recording: {rec.duration_s / 60:.1f} min, {len(rec):,} samples at "
          f"{rec.sample_rate_hz:.0f} Hz with gyro")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "hour.csv"
        rec.write_csv(path)
        print(f"file: {path.stat().st_size / 1e6:.1f} MB")
        load_s = best_of(3, lambda: load_recording(path))
        print(f"load_recording: {load_s:.2f} s")
        loaded = load_recording(path)
        analyze_s = best_of(3, lambda: analyze(loaded, "bridge"))
        result = analyze(loaded, "bridge")
        print(f"analyze (parsing excluded): {analyze_s:.3f} s = "
              f"{loaded.duration_s / analyze_s:,.0f}x real time ({result.rep_count} reps)")
        rehab = Path(sys.executable).with_name("rehab")
        walls = []
        for _ in range(3):
            t0 = time.perf_counter()
            subprocess.run([str(rehab), "analyze", str(path), "--exercise", "bridge", "--json"],
                           check=True, capture_output=True)
            walls.append(time.perf_counter() - t0)
        print(f"rehab analyze end to end: {min(walls):.2f} s (best of 3; "
              f"median {sorted(walls)[1]:.2f} s)")
    for batch in (1, 5, 20):
        print(f"live detector, batches of {batch:2d}: {live_cost_us(rec, batch):.1f} us/sample")
    return 0


if __name__ == "__main__":
    sys.exit(main())
