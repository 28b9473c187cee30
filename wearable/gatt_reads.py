"""One-off reads from a connected sensor: its battery level, its model and our profile's Status.

Each read is a help, never a requirement: a sensor without the characteristic, or one that does
not answer, gives None and the stream is set up all the same.
"""

from __future__ import annotations

from bleak import BleakClient
from bleak.exc import BleakError

from firmware_protocol import rehablink_profile as rl
from rehablink.text import MAX_MODEL_CHARS, printable

#: Battery Level (GATT Battery service), u8 %.
BATTERY_LEVEL_UUID = "00002a19-0000-1000-8000-00805f9b34fb"
#: Model Number String (GATT Device Information service), UTF-8.
MODEL_NUMBER_UUID = "00002a24-0000-1000-8000-00805f9b34fb"

#: What a read that did not work raises (no such characteristic, link lost, no answer).
_READ_FAILED = (BleakError, TimeoutError, EOFError)


async def read_battery(client: BleakClient) -> int | None:
    """The battery level, %, or None when the sensor does not give it."""
    try:
        level = await client.read_gatt_char(BATTERY_LEVEL_UUID)
    except _READ_FAILED:
        return None
    return int(level[0]) if level else None


async def read_model(client: BleakClient) -> str | None:
    """The model the sensor says it is (Device Information's Model Number String), made safe to
    show and store (it came over the air), or None when it has none."""
    try:
        value = await client.read_gatt_char(MODEL_NUMBER_UUID)
    except _READ_FAILED:
        return None
    model = printable(bytes(value).decode("utf-8", errors="replace").strip("\x00 \t\r\n"),
                      MAX_MODEL_CHARS)
    return model or None


async def read_status(client: BleakClient) -> rl.Status | None:
    """Our profile's Status (next sequence number, battery, ...), or None when it cannot be
    read or is malformed."""
    try:
        return rl.Status.from_bytes(bytes(await client.read_gatt_char(rl.STATUS_UUID)))
    except (*_READ_FAILED, ValueError):
        return None
