"""Commands of ``server`` for the ``rehab`` group: ``rehab serve`` and ``rehab admin ...``.

Heavy imports (Flask, waitress, argon2) stay inside the commands.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from rehablink.cli_errors import BadInput

#: A row id: SQLite integers are 64-bit, so a larger number is refused as bad input.
ROW_ID = click.IntRange(1, 2**63 - 1)

db_option = click.option(
    "--db", "db_path", type=click.Path(dir_okay=False, path_type=Path),
    help="Database file (default: REHAB_SERVER_DATABASE or <data dir>/server/rehablink.db).")


def database_path(db_path: Path | None) -> Path:
    """The database file the commands use: --db, REHAB_SERVER_DATABASE or the default."""
    if db_path is not None:
        return db_path
    if os.environ.get("REHAB_SERVER_DATABASE"):
        return Path(os.environ["REHAB_SERVER_DATABASE"])
    from server.config import default_instance_path

    instance = Path(os.environ.get("REHAB_SERVER_INSTANCE") or default_instance_path())
    return instance / "rehablink.db"


def _setting(key: str) -> Any:
    """A setting as the server would see it: defaults < instance file < environment."""
    from server import config

    instance = Path(os.environ.get("REHAB_SERVER_INSTANCE") or config.default_instance_path())
    try:
        merged = {**config.DEFAULTS, **config.from_instance_file(instance),
                  **config.from_environment()}
    except ValueError as exc:  # a bad setting in the environment or the instance file
        raise BadInput(str(exc)) from None
    return merged[key]


def _open(db_path: Path | None, create: bool = False) -> Any:
    """The database, migrated; a missing file is made only when ``create`` (a mistyped --db
    must not look like an empty clinic)."""
    import sqlite3

    from rehablink.cli_errors import RuntimeFailure
    from server.db import open_database

    path = database_path(db_path)
    if not create and not path.exists():
        raise BadInput(f"no database at {path}: check --db (or REHAB_SERVER_DATABASE), or "
                       "start one with `rehab admin create-physio`")
    try:
        return open_database(path)
    except sqlite3.DatabaseError as exc:
        raise RuntimeFailure(f"cannot open the database {path}: {exc} (the file was left as "
                             "it is)") from None


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535),
              help="TCP port.")
@db_option
@click.option("--threads", default=8, show_default=True, type=click.IntRange(1, 64),
              help="Worker threads.")
@click.option("--insecure-cookies", is_flag=True,
              help="Send login cookies over plain HTTP (loopback demos only; use HTTPS otherwise).")
@click.option("--trusted-proxy", metavar="ADDR", default=None,
              help="Address of the HTTPS reverse proxy in front (its X-Forwarded-For and "
                   "X-Forwarded-Proto headers are then believed).")
def serve(host: str, port: int, db_path: Path | None, threads: int,
          insecure_cookies: bool, trusted_proxy: str | None) -> None:
    """Run the clinic server under waitress (a production WSGI server)."""
    import logging
    import sqlite3

    import waitress

    from rehablink.cli_errors import RuntimeFailure
    from server import create_app

    settings: dict[str, Any] = {"DATABASE": str(database_path(db_path))}
    if insecure_cookies:
        settings["SESSION_COOKIE_SECURE"] = False
    try:
        app = create_app(settings)
    except ValueError as exc:  # a bad setting in the environment or the instance file
        raise BadInput(str(exc)) from None
    except sqlite3.DatabaseError as exc:
        raise RuntimeFailure(f"cannot open the database {settings['DATABASE']}: {exc} (the "
                             "file was left as it is)") from None
    channels: dict[int, Any] = {}
    try:  # bind first, so that nothing claims a server that is not listening
        listener = waitress.create_server(
            app, map=channels, host=host, port=port, threads=threads, ident="rehablink",
            clear_untrusted_proxy_headers=True, **_proxy_settings(trusted_proxy))
    except (OSError, ValueError) as exc:
        for channel in list(channels.values()):  # the wake-up pipe made before the bind
            channel.close()
        raise BadInput(f"cannot listen on {host}:{port}: {exc}") from None
    click.echo(f"RehabLink server on http://{host}:{port}/ (database {settings['DATABASE']})")
    if insecure_cookies:
        click.echo("login cookies go over plain HTTP (--insecure-cookies): for a demo on this "
                   "machine only")
    sys.stdout.flush()
    logging.basicConfig()  # errors of waitress and the server's loggers go to stderr
    listener.run()


def _proxy_settings(trusted_proxy: str | None) -> dict[str, Any]:
    if not trusted_proxy:
        return {}
    return {"trusted_proxy": trusted_proxy, "trusted_proxy_count": 1,
            "trusted_proxy_headers": {"x-forwarded-for", "x-forwarded-proto"}}


@click.group()
def admin() -> None:
    """Administer the clinic server's database (people, devices, demo data)."""


def _account_errors(fn: Callable[..., None]) -> Callable[..., None]:
    import functools

    @functools.wraps(fn)
    def wrapped(*args: Any, **kwargs: Any) -> None:
        from server.accounts import AccountError

        try:
            fn(*args, **kwargs)
        except AccountError as exc:
            raise BadInput(str(exc)) from None
    return wrapped


@admin.command("create-physio")
@click.argument("email")
@click.option("--name", required=True, help="Full name shown in the dashboard.")
@click.option("--password-stdin", is_flag=True, required=True,
              help="Read the password from standard input (first line).")
@db_option
@_account_errors
def create_physio(email: str, name: str, password_stdin: bool, db_path: Path | None) -> None:
    """Add a physiotherapist account (password hashed with argon2id)."""
    from server.accounts import create_physio as create

    password = sys.stdin.readline().rstrip("\r\n")
    physio_id = create(_open(db_path, create=True), email, name, password)
    click.echo(f"physiotherapist {physio_id} created: {email}")


def _physio_id(db: Any, email: str) -> int:
    from server.accounts import find_physio

    physio = find_physio(db, email)
    if physio is None:
        raise BadInput(f"no physiotherapist with e-mail {email}")
    return int(physio["id"])


@admin.command("set-password")
@click.argument("email")
@click.option("--password-stdin", is_flag=True, required=True,
              help="Read the new password from standard input (first line).")
@db_option
@_account_errors
def set_password(email: str, password_stdin: bool, db_path: Path | None) -> None:
    """Replace a physiotherapist's password (their open logins end)."""
    from server.accounts import set_password as change

    password = sys.stdin.readline().rstrip("\r\n")
    physio_id = change(_open(db_path), email, password)
    click.echo(f"password of physiotherapist {physio_id} changed; their logins were ended")


@admin.command("patient-link")
@click.argument("patient_id", type=ROW_ID)
@click.option("--url", "base_url", required=True, metavar="URL",
              help="The server's address as patients reach it, e.g. https://rehab.clinic.example")
@db_option
def patient_link(patient_id: int, base_url: str, db_path: Path | None) -> None:
    """Print a one-time login link to a patient's own pages (valid 15 minutes)."""
    from urllib.parse import urlsplit

    from server.accounts import patient_link as issue

    parts = urlsplit(base_url)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise BadInput(f"--url must be the server's http(s) address, such as "
                       f"https://rehab.clinic.example, not {base_url!r}")
    db = _open(db_path)
    if not list(db.query("SELECT 1 FROM patients WHERE id = ? AND archived_at IS NULL",
                         [patient_id])):
        raise BadInput(f"no patient {patient_id}")
    token = issue(db, patient_id, "admin", int(_setting("PATIENT_LINK_TTL_S")))
    click.echo(f"{base_url.rstrip('/')}/patient/login/{token}")


@admin.command("archive-patient")
@click.argument("patient_id", type=ROW_ID)
@db_option
@_account_errors
def archive_patient(patient_id: int, db_path: Path | None) -> None:
    """Close a patient's record (kept, but hidden; their devices stop syncing)."""
    from server.accounts import archive_patient as archive

    archive(_open(db_path), patient_id, "admin")
    click.echo(f"patient {patient_id} archived; their devices were revoked")


@admin.command("audit")
@click.option("--patient", "patient_id", type=ROW_ID, default=None, help="Only this patient.")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 100_000),
              help="Newest entries to show.")
@db_option
def audit_log(patient_id: int | None, limit: int, db_path: Path | None) -> None:
    """Show who viewed or changed which patient, newest first."""
    from server.audit import entries

    for e in entries(_open(db_path), patient_id, limit):
        who = f" patient {e['patient_id']}" if e["patient_id"] is not None else ""
        detail = f" ({e['detail']})" if e["detail"] else ""
        click.echo(f"{e['at']} {e['actor']} {e['action']}{who}{detail}")


@admin.command("backup")
@click.argument("target", type=click.Path(dir_okay=False, path_type=Path))
@db_option
def backup(target: Path, db_path: Path | None) -> None:
    """Copy the database to TARGET safely while the server runs (SQLite online backup)."""
    import os
    import sqlite3

    if target.exists():
        raise BadInput(f"{target} exists; choose a new file name")
    source = _open(db_path)
    os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    dest = sqlite3.connect(target)
    try:
        source.conn.backup(dest)
    finally:
        dest.close()
        source.close()
    click.echo(f"backup written to {target} ({target.stat().st_size / 1e6:.1f} MB)")


@admin.command("add-patient")
@click.option("--physio", "physio_email", required=True, help="E-mail of their physiotherapist.")
@click.option("--name", required=True, help="Patient's name.")
@db_option
@_account_errors
def add_patient(physio_email: str, name: str, db_path: Path | None) -> None:
    """Add a patient and print their one-time enrollment code."""
    from server.accounts import add_patient as add

    db = _open(db_path)
    ttl = int(_setting("ENROLL_CODE_TTL_S"))
    patient_id, code = add(db, _physio_id(db, physio_email), name, ttl)
    click.echo(f"patient {patient_id} added")
    click.echo(f"enrollment code: {code} (valid {ttl // 3600} h, once)")
    click.echo(f"on the patient's computer: rehab enroll {code} --server URL")


@admin.command("new-code")
@click.argument("patient_id", type=ROW_ID)
@db_option
@_account_errors
def new_code(patient_id: int, db_path: Path | None) -> None:
    """Print a new one-time enrollment code for an existing patient."""
    from server.accounts import new_enrollment_code

    db = _open(db_path)
    if not list(db.query("SELECT 1 FROM patients WHERE id = ?", [patient_id])):
        raise BadInput(f"no patient {patient_id}")
    code = new_enrollment_code(db, patient_id, "admin", int(_setting("ENROLL_CODE_TTL_S")))
    click.echo(f"enrollment code: {code}")


@admin.command("devices")
@click.argument("patient_id", type=ROW_ID)
@db_option
def devices(patient_id: int, db_path: Path | None) -> None:
    """List a patient's enrolled devices."""
    db = _open(db_path)
    rows = list(db.query("SELECT id, created_at, last_seen_at, revoked_at FROM devices "
                         "WHERE patient_id = ? ORDER BY id", [patient_id]))
    if not rows:
        click.echo("no devices")
    for r in rows:
        state = f"revoked {r['revoked_at']}" if r["revoked_at"] else "active"
        click.echo(f"device {r['id']}: enrolled {r['created_at']}, "
                   f"last seen {r['last_seen_at'] or 'never'}, {state}")


@admin.command("revoke-device")
@click.argument("device_id", type=ROW_ID)
@db_option
@_account_errors
def revoke_device(device_id: int, db_path: Path | None) -> None:
    """Revoke a device token: the companion must enroll again."""
    from server.accounts import revoke_device as revoke

    patient_id = revoke(_open(db_path), device_id, "admin")
    click.echo(f"device {device_id} of patient {patient_id} revoked")


@admin.command("seed")
@click.option("--patients", default=1000, show_default=True, type=click.IntRange(1, 100_000),
              help="Patients to add.")
@click.option("--days", default=365, show_default=True, type=click.IntRange(1, 3650),
              help="Days of history per patient, ending today.")
@click.option("--physios", default=10, show_default=True, type=click.IntRange(1, 1000),
              help="Physiotherapists to add (patients are shared out among them).")
@click.option("--password-stdin", is_flag=True,
              help="Read the physiotherapists' password from standard input "
                   "(default: generate one and print it).")
@click.option("--seed", "random_seed", default=1, show_default=True, help="Random seed.")
@db_option
def seed(patients: int, days: int, physios: int, password_stdin: bool, random_seed: int,
         db_path: Path | None) -> None:
    """Fill the database with demo patients and their history (for demos and benchmarks)."""
    import secrets
    import time

    from server.accounts import AccountError, hash_password
    from server.seed import seed as run_seed

    password = sys.stdin.readline().rstrip("\r\n") if password_stdin \
        else secrets.token_urlsafe(12)
    try:
        hashed = hash_password(password)
    except AccountError as exc:
        raise BadInput(str(exc)) from None
    db = _open(db_path, create=True)
    started = time.monotonic()
    summary = run_seed(db, patients=patients, days=days, physios=physios,
                       password_hash=hashed, random_seed=random_seed)
    db.execute("ANALYZE")
    elapsed = time.monotonic() - started
    first = next(db.query("SELECT min(id) AS id FROM physios WHERE email LIKE "
                          "'physio%@clinic.example' AND id > (SELECT coalesce(max(id), 0) "
                          "FROM physios) - ?", [physios]))["id"]
    click.echo(f"seeded {summary.physios} physiotherapists, {summary.patients} patients, "
               f"{summary.sessions} sessions, {summary.sets} sets in {elapsed:.1f} s")
    click.echo(f"log in as physio{first}@clinic.example"
               + ("" if password_stdin else f" with password {password}"))


commands: list[click.Command] = [serve, admin]
