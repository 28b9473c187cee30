"""Decoder throughput: samples decoded per second for every sensor profile.

Builds a realistic notification stream per profile with the project's encoders (one second of
motion repeated), then times ``new_decoder().feed`` over it. Prints one line per profile.

Run: ``.venv/bin/python benchmarks/decoders.py [--seconds S]``
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from firmware_protocol import microbit, movesense, polar_pmd, thingy52, witmotion
from firmware_protocol.registry import PROFILES
from firmware_protocol.rehablink_profile import Packetizer


def _motion(n: int, rate_hz: float) -> tuple[np.ndarray, np.ndarray]:
    t = np.arange(n) / rate_hz
    acc = np.column_stack([0.2 * np.sin(t), 0.1 * np.cos(2 * t), 1 + 0.05 * np.sin(3 * t)])
    gyro = np.column_stack([30 * np.cos(t), -20 * np.sin(2 * t), 5 * np.cos(3 * t)])
    return acc, gyro


def stream(profile_id: str, n: int) -> list[bytes]:
    """Notification payloads carrying ``n`` samples in the profile's own framing."""
    acc, gyro = _motion(n, 100.0)
    if profile_id == "rehablink":
        packetizer = Packetizer(mtu=247, has_gyro=True, rate_hz=100)
        packets = [p for i in range(n) for p in packetizer.push(i * 10_000, acc[i], gyro[i])]
        return [bytes(p) for p in packets + packetizer.flush()]
    if profile_id == "witmotion":  # 20-byte frames, the BLE link carries up to 12 per notification
        frames = b"".join(witmotion.encode_frame(a, g) for a, g in zip(acc, gyro, strict=True))
        return [frames[i : i + 240] for i in range(0, len(frames), 240)]
    if profile_id == "microbit":
        return [microbit.encode_sample(a) for a in acc]
    if profile_id == "thingy52":
        return [thingy52.encode_raw(a, g) for a, g in zip(acc, gyro, strict=True)]
    if profile_id == "polar_pmd":  # compressed frames of 36 samples, as the Verity Sense sends
        counts = np.rint(acc * 4096).astype(np.int64)
        return [
            polar_pmd.encode_compressed_acc(counts[i : i + 36], 10**9 + i * 19_230_769)
            for i in range(0, n, 36)
        ]
    if profile_id == "movesense":  # 8 IMU6 samples per notification at 104 Hz
        return [
            movesense.encode_imu6(99, i * 10, acc[i : i + 8] * 9.80665, gyro[i : i + 8])
            for i in range(0, n - n % 8, 8)
        ]
    raise KeyError(profile_id)


def measure(profile_id: str, n: int, min_seconds: float) -> tuple[float, int, int]:
    """(samples per second, samples decoded per pass, notifications per pass)."""
    payloads = stream(profile_id, n)
    decoded, elapsed, passes = 0, 0.0, 0
    while elapsed < min_seconds:
        decoder = PROFILES[profile_id].new_decoder()
        start = time.perf_counter()
        count = sum(len(b) for p in payloads for b in decoder.feed(p))
        elapsed += time.perf_counter() - start
        decoded += count
        passes += 1
        assert decoder.dropped == 0, profile_id
    return decoded / elapsed, decoded // passes, len(payloads)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.0, help="time per profile (s)")
    parser.add_argument("--samples", type=int, default=20_000, help="samples per pass")
    args = parser.parse_args()
    print(f"{'profile':<10} {'samples/s':>12} {'notifications':>14} {'samples/notif':>14}")
    for profile_id in PROFILES:
        rate, samples, notifications = measure(profile_id, args.samples, args.seconds)
        print(
            f"{profile_id:<10} {rate:>12,.0f} {notifications:>14} {samples / notifications:>14.1f}"
        )


if __name__ == "__main__":
    main()
