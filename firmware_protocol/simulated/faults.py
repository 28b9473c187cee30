"""Fault injection for the simulated sensor: what can go wrong between a sensor and a laptop.

All times are in seconds of recording time (the simulated world's clock, which runs ``speed``
times faster than the wall clock in tests).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum

#: ATT MTU values the simulated sensor can be limited to (bytes).
SUPPORTED_MTUS = (23, 247)


@dataclass(frozen=True)
class Faults:
    """Faults the simulated sensor injects.

    Attributes
    ----------
    drop_rate : float
        Probability (0..1) that a data notification is lost on the air. With our profile the
        packet stays in the resend ring, so a resend recovers it.
    disconnect_at_s, disconnect_for_s : float or None, float
        At ``disconnect_at_s`` the sensor drops the link and stays silent (no advertising) for
        ``disconnect_for_s``, then advertises again; it keeps sampling meanwhile.
    mtu : int
        Largest ATT MTU the sensor accepts, bytes: 23 (the BLE minimum) or 247.
    drift_ppm : float
        How fast the sensor's crystal runs, parts per million (positive: its clock gains).
    battery_pct : int
        Battery level reported by the Battery service and the Status record, %.
    reboot_at_s : float or None
        At this time the sensor reboots: the link drops, its ring buffer is lost, sequence
        numbers and the sensor clock restart from 0, and it comes back idle after
        ``reboot_downtime_s``.
    reboot_downtime_s : float
        How long a reboot takes, s.
    hang_at_s : float or None
        At this time the sensor's firmware hangs for good: its Bluetooth stack still advertises,
        accepts connections and acknowledges reads and writes, but nothing is notified or
        indicated any more (no data, no answer on a control point), whatever the central does.
    charger_at_s : float or None
        At this time the sensor is put on its charger: from then on it refuses to start
        streaming, as a Polar does (PMD error 13, device in charger); a stream under way goes on
        until the link drops. A Polar only: the other families start on a write they do not
        answer, so they cannot refuse.
    connection_interval_ms, notifications_per_event : float, int
        Pace notifications like a real link: they leave only at connection events every
        ``connection_interval_ms`` (world time), at most ``notifications_per_event`` per event
        (many stacks manage 4..6). 0 ms: as fast as the virtual link carries them.
    seed : int
        Seed of the loss draws, so a run is reproducible.
    """

    drop_rate: float = 0.0
    disconnect_at_s: float | None = None
    disconnect_for_s: float = 0.0
    mtu: int = 247
    drift_ppm: float = 0.0
    battery_pct: int = 87
    reboot_at_s: float | None = None
    reboot_downtime_s: float = 1.0
    hang_at_s: float | None = None
    charger_at_s: float | None = None
    connection_interval_ms: float = 0.0
    notifications_per_event: int = 6
    seed: int = 0

    def __post_init__(self) -> None:
        for name, value in vars(self).items():
            if isinstance(value, float) and not math.isfinite(value):
                raise ValueError(f"{name} must be a finite number, got {value}")
        if not 0.0 <= self.drop_rate < 1.0:
            raise ValueError(f"drop rate must be in [0, 1), got {self.drop_rate}")
        if self.disconnect_at_s is not None and self.disconnect_at_s < 0:
            raise ValueError("disconnect time must be >= 0 s")
        if self.disconnect_for_s < 0:
            raise ValueError("disconnect duration must be >= 0 s")
        if self.mtu not in SUPPORTED_MTUS:
            raise ValueError(f"MTU must be one of {', '.join(map(str, SUPPORTED_MTUS))}")
        if abs(self.drift_ppm) > 10_000:
            raise ValueError("clock drift beyond ±10000 ppm is not a crystal")
        if not 0 <= self.battery_pct <= 100:
            raise ValueError("battery level must be 0..100 %")
        if self.reboot_at_s is not None and self.reboot_at_s < 0:
            raise ValueError("reboot time must be >= 0 s")
        if self.reboot_downtime_s < 0:
            raise ValueError("reboot downtime must be >= 0 s")
        if self.hang_at_s is not None and self.hang_at_s < 0:
            raise ValueError("hang time must be >= 0 s")
        if self.charger_at_s is not None and self.charger_at_s < 0:
            raise ValueError("charger time must be >= 0 s")
        if self.connection_interval_ms and not 7.5 <= self.connection_interval_ms <= 4000:
            raise ValueError("a connection interval is 7.5..4000 ms (or 0 for none)")
        if self.notifications_per_event < 1:
            raise ValueError("at least one notification per connection event")


class FaultEvent(Enum):
    """What the fault schedule asks the sensor to do."""

    LINK_LOSS = "link loss"  # drop the link and stop advertising
    REBOOT = "reboot"  # forget RAM, restart the clock and sequence, drop the link
    BACK_ON_AIR = "back on air"  # advertise again


class FaultSchedule:
    """When the scheduled faults strike, in world time (pure: no event loop).

    Examples
    --------
    >>> s = FaultSchedule(Faults(disconnect_at_s=2.0, disconnect_for_s=3.0))
    >>> [e.name for e in s.due(1.0)], [e.name for e in s.due(2.5)], s.offline
    ([], ['LINK_LOSS'], True)
    >>> [e.name for e in s.due(5.0)], s.offline
    (['BACK_ON_AIR'], False)
    """

    def __init__(self, faults: Faults) -> None:
        self.faults = faults
        self.boot_tau_s = 0.0
        self._loss_pending = faults.disconnect_at_s is not None
        self._reboot_pending = faults.reboot_at_s is not None
        self._offline_until: float | None = None

    @property
    def offline(self) -> bool:
        """True while the sensor must stay silent (link lost or rebooting)."""
        return self._offline_until is not None

    def next_fault_tau(self) -> float | None:
        """World time of the next link loss or reboot still to come."""
        times = []
        if self._loss_pending and self.faults.disconnect_at_s is not None:
            times.append(self.faults.disconnect_at_s)
        if self._reboot_pending and self.faults.reboot_at_s is not None:
            times.append(self.faults.reboot_at_s)
        return min(times) if times else None

    def next_event_tau(self) -> float | None:
        """World time of the next event of any kind."""
        times = [t for t in (self.next_fault_tau(), self._offline_until) if t is not None]
        return min(times) if times else None

    def due(self, tau: float) -> list[FaultEvent]:
        """Events that happen by world time ``tau`` (each at most once), in order."""
        events: list[FaultEvent] = []
        loss_at, reboot_at = self.faults.disconnect_at_s, self.faults.reboot_at_s
        if self._loss_pending and loss_at is not None and tau >= loss_at:
            self._loss_pending = False
            self._offline_until = loss_at + self.faults.disconnect_for_s
            events.append(FaultEvent.LINK_LOSS)
        if self._reboot_pending and reboot_at is not None and tau >= reboot_at:
            self._reboot_pending = False
            back = reboot_at + self.faults.reboot_downtime_s
            self.boot_tau_s = back  # the clock starts when the firmware is up again
            self._offline_until = max(self._offline_until or 0.0, back)
            events.append(FaultEvent.REBOOT)
        if self._offline_until is not None and tau >= self._offline_until:
            self._offline_until = None
            events.append(FaultEvent.BACK_ON_AIR)
        return events
