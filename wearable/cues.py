"""Playing cues: the terminal bell always, spoken words where ``espeak-ng`` (or ``espeak``) is
installed. Sound is a help, never a requirement: a missing synthesiser is silently skipped and
a slow one never holds up the stream (it runs as a separate process, not waited for).
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable

from wearable.session import Cue, CueKind

#: Cues that ring the bell (the hold target, the end of a set and a sensor out of reach must be
#: unmistakable).
BELL_CUES = {CueKind.HOLD_REACHED: 1, CueKind.SET_DONE: 2, CueKind.SESSION_DONE: 2,
             CueKind.STABILITY: 1, CueKind.REST_OVER: 1, CueKind.SIGNAL_LOST: 2,
             CueKind.SENSOR_LOST: 2}
#: Cues that are spoken where a synthesiser exists (not the sensor given up: the display closes
#: at once and the words are on the screen).
SPOKEN_CUES = {CueKind.HOLD_REACHED, CueKind.SET_DONE, CueKind.STABILITY, CueKind.SET_START,
               CueKind.SESSION_DONE, CueKind.SIGNAL_LOST, CueKind.SIGNAL_BACK}


def find_speech() -> str | None:
    """Path of a speech synthesiser, if one is installed."""
    return shutil.which("espeak-ng") or shutil.which("espeak")


class CuePlayer:
    """Rings and speaks cues.

    Parameters
    ----------
    bell : callable
        Rings the terminal bell once (``rich.console.Console.bell``).
    speak : bool
        Speak cues when a synthesiser is installed.
    """

    def __init__(self, bell: Callable[[], None], speak: bool = True) -> None:
        self._bell = bell
        self._speech = find_speech() if speak else None
        self._voice: subprocess.Popen[bytes] | None = None

    def play(self, cue: Cue) -> None:
        for _ in range(BELL_CUES.get(cue.kind, 0)):
            self._bell()
        if self._speech and cue.kind in SPOKEN_CUES:
            self._say(cue.text)

    def _say(self, text: str) -> None:
        if self._voice is not None and self._voice.poll() is None:
            self._voice.terminate()  # the newest cue matters most
        try:
            self._voice = subprocess.Popen(
                [self._speech or "espeak-ng", "-s", "150", text],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        except OSError:
            self._speech = None

    def close(self) -> None:
        if self._voice is not None:
            if self._voice.poll() is None:
                self._voice.terminate()
            self._voice.wait()
