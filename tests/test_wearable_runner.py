"""The runner's tick, on a stand-in link and display (no event loop, no Bluetooth)."""

from __future__ import annotations

from pathlib import Path

from wearable.link import LinkState
from wearable.plan import SetSpec
from wearable.runner import RunOptions, _Run
from wearable.session import Cue, SessionView
from wearable.store import CompanionStore


class _Link:
    """What the runner reads of a link: a connected sensor streaming, never silent."""

    state = LinkState.STREAMING
    last_data_s: float | None = 0.0
    receiving = True

    def silent_for_s(self, now_s: float) -> float | None:
        return 0.0

    def set_resting(self, resting: bool) -> None:
        pass


class _Display:
    """Counts what the runner shows."""

    def __init__(self) -> None:
        self.updates = 0
        self.cues: list[Cue] = []

    def update(self, view: SessionView, link: object) -> None:
        self.updates += 1

    def cue(self, cue: Cue, view: SessionView) -> None:
        self.cues.append(cue)

    def note(self, text: str) -> None:
        pass


def test_the_display_is_updated_once_a_tick(tmp_path: Path) -> None:
    """A tick showed the session twice (once after the link's cues, once after the
    session's clock): it now shows it once, after both; a change of the link's state
    shows it once too."""
    display = _Display()
    with CompanionStore.open(tmp_path / "companion.db") as store:
        sid = store.create_session("record")
        run = _Run([SetSpec(0, "bridge", 1, 1, 5, None)], store, sid, display,  # type: ignore[arg-type]
                   RunOptions(), lambda: 1.0)
        run.link = _Link()  # type: ignore[assignment]
        run.play(run.machine.start())
        assert display.cues and display.updates == 0
        for ticks in (1, 2, 3):
            run.periodic()
            assert display.updates == ticks
        run.link_changed()
        assert display.updates == 4
