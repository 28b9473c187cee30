"""Commands of ``wearable`` for the ``rehab`` group (heavy imports stay inside the commands).

``rehab scan``, ``rehab record``, ``rehab session`` stream a sensor; ``rehab sessions``,
``rehab show`` and ``rehab export``, which read the local store, are in
:mod:`wearable.store_cli`.

Exit codes of the streaming commands: 0 when the session ends (as planned, or stopped with
q / Ctrl-C; also when the end questions of ``rehab session`` are left with Ctrl-C / Ctrl-D);
2 when the sensor cannot be found, connected or started; 1 when the sensor is lost mid-session
(it sent nothing for ``--give-up-after`` seconds). A session that had begun is kept
with everything recorded, as ``interrupted`` (``rehab session`` asks the end questions first);
each failure is one ``error:`` line.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from rehablink.cli_errors import BadInput, RuntimeFailure
from rehablink.exercises import EXERCISES
from wearable.silence import GIVE_UP_AFTER_S
from wearable.sync.background import sync_in_background

if TYPE_CHECKING:
    from wearable.stopped import SessionStopped

F = TypeVar("F", bound=Callable[..., Any])

#: The rates ``--rate`` takes, Hz: from what still shows the shape of a rep (the motion engine
#: works on a 50 Hz grid) up to 1 kHz, more than a BLE link carries for long.
RATE_MIN_HZ, RATE_MAX_HZ = 10.0, 1000.0


def _options(func: F, options: list[Callable[[Any], Any]]) -> F:
    """``func`` with the ``options`` (click decorators) in that order."""
    for option in reversed(options):
        func = option(func)
    return func


def sim_sensor_options(func: F) -> F:
    """``--sim-profile`` and ``--sim-model``: what the simulated sensor of ``sim:`` plays
    (checked by :func:`simulated_sensor`)."""
    return _options(func, [
        click.option("--sim-profile", default="rehablink", show_default=True, metavar="ID",
                     help="Sensor family the simulated sensor plays: rehablink, witmotion, "
                          "microbit, polar_pmd."),
        click.option("--sim-model", default=None, metavar="MODEL",
                     help="Model within that family: polar_pmd plays verity_sense (the "
                          "default) or h10."),
    ])


def simulated_sensor(transport: str, kw: dict[str, Any]) -> tuple[str, str | None]:
    """The ``--sim-profile`` and ``--sim-model`` of a command, checked with the recording of a
    ``sim:`` ``transport`` (BadInput otherwise)."""
    from firmware_protocol.simulated.sensor import personality_for

    if transport.startswith("sim:") and not Path(transport[4:]).is_file():
        raise BadInput(f"no such recording for the simulated sensor: {transport[4:]!r}")
    try:
        personality_for(kw["sim_profile"], kw["sim_model"])
    except ValueError as exc:
        raise BadInput(str(exc)) from None
    return kw["sim_profile"], kw["sim_model"]


def transport_options(func: F) -> F:
    """The ``--transport``, simulated-sensor and sensor options shared by the streaming
    commands."""
    options: list[Callable[[Any], Any]] = [
        click.option("--transport", default="os", show_default=True, metavar="T",
                     help="os (this computer's Bluetooth), sim:RECORDING (a simulated sensor "
                          "replaying a CSV) or a Bumble transport (tcp-client:HOST:PORT, usb:0)."),
        sim_sensor_options,
        click.option("--sim-drop", type=click.FloatRange(0.0, 0.99), default=0.0,
                     metavar="P", help="Simulated notification loss rate (0-0.99)."),
        click.option("--sim-disconnect-at", type=click.FloatRange(0.0), default=None,
                     metavar="T", help="Simulated link loss at T s into the recording."),
        click.option("--sim-disconnect-for", type=click.FloatRange(0.0), default=3.0,
                     show_default=True, metavar="D", help="How long the simulated link is "
                     "lost, s."),
        click.option("--sim-reboot-at", type=click.FloatRange(0.0), default=None, metavar="T",
                     help="Simulated sensor reboot at T s."),
        click.option("--sim-hang-at", type=click.FloatRange(0.0), default=None, metavar="T",
                     help="Simulated firmware hang at T s: it still connects, sends nothing."),
        click.option("--sim-charger-at", type=click.FloatRange(0.0), default=None, metavar="T",
                     help="Simulated Polar put on its charger at T s: from then on it refuses "
                          "to start streaming (after a link loss, say)."),
        click.option("--sim-mtu", type=click.Choice(["23", "247"]), default="247",
                     show_default=True, help="Largest ATT MTU of the simulated sensor."),
        click.option("--sim-drift-ppm", type=click.FloatRange(-10000, 10000), default=0.0,
                     metavar="PPM", help="Simulated sensor clock drift, ppm."),
        click.option("--sim-speed", type=click.FloatRange(0.1, 100.0), default=1.0,
                     show_default=True, metavar="X",
                     help="Play the simulated recording X times faster than real time."),
        click.option("--address", default=None, metavar="ADDR",
                     help="Use the sensor with this address (default: the strongest signal)."),
        click.option("--rate", "rate_hz", type=click.FloatRange(RATE_MIN_HZ, RATE_MAX_HZ),
                     default=None, metavar="HZ",
                     help="Sampling rate to ask the sensor for, Hz (default: the sensor's own, "
                          "50-100 Hz). A sensor that cannot sample at it streams at its nearest "
                          "rate, and a note says so."),
        click.option("--scan-timeout", type=click.FloatRange(0.5, 60.0), default=5.0,
                     show_default=True, metavar="S", help="How long to look for sensors, s."),
        click.option("--give-up-after", type=click.FloatRange(1.0, 3600.0),
                     default=GIVE_UP_AFTER_S, show_default=True, metavar="S",
                     help="Stop the session when the sensor has sent nothing for S seconds "
                          "(out of range, switched off); what was recorded is kept."),
    ]
    return _options(func, options)


def _run_options(kw: dict[str, Any], **extra: Any) -> Any:
    from firmware_protocol.simulated.faults import Faults
    from wearable.runner import RunOptions

    transport = kw["transport"]
    sim_profile, sim_model = simulated_sensor(transport, kw)
    try:
        faults = Faults(drop_rate=kw["sim_drop"], disconnect_at_s=kw["sim_disconnect_at"],
                        disconnect_for_s=kw["sim_disconnect_for"] if kw["sim_disconnect_at"]
                        is not None else 0.0, mtu=int(kw["sim_mtu"]),
                        drift_ppm=kw["sim_drift_ppm"], reboot_at_s=kw["sim_reboot_at"],
                        hang_at_s=kw["sim_hang_at"], charger_at_s=kw["sim_charger_at"])
    except ValueError as exc:  # nan, or a combination the simulated sensor cannot play
        raise BadInput(str(exc)) from None
    if faults.charger_at_s is not None and sim_profile != "polar_pmd":
        raise BadInput("--sim-charger-at needs --sim-profile polar_pmd: only a Polar is asked "
                       "to start, and can refuse")
    return RunOptions(transport=transport, sim_profile=sim_profile, sim_model=sim_model,
                      faults=faults, speed=kw["sim_speed"], address=kw["address"],
                      scan_timeout_s=kw["scan_timeout"], rate_hz=kw["rate_hz"],
                      give_up_after_s=kw["give_up_after"], **extra)


def link_failure(stopped: SessionStopped, line: str) -> click.ClickException:
    """The command's error for a session the link ended, given the line its ``close`` returned:
    exit 1 when the sensor was lost, 2 when it refused to start."""
    return RuntimeFailure(line) if stopped.lost else BadInput(line)


def open_store() -> Any:
    """Open the companion store, telling the patient about sessions a crash interrupted."""
    from wearable.store import CompanionStore

    try:
        store = CompanionStore.open()
    except RuntimeError as exc:
        raise BadInput(str(exc)) from None
    for sid in store.recovered:
        click.echo(f"note: session {sid[:8]} was interrupted (the program stopped during a "
                   "set); what was recorded is kept and marked interrupted.", err=True)
    return store


def _run(coro_factory: Callable[[Any], Any], end_key: str) -> Any:
    """Run the streaming coroutine with Ctrl-C mapped to ``end_key`` and keys from a terminal.

    A session the link ended mid-way comes out as ``wearable.stopped.SessionStopped``, for the
    caller to close (:func:`link_failure` then gives its error)."""
    import asyncio
    import signal

    from wearable.keys import keyboard
    from wearable.link import StreamError
    from wearable.scan import ScanError

    async def main() -> Any:
        keys: asyncio.Queue[str] = asyncio.Queue()
        loop = asyncio.get_running_loop()
        with contextlib.suppress(NotImplementedError, RuntimeError):  # not on Windows
            loop.add_signal_handler(signal.SIGINT, keys.put_nowait, end_key)
        with keyboard(keys):
            return await coro_factory(keys)

    try:
        return asyncio.run(main())
    except (StreamError, ScanError) as exc:
        raise BadInput(str(exc)) from None
    except ConnectionError as exc:  # a Bumble transport that cannot be opened
        raise BadInput(str(exc)) from None


@click.command("scan")
@click.option("--timeout", type=click.FloatRange(0.5, 60.0), default=5.0, show_default=True,
              help="How long to listen, s.")
@click.option("--transport", default="os", show_default=True, metavar="T",
              help="os, sim:RECORDING or a Bumble transport name.")
@sim_sensor_options
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def scan_command(timeout: float, transport: str, as_json: bool, **kw: Any) -> None:
    """List supported motion sensors nearby (profile, name, address, signal, battery)."""
    import asyncio

    from wearable.bumble_backend.transport import open_link
    from wearable.scan import ScanError, scan

    sim_profile, sim_model = simulated_sensor(transport, kw)

    async def main() -> list[Any]:
        async with open_link(transport, profile=sim_profile, model=sim_model) as link:
            return await scan(timeout, link.scanner_backend)

    try:
        found = asyncio.run(main())
    except (ConnectionError, ScanError) as exc:
        raise BadInput(str(exc)) from None
    if as_json:
        click.echo(json.dumps([f.to_json() for f in found]))
        return
    if not found:
        click.echo("No supported sensor found. Switch it on and keep it close to this computer.")
        return
    from rich.console import Console

    Console().print(scan_table(found))


def scan_table(found: list[Any]) -> Any:
    """The table ``rehab scan`` prints (a ``rich.table.Table``) of the ``FoundSensor`` list."""
    from rich.table import Table
    from rich.text import Text

    table = Table("profile", "name", "address", "signal", "battery", box=None)
    for f in found:  # names and addresses come over the air: plain text, never rich markup
        table.add_row(f.profile.id, Text(f.name), Text(f.address), f"{f.rssi} dBm",
                      "-" if f.battery_pct is None else f"{f.battery_pct}%")
    return table


def _percentile_ms(values: list[float], q: float) -> float | None:
    if not values:
        return None
    import numpy as np

    return round(float(np.percentile(np.asarray(values) * 1000.0, q)), 1)


@click.command("record")
@click.option("--exercise", "-e", required=True, metavar="ID",
              help=f"Exercise id: {', '.join(EXERCISES)}.")
@click.option("--hold-target", type=click.FloatRange(0.5, 120.0), default=None,
              metavar="S", help="Hold target at the top, s.")
@click.option("--duration", type=click.FloatRange(1.0, 7200.0), default=None, metavar="S",
              help="End the set after S seconds (default: Ctrl-C or end of the recording).")
@click.option("--json", "as_json", is_flag=True,
              help="No display; print one JSON object when the set ends.")
@transport_options
def record_command(exercise: str, hold_target: float | None, duration: float | None,
                   as_json: bool, **kw: Any) -> None:
    """Record one free set with the live display; it is kept in the local store."""
    from wearable.plan import SetSpec
    from wearable.runner import run_sets
    from wearable.stopped import SessionStopped
    from wearable.ui import LiveUI, QuietUI

    if exercise not in EXERCISES:
        raise BadInput(f"unknown exercise {exercise!r}; known: {', '.join(EXERCISES)}")
    options = _run_options(kw, duration_s=duration, rest_s=0.0)
    spec = SetSpec(0, exercise, 1, 1, None, hold_target)
    store = open_store()

    async def go(keys: Any) -> Any:
        if as_json:
            return await run_sets([spec], store, QuietUI(), options, kind="record", keys=keys)
        with LiveUI() as ui:
            return await run_sets([spec], store, ui, options, kind="record", keys=keys)

    failure: click.ClickException | None = None
    try:
        result = _run(go, end_key="end")
        store.finish_session(result.session_id, "completed")
    except SessionStopped as stopped:
        failure = link_failure(stopped, stopped.close(store))
    finally:
        store.close()
    sync_in_background()
    if failure is not None:
        raise failure
    outcome = result.outcomes[0] if result.outcomes else None
    latencies = outcome.latencies_s if outcome else []
    doc: dict[str, Any] = {"session_id": result.session_id, "exercise": exercise,
                           "rep_count": 0, "reps": []}
    if outcome is not None and outcome.result is not None:
        doc.update(outcome.result.to_json())
    doc.update({
        "sensor": result.sensor.to_json(),
        "samples_received": outcome.samples_received if outcome else 0,
        "samples_lost": outcome.samples_lost if outcome else 0,
        "gaps": [g.to_json() for g in outcome.gaps] if outcome else [],
        "reconnects": result.reconnects,
        "latency_ms": {"p50": _percentile_ms(latencies, 50),
                       "p95": _percentile_ms(latencies, 95)},
    })
    if as_json:
        click.echo(json.dumps(doc))
    else:
        click.echo(f"{doc['rep_count']} reps recorded; session {result.session_id[:8]} saved "
                   f"({doc['samples_lost']} samples lost, {doc['reconnects']} reconnects).")


@click.command("session")
@click.option("--plan", "plan_path", type=click.Path(dir_okay=False), default=None,
              help="Plan file (default: plan.json in the RehabLink data directory).")
@click.option("--answers", default=None, metavar="A",
              help="Answer the end questions without asking: pain=3,flags=none "
                   "(or flags=leg_symptoms+night_pain; flags=skip, or no flags, records the "
                   "red-flag questions as not asked).")
@click.option("--yes", "-y", is_flag=True, help="Do not ask to start; without --answers the "
              "end questions are not asked (pain=skip,flags=skip).")
@click.option("--no-wait", is_flag=True, help="No rest between sets.")
@click.option("--rest", type=click.FloatRange(0, 600), default=30.0, show_default=True,
              metavar="S", help="Rest between sets, s.")
@click.option("--headless", is_flag=True, help="No display: JSON lines for each cue, then the "
              "session document.")
@transport_options
def session_command(plan_path: str | None, answers: str | None, yes: bool, no_wait: bool,
                    rest: float, headless: bool, **kw: Any) -> None:
    """Today's exercises, guided set by set with live counting, then how you feel."""
    from wearable.guided import run_guided

    run_guided(plan_path=plan_path, answers=answers, yes=yes, rest_s=0.0 if no_wait else rest,
               headless=headless, options_factory=lambda **extra: _run_options(kw, **extra))


commands: list[click.Command] = [scan_command, record_command, session_command]
