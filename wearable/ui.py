"""The three faces of a running session: the live terminal display, JSON lines (``--headless``)
and nothing at all (``rehab record --json``, which prints one object at the end)."""

from __future__ import annotations

import json
import sys
import time
from typing import Any, TextIO

from rich.console import Console
from rich.live import Live
from rich.text import Text

from wearable.cues import CuePlayer
from wearable.display import LinkView, render
from wearable.link import LinkState
from wearable.session import Cue, SessionView
from wearable.stream import SensorLink


def link_view(link: SensorLink) -> LinkView:
    silent = link.silent_for_s(time.monotonic()) if link.state == LinkState.RECONNECTING \
        else None
    return LinkView(link.sensor.name, link.state, link.battery_pct,
                    None if silent is None else int(silent), link.give_up_after_s)


#: Most renders of the live display per second (cues render at once).
MAX_FPS = 10


class QuietUI:
    """Shows nothing but notes, on standard error (standard output is left to the caller)."""

    def update(self, view: SessionView, link: SensorLink) -> None:
        pass

    def cue(self, cue: Cue, view: SessionView) -> None:
        pass

    def note(self, text: str) -> None:
        print(f"note: {text}", file=sys.stderr, flush=True)


class HeadlessUI:
    """One JSON object per line for each cue and each link state change (for scripts)."""

    def __init__(self, out: TextIO | None = None) -> None:
        self.out = out or sys.stdout
        self._state: str | None = None

    def _emit(self, obj: dict[str, Any]) -> None:
        self.out.write(json.dumps(obj) + "\n")
        self.out.flush()

    def update(self, view: SessionView, link: SensorLink) -> None:
        if link.state != self._state:
            self._state = link.state
            self._emit({"event": "link", "state": str(link.state),
                        "battery_pct": link.battery_pct})

    def cue(self, cue: Cue, view: SessionView) -> None:
        obj: dict[str, Any] = {"event": str(cue.kind), "text": cue.text}
        if cue.set_index is not None:
            obj.update({"set": cue.set_index, "reps": cue.reps})
        self._emit(obj)

    def note(self, text: str) -> None:
        self._emit({"event": "note", "text": text})


class LiveUI:
    """The rich live display with the bell and spoken cues. Use as a context manager."""

    def __init__(self, console: Console | None = None, speak: bool = True) -> None:
        self.console = console or Console()
        self.player = CuePlayer(self.console.bell, speak=speak)
        self.live = Live(console=self.console, refresh_per_second=8, transient=False,
                         auto_refresh=False)
        self._last: tuple[SessionView, LinkView] | None = None
        self._rendered_at = 0.0
        self._force = False

    def __enter__(self) -> LiveUI:
        self.live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.live.__exit__(None, None, None)
        self.console.line()
        self.player.close()

    def update(self, view: SessionView, link: SensorLink) -> None:
        """Render when something changed, at most ``MAX_FPS`` times a second unless a cue
        (a count, the hold target, the end of a set) or a new link state must show at once."""
        key = (view, link_view(link))
        now = time.monotonic()
        if self._last is not None and self._last[1].state != key[1].state:
            self._force = True  # the last state before the display closes must show
        if self._last == key or (not self._force and now - self._rendered_at < 1 / MAX_FPS):
            return
        self._last, self._rendered_at, self._force = key, now, False
        self.live.update(render(view, key[1]), refresh=True)

    def cue(self, cue: Cue, view: SessionView) -> None:
        self._force = True
        self.player.play(cue)

    def note(self, text: str) -> None:
        """A line above the live display (it stays when the display moves on)."""
        self.console.print(Text(text, style="yellow"))
