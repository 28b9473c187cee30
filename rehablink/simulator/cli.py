"""Commands of ``rehablink.simulator`` for the ``rehab`` group (heavy imports inside commands)."""

from __future__ import annotations

from pathlib import Path

import click

from rehablink.cli_errors import BadInput
from rehablink.exercises import EXERCISES, Placement
from rehablink.simulator.spec import HAZARDS


@click.command("simulate", help=(
    "Write a simulated recording of EXERCISE with its ground truth (see docs/simulator.md).\n\n"
    f"EXERCISE is one of: {', '.join(EXERCISES)}."))
@click.argument("exercise")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="CSV to write; the truth goes next to it as NAME.truth.json.")
@click.option("--seed", default=0, show_default=True, type=click.IntRange(0, 2**63 - 1),
              help="Random seed (0 or more).")
@click.option("--reps", default=10, show_default=True, type=int, help="Counted reps in the set.")
@click.option("--rate", "rate_hz", default=50.0, show_default=True, type=float,
              help="Nominal sample rate, Hz.")
@click.option("--no-gyro", is_flag=True, help="An accelerometer-only sensor.")
@click.option("--placement", type=click.Choice([p.value for p in Placement]), default="pelvis",
              show_default=True, help="Where the sensor is worn.")
@click.option("--hazard", "hazards", multiple=True, metavar="NAME",
              help=f"Add a hazard (repeatable): {', '.join(HAZARDS)}.")
@click.option("--hold", "hold_s", type=float, default=None,
              help="Typical hold at the top, s (default: drawn for the exercise).")
def simulate_command(exercise: str, out: Path, seed: int, reps: int, rate_hz: float,
                     no_gyro: bool, placement: str, hazards: tuple[str, ...],
                     hold_s: float | None) -> None:
    """Simulate one set; write its CSV and its truth file."""
    from rehablink.simulator import SetSpec, simulate, truth_path

    if exercise not in EXERCISES:
        raise BadInput(f"unknown exercise {exercise!r}; known: {', '.join(EXERCISES)}")
    for name in hazards:
        if name not in HAZARDS:
            raise BadInput(f"unknown hazard {name!r}; known: {', '.join(HAZARDS)}")
    try:
        spec = SetSpec(exercise, placement, reps, rate_hz, not no_gyro, tuple(hazards), hold_s)
    except ValueError as exc:
        raise BadInput(str(exc)) from None
    recording, truth = simulate(spec, seed)
    try:
        recording.write_csv(out)
        truth.write(truth_path(out))
    except OSError as exc:
        raise BadInput(f"cannot write {out}: {exc.strerror}") from None
    click.echo(f"wrote {out} ({len(recording)} samples, {recording.duration_s:.1f} s, "
               f"{truth.rep_count} reps, {truth.partial_count} partial attempts) "
               f"and {truth_path(out).name}")


commands: list[click.Command] = [simulate_command]
