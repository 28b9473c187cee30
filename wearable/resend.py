"""Asking a sensor of our profile for packets again (SPEC.md 7): the writes to its control point.

The pure :class:`~wearable.ledger.PacketLedger` says what is missing; :class:`Resender` writes
``RESEND_FROM`` while a client is connected: for a hole, for what was sent while the link was
down (after a reconnection), and for the tail of a stream (its last packets may be lost with
nothing after them to show the hole). A write that fails is dropped: the ledger asks again.
"""

from __future__ import annotations

import contextlib
from typing import Any

from bleak import BleakClient
from bleak.exc import BleakError

from firmware_protocol import rehablink_profile as rl
from wearable.ledger import PacketLedger
from wearable.pipeline import RL_MODULUS


class Resender:
    """Resend requests of one link; :attr:`client` is the connected client (None while down).

    Parameters
    ----------
    ledger : PacketLedger
        The link's ledger (what was seen, what is missing).
    can_resend : bool
        Whether the sensor's profile can resend at all.
    """

    def __init__(self, ledger: PacketLedger[Any], can_resend: bool) -> None:
        self.ledger, self.can_resend = ledger, can_resend
        self.client: BleakClient | None = None
        self._token = 10

    async def request(self, raw_sequence: int) -> None:
        """Ask for every packet from ``raw_sequence`` (u16) on."""
        client = self.client
        if client is None:
            return
        self._token = (self._token + 1) & 0xFF
        command = rl.Command.resend_from(raw_sequence, self._token)
        with contextlib.suppress(BleakError, TimeoutError, EOFError):
            await client.write_gatt_char(rl.CONTROL_UUID, bytes(command), response=True)

    async def after_reconnect(self) -> None:
        """Ask for what was missed while the link was down (the oldest hole, or what came after
        the last packet seen)."""
        first_missing = self.ledger.resend_after_reconnect()
        if first_missing is not None:
            await self.request(first_missing)

    async def fetch_tail(self) -> bool:
        """Ask for anything after the last packet seen; returns whether a request was sent."""
        last = self.ledger.last_sequence
        if not self.can_resend or self.client is None or last is None:
            return False
        await self.request((last + 1) % RL_MODULUS)
        return True
