"""The database edge: one sqlite-utils connection per request, WAL, foreign keys, migrations."""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import click
import sqlite_utils
from flask import Flask, current_app, g

from server.migrations import migrate

#: How long a writer waits for another writer's lock before giving up, ms.
BUSY_TIMEOUT_MS = 15_000


def connect(path: str | Path) -> sqlite_utils.Database:
    """Open the database file with foreign keys and a busy timeout (no migration; WAL mode
    is a property of the file, set by :func:`open_database`)."""
    conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000)
    db = sqlite_utils.Database(conn)
    db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    db.execute("PRAGMA foreign_keys = ON")
    db.execute("PRAGMA synchronous = NORMAL")  # safe with WAL; fsync at checkpoints
    return db


def open_database(path: str | Path) -> sqlite_utils.Database:
    """Open the database file, creating its directory and applying pending migrations."""
    if str(path) != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        # Health data: the file (and the -wal/-shm files SQLite derives from it) owner-only.
        os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
    db = connect(path)
    db.enable_wal()
    migrate(db)
    return db


@contextlib.contextmanager
def write_transaction(db: sqlite_utils.Database) -> Iterator[sqlite_utils.Database]:
    """One all-or-nothing write: ``BEGIN IMMEDIATE`` (takes the write lock up front, so
    concurrent writers queue instead of failing), COMMIT on success, ROLLBACK on any error."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        db.rollback()
        raise
    else:
        db.execute("COMMIT")


def get_db() -> sqlite_utils.Database:
    """The request's database connection (opened on first use, closed at teardown)."""
    if "db" not in g:
        g.db = connect(current_app.config["DATABASE"])
    db: sqlite_utils.Database = g.db
    return db


def close_db(_exc: BaseException | None = None) -> None:
    """Close the request's connection, if one was opened."""
    db = g.pop("db", None)
    if db is not None:
        db.close()


@click.command("init-db")
def init_db_command() -> None:
    """Create or upgrade the database schema."""
    db = open_database(current_app.config["DATABASE"])
    db.close()
    click.echo("database ready")


def init_app(app: Flask) -> None:
    """Migrate the app's database once and register the per-request teardown."""
    db = open_database(app.config["DATABASE"])
    db.close()
    app.teardown_appcontext(close_db)
    app.cli.add_command(init_db_command)
