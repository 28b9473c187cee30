"""Fault injection for the simulated sensor: what can go wrong between a sensor and a laptop.

All times are in seconds of recording time (the simulated world's clock, which runs ``speed``
times faster than the wall clock in tests).
"""

from __future__ import annotations

from dataclasses import dataclass

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
    seed: int = 0

    def __post_init__(self) -> None:
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
