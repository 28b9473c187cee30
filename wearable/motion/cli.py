"""Commands of ``wearable.motion`` for the ``rehab`` group (heavy imports stay inside commands)."""

from __future__ import annotations

import json
import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import TYPE_CHECKING

import click

from rehablink.cli_errors import BadInput
from rehablink.exercises import EXERCISES, Placement
from rehablink.recording import Recording, RecordingError, load_recording
from rehablink.results import SetResult

if TYPE_CHECKING:
    from wearable.store_cli import StoredSet


#: CSV files at least this large are parsed in a forked worker while the engine's code loads,
#: bytes (a one-hour 100 Hz six-axis file is ~22 MB; parsing it and importing the engine's
#: filters each take about half a second, on different cores).
PARALLEL_PARSE_BYTES = 4_000_000


def _load_file(path: Path, meanwhile: Callable[[], object]) -> Recording:
    """Parse the CSV at ``path`` and run ``meanwhile`` (imports); in parallel for a large file
    where processes can be forked and there is a second core."""
    parallel = ("fork" in multiprocessing.get_all_start_methods()
                and (os.cpu_count() or 1) > 1 and path.is_file()
                and path.stat().st_size >= PARALLEL_PARSE_BYTES)
    if parallel:
        try:
            with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork")) as pool:
                future = pool.submit(load_recording, path)
                meanwhile()
                return future.result()
        except BrokenProcessPool:  # the worker died (out of memory): parse here instead
            pass
    meanwhile()
    return load_recording(path)


def resolve_recording(path_or_id: str, meanwhile: Callable[[], object] = lambda: None,
                      ) -> tuple[Recording, StoredSet | None]:
    """The recording named on the command line: a CSV path (interchange or phyphox export), or
    a set kept by the companion, ``SESSION[:N]`` (then also what it was prescribed as).
    ``meanwhile`` is run once on the way (imports that can overlap the parsing of a file).

    Raises
    ------
    BadInput
        When there is no such file or stored set, or it cannot be used (one line saying why).
    """
    path = Path(path_or_id)
    if not path.exists():
        from wearable.store_cli import stored_recording  # SESSION[:SET] of the local store

        stored = stored_recording(path_or_id)
        meanwhile()
        return stored.recording, stored
    try:
        return _load_file(path, meanwhile), None
    except RecordingError as exc:
        raise BadInput(str(exc)) from None


def _print_table(result: SetResult) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    if not console.is_terminal:  # piped or captured: no terminal width to respect
        console = Console(width=120)
    table = Table(title=f"{EXERCISES[result.exercise].name} ({result.placement}); times in s",
                  box=None)
    for name in ("#", "start", "top", "lower", "end", "lift", "hold", "lowering", "range°",
                 "stab.°", "flags"):
        table.add_column(name, justify="left" if name == "flags" else "right")
    for i, rep in enumerate(result.reps, start=1):
        stab = "" if rep.stability_deg is None else f"{rep.stability_deg:.1f}"
        table.add_row(str(i), f"{rep.start:.2f}", f"{rep.top:.2f}", f"{rep.lower_start:.2f}",
                      f"{rep.end:.2f}", f"{rep.lift_s:.1f}", f"{rep.hold_s:.1f}",
                      f"{rep.lower_s:.1f}", f"{rep.rom_deg:.1f}", stab, ", ".join(rep.flags))
    if result.reps:
        console.print(table)
    holds = [r.hold_s for r in result.reps]
    summary = (f"{result.rep_count} reps, {result.partial_count} partial attempts; "
               f"{result.duration_s:.1f} s at {result.sample_rate_hz:.0f} Hz")
    if holds:
        summary += f"; hold median {sorted(holds)[len(holds) // 2]:.1f} s"
    console.print(summary, highlight=False)


def _import_engine() -> None:
    import wearable.motion.analyze  # noqa: F401  (scipy.signal: ~0.5 s)


@click.command("analyze")
@click.argument("path")
@click.option("--exercise", "-e", default=None, metavar="ID",
              help=f"Exercise id: {', '.join(EXERCISES)} (a stored set's own by default).")
@click.option("--placement", default=None, metavar="WHERE",
              help="Where the sensor is worn: pelvis (default) or thigh (strapped above the "
                   "knee).")
@click.option("--hold-target", type=float, default=None, metavar="SECONDS",
              help="Prescribed hold at the top, s (reported with the result).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of a table.")
def analyze_command(path: str, exercise: str | None, placement: str | None,
                    hold_target: float | None, as_json: bool) -> None:
    """Count the reps and time the holds of a recorded set.

    PATH is a CSV with header t,ax,ay,az[,gx,gy,gz] (s, g, deg/s), a phyphox
    "Acceleration with g" export, or a set kept by the companion, SESSION[:N] (see
    `rehab sessions`), which is re-analysed as the exercise it was recorded as.
    """
    if exercise is not None and exercise not in EXERCISES:
        raise BadInput(f"unknown exercise {exercise!r}; known: {', '.join(EXERCISES)}")
    recording, stored = resolve_recording(path, meanwhile=_import_engine)
    if stored is not None:
        exercise = exercise or stored.exercise
        placement = placement or stored.placement
        hold_target = hold_target if hold_target is not None else stored.hold_target_s
    placement = placement or Placement.PELVIS.value
    if exercise is None:
        raise BadInput("--exercise is required for a CSV file; known: " + ", ".join(EXERCISES))
    if exercise not in EXERCISES:
        raise BadInput(f"unknown exercise {exercise!r}; known: {', '.join(EXERCISES)}")
    if placement not in {p.value for p in Placement}:
        known = ", ".join(p.value for p in Placement)
        raise BadInput(f"unknown placement {placement!r}; known: {known}")
    if hold_target is not None and not (0.0 < hold_target < 600.0):
        raise BadInput(f"--hold-target must be between 0 and 600 s, got {hold_target:g}")

    from wearable.motion.analyze import analyze

    result = analyze(recording, exercise, placement, hold_target)
    if as_json:
        click.echo(json.dumps(result.to_json()))
    else:
        _print_table(result)


commands: list[click.Command] = [analyze_command]
