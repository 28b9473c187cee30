"""Text that came from outside (a sensor's advertisement, a server's answer) made safe to show
on a terminal and to store."""

from __future__ import annotations


def printable(text: str, limit: int = 64) -> str:
    """``text`` with control characters (terminal escape sequences) replaced by U+FFFD, cut to
    ``limit`` characters."""
    return "".join(ch if ch.isprintable() else "\ufffd" for ch in text[:limit])
