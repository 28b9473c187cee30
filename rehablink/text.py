"""Text that came from outside (a sensor's advertisement, a server's answer) made safe to show
on a terminal and to store."""

from __future__ import annotations


def printable(text: str, limit: int = 64) -> str:
    """``text`` with control characters (terminal escape sequences) replaced by U+FFFD, cut to
    ``limit`` characters."""
    return "".join(ch if ch.isprintable() else "\ufffd" for ch in text[:limit])


#: The longest sensor model kept, sent and taken: the Model Number String of a sensor's Device
#: Information service, as the companion reads it and the session document carries it.
MAX_MODEL_CHARS = 64


def is_sensor_model(value: object) -> bool:
    """Whether ``value`` is a sensor model as the session document carries it
    (``sensor.model``): 1 to :data:`MAX_MODEL_CHARS` printable characters, not only spaces.

    What :func:`printable` makes of a model read from the air (not blank) always is.

    Examples
    --------
    >>> is_sensor_model("Polar H10"), is_sensor_model(printable("H10\\x1b[2J"))
    (True, True)
    >>> is_sensor_model("H10\\x1b[2J"), is_sensor_model(" "), is_sensor_model("M" * 65)
    (False, False, False)
    """
    return (isinstance(value, str) and 0 < len(value) <= MAX_MODEL_CHARS
            and value.isprintable() and bool(value.strip()))
