"""Single key presses from the terminal (p pause, s skip, q stop) without Enter.

Only when standard input is a terminal on a POSIX system; otherwise nothing is read (the
session still runs, driven by ``--answers``/``--yes`` and Ctrl-C).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import Iterator

KEYS = frozenset("psqPSQ")


@contextlib.contextmanager
def keyboard(queue: asyncio.Queue[str]) -> Iterator[None]:
    """Put each of the keys p, s, q pressed into ``queue`` while the block runs."""
    stdin = sys.stdin
    try:
        import termios
        import tty
    except ImportError:  # Windows
        yield
        return
    if stdin is None or not stdin.isatty():
        yield
        return
    fd = stdin.fileno()
    saved = termios.tcgetattr(fd)
    loop = asyncio.get_running_loop()

    def on_key() -> None:
        data = os.read(fd, 16).decode(errors="ignore")
        for ch in data:
            if ch in KEYS:
                queue.put_nowait(ch.lower())

    try:
        tty.setcbreak(fd)
        loop.add_reader(fd, on_key)
        yield
    finally:
        loop.remove_reader(fd)
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)
