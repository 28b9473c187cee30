"""The resend ring of our profile (SPEC.md 7.2): the last packets, found by sequence number."""

from __future__ import annotations

from collections import deque

from firmware_protocol import rehablink_profile as rl

#: Packets the resend ring holds: 41 s at 200 Hz with one sample per packet (MTU 23), well over
#: the 10 s SPEC.md 7.2 requires.
RING_CAPACITY_PACKETS = 8192


class ResendRing:
    """The last ``capacity`` Data packets, found by their wrapping 16-bit sequence number."""

    def __init__(self, capacity: int = RING_CAPACITY_PACKETS) -> None:
        self.capacity = capacity
        self._packets: deque[rl.DataPacket] = deque(maxlen=capacity)

    def __len__(self) -> int:
        return len(self._packets)

    def append(self, packet: rl.DataPacket) -> None:
        """Keep a packet (the oldest falls out when full)."""
        self._packets.append(packet)

    @property
    def oldest_sequence(self) -> int | None:
        """Sequence of the oldest packet held, or None when empty."""
        return self._packets[0].sequence if self._packets else None

    def clear(self) -> None:
        """Forget everything (a reboot)."""
        self._packets.clear()

    def since(self, sequence: int) -> list[rl.DataPacket] | None:
        """Packets from ``sequence`` on, or None when it is no longer (or not yet) held."""
        if not self._packets:
            return None
        offset = (sequence - self._packets[0].sequence) & 0xFFFF
        if offset >= len(self._packets):
            return None
        return list(self._packets)[offset:]
