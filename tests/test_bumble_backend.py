"""The Bleak backend over Bumble, exercised through the real ``bleak`` API.

Every test runs a simulated sensor and a Bumble central joined by a Bumble virtual link in this
process; nothing in the Bleak client or scanner is replaced.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import numpy as np
import pytest
from bleak import BleakClient, BleakScanner
from bleak.exc import BleakError, BleakGATTProtocolError

from firmware_protocol import rehablink_profile as rl
from firmware_protocol.registry import match_advertisement
from firmware_protocol.simulated.faults import Faults
from rehablink.recording import Recording
from wearable.bumble_backend.transport import BleLink, open_link, sim_link

BATTERY_LEVEL = "00002a19-0000-1000-8000-00805f9b34fb"
MANUFACTURER_NAME = "00002a29-0000-1000-8000-00805f9b34fb"
FIRMWARE_REVISION = "00002a26-0000-1000-8000-00805f9b34fb"
CCCD = "00002902-0000-1000-8000-00805f9b34fb"


def short_recording(seconds: float = 2.0, rate_hz: float = 50.0) -> Recording:
    t = np.arange(round(seconds * rate_hz)) / rate_hz
    acc = np.column_stack([0.3 * np.sin(t), 0.2 * np.cos(2 * t), 1.0 + 0.1 * np.sin(3 * t)])
    gyro = np.column_stack([20 * np.sin(2 * t), 10 * np.cos(t), -5 * np.sin(t)])
    return Recording(t, acc, gyro)


def run(test: Callable[[BleLink], Awaitable[None]], **link_options: Any) -> None:
    """Run ``test`` with a virtual link holding one simulated sensor."""

    async def main() -> None:
        options: dict[str, Any] = {"speed": 20.0, **link_options}
        recording = options.pop("recording", short_recording())
        async with sim_link(recording, **options) as link:
            await asyncio.wait_for(test(link), 20)

    asyncio.run(main())


def test_scan_reports_name_profile_rssi_and_manufacturer_data() -> None:
    async def test(link: BleLink) -> None:
        found = await BleakScanner.discover(
            timeout=0.3, backend=link.scanner_backend, return_adv=True
        )
        device, adv = found[link.sensor_address]
        assert device.name == adv.local_name == "RehabLink-0001"
        assert adv.service_uuids == [rl.SERVICE_UUID]
        profile = match_advertisement(adv.local_name, adv.service_uuids)
        assert profile is not None and profile.id == "rehablink"
        assert adv.rssi == -50  # Bumble's virtual controller reports every packet at -50 dBm
        # [protocol version, battery %] under the test company id 0xFFFF
        assert adv.manufacturer_data == {0xFFFF: bytes([1, 61])}

    run(test, faults=Faults(battery_pct=61))


def test_scanner_service_filter_and_callback() -> None:
    async def test(link: BleLink) -> None:
        seen: list[str] = []
        async with BleakScanner(
            lambda device, adv: seen.append(device.address),
            service_uuids=[rl.SERVICE_UUID],
            backend=link.scanner_backend,
        ):
            await asyncio.sleep(0.1)
        assert set(seen) == {link.sensor_address}
        other = await BleakScanner.discover(
            timeout=0.1, service_uuids=["0000fe95-0000-1000-8000-00805f9b34fb"],
            backend=link.scanner_backend,
        )  # fmt: skip
        assert other == []

    run(test)


def test_connect_discovers_services_and_reads_standard_characteristics() -> None:
    async def test(link: BleLink) -> None:
        device = await BleakScanner.find_device_by_address(
            link.sensor_address, timeout=1.0, backend=link.scanner_backend
        )
        assert device is not None
        async with BleakClient(device, backend=link.client_backend, timeout=5) as client:
            assert client.is_connected
            assert client.mtu_size == 247
            uuids = {service.uuid for service in client.services}
            assert {
                rl.SERVICE_UUID,
                rl.BATTERY_SERVICE_UUID,
                rl.DEVICE_INFO_SERVICE_UUID,
            } <= uuids
            ours = client.services.get_service(rl.SERVICE_UUID)
            assert ours is not None
            props = {c.uuid: sorted(c.properties) for c in ours.characteristics}
            assert props == {
                rl.DATA_UUID: ["notify"],
                rl.CONTROL_UUID: ["notify", "write"],
                rl.STATUS_UUID: ["notify", "read"],
            }
            data = client.services.get_characteristic(rl.DATA_UUID)
            assert data is not None and data.max_write_without_response_size == 244
            assert [d.uuid for d in data.descriptors] == [CCCD]
            assert await client.read_gatt_char(BATTERY_LEVEL) == bytearray([73])
            assert await client.read_gatt_char(MANUFACTURER_NAME) == b"RehabLink simulated sensors"
            assert await client.read_gatt_char(FIRMWARE_REVISION) == b"1.0.0"
            status = rl.Status.from_bytes(await client.read_gatt_char(rl.STATUS_UUID))
            assert (status.state, status.battery_pct, status.next_sequence) == (
                rl.State.IDLE, 73, 0,
            )  # fmt: skip
            # The CCCD is readable as a descriptor and starts disabled.
            assert await client.read_gatt_descriptor(data.descriptors[0].handle) == b"\x00\x00"
        assert not client.is_connected

    run(test, faults=Faults(battery_pct=73))


def test_connect_by_address_string_and_mtu_limited_by_sensor() -> None:
    async def test(link: BleLink) -> None:
        async with BleakClient(link.sensor_address, backend=link.client_backend) as client:
            assert client.mtu_size == 23
            data = client.services.get_characteristic(rl.DATA_UUID)
            assert data is not None and data.max_write_without_response_size == 20

    run(test, faults=Faults(mtu=23))


def test_att_errors_become_bleak_protocol_errors() -> None:
    async def test(link: BleLink) -> None:
        async with BleakClient(link.sensor_address, backend=link.client_backend) as client:
            with pytest.raises(BleakGATTProtocolError) as caught:
                await client.write_gatt_char(BATTERY_LEVEL, b"\x10", response=True)
            assert caught.value.code == 0x03  # Write Not Permitted (Core spec Vol 3 Part F 3.4.1.1)
            with pytest.raises(BleakGATTProtocolError) as caught:
                await client.read_gatt_char(rl.CONTROL_UUID)
            assert caught.value.code == 0x02  # Read Not Permitted
            with pytest.raises(BleakError, match="pairing is not supported"):
                await client.pair()

    run(test)


def test_write_with_and_without_response_reach_the_sensor() -> None:
    async def test(link: BleLink) -> None:
        responses: list[rl.Response] = []
        async with BleakClient(link.sensor_address, backend=link.client_backend) as client:
            await client.start_notify(
                rl.CONTROL_UUID, lambda _c, data: responses.append(rl.Response.from_bytes(data))
            )
            await client.write_gatt_char(rl.CONTROL_UUID, bytes(rl.Command.get_info(7)), True)
            await client.write_gatt_char(rl.CONTROL_UUID, bytes(rl.Command.set_rate(25, 8)), False)
            await asyncio.sleep(0.05)
            status = rl.Status.from_bytes(await client.read_gatt_char(rl.STATUS_UUID))
        assert [(r.opcode, r.token, r.ok) for r in responses] == [
            (rl.Opcode.GET_INFO, 7, True),
            (rl.Opcode.SET_RATE, 8, True),
        ]
        info = rl.Info.from_bytes(responses[0].payload)
        assert info.can_resend and info.has_gyro
        assert status.rate_hz == 25

    run(test)


def test_start_notify_twice_does_not_double_notifications() -> None:
    async def test(link: BleLink) -> None:
        first: list[bytes] = []
        second: list[bytes] = []
        async with BleakClient(link.sensor_address, backend=link.client_backend) as client:
            await client.start_notify(rl.CONTROL_UUID, lambda _c, d: first.append(bytes(d)))
            await client.start_notify(rl.CONTROL_UUID, lambda _c, d: second.append(bytes(d)))
            await client.write_gatt_char(rl.CONTROL_UUID, bytes(rl.Command.get_info()), True)
            await asyncio.sleep(0.05)
            await client.stop_notify(rl.CONTROL_UUID)
            await client.write_gatt_char(rl.CONTROL_UUID, bytes(rl.Command.get_info()), True)
            await asyncio.sleep(0.05)
        assert first == [] and len(second) == 1

    run(test)


def test_async_notification_callback_and_use_cached_read() -> None:
    async def test(link: BleLink) -> None:
        got: list[bytes] = []

        async def on_status(_char: object, data: bytearray) -> None:
            got.append(bytes(data))

        async with BleakClient(link.sensor_address, backend=link.client_backend) as client:
            await client.start_notify(rl.STATUS_UUID, on_status)
            await client.write_gatt_char(rl.CONTROL_UUID, bytes(rl.Command.start()), True)
            await asyncio.sleep(0.05)
            cached = await client.read_gatt_char(rl.STATUS_UUID, use_cached=True)
        assert got and rl.Status.from_bytes(got[0]).state == rl.State.STREAMING
        assert bytes(cached) == got[-1]

    run(test)


def test_disconnected_callback_on_link_loss() -> None:
    async def test(link: BleLink) -> None:
        lost = asyncio.Event()
        client = BleakClient(
            link.sensor_address,
            disconnected_callback=lambda _client: lost.set(),
            backend=link.client_backend,
        )
        await client.connect()
        await client.write_gatt_char(rl.CONTROL_UUID, bytes(rl.Command.start()), True)
        await asyncio.wait_for(lost.wait(), 5)  # the sensor drops the link at 0.5 s
        assert not client.is_connected
        with pytest.raises(BleakError):
            _ = client.services
        await client.disconnect()  # harmless once the link is gone

    run(test, faults=Faults(disconnect_at_s=0.5, disconnect_for_s=0.5))


def test_link_loss_during_a_request_is_a_bleak_error_not_a_cancellation() -> None:
    async def test(link: BleLink) -> None:
        client = BleakClient(link.sensor_address, backend=link.client_backend)
        await client.connect()
        await client.write_gatt_char(rl.CONTROL_UUID, bytes(rl.Command.start()), True)
        reads = 0
        with pytest.raises(BleakError):  # the sensor drops the link at 0.5 s mid-read
            while True:
                await client.read_gatt_char(rl.STATUS_UUID)
                reads += 1
        assert reads > 0 and not client.is_connected

    run(test, faults=Faults(disconnect_at_s=0.5, disconnect_for_s=0.5))


def test_connect_times_out_when_no_device_answers() -> None:
    async def test(link: BleLink) -> None:
        client = BleakClient("F0:00:00:00:00:99", backend=link.client_backend, timeout=0.3)
        with pytest.raises(TimeoutError):
            await client.connect()
        assert not client.is_connected
        # The central is still usable afterwards.
        async with BleakClient(link.sensor_address, backend=link.client_backend) as client:
            assert client.is_connected

    run(test)


def test_unbound_backend_classes_explain_what_is_missing() -> None:
    from wearable.bumble_backend.client import BumbleBleakClient
    from wearable.bumble_backend.scanner import BumbleBleakScanner

    with pytest.raises(TypeError, match=r"backend=link\.scanner_backend"):
        BleakScanner(backend=BumbleBleakScanner)
    with pytest.raises(TypeError, match=r"backend=link\.client_backend"):
        BleakClient("F0:52:4C:00:00:01", backend=BumbleBleakClient)


def test_open_link_os_gives_the_platform_backend_and_bad_transports_fail_cleanly() -> None:
    async def main() -> None:
        async with open_link("os") as link:
            assert link.scanner_backend is None and link.client_backend is None
            with pytest.raises(LookupError):
                _ = link.sensor_address
        with pytest.raises(ConnectionError, match="cannot open Bumble transport"):
            async with open_link("tcp-client:127.0.0.1:1"):
                pass
        with pytest.raises(ValueError, match="needs a recording"):
            async with open_link("sim:"):
                pass

    asyncio.run(main())


def test_bleak_retry_connector_connects_through_the_backend() -> None:
    from bleak_retry_connector import establish_connection

    async def test(link: BleLink) -> None:
        device = await BleakScanner.find_device_by_address(
            link.sensor_address, timeout=1.0, backend=link.scanner_backend
        )
        assert device is not None
        client = await establish_connection(
            BleakClient,
            device,
            "simulated sensor",
            backend=link.client_backend,
            services=[rl.SERVICE_UUID, rl.BATTERY_SERVICE_UUID],
        )
        try:
            assert client.is_connected
            # Only the services asked for are listed (Bleak's ``services=`` filter).
            assert {s.uuid for s in client.services} == {
                rl.SERVICE_UUID,
                rl.BATTERY_SERVICE_UUID,
            }
        finally:
            await client.disconnect()

    run(test)


def test_leaving_the_link_leaves_no_task_behind() -> None:
    async def main() -> None:
        async with sim_link(short_recording(), speed=20.0) as link:
            await link.add_sensor(short_recording(), profile="microbit")
            async with BleakClient(link.sensor_address, backend=link.client_backend) as client:
                await client.start_notify(rl.DATA_UUID, lambda _c, _d: None)
                await client.write_gatt_char(rl.CONTROL_UUID, bytes(rl.Command.start()), True)
                await asyncio.sleep(0.05)
        await asyncio.sleep(0.05)
        assert [t for t in asyncio.all_tasks() if t is not asyncio.current_task()] == []

    asyncio.run(main())


def test_reconnect_reuses_the_gatt_cache_while_the_database_hash_holds() -> None:
    from firmware_protocol.simulated.sensor import SimulatedSensor

    async def connect(link: BleLink) -> tuple[BleakClient, bool]:
        client = BleakClient(link.sensor_address, backend=link.client_backend)
        await client.connect(dangerous_use_bleak_cache=True)
        return client, client._backend.services_from_cache  # type: ignore[attr-defined]

    async def test(link: BleLink) -> None:
        client, cached = await connect(link)
        layout = {c.handle: c.uuid for c in client.services.characteristics.values()}
        await client.disconnect()
        assert not cached  # first time: discovered
        client, cached = await connect(link)
        assert cached
        assert {c.handle: c.uuid for c in client.services.characteristics.values()} == layout
        # Proxies rebuilt from the cache work: subscribe, write, notify, read.
        got: list[bytes] = []
        await client.start_notify(rl.CONTROL_UUID, lambda _c, d: got.append(bytes(d)))
        await client.write_gatt_char(rl.CONTROL_UUID, bytes(rl.Command.get_info(9)), True)
        await asyncio.sleep(0.05)
        assert got and rl.Response.from_bytes(got[0]).token == 9
        assert await client.read_gatt_char(BATTERY_LEVEL) == bytearray([87])
        await client.disconnect()
        # Another device now answers at that address: its Database Hash differs, so the stale
        # layout is not trusted and the client discovers again.
        await link.sensors[0].close()
        assert link.radio is not None
        other = SimulatedSensor(short_recording(), link=link.radio, profile="witmotion", index=1)
        await other.start()
        try:
            client, cached = await connect(link)
            uuids = {s.uuid for s in client.services}
            await client.disconnect()
        finally:
            await other.close()
        assert not cached
        assert "0000ffe5-0000-1000-8000-00805f9a34fb" in uuids and rl.SERVICE_UUID not in uuids

    run(test)
