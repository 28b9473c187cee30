"""The sensor link as the rest of the companion sees it: its states and how it fails.

No Bluetooth here: the display, the runner and the end-of-session words use these without
importing Bleak. :class:`~wearable.stream.SensorLink` is the link itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class LinkState(StrEnum):
    """Connection state shown to the patient."""

    CONNECTING = "connecting"
    STREAMING = "streaming"
    RECONNECTING = "reconnecting"
    STOPPED = "stopped"
    LOST = "lost"  # given up: nothing came for the give-up time


class StreamError(RuntimeError):
    """The sensor cannot be reached; the message says what to try."""


class SensorLost(StreamError):
    """A sensor that had streamed sent no data for the give-up time; the link stopped trying."""


@dataclass
class LinkCounters:
    """What the link went through: ``reconnects``, connections after the first."""

    reconnects: int = 0
