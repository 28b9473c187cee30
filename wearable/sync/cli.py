"""Commands of ``wearable.sync`` for the ``rehab`` group: ``rehab enroll``, ``rehab sync``,
``rehab portal`` (heavy imports stay inside the commands)."""

from __future__ import annotations

import click

from rehablink.cli_errors import BadInput, RuntimeFailure
from rehablink.text import printable


@click.command()
@click.argument("code")
@click.option("--server", required=True, metavar="URL",
              help="The clinic server, e.g. https://rehab.clinic.example")
def enroll(code: str, server: str) -> None:
    """Link this computer to your physiotherapist with the one-time CODE they gave you."""
    from wearable.sync.api_client import Rejected, SyncError
    from wearable.sync.enroll import enroll as do_enroll

    try:
        config = do_enroll(code, server)
    except ValueError as exc:
        raise BadInput(str(exc)) from None
    except Rejected as exc:
        raise BadInput(f"enrollment refused: {exc}") from None
    except SyncError as exc:
        raise RuntimeFailure(str(exc)) from None
    who = f" for {config.patient_name}" if config.patient_name else ""
    click.echo(f"enrolled{who} with {config.server}")
    click.echo("sessions will be uploaded after each session, or now with `rehab sync`")


@click.command()
@click.option("--no-samples", is_flag=True, help="Upload session summaries only (no raw data).")
@click.option("--retries", default=3, show_default=True, type=click.IntRange(0, 10),
              help="Retries of a failed request (waiting 1, 2, 4 ... s) before giving up.")
def sync(no_samples: bool, retries: int) -> None:
    """Upload pending sessions and raw samples to the clinic, then download your plan."""
    from wearable.store import StoreDamaged
    from wearable.sync.api_client import SyncError
    from wearable.sync.device import NotEnrolled
    from wearable.sync.runner import SyncBusy
    from wearable.sync.runner import sync as run

    try:
        report = run(samples=not no_samples, retries=retries)
    except (NotEnrolled, StoreDamaged) as exc:
        raise BadInput(str(exc)) from None
    except (SyncBusy, SyncError) as exc:
        raise RuntimeFailure(str(exc)) from None
    assert report is not None
    for line in report.lines():
        click.echo(line)
    if not report.ok:
        raise click.exceptions.Exit(1)


@click.command()
def portal() -> None:
    """Print a one-time link (15 minutes) to your own progress pages on the clinic server."""
    from wearable.sync import device
    from wearable.sync.api_client import ApiClient, SyncError

    try:
        config = device.load()
        response = ApiClient(config.server, config.token).request(
            "POST", "/api/v1/patient-link")
        url, expires_in_s = response.field("url", str), response.field("expires_in_s", int)
    except device.NotEnrolled as exc:
        raise BadInput(str(exc)) from None
    except SyncError as exc:
        raise RuntimeFailure(str(exc)) from None
    click.echo(f"open this link within {expires_in_s // 60} minutes (it works once):")
    click.echo(printable(url, 2000))  # the server's text, shown on the terminal


commands: list[click.Command] = [enroll, sync, portal]
