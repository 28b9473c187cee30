"""``rehab demo``: the whole product end to end with no hardware.

In a demo data directory (reset on each run) it starts the clinic server on loopback, creates a
physiotherapist and a patient with a few weeks of seeded history, prescribes today's programme
(bridges, clamshells, side-lying leg raises: the bundled recordings), enrolls the companion,
downloads the plan, runs the guided session through the real Bleak client against a simulated
sensor on a virtual BLE link (one link per set, each replaying the bundled recording of its
exercise), syncs, checks the dashboard over HTTP and leaves the server running.

``rehab demo --headless`` runs the same path fast and quietly and prints one JSON summary::

    {"ok": true, "sets": [{"exercise": "bridge", "set": 1, "reps_counted": 8,
      "truth_reps": 8, "match": true}, ...], "sync": {...}, "dashboard": {...}, ...}
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from rehablink.demo.clinic import (
    HISTORY_DAYS,
    PROGRAMME,
    DemoError,
    build_clinic,
    check_dashboard,
    free_port,
    reset_home,
    running_server,
)
from rehablink.demo.companion import (
    DEMO_PAIN,
    HEADLESS_SPEED,
    LIVE_SPEED,
    patient_link,
    run_session,
    sync_now,
)
from rehablink.paths import rehab_home


@dataclass
class Report:
    """The JSON summary, filled step by step."""

    data: dict[str, Any] = field(default_factory=lambda: {"ok": False, "failed": []})

    @contextlib.contextmanager
    def step(self, name: str) -> Iterator[None]:
        """Run a step (timed, wall s); a failure is recorded under ``failed`` and stops the
        demo."""
        started = time.monotonic()
        try:
            yield
        except Exception as exc:  # any failure of a step is reported, never a traceback
            if isinstance(exc, DemoError):
                message = str(exc)
            elif isinstance(exc, click.ClickException):  # BadInput from the companion
                message = exc.format_message()
            else:
                message = f"{type(exc).__name__}: {exc}"
            self.data["failed"].append({"step": name, "error": message})
            raise DemoError(f"{name}: {message}") from exc
        finally:
            self.data.setdefault("step_s", {})[name] = round(time.monotonic() - started, 1)


def _programme_text() -> str:
    from rehablink.exercises import get_exercise

    return "; ".join(f"{get_exercise(ex).name} {sets}x{reps}, hold {hold:g} s"
                     for ex, sets, reps, hold, _ in PROGRAMME)


def run_demo(report: Report, home: Path, port: int, speed: float, headless: bool,
             say: Callable[..., None]) -> None:
    """Every step of the demo; the interactive run then waits for Ctrl-C with the server up.

    Raises
    ------
    DemoError
        At the first step that fails (also recorded in ``report``).
    """
    data = report.data
    db_path = home / "server" / "rehablink.db"
    with contextlib.ExitStack() as stack:
        with report.step("clinic"):
            clinic = build_clinic(db_path)
        data.update(physio_email=clinic.physio_email, patient=clinic.patient_name,
                    patient_id=clinic.patient_id, history_sessions=clinic.history_sessions,
                    prescription_version=clinic.plan_version)
        say(f"Physiotherapist: {clinic.physio_email}  password: {clinic.password}", bold=True)
        say(f"Patient: {clinic.patient_name}, {clinic.history_sessions} sessions of history "
            f"over the last {HISTORY_DAYS} days; today's plan (version {clinic.plan_version}): "
            f"{_programme_text()}")
        with report.step("server"):
            url = stack.enter_context(running_server(home, db_path, port or free_port()))
        data["server_url"] = url
        say(f"Clinic server: {url} (embedded SQLite at {db_path})")
        with report.step("enroll"):
            from wearable.sync.enroll import enroll

            enroll(clinic.enrollment_code, url, home)
        say(f"Companion enrolled with code {clinic.enrollment_code} "
            f"(device token in {home / 'device.json'}, mode 0600)")
        with report.step("plan download"):
            first = sync_now(home)
            if first["plan_version"] != clinic.plan_version:
                raise DemoError(f"downloaded plan version {first['plan_version']}, "
                                f"expected {clinic.plan_version}")
        say(f"Plan version {first['plan_version']} downloaded to {home / 'plan.json'}")
        say(f"Guided session: a simulated sensor replays the bundled recordings over a virtual "
            f"BLE link at {speed:g}x real time, through the real Bleak client. End-of-session "
            f"answers are automatic in the demo (pain {DEMO_PAIN}/10, no red flags). "
            "Keys: p pause, s skip set, q stop.")
        with report.step("guided session"):
            runs = run_session(home, speed, live=not headless)
        data["sets"] = [r.to_json() for r in runs]
        for r in runs:
            mark = "ok" if r.match else "MISMATCH" if r.completed else "not finished"
            say(f"  {r.exercise} set {r.set_number}: {r.reps_counted} reps counted, "
                f"{r.truth_reps} in the recording - {mark}")
        with report.step("rep counts"):
            # Sets the viewer skipped or stopped are not held against the motion engine.
            wrong = [f"{r.exercise} set {r.set_number}" for r in runs
                     if r.completed and not r.match]
            problem = "counts differ from the recordings' truth: " + (", ".join(wrong)
                                                                     or "no set ran")
            if (wrong or not runs) and headless:
                raise DemoError(problem)
            if wrong or not runs:  # the viewer still gets the dashboard, with a warning
                say(f"warning: {problem}", fg="yellow", bold=True)
        with report.step("sync"):
            data["sync"] = sync_now(home)
            synced = data["sync"]
            if not synced["ok"] or synced["pending_left"] or synced["rejected"]:
                raise DemoError("; ".join(data["sync"]["lines"]))
        say("Sync: " + "; ".join(data["sync"]["lines"]))
        with report.step("dashboard"):
            data["dashboard"] = check_dashboard(url, clinic.physio_email, clinic.password,
                                                clinic.patient_name)
            seen = data["dashboard"]
            if not seen["ok"]:
                missing = "" if seen["shows_patient"] else " without the patient"
                raise DemoError(f"the patient list answered {seen['status']}{missing}")
        with report.step("patient page"):
            link = patient_link(home)
            if link["status"] != 200:
                raise DemoError(f"the patient's one-time link answered {link['status']}")
            data["patient_link"] = {"status": link["status"],
                                    "expires_in_s": link["expires_in_s"]}  # not the secret
        data["ok"] = True
        if headless:
            return
        # From here Ctrl-C is the way out (also if it comes while the login is printed).
        with contextlib.suppress(KeyboardInterrupt):
            say("")
            say(f"Dashboard: {url}/  - log in as {clinic.physio_email} with password "
                f"{clinic.password}", fg="green", bold=True)
            say(f"{clinic.patient_name}'s own page (what `rehab portal` prints; works once, "
                f"{link['expires_in_s'] // 60} min): {link['url']}")
            say(f"{clinic.patient_name} is in the list with today's session. "
                "Press Ctrl-C to stop the server.")
            while True:
                time.sleep(1.0)
    say("Server stopped.")


def _exit_cleanly_on_signals() -> None:
    """SIGTERM and SIGHUP (a closed terminal) unwind like Ctrl-C, so the server is stopped."""
    import signal

    def leave(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)

    for name in ("SIGTERM", "SIGHUP"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), leave)


@click.command("demo")
@click.option("--home", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Demo data directory, emptied and rebuilt on each run "
                   "(default: <RehabLink data dir>/demo).")
@click.option("--port", type=click.IntRange(0, 65535), default=0,
              help="Server port on 127.0.0.1 (default: a free one).")
@click.option("--speed", type=click.FloatRange(1.0, 100.0), default=None, metavar="X",
              help=f"Replay the recordings X times faster than real time (default "
                   f"{LIVE_SPEED:g}, {HEADLESS_SPEED:g} with --headless).")
@click.option("--headless", is_flag=True,
              help="No display and no waiting: print one JSON summary; exit 1 if a step failed.")
def demo_command(home: Path | None, port: int, speed: float | None, headless: bool) -> None:
    """The whole product end to end with no hardware: clinic server, physiotherapist and
    patient, a guided session over a simulated sensor, sync, and the dashboard."""
    home = (home or rehab_home() / "demo").resolve()
    reset_home(home)
    os.environ["REHAB_HOME"] = str(home)  # the companion's data lives in the demo directory
    speed = speed or (HEADLESS_SPEED if headless else LIVE_SPEED)
    started = time.monotonic()
    _exit_cleanly_on_signals()

    def say(text: str, **style: Any) -> None:
        if not headless:
            click.secho(text, **style)

    say(f"RehabLink demo in {home} (emptied and rebuilt on each run)", bold=True)
    report = Report()
    try:
        run_demo(report, home, port, speed, headless, say)
    except DemoError as exc:
        if not headless:
            from rehablink.cli_errors import RuntimeFailure

            raise RuntimeFailure(f"demo failed at {exc}") from None
    report.data["elapsed_s"] = round(time.monotonic() - started, 1)
    report.data["home"] = str(home)
    if headless:
        click.echo(json.dumps(report.data))
        if not report.data["ok"]:
            raise click.exceptions.Exit(1)


commands: list[click.Command] = [demo_command]
