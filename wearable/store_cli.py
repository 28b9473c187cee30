"""``rehab sessions``, ``rehab show SESSION`` and ``rehab export SESSION --csv``: the local store
from the command line. SESSION is a session id or a unique prefix of it (at least 4
characters); ``SESSION:N`` picks set N (0-based) where one set is meant.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from rehablink.cli_errors import BadInput
from rehablink.clinical import RED_FLAGS
from rehablink.recording import Recording
from wearable.cli import open_store


def split_set(ref: str) -> tuple[str, int | None]:
    """``"abcd1234:2"`` → ``("abcd1234", 2)``; ``"abcd1234"`` → ``("abcd1234", None)``."""
    sid, sep, idx = ref.partition(":")
    if not sep:
        return sid, None
    if not idx.isdigit():
        raise BadInput(f"set number must be a whole number, got {idx!r} in {ref!r}")
    return sid, int(idx)


def _resolve(store: Any, ref: str) -> tuple[str, int | None]:
    from wearable.store import StoreError

    sid, idx = split_set(ref)
    try:
        return store.resolve_session(sid), idx
    except StoreError as exc:
        raise BadInput(str(exc)) from None


@dataclass(frozen=True, eq=False)
class StoredSet:
    """A stored set's samples and what it was prescribed as (for ``rehab analyze``)."""

    recording: Recording
    exercise: str
    placement: str
    hold_target_s: float | None


def stored_recording(ref: str) -> StoredSet:
    """The recording of a stored set, ``SESSION`` or ``SESSION:N`` (for ``rehab analyze``).

    Raises
    ------
    BadInput
        When ``ref`` is neither a file nor a stored session (one line saying so).
    """
    from rehablink.paths import rehab_home
    from wearable.store import DB_NAME, CompanionStore, StoreDamaged, StoreError

    sid, idx = split_set(ref)
    db = rehab_home() / DB_NAME
    if len(sid) < 4 or not db.exists():
        raise BadInput(f"no such file or stored session: {ref}")
    try:
        store = CompanionStore.open(db)
    except StoreDamaged as exc:
        raise BadInput(str(exc)) from None
    with store:
        try:
            full = store.resolve_session(sid)
            index = 0 if idx is None else idx
            recording = store.set_recording(full, index)
            stored = next(s for s in store.session_document(full)["sets"] if s["index"] == index)
            return StoredSet(recording, stored["exercise"], stored["placement"],
                             stored["hold_target_s"])
        except StoreError:
            raise BadInput(f"no such file or stored session: {ref}") from None


@click.command("sessions")
@click.option("--limit", type=click.IntRange(1), default=20, show_default=True,
              help="How many sessions, newest first.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def sessions_command(limit: int, as_json: bool) -> None:
    """List the sessions kept on this computer, newest first."""
    with open_store() as store:
        rows = store.sessions(limit)
    if as_json:
        click.echo(json.dumps(rows))
        return
    if not rows:
        click.echo("No sessions yet. Start one with `rehab session` or `rehab record`.")
        return
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table("id", "started (UTC)", "kind", "status", "sensor", "sets", "reps", "pain",
                  "flags", "uploaded", box=None)
    for r in rows:
        status = r["status"]
        style = "yellow" if status == "interrupted" else ""
        table.add_row(r["id"][:8], r["started_at"][:16].replace("T", " "), r["kind"],
                      f"[{style}]{status}[/]" if style else status,
                      Text(sensor_words(r["sensor_model"], r["sensor_profile"])), str(r["sets"]),
                      str(r["reps"]), "" if r["pain"] is None else str(r["pain"]),
                      red_flag_words(r["red_flags"].split(",") if r["red_flags"] else [],
                                     r["red_flags_unasked"]),
                      "yes" if r["uploaded_at"] else "no")
    Console().print(table)


@click.command("show")
@click.argument("session")
@click.option("--json", "as_json", is_flag=True, help="Print the session document (JSON).")
def show_command(session: str, as_json: bool) -> None:
    """Show one stored session: its sets, reps, stream quality and answers."""
    with open_store() as store:
        sid, _ = _resolve(store, session)
        doc = store.session_document(sid)
    if as_json:
        click.echo(json.dumps(doc))
        return
    from rich.console import Console
    from rich.table import Table

    from rehablink.exercises import EXERCISES
    from rehablink.text import printable

    console = Console()
    sensor = doc["sensor"] or {}
    model = sensor.get("model")  # as the clinic is sent it
    console.print(f"Session {doc['id']} ({doc['status']})", style="bold")
    console.print(f"{doc['started_at']} to {doc['ended_at'] or '-'}; sensor "
                  f"{printable(str(sensor.get('name', '-')))} [{sensor.get('profile', '-')}]"
                  + (f", {printable(model)}" if model else ""),
                  highlight=False, markup=False)  # name and model came over the air: plain text
    table = Table("set", "exercise", "reps", "target", "hold (median s)", "lost", "gaps",
                  "reconnects", box=None)
    for s in doc["sets"]:
        result = s["result"] or {}
        reps = result.get("reps", [])
        holds = sorted(r["hold_s"] for r in reps)
        hold = f"{holds[len(holds) // 2]:.1f}" if holds else "-"
        name = EXERCISES[s["exercise"]].name if s["exercise"] in EXERCISES else s["exercise"]
        table.add_row(str(s["index"]), name,
                      "skipped" if s["skipped"] else str(result.get("rep_count", 0)),
                      "-" if s["target_reps"] is None else str(s["target_reps"]), hold,
                      str(s["samples_lost"]), str(len(s["gaps"])), str(s["reconnects"]))
    console.print(table)
    pain = "-" if doc["pain"] is None else f"{doc['pain']}/10"
    flags = red_flag_words(doc["red_flags"], doc["red_flags_unasked"])
    console.print(f"Pain: {pain}; red flags: {flags}", highlight=False)


def sensor_words(model: str | None, profile: str | None) -> str:
    """The sensor of a stored session for ``rehab sessions``: the model it said it is, else the
    name of its family in the registry (sessions stored before models were, sensors that do not
    say), else "-" (a session without one).

    Examples
    --------
    >>> sensor_words("Polar H10", "polar_pmd"), sensor_words(None, "witmotion")
    ('Polar H10', 'WitMotion WT901BLECL / BWT901BLE 5.0')
    >>> sensor_words(None, None), sensor_words(None, "gone")
    ('-', 'gone')
    """
    from firmware_protocol.registry import PROFILES
    from rehablink.text import printable

    if model:
        return printable(model)
    if profile is None:
        return "-"
    family = PROFILES.get(profile)
    return family.name if family is not None else printable(profile)


def red_flag_words(yes: list[str], unasked: list[str] | None) -> str:
    """The red-flag answers of a stored session in a few words, for ``rehab show`` and the
    flags column of ``rehab sessions`` (never blank: "not asked" when none was asked, as in a
    free recording).

    Examples
    --------
    >>> red_flag_words(["trauma"], ["systemic", "no_improvement"])
    'trauma; not asked: systemic, no_improvement'
    >>> red_flag_words([], list(RED_FLAGS))
    'not asked'
    """
    if unasked is None:
        return (", ".join(yes) or "none") + " (whether all were asked is not recorded)"
    if len(unasked) >= len(RED_FLAGS):
        return "not asked"
    words = ", ".join(yes) or ("none answered yes" if unasked else "none")
    return words + (f"; not asked: {', '.join(unasked)}" if unasked else "")


@click.command("export")
@click.argument("session")
@click.option("--csv", "as_csv", is_flag=True, required=True,
              help="CSV in the `rehab analyze` format (t,ax,ay,az[,gx,gy,gz]).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Write to this file (default: standard output).")
def export_command(session: str, as_csv: bool, output: str | None) -> None:
    """Export the raw samples of a set (SESSION or SESSION:N, default set 0) as CSV."""
    from wearable.store import StoreError

    with open_store() as store:
        sid, idx = _resolve(store, session)
        try:
            recording = store.set_recording(sid, 0 if idx is None else idx)
        except StoreError as exc:
            raise BadInput(str(exc)) from None
    if output:
        recording.write_csv(output)
        return
    with tempfile.TemporaryDirectory() as tmp:  # Recording.write_csv writes to a path
        path = Path(tmp) / "set.csv"
        recording.write_csv(path)
        click.echo(path.read_text(), nl=False)  # quiet when there is no standard output


commands: list[click.Command] = [sessions_command, show_command, export_command]
