"""The live terminal display of a set (rich): large, plain words for a patient at home.

Pure rendering: a :class:`~wearable.session.SessionView` and a :class:`LinkView` in, a rich
renderable out. The runner puts it in a ``rich.live.Live``.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from wearable.link import LinkState
from wearable.session import Phase, SessionView
from wearable.silence import KEEP_GOING_S, come_near_after_s, span_words


@dataclass(frozen=True)
class LinkView:
    """The sensor as the patient sees it.

    ``silent_s``: whole seconds since its last data while reconnecting, as the give-up time
    counts them (rests left out; None otherwise); ``give_up_after_s``: the silence, s, after
    which the session stops.
    """

    name: str
    state: LinkState
    battery_pct: int | None
    silent_s: int | None = None
    give_up_after_s: float | None = None


_STATE_TEXT = {
    LinkState.CONNECTING: ("connecting…", "yellow"),
    LinkState.STREAMING: ("connected", "green"),
    LinkState.RECONNECTING: ("reconnecting… keep going", "bold yellow"),
    LinkState.STOPPED: ("disconnected", "red"),
    LinkState.LOST: ("lost - the session has stopped", "bold red"),
}


def _reconnecting_words(link: LinkView, view: SessionView) -> str:
    """What the patient is told while the link reconnects: keep going through a short
    drop-out; after it, come near, and how long until the session stops without the sensor;
    in a rest or a pause, that the session waits (the give-up time does not run then)."""
    resting = view.paused or (view.phase == Phase.REST and not view.waiting_for_sensor)
    if resting:
        return "reconnecting… the session waits while you rest"
    give_up_s = link.give_up_after_s
    come_near_s = KEEP_GOING_S if give_up_s is None else come_near_after_s(give_up_s)
    silent_s = link.silent_s or 0
    if silent_s < come_near_s:
        return "reconnecting… keep going" if view.phase == Phase.EXERCISE else "reconnecting…"
    words = f"no signal for {silent_s} s - come near this computer"
    if give_up_s is not None:
        left_s = max(round(give_up_s - silent_s), 0)
        words += f" (the session stops in {span_words(left_s)})"
    return words


def _status_line(link: LinkView, view: SessionView) -> Text:
    words, style = _STATE_TEXT[link.state]
    if link.state == LinkState.RECONNECTING:
        words = _reconnecting_words(link, view)
    text = Text(f"Sensor {link.name}: ", style="dim")
    text.append(words, style=style)
    if link.battery_pct is not None:
        low = link.battery_pct <= 15
        text.append(f"   battery {link.battery_pct}%", style="bold red" if low else "dim")
        if low:
            text.append(" - charge it after this session", style="red")
    return text


def _hold_bar(view: SessionView) -> RenderableType:
    target = view.hold_target_s
    if not target:
        return Text(f"Hold: {view.hold_s:4.1f} s" if view.holding else "")
    done = view.hold_s >= target
    bar = ProgressBar(total=target, completed=min(view.hold_s, target), width=40,
                      complete_style="bold green" if done else "cyan",
                      finished_style="bold green")
    grid = Table.grid(padding=(0, 1))
    label = "HOLD REACHED - lower slowly" if done and view.holding else \
        f"Hold {view.hold_s:4.1f} / {target:g} s"
    grid.add_row(Text("Hold ", style="bold"), bar, Text(label, style="bold green" if done
                                                        else ""))
    return grid


def render(view: SessionView, link: LinkView) -> RenderableType:
    """The screen for one moment of the session."""
    title = f"{view.exercise_name} - set {view.set_number} of {view.of_sets}"
    if view.total_sets > 1:
        title += f"  (set {view.set_index + 1} of {view.total_sets} today)"
    parts: list[RenderableType] = [Text(view.cue, style="italic")]
    if view.note:
        parts.append(Text(f"Note from your physiotherapist: {view.note}", style="dim"))
    if view.phase == Phase.REST:
        left = view.rest_left_s or 0.0
        parts.append(Text(f"\nRest: {left:3.0f} s", style="bold cyan"))
        if link.state == LinkState.LOST:  # no next set: the status line says it has stopped
            hint = None
        elif view.waiting_for_sensor:
            hint = Text("Waiting for the sensor: the next set starts when it is back "
                        "(s to start now)", style="bold yellow")
        else:
            hint = Text("Next set starts when the timer ends (s to start now)", style="dim")
        if hint is not None:
            parts.append(hint)
    elif view.phase == Phase.EXERCISE:
        target = f" / {view.target_reps}" if view.target_reps else ""
        parts.append(Text(f"\nReps: {view.reps}{target}", style="bold white"))
        parts.append(_hold_bar(view))
        if view.warning:
            parts.append(Text(f"! {view.warning}", style="bold yellow"))
    else:
        parts.append(Text("\nSet finished.", style="bold green"))
    if view.paused:
        parts.append(Text("PAUSED - press p to carry on", style="bold magenta"))
    parts.append(Text(""))
    parts.append(_status_line(link, view))
    parts.append(Text("keys: p pause   s skip set   q stop", style="dim"))
    return Panel(Group(*parts), title=title, border_style="blue")
