"""The simulated sensor: streaming, faults and the commodity profiles, through the real Bleak API.

The sensor and a Bumble central share a virtual link in this process (``speed`` makes a few
seconds of recording last a fraction of a second); the last test runs ``rehab sim-sensor`` in
another process. Expected values come from the source recording and the profile documents'
quantisation (int16 counts of a full-scale range), never from the code's own output.
"""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from bleak import BleakClient, BleakScanner
from click.testing import CliRunner

from firmware_protocol import rehablink_profile as rl
from firmware_protocol import witmotion
from firmware_protocol.registry import PROFILES, match_advertisement
from firmware_protocol.simulated.faults import FaultEvent, Faults, FaultSchedule
from firmware_protocol.simulated.replay import Replay
from firmware_protocol.simulated.ring import ResendRing
from rehablink.recording import Recording, load_recording
from wearable.bumble_backend.transport import BleLink, open_link, sim_link

#: Half a count of the int16 encodings (rounding to nearest): 8 g and 2000 deg/s full scale.
ACC_TOL_8G = 8 / 32768 / 2 + 1e-12
GYRO_TOL_2000 = 2000 / 32768 / 2 + 1e-9


def recording(seconds: float = 3.0, rate_hz: float = 50.0, gyro: bool = True) -> Recording:
    t = np.arange(round(seconds * rate_hz)) / rate_hz
    acc = np.column_stack([0.3 * np.sin(t), 0.2 * np.cos(2 * t), 1.0 + 0.1 * np.sin(3 * t)])
    rates = np.column_stack([20 * np.sin(2 * t), 10 * np.cos(t), -5 * np.sin(t)])
    return Recording(t, acc, rates if gyro else None)


def run(
    test: Callable[[BleLink], Awaitable[None]], timeout: float = 30, speed: float = 20.0
) -> None:
    async def main() -> None:
        async with sim_link(speed=speed) as link:
            await asyncio.wait_for(test(link), timeout)

    asyncio.run(main())


class RehabLinkStream:
    """A minimal client of our profile: packets by sequence, responses, disconnect event."""

    def __init__(self) -> None:
        self.packets: dict[int, rl.DataPacket] = {}
        self.arrivals: list[rl.DataPacket] = []
        self.sizes: list[int] = []
        self.responses: list[rl.Response] = []
        self.lost = asyncio.Event()

    def on_data(self, _char: Any, data: bytearray) -> None:
        packet = rl.DataPacket.from_bytes(bytes(data))
        self.sizes.append(len(data))
        self.arrivals.append(packet)
        self.packets.setdefault(packet.sequence, packet)

    def on_control(self, _char: Any, data: bytearray) -> None:
        self.responses.append(rl.Response.from_bytes(bytes(data)))

    async def connect(self, link: BleLink, address: str) -> BleakClient:
        device = await BleakScanner.find_device_by_address(
            address, timeout=5.0, backend=link.scanner_backend
        )
        assert device is not None, "the sensor is not advertising"
        self.lost = asyncio.Event()
        lost = self.lost
        client = BleakClient(
            device, disconnected_callback=lambda _c: lost.set(), backend=link.client_backend
        )
        await client.connect()
        await client.start_notify(rl.DATA_UUID, self.on_data)
        await client.start_notify(rl.CONTROL_UUID, self.on_control)
        return client

    async def command(self, client: BleakClient, command: rl.Command) -> rl.Response:
        before = len(self.responses)
        await client.write_gatt_char(rl.CONTROL_UUID, bytes(command), response=True)
        for _ in range(200):
            if len(self.responses) > before:
                return self.responses[before]
            await asyncio.sleep(0.005)
        raise AssertionError(f"no response to {command}")

    async def recover(self, client: BleakClient, next_sequence: int) -> None:
        """Ask for resends until every sequence below ``next_sequence`` is held."""
        for _ in range(30):
            missing = sorted(set(range(next_sequence)) - set(self.packets))
            if not missing:
                return
            response = await self.command(client, rl.Command.resend_from(missing[0]))
            assert response.ok, response
            await asyncio.sleep(0.05)
        raise AssertionError(f"still missing {missing}")

    def samples(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Acceleration, gyro and sensor times of all packets, in sequence order."""
        ordered = [self.packets[s] for s in sorted(self.packets)]
        acc = np.vstack([p.acc_g() for p in ordered])
        gyro = np.vstack([p.gyro_dps() for p in ordered])
        times = np.concatenate(
            [p.timestamp_us * 1e-6 + np.arange(len(p.acc_raw)) / p.rate_hz for p in ordered]
        )
        return acc, gyro, times


async def wait_finished(link: BleLink, index: int = 0) -> None:
    await asyncio.wait_for(link.sensors[index].finished.wait(), 20)
    await asyncio.sleep(0.05)  # let the last notifications cross the link


def assert_equal_to_source(stream: RehabLinkStream, source: Recording) -> None:
    acc, gyro, times = stream.samples()
    assert acc.shape == source.acc.shape
    assert np.abs(acc - source.acc).max() <= ACC_TOL_8G
    assert source.gyro is not None
    assert np.abs(gyro - source.gyro).max() <= GYRO_TOL_2000
    np.testing.assert_allclose(times, source.t - source.t[0], atol=1e-6)


# -- pure parts --------------------------------------------------------------------------------


def test_replay_on_a_drifting_clock() -> None:
    source = recording(2.0, 50.0)
    replay = Replay(source, 50.0, drift_ppm=1000.0)
    replay.start(0.0, boot_tau_s=0.0)
    samples = replay.samples_until(1.0)
    # A crystal 1000 ppm fast takes sample k at world time k / (50 * 1.001) and stamps k / 50.
    k = np.arange(len(samples))
    assert len(samples) == 51  # floor(1.0 * 50 * 1.001) + 1
    np.testing.assert_allclose(samples.sensor_time_s, k / 50.0)
    np.testing.assert_allclose(samples.tau_s, k / 50.05)
    np.testing.assert_allclose(samples.acc_g[:, 0], 0.3 * np.sin(k / 50.05), atol=2e-4)


def test_replay_exact_without_drift_and_finishes() -> None:
    source = recording(1.0, 100.0)
    replay = Replay(source, 100.0)
    replay.start(0.004, boot_tau_s=0.0)  # starts on the next recording sample
    first = replay.samples_until(0.5)
    rest = replay.samples_until(5.0)
    assert replay.finished and replay.next_sample_tau() is None
    acc = np.vstack([first.acc_g, rest.acc_g])
    np.testing.assert_allclose(acc, source.acc[1:], rtol=0, atol=1e-12)


def test_resend_ring_finds_sequences_across_the_wrap() -> None:
    ring = ResendRing(capacity=4)
    for sequence in (65533, 65534, 65535, 0, 1):
        ring.append(rl.DataPacket(sequence, 0, 50, 8, np.zeros((1, 3), dtype=np.int16)))
    held = ring.since(65535)
    assert held is not None and [p.sequence for p in held] == [65535, 0, 1]
    assert ring.since(65533) is None  # fell out of the ring
    assert ring.since(2) is None  # not sent yet


def test_fault_schedule_orders_loss_reboot_and_return() -> None:
    schedule = FaultSchedule(
        Faults(disconnect_at_s=2.0, disconnect_for_s=3.0, reboot_at_s=4.0, reboot_downtime_s=2.0)
    )
    assert schedule.due(1.9) == [] and schedule.next_fault_tau() == 2.0
    assert schedule.due(2.0) == [FaultEvent.LINK_LOSS] and schedule.offline
    assert schedule.due(4.5) == [FaultEvent.REBOOT] and schedule.boot_tau_s == 6.0
    assert schedule.due(5.5) == []  # the link-loss window ended but the firmware is booting
    assert schedule.next_event_tau() == 6.0
    assert schedule.due(6.0) == [FaultEvent.BACK_ON_AIR] and not schedule.offline
    assert schedule.due(100.0) == [] and schedule.next_event_tau() is None


def test_faults_reject_impossible_values() -> None:
    with pytest.raises(ValueError, match="drop rate"):
        Faults(drop_rate=1.5)
    with pytest.raises(ValueError, match="MTU"):
        Faults(mtu=100)
    with pytest.raises(ValueError, match="battery"):
        Faults(battery_pct=120)


# -- our profile over the virtual link ---------------------------------------------------------


def test_stream_delivers_every_sample_equal_to_the_source() -> None:
    source = recording(3.0, 50.0)

    async def test(link: BleLink) -> None:
        sensor = await link.add_sensor(source)
        stream = RehabLinkStream()
        client = await stream.connect(link, sensor.address)
        assert (await stream.command(client, rl.Command.set_rate(50))).ok
        assert (await stream.command(client, rl.Command.start())).ok
        await wait_finished(link)
        status = rl.Status.from_bytes(await client.read_gatt_char(rl.STATUS_UUID))
        await client.disconnect()
        assert status.state == rl.State.IDLE and status.next_sequence == len(stream.packets)
        assert sorted(stream.packets) == list(range(len(stream.packets)))
        assert_equal_to_source(stream, source)

    run(test)


def test_five_percent_loss_then_resend_from_n_recovers_every_packet() -> None:
    source = recording(4.0, 100.0)

    async def test(link: BleLink) -> None:
        sensor = await link.add_sensor(source, faults=Faults(drop_rate=0.05, seed=3))
        stream = RehabLinkStream()
        client = await stream.connect(link, sensor.address)
        await stream.command(client, rl.Command.start())
        await wait_finished(link)
        status = rl.Status.from_bytes(await client.read_gatt_char(rl.STATUS_UUID))
        missing_before = status.next_sequence - len(stream.packets)
        await stream.recover(client, status.next_sequence)
        resent = [p for p in stream.arrivals if p.resent]
        await client.disconnect()
        assert sensor.notifications_dropped >= 1 and missing_before >= 1
        assert resent, "recovery came from resent packets"
        assert_equal_to_source(stream, source)

    run(test)


def test_disconnect_at_t_for_d_then_reconnect_and_resend_loses_nothing() -> None:
    source = recording(6.0, 50.0)

    async def test(link: BleLink) -> None:
        faults = Faults(disconnect_at_s=1.0, disconnect_for_s=1.5)
        sensor = await link.add_sensor(source, faults=faults)
        stream = RehabLinkStream()
        client = await stream.connect(link, sensor.address)
        await stream.command(client, rl.Command.start())
        await asyncio.wait_for(stream.lost.wait(), 5)
        assert not client.is_connected
        before = max(stream.packets)
        # While it is silent the sensor cannot be found; then it advertises again.
        assert (
            await BleakScanner.find_device_by_address(
                sensor.address, timeout=0.02, backend=link.scanner_backend
            )
            is None
        )
        client = await stream.connect(link, sensor.address)
        status = rl.Status.from_bytes(await client.read_gatt_char(rl.STATUS_UUID))
        assert status.state == rl.State.STREAMING  # it kept sampling into its ring
        assert status.next_sequence > before + 1
        response = await stream.command(client, rl.Command.resend_from(before + 1))
        plan = rl.ResendPlan.from_bytes(response.payload)
        assert plan.first_sequence == before + 1 and plan.count >= 1
        await wait_finished(link)
        final = rl.Status.from_bytes(await client.read_gatt_char(rl.STATUS_UUID))
        await stream.recover(client, final.next_sequence)
        await client.disconnect()
        assert_equal_to_source(stream, source)

    run(test, speed=10.0)  # reconnecting takes well under the 3.5 s left afterwards


def test_sensor_left_without_host_for_60_s_stops_but_keeps_its_ring() -> None:
    source = recording(70.0, 25.0)

    async def test(link: BleLink) -> None:
        faults = Faults(disconnect_at_s=1.0, disconnect_for_s=65.0)
        sensor = await link.add_sensor(source, faults=faults)
        stream = RehabLinkStream()
        client = await stream.connect(link, sensor.address)
        await stream.command(client, rl.Command.start())
        await asyncio.wait_for(stream.lost.wait(), 5)
        client = await stream.connect(link, sensor.address)  # back on air at 66 s
        status = rl.Status.from_bytes(await client.read_gatt_char(rl.STATUS_UUID))
        # SPEC.md 7.1: IDLE after 60 s alone; not a reboot, so the sequence carried on.
        assert status.state == rl.State.IDLE and status.next_sequence > 250
        await stream.recover(client, status.next_sequence)
        await client.disconnect()
        acc, _gyro, times = stream.samples()
        # It stopped about 60 s after the link dropped at 1 s (the loss reaches the sensor's
        # host a little later in world time at this speed), with nothing missing before.
        assert 61.0 <= times[-1] < 64.0
        np.testing.assert_allclose(times, np.arange(len(times)) / 25.0, atol=1e-6)
        assert np.abs(acc - source.acc[: len(times)]).max() <= ACC_TOL_8G

    run(test, speed=50.0)


def test_mtu_23_and_247_packet_sizes() -> None:
    source = recording(1.0, 200.0)

    async def sizes(link: BleLink, mtu: int) -> tuple[int, list[int], RehabLinkStream]:
        sensor = await link.add_sensor(source, faults=Faults(mtu=mtu))
        stream = RehabLinkStream()
        client = await stream.connect(link, sensor.address)
        negotiated = client.mtu_size
        await stream.command(client, rl.Command.start())
        await asyncio.wait_for(sensor.finished.wait(), 20)
        await asyncio.sleep(0.05)
        await client.disconnect()
        return negotiated, stream.sizes, stream

    async def test(link: BleLink) -> None:
        mtu, small, stream = await sizes(link, 23)
        assert mtu == 23
        # 8-byte header + one 6-axis int16 sample = 20 bytes = ATT_MTU - 3 (SPEC: works at 23)
        assert set(small) == {20} and len(small) == 200
        assert_equal_to_source(stream, source)
        mtu, large, stream = await sizes(link, 247)
        assert mtu == 247
        # (244 - 8) // 12 = 19 samples per packet; 200 samples = 10 full packets + 10 left over
        assert large == [8 + 19 * 12] * 10 + [8 + 10 * 12]
        assert_equal_to_source(stream, source)

    run(test)


def test_connection_events_pace_notifications() -> None:
    source = recording(1.0, 200.0)

    async def test(link: BleLink) -> None:
        # 200 Hz at MTU 23 needs 200 notifications/s; 2 per 50 ms event carry only 40/s.
        faults = Faults(mtu=23, connection_interval_ms=50.0, notifications_per_event=2)
        sensor = await link.add_sensor(source, faults=faults)
        stream = RehabLinkStream()
        arrivals: list[float] = []
        client = await stream.connect(link, sensor.address)
        await client.start_notify(
            rl.DATA_UUID, lambda c, d: (arrivals.append(sensor.tau_now()), stream.on_data(c, d))
        )
        await stream.command(client, rl.Command.start())
        for _ in range(400):
            if len(stream.packets) == 200:
                break
            await asyncio.sleep(0.01)
        await client.disconnect()
        assert_equal_to_source(stream, source)  # late, but all there and in order
        # 200 notifications at 2 per 50 ms event take 99 events: 4.9 s of world time at least.
        assert arrivals[-1] - arrivals[0] >= 4.9 - 0.05

    run(test)


def test_reboot_restarts_sequence_and_clock() -> None:
    source = recording(6.0, 50.0)

    async def test(link: BleLink) -> None:
        faults = Faults(reboot_at_s=1.0, reboot_downtime_s=0.5)
        sensor = await link.add_sensor(source, faults=faults)
        stream = RehabLinkStream()
        client = await stream.connect(link, sensor.address)
        await stream.command(client, rl.Command.start())
        await asyncio.wait_for(stream.lost.wait(), 5)
        first_boot = list(stream.arrivals)
        assert first_boot[0].sequence == 0 and len(first_boot) >= 5
        stream.packets.clear()
        stream.arrivals.clear()
        client = await stream.connect(link, sensor.address)
        status = rl.Status.from_bytes(await client.read_gatt_char(rl.STATUS_UUID))
        assert (status.state, status.next_sequence, status.backlog_packets) == (
            rl.State.IDLE, 0, 0,
        )  # fmt: skip
        refused = await stream.command(client, rl.Command.resend_from(3))
        # SPEC.md 7.2: NOT_IN_BUFFER carries (oldest held, count): nothing is held after a reboot.
        assert refused.result == rl.ResultCode.NOT_IN_BUFFER
        assert rl.ResendPlan.from_bytes(refused.payload) == rl.ResendPlan(0, 0)
        assert (await stream.command(client, rl.Command.start())).ok
        started_at = sensor.tau_now()
        await wait_finished(link)
        await client.disconnect()
        again = stream.arrivals
        assert again[0].sequence == 0
        # The clock restarted when the reboot ended (world time 1.5 s), so the first sample
        # is stamped with the time since then, not with the time since the first boot.
        assert 0 <= again[0].timestamp_us * 1e-6 <= started_at - 1.5 + 0.02
        assert [p.sequence for p in again] == list(range(len(again)))

    run(test, speed=10.0)


def test_drifting_sensor_clock_stamps_its_own_time() -> None:
    source = recording(10.0, 50.0)

    async def test(link: BleLink) -> None:
        sensor = await link.add_sensor(source, faults=Faults(drift_ppm=5000.0))
        stream = RehabLinkStream()
        client = await stream.connect(link, sensor.address)
        await stream.command(client, rl.Command.start())
        await wait_finished(link)
        await client.disconnect()
        acc, _gyro, times = stream.samples()
        # A crystal 5000 ppm fast takes floor(9.98 s * 50 Hz * 1.005) + 1 = 502 samples during
        # the 500-sample recording, stamped k / 50 Hz on its own clock; sample k shows the motion
        # at world time k / (50 * 1.005) s.
        k = np.arange(502)
        assert len(times) == 502
        np.testing.assert_allclose(times, k / 50.0, atol=1e-6)
        world = k / (50.0 * 1.005)
        expected_x = np.interp(world, source.t, source.acc[:, 0])
        assert np.abs(acc[:, 0] - expected_x).max() <= ACC_TOL_8G

    run(test)


def test_companion_host_restart_frees_the_sensor() -> None:
    """A companion that crashes and starts again resets its controller (HCI Reset): the sensor
    must see the link drop and advertise again, as with a real controller."""

    async def test(link: BleLink) -> None:
        sensor = await link.add_sensor(recording(2.0))
        stale = BleakClient(sensor.address, backend=link.client_backend)
        await stale.connect()
        assert sensor.connection is not None
        assert link.central is not None
        await link.central.device.power_on()  # the restarted host resets the controller
        for _ in range(100):
            if sensor.connection is None:
                break
            await asyncio.sleep(0.01)
        assert sensor.connection is None
        device = await BleakScanner.find_device_by_address(
            sensor.address, timeout=2.0, backend=link.scanner_backend
        )
        assert device is not None
        async with BleakClient(device, backend=link.client_backend) as client:
            assert client.is_connected

    run(test)


def test_control_errors_are_answered_not_raised() -> None:
    async def test(link: BleLink) -> None:
        sensor = await link.add_sensor(recording(2.0))
        stream = RehabLinkStream()
        client = await stream.connect(link, sensor.address)
        await client.write_gatt_char(rl.CONTROL_UUID, b"\x01", response=True)
        await client.write_gatt_char(rl.CONTROL_UUID, b"\x7f\x09", response=True)
        await client.write_gatt_char(rl.CONTROL_UUID, bytes([0x03, 4, 9]), response=True)
        await stream.command(client, rl.Command.start())
        busy = await stream.command(client, rl.Command.set_rate(100, 5))
        await asyncio.sleep(0.05)
        await client.disconnect()
        codes = [r.result for r in stream.responses]
        assert codes[:3] == [
            rl.ResultCode.BAD_LENGTH,
            rl.ResultCode.UNKNOWN_OPCODE,
            rl.ResultCode.BAD_PARAMETER,
        ]
        assert (busy.token, busy.result) == (5, rl.ResultCode.WRONG_STATE)

    run(test)


# -- commodity profiles --------------------------------------------------------------------------


async def stream_commodity(link: BleLink, profile_id: str, source: Recording) -> list[Any]:
    sensor = await link.add_sensor(source, profile=profile_id)
    found = await BleakScanner.discover(0.2, backend=link.scanner_backend, return_adv=True)
    device, adv = found[sensor.address]
    profile = match_advertisement(adv.local_name, adv.service_uuids)
    assert profile is not None and profile.id == profile_id
    decoder = profile.new_decoder()
    batches: list[Any] = []
    async with BleakClient(device, backend=link.client_backend) as client:
        await client.start_notify(
            profile.data_uuid, lambda _c, data: batches.extend(decoder.feed(bytes(data)))
        )
        for uuid, value, response in profile.start_commands(50):
            await client.write_gatt_char(uuid, value, response=response)
        await wait_finished(link, len(link.sensors) - 1)
    assert decoder.dropped == 0
    return batches


def test_witmotion_profile_streams_through_its_codec() -> None:
    source = recording(2.0, 50.0)

    async def test(link: BleLink) -> None:
        batches = await stream_commodity(link, "witmotion", source)
        acc = np.vstack([b.acc_g for b in batches])
        gyro = np.vstack([b.gyro_dps for b in batches])
        assert acc.shape == source.acc.shape
        # WitMotion full scales: 16 g and 2000 deg/s on int16 (SENSORS.md, device_model.py)
        assert np.abs(acc - source.acc).max() <= 16 / 32768 / 2 + 1e-12
        assert source.gyro is not None
        assert np.abs(gyro - source.gyro).max() <= GYRO_TOL_2000

    run(test)


def test_microbit_profile_streams_through_its_codec() -> None:
    source = recording(2.0, 50.0, gyro=False)

    async def test(link: BleLink) -> None:
        batches = await stream_commodity(link, "microbit", source)
        acc = np.vstack([b.acc_g for b in batches])
        assert acc.shape == source.acc.shape
        assert np.abs(acc - source.acc).max() <= 0.0005 + 1e-12  # milli-g integers

    run(test)


def test_witmotion_rate_command_changes_the_output_rate() -> None:
    source = recording(2.0, 100.0)

    async def test(link: BleLink) -> None:
        sensor = await link.add_sensor(source, profile="witmotion")
        decoder = witmotion.WitMotionDecoder()
        count = 0

        def on_data(_c: Any, data: bytearray) -> None:
            nonlocal count
            count += sum(len(b) for b in decoder.feed(bytes(data)))

        async with BleakClient(sensor.address, backend=link.client_backend) as client:
            await client.write_gatt_char(witmotion.WRITE_UUID, witmotion.UNLOCK, response=False)
            await client.write_gatt_char(witmotion.WRITE_UUID, witmotion.set_rate(50), False)
            await client.start_notify(witmotion.NOTIFY_UUID, on_data)
            await wait_finished(link)
        assert count == 100  # 2 s at 50 Hz instead of 200 samples at 100 Hz

    run(test)


# -- several sensors, the command line, another process ------------------------------------------


def test_two_sensors_at_once() -> None:
    ours, wit = recording(2.0, 50.0), recording(2.0, 50.0)

    async def test(link: BleLink) -> None:
        first = await link.add_sensor(ours)
        second = await link.add_sensor(wit, profile="witmotion")
        found = await BleakScanner.discover(0.2, backend=link.scanner_backend, return_adv=True)
        profiles = {
            address: match_advertisement(adv.local_name, adv.service_uuids)
            for address, (_d, adv) in found.items()
        }
        assert {a: p.id for a, p in profiles.items() if p} == {
            first.address: "rehablink",
            second.address: "witmotion",
        }
        stream = RehabLinkStream()
        client = await stream.connect(link, first.address)
        decoder = witmotion.WitMotionDecoder()
        wit_batches: list[Any] = []
        async with BleakClient(second.address, backend=link.client_backend) as other:
            await other.start_notify(
                witmotion.NOTIFY_UUID, lambda _c, d: wit_batches.extend(decoder.feed(bytes(d)))
            )
            await stream.command(client, rl.Command.start())
            await asyncio.gather(wait_finished(link, 0), wait_finished(link, 1))
        await client.disconnect()
        assert_equal_to_source(stream, ours)
        assert sum(len(b) for b in wit_batches) == len(wit)

    run(test)


def test_sim_sensor_command_rejects_bad_input_with_one_line(tmp_path: Path) -> None:
    from rehablink.cli import cli

    runner = CliRunner()
    result = runner.invoke(cli, ["sim-sensor", str(tmp_path / "missing.csv")])
    assert result.exit_code == 2
    assert result.output.startswith("error: ") and result.output.count("\n") == 1
    good = tmp_path / "set.csv"
    recording(1.0).write_csv(good)
    result = runner.invoke(cli, ["sim-sensor", str(good), "--drop", "1.5"])
    assert (result.exit_code, result.output) == (2, "error: drop rate must be in [0, 1), got 1.5\n")


#: A companion process that connects to the sensor, says so, and hangs until killed.
CRASHING_COMPANION = """
import asyncio, sys
from bleak import BleakClient, BleakScanner
from wearable.bumble_backend.transport import open_link

async def main():
    async with open_link(sys.argv[1]) as link:
        found = await BleakScanner.discover(0.5, backend=link.scanner_backend)
        client = BleakClient(found[0], backend=link.client_backend)
        await client.connect()
        print("connected", flush=True)
        await asyncio.sleep(3600)

asyncio.run(main())
"""


def test_sim_sensor_command_reports_a_busy_port(tmp_path: Path) -> None:
    import socket

    from rehablink.cli import cli

    good = tmp_path / "set.csv"
    recording(1.0).write_csv(good)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = CliRunner().invoke(
            cli, ["sim-sensor", str(good), "--transport", f"tcp-server:127.0.0.1:{port}"]
        )
    assert result.exit_code == 2
    assert result.output.startswith(f"error: cannot open transport 'tcp-server:127.0.0.1:{port}'")
    assert result.output.count("\n") == 1


@pytest.mark.slow
def test_sim_sensor_in_another_process_over_a_bumble_transport(tmp_path: Path) -> None:
    """``rehab sim-sensor`` serves a companion in another process, also after a companion that
    was connected to it was killed."""
    path = tmp_path / "set.csv"
    recording(3.0, 50.0).write_csv(path)
    source = load_recording(path)  # what the other process replays (CSV keeps 5 decimals)
    rehab = Path(sys.executable).with_name("rehab")
    process = subprocess.Popen(
        [str(rehab), "sim-sensor", str(path), "--speed", "10", "--drop", "0.05",
         "--transport", "tcp-server:127.0.0.1:0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    try:
        assert process.stdout is not None
        banner = process.stdout.readline()
        assert "is advertising; connect with --transport tcp-client:127.0.0.1:" in banner
        transport = banner.rsplit(" ", 1)[1].strip()

        # A first companion connects and dies without a word (kill -9) mid-connection.
        crashed = subprocess.Popen(
            [sys.executable, "-c", CRASHING_COMPANION, transport],
            stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            assert crashed.stdout is not None
            assert crashed.stdout.readline().strip() == "connected"
        finally:
            crashed.kill()
            crashed.wait(10)
            if crashed.stdout is not None:
                crashed.stdout.close()

        async def main() -> None:
            async with open_link(transport) as link:  # its host resets the shared controller
                stream = RehabLinkStream()
                found = await BleakScanner.discover(
                    0.5, backend=link.scanner_backend, return_adv=True
                )
                [(address, (_device, adv))] = found.items()
                assert (
                    match_advertisement(adv.local_name, adv.service_uuids) == PROFILES["rehablink"]
                )
                client = await stream.connect(link, address)
                await stream.command(client, rl.Command.start())
                for _ in range(200):
                    status = rl.Status.from_bytes(await client.read_gatt_char(rl.STATUS_UUID))
                    if status.state == rl.State.IDLE:
                        break
                    await asyncio.sleep(0.05)
                await stream.recover(client, status.next_sequence)
                await client.disconnect()
                assert_equal_to_source(stream, source)

        asyncio.run(asyncio.wait_for(main(), 60))
    finally:
        process.kill()
        process.wait(10)
        for pipe in (process.stdout, process.stderr):
            if pipe is not None:
                pipe.close()


def test_closing_while_the_radio_is_busy_leaves_no_error_in_the_bluetooth_stack() -> None:
    """A link loss stops advertising and the disconnection starts it again, each in a task of
    its own; the sensor closing then cancels them with their HCI commands in flight. Bumble's
    host keeps one pending command: a command abandoned in flight had its late reply taken for
    the next one's, whose own reply then raised inside the host; and a start and a stop of
    advertising at once removed the advertising set twice. Over many closes at varied moments,
    nothing is logged as an error and no callback raises."""
    from bumble.link import LocalLink

    from firmware_protocol.simulated.sensor import SimulatedSensor

    errors: list[str] = []

    class Errors(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.levelno >= logging.ERROR:
                errors.append(record.getMessage())

    handler = Errors()
    logging.getLogger().addHandler(handler)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        loop.set_exception_handler(lambda _loop, context: errors.append(context["message"]))
        for k in range(30):
            sensor = SimulatedSensor(recording(), link=LocalLink(), profile="rehablink")
            await sensor.start()
            await asyncio.sleep(0.001 * (k % 7))
            sensor._spawn(sensor._drop_link())  # what a link loss runs ...
            sensor._spawn(sensor._advertise())  # ... and the disconnection after it
            await asyncio.sleep(0.0005 * (k % 5))
            await sensor.close()
        await asyncio.sleep(0.2)

    try:
        asyncio.run(asyncio.wait_for(main(), 120))
    finally:
        logging.getLogger().removeHandler(handler)
    assert errors == []
