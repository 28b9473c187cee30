"""Packet bookkeeping of one stream: sequence numbers, reordering, resend requests, losses.

Pure: no Bluetooth, no event loop; times are the host's monotonic seconds passed in.

A sensor that numbers its packets (the RehabLink profile) lets the companion see every lost
packet. Packets are released to the motion engine strictly in order; a hole holds the later
packets back while a resend is requested, and is given up (counted lost) only when the sensor
cannot resend it (its ring no longer holds it, or ``give_up_s`` passed with the link up).
Packets that arrive twice (a resend overlapping what came through) are dropped.

Example
-------
>>> ledger = PacketLedger(can_resend=True)
>>> ledger.push(7, "a", now=0.0)
['a']
>>> ledger.push(9, "c", now=0.1)  # 8 is missing: "c" waits
[]
>>> ledger.resend_request(now=0.1)
8
>>> ledger.push(8, "b", now=0.2)
['b', 'c']
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")

SEQUENCE_MODULUS = 1 << 16


@dataclass
class _Hole:
    first_seen: float
    requests: int = 0
    last_request: float = -1e9


@dataclass
class PacketLedger(Generic[T]):
    """Order, deduplicate and account for the packets of one sensor stream.

    Parameters
    ----------
    can_resend : bool
        Whether missing packets can be requested again; if not, a hole is lost at once.
    modulus : int
        Sequence numbers wrap at this value (u16 → 65536).
    retry_s : float
        Minimum time between two resend requests, s.
    give_up_s : float
        A hole older than this (while connected) is counted lost and skipped, s.
    """

    can_resend: bool
    modulus: int = SEQUENCE_MODULUS
    retry_s: float = 0.3
    give_up_s: float = 2.0
    #: Packets released to the consumer, and packets counted lost.
    released: int = 0
    lost_packets: int = 0
    duplicates: int = 0
    _next: int | None = None  # unwrapped sequence expected next by the consumer
    _latest: int | None = None  # highest unwrapped sequence seen
    _pending: dict[int, T] = field(default_factory=dict)
    _holes: dict[int, _Hole] = field(default_factory=dict)
    _connected: bool = True

    def unwrap(self, raw: int) -> int:
        """Unwrapped sequence of a raw (wrapping) one, nearest the latest seen."""
        if self._latest is None:
            return raw
        base = self._latest - (self._latest % self.modulus)
        candidates = (base - self.modulus + raw, base + raw, base + self.modulus + raw)
        return min(candidates, key=lambda c: abs(c - self._latest))  # type: ignore[operator]

    def expect_first(self, raw_sequence: int) -> None:
        """The sensor says which sequence it sends next (our profile's Status), before any packet
        has arrived: a first packet lost on the air then shows as a hole to resend instead of
        going unnoticed."""
        if self._next is None:
            self._latest = raw_sequence - 1  # as if the packet before it had been seen
            self._next = raw_sequence

    def sent_before(self, raw_sequence: int, now: float) -> None:
        """The sensor says it has sent every packet before ``raw_sequence`` (the end of a resend
        plan, the next sequence in its Status): those not seen are holes to resend. Without this
        a last packet lost at the end of a stream, with nothing after it, would go unnoticed."""
        if not self.can_resend or self._latest is None or self._next is None:
            return
        seq = self.unwrap(raw_sequence)
        for missing in range(max(self._latest + 1, self._next), seq):
            self._holes.setdefault(missing, _Hole(now))
        self._latest = max(self._latest, seq - 1)

    def push(self, raw_sequence: int, item: T, now: float) -> list[T]:
        """Accept one packet; returns the packets now releasable, in order."""
        seq = self.unwrap(raw_sequence)
        if self._next is None:
            self._next = seq
        if seq < self._next or seq in self._pending:
            self.duplicates += 1
            return []
        if self._latest is None or seq > self._latest:
            start = self._next if self._latest is None else self._latest + 1
            for missing in range(max(start, self._next), seq):
                self._holes.setdefault(missing, _Hole(now))
            self._latest = seq
        self._holes.pop(seq, None)
        self._pending[seq] = item
        if not self.can_resend:
            self._drop_holes(before=None)
        return self._release()

    def _release(self) -> list[T]:
        out: list[T] = []
        if self._next is None:
            return out
        while True:
            if self._next in self._pending:
                out.append(self._pending.pop(self._next))
                self._next += 1
            elif self._next in self._holes or not self._pending:
                break
            else:  # only after a give-up: skip to the next packet still expected
                self._next = min(self._pending.keys() | self._holes.keys())
        self.released += len(out)
        return out

    def _drop_holes(self, before: int | None) -> None:
        for seq in sorted(self._holes):
            if before is not None and seq >= before:
                break
            del self._holes[seq]
            self.lost_packets += 1

    @property
    def missing(self) -> int:
        """Packets currently known to be missing and still awaited."""
        return len(self._holes)

    @property
    def last_sequence(self) -> int | None:
        """Raw sequence number of the newest packet seen (the resend point after a reconnect)."""
        return None if self._latest is None else self._latest % self.modulus

    def set_connected(self, connected: bool, now: float) -> None:
        """Holes are not given up while the link is down (a resend will follow the reconnect)."""
        self._connected = connected
        if connected:
            for hole in self._holes.values():
                hole.first_seen, hole.requests, hole.last_request = now, 0, -1e9

    def resend_request(self, now: float) -> int | None:
        """Raw sequence to ask the sensor to resend from, or None when nothing is due."""
        if not self.can_resend or not self._holes or not self._connected:
            return None
        first = min(self._holes)
        hole = self._holes[first]
        if now - hole.last_request < self.retry_s:
            return None
        for h in self._holes.values():
            h.last_request = now
        hole.requests += 1
        return first % self.modulus

    def resend_after_reconnect(self) -> int | None:
        """Raw sequence to resend from right after a reconnect: the oldest hole, or the packet
        after the last one seen (those sent while the link was down)."""
        if not self.can_resend or self._latest is None:
            return None
        first = min(self._holes) if self._holes else self._latest + 1
        return first % self.modulus

    def resend_unavailable(self, first_available_raw: int) -> list[T]:
        """The sensor can resend only from ``first_available_raw`` (its oldest packet held, in a
        NOT_IN_BUFFER answer): older holes are lost."""
        self._drop_holes(before=self.unwrap(first_available_raw))
        return self._release()

    def poll(self, now: float) -> list[T]:
        """Give up holes that waited ``give_up_s`` with the link up; returns released packets."""
        if not self._holes or not self._connected:
            return []
        expired = [s for s, h in self._holes.items() if now - h.first_seen >= self.give_up_s]
        if not expired:
            return []
        self._drop_holes(before=max(expired) + 1)
        return self._release()

    def flush(self) -> list[T]:
        """End of stream: every hole is lost; returns the remaining packets in order."""
        self._drop_holes(before=None)
        return self._release()

    def restart(self) -> list[T]:
        """The sensor rebooted (its numbering restarts): flush, then start afresh."""
        out = self.flush()
        self._next = self._latest = None
        return out
