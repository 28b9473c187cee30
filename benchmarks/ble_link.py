"""Notifications per second and batching latency of our profile, through the simulated sensor.

For each sampling rate (25, 50, 100, 200 Hz) and ATT MTU (23, 247) a simulated sensor replays a
6-axis recording in real time over a Bumble virtual link; a client on the real Bleak API (Bumble
backend) subscribes, starts streaming and timestamps every Data notification on arrival. The
latency of a sample is its arrival time minus the moment the sensor took it. Two batching
policies: SPEC.md 4.2 (a packet leaves when full or when it holds 0.2 s of samples) and
MTU-filled packets only; and SPEC.md batching on a link paced like BlueZ's default (a connection
event every 30 ms carrying at most 4 notifications, ``Faults.connection_interval_ms``).

The bare virtual link has no radio connection interval; the paced rows model one.

Run: ``.venv/bin/python benchmarks/ble_link.py [--seconds S] [--markdown]``.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
from bleak import BleakClient

from firmware_protocol import rehablink_profile as rl
from firmware_protocol.simulated.faults import Faults
from rehablink.recording import Recording
from wearable.bumble_backend.transport import sim_link

RATES_HZ = (25, 50, 100, 200)
MTUS = (23, 247)
#: (batching bound s or None for full packets, connection interval ms or 0, notifications/event)
POLICIES: tuple[tuple[float | None, float, int], ...] = (
    (0.2, 0.0, 6),  # SPEC.md 4.2 on the bare virtual link
    (None, 0.0, 6),  # full packets only, for comparison
    (0.2, 30.0, 4),  # SPEC.md 4.2 paced like a BlueZ link: 30 ms events, 4 notifications each
)


@dataclass(frozen=True)
class Row:
    rate_hz: int
    mtu: int
    window_s: float | None
    interval_ms: float
    per_event: int
    samples_per_packet: float
    notifications_per_s: float
    bytes_per_s: float
    latency_p50_ms: float
    latency_p95_ms: float
    latency_max_ms: float
    cpu_pct: float


def six_axis(seconds: float, rate_hz: int) -> Recording:
    t = np.arange(round(seconds * rate_hz)) / rate_hz
    acc = np.column_stack([0.3 * np.sin(t), 0.2 * np.cos(2 * t), 1.0 + 0.1 * np.sin(3 * t)])
    gyro = np.column_stack([20 * np.sin(2 * t), 10 * np.cos(t), -5 * np.sin(t)])
    return Recording(t, acc, gyro)


async def measure(
    rate_hz: int, mtu: int, window_s: float | None, interval_ms: float, per_event: int,
    seconds: float,
) -> Row:  # fmt: skip
    loop = asyncio.get_running_loop()
    arrivals: list[tuple[float, bytes]] = []

    def on_data(_char: Any, data: bytearray) -> None:
        arrivals.append((loop.time(), bytes(data)))

    cpu0, wall0 = time.process_time(), time.perf_counter()
    async with sim_link(speed=1.0) as link:
        sensor = await link.add_sensor(
            six_axis(seconds, rate_hz),
            faults=Faults(
                mtu=mtu, connection_interval_ms=interval_ms, notifications_per_event=per_event
            ),
            batch_window_s=window_s,
        )
        async with BleakClient(sensor.address, backend=link.client_backend) as client:
            await client.start_notify(rl.DATA_UUID, on_data)
            await client.write_gatt_char(rl.CONTROL_UUID, bytes(rl.Command.start()), True)
            await sensor.finished.wait()
            await asyncio.sleep(0.05)
        latencies: list[float] = []
        for arrived, payload in arrivals:
            packet = rl.DataPacket.from_bytes(payload)
            n = len(packet.acc_raw)
            # No drift and no reboot: the sensor clock reads world time since streaming began.
            taken = packet.timestamp_us * 1e-6 + np.arange(n) / packet.rate_hz
            latencies.extend(arrived - sensor.wall_time_of(float(tau)) for tau in taken)
    cpu_pct = 100.0 * (time.process_time() - cpu0) / (time.perf_counter() - wall0)
    span = arrivals[-1][0] - arrivals[0][0]
    lat_ms = np.asarray(latencies) * 1e3
    return Row(
        rate_hz,
        mtu,
        window_s,
        interval_ms,
        per_event,
        len(latencies) / len(arrivals),
        (len(arrivals) - 1) / span,
        sum(len(p) for _, p in arrivals) / span,
        float(np.percentile(lat_ms, 50)),
        float(np.percentile(lat_ms, 95)),
        float(lat_ms.max()),
        cpu_pct,
    )


def _policy(window_s: float | None) -> str:
    return "full packets" if window_s is None else f"≤ {window_s:g} s"


def _link(row: Row) -> str:
    if not row.interval_ms:
        return "virtual"
    return f"{row.interval_ms:g} ms × {row.per_event}"


def table(rows: list[Row]) -> str:
    head = (
        "| rate Hz | MTU | batching | link | samples/notification | notifications/s | bytes/s "
        "| latency p50 ms | p95 ms | max ms | CPU % |\n"
        "|---:|---:|---|---|---:|---:|---:|---:|---:|---:|---:|\n"
    )
    lines = [
        f"| {r.rate_hz} | {r.mtu} | {_policy(r.window_s)} | {_link(r)} "
        f"| {r.samples_per_packet:.1f} | {r.notifications_per_s:.1f} | {r.bytes_per_s:.0f} "
        f"| {r.latency_p50_ms:.1f} | {r.latency_p95_ms:.1f} | {r.latency_max_ms:.1f} "
        f"| {r.cpu_pct:.1f} |"
        for r in rows
    ]
    return head + "\n".join(lines) + "\n"


async def main(seconds: float) -> list[Row]:
    rows = []
    for window, interval_ms, per_event in POLICIES:
        for mtu in MTUS:
            for rate in RATES_HZ:
                rows.append(await measure(rate, mtu, window, interval_ms, per_event, seconds))
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=4.0, help="recording length per cell")
    args = parser.parse_args()
    if args.seconds < 2:
        parser.error("--seconds must be at least 2 (several packets per cell)")
    print(table(asyncio.run(main(args.seconds))))
