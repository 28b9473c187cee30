"""The simulated Polar sensor (PMD) through the real Bleak API over Bumble's virtual link.

Expected bytes come from the PMD specification ("Request Stream Settings", "Start Stream",
"Control Point Error Codes") and polar-ble-sdk issue #443 (the Verity Sense's settings and
start); expected samples from the source recording, quantised to the milli-g the frames carry.
"""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np
from bleak import BleakClient, BleakScanner

from firmware_protocol import polar_pmd
from firmware_protocol import polar_pmd_control as pmd
from firmware_protocol.polar_pmd import PolarPmdDecoder
from firmware_protocol.registry import match_advertisement
from firmware_protocol.simulated.faults import Faults
from firmware_protocol.simulated.polar_sim import CLOCK_AT_BOOT_NS
from tests.test_sim_sensor import recording, run, wait_finished
from wearable.bumble_backend.transport import BleLink

#: Half a milli-g: the frames carry whole milli-g.
MILLI_G_TOL = 0.0005 + 1e-12


class PmdClient:
    """Control-point answers (indications) in a queue; data frames through the codec."""

    def __init__(self, rate_hz: float) -> None:
        self.answers: asyncio.Queue[bytes] = asyncio.Queue()
        self.decoder = PolarPmdDecoder(rate_hz=rate_hz)
        self.batches: list[Any] = []
        self.sizes: list[int] = []

    async def subscribe(self, client: Any) -> None:
        await client.start_notify(
            polar_pmd.CONTROL_UUID, lambda _c, d: self.answers.put_nowait(bytes(d))
        )
        await client.start_notify(polar_pmd.DATA_UUID, self.on_data)

    def on_data(self, _c: Any, data: bytearray) -> None:
        self.sizes.append(len(data))
        self.batches.extend(self.decoder.feed(bytes(data)))

    async def command(self, client: Any, command: bytes) -> pmd.ControlResponse:
        await client.write_gatt_char(polar_pmd.CONTROL_UUID, command, response=True)
        return pmd.ControlResponse.from_bytes(await asyncio.wait_for(self.answers.get(), 2))

    def samples(self) -> tuple[np.ndarray, np.ndarray]:
        acc = np.vstack([b.acc_g for b in self.batches])
        times = np.concatenate([b.sensor_time_s for b in self.batches])
        return acc, times


def source_at(rate_hz: float, source: Any) -> tuple[np.ndarray, np.ndarray]:
    """What a sensor sampling the recording at ``rate_hz`` from its first sample takes."""
    t = np.arange(int(source.t[-1] * rate_hz + 1e-9) + 1) / rate_hz
    return t, np.column_stack([np.interp(t, source.t, source.acc[:, i]) for i in range(3)])


def test_polar_h10_answers_settings_refuses_what_it_does_not_offer_and_streams() -> None:
    source = recording(2.0, 100.0, gyro=False)

    async def test(link: BleLink) -> None:
        sensor = await link.add_sensor(source, profile="polar_pmd", model="h10")
        pmd_client = PmdClient(100)
        async with BleakClient(sensor.address, backend=link.client_backend) as client:
            await pmd_client.subscribe(client)

            async def status(command: bytes) -> int:
                return (await pmd_client.command(client, command)).status

            settings = await pmd_client.command(client, pmd.GET_ACC_SETTINGS)
            # spec "Request Stream Settings": 25/50/100/200 Hz, 16 bit, 2/4/8 G
            assert bytes(settings) == bytes.fromhex(
                "f001020000000419003200640" "0c800010110000203020004000800"
            )
            assert await status(pmd.start_command({0x00: 52, 0x01: 16, 0x02: 8})) == 8
            assert await status(pmd.start_command({0x00: 100, 0x01: 16, 0x02: 3})) == 9
            assert await status(pmd.start_command({0x00: 100, 0x01: 16})) == 5  # issue #124
            assert await status(pmd.start_command({0x00: 100, 0x01: 16, 0x02: 8, 0x04: 3})) == 5
            assert await status(bytes.fromhex("0100")) == 3  # ECG: not offered here
            assert await status(bytes.fromhex("0902")) == 1
            assert await status(b"\x02") == 4
            assert await status(pmd.STOP_ACC) == 6  # not streaming
            started = await pmd_client.command(
                client, pmd.start_command({0x00: 100, 0x01: 16, 0x02: 8})
            )
            assert bytes(started) == bytes.fromhex("f002020000")
            assert await status(pmd.start_command({0x00: 100, 0x01: 16, 0x02: 8})) == 6
            await wait_finished(link)
            assert await status(pmd.STOP_ACC) == 0
        assert pmd_client.decoder.dropped == 0
        acc, times = pmd_client.samples()
        t, expected = source_at(100.0, source)
        assert acc.shape == expected.shape == (200, 3)
        assert np.abs(acc - expected).max() <= MILLI_G_TOL
        # the device's own clock: 2024-01-01 at boot, the stream started at its boot
        np.testing.assert_allclose(times - CLOCK_AT_BOOT_NS * 1e-9, t, atol=1e-6)
        # uncompressed int16 frames: header + 39 samples fill a 244-byte notification
        assert max(pmd_client.sizes) == 10 + 39 * 6

    run(test)


def test_polar_verity_sense_streams_compressed_frames_at_52_hz() -> None:
    source = recording(2.0, 100.0, gyro=False)

    async def test(link: BleLink) -> None:
        sensor = await link.add_sensor(source, profile="polar_pmd")  # the Verity Sense
        pmd_client = PmdClient(52)
        device, adv = (await BleakScanner.discover(
            0.2, backend=link.scanner_backend, return_adv=True))[sensor.address]
        assert adv.local_name == "Polar Sense SIM00001"
        profile = match_advertisement(adv.local_name, adv.service_uuids)
        assert profile is not None and profile.id == "polar_pmd"
        async with BleakClient(device, backend=link.client_backend) as client:
            await pmd_client.subscribe(client)
            settings = await pmd_client.command(client, pmd.GET_ACC_SETTINGS)
            # issue #443: 52 Hz, 16 bit, 8 G, 3 channels; its start command is accepted
            assert bytes(settings) == bytes.fromhex("f001020000000134000101100002010800040103")
            started = await pmd_client.command(
                client, bytes.fromhex("0202000134000101100002010800040103")
            )
            assert started.ok and started.settings == {pmd.SETTING_FACTOR: [1.0]}
            pmd_client.decoder.on_control_response(bytes(started))
            await wait_finished(link)
        assert pmd_client.decoder.dropped == 0
        acc, times = pmd_client.samples()
        t, expected = source_at(52.0, source)
        assert acc.shape == expected.shape == (104, 3)  # 0 .. 1.99 s at 52 Hz
        assert np.abs(acc - expected).max() <= MILLI_G_TOL
        np.testing.assert_allclose(times - CLOCK_AT_BOOT_NS * 1e-9, t, atol=1e-6)

    run(test)


def test_polar_stream_ends_with_the_link_and_frames_fit_mtu_23() -> None:
    source = recording(4.0, 52.0, gyro=False)

    async def test(link: BleLink) -> None:
        faults = Faults(mtu=23, disconnect_at_s=1.0, disconnect_for_s=0.5)
        sensor = await link.add_sensor(source, profile="polar_pmd", faults=faults)
        pmd_client = PmdClient(52)
        lost = asyncio.Event()
        client = BleakClient(
            sensor.address, backend=link.client_backend, disconnected_callback=lambda _c: lost.set()
        )
        await client.connect()
        await pmd_client.subscribe(client)
        start = bytes.fromhex("0202000134000101100002010800040103")
        assert (await pmd_client.command(client, start)).ok
        await asyncio.wait_for(lost.wait(), 5)
        assert not sensor.replay.streaming  # a link loss ends the stream
        # one sample per 20-byte notification (10-byte header + 6-byte reference sample)
        assert set(pmd_client.sizes) == {16}

    run(test)
