"""Numbered schema migrations of the companion database, applied in order, each in its own
transaction and recorded in ``_migrations``.

To change the schema, append a ``Migration`` (never edit an applied one). The sync client adds
its columns the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlite_utils


@dataclass(frozen=True)
class Migration:
    """One schema step: ``version`` (1, 2, ...), a short name and SQL or a function of the db."""

    version: int
    name: str
    apply: str | Callable[[sqlite_utils.Database], None]


_INITIAL = """
CREATE TABLE sessions (
    id TEXT PRIMARY KEY,              -- client-generated UUID4
    kind TEXT NOT NULL,               -- 'session' (guided) or 'record' (one free set)
    started_at TEXT NOT NULL,         -- ISO 8601, UTC
    ended_at TEXT,
    updated_at TEXT NOT NULL,         -- last commit of this session (heartbeat)
    status TEXT NOT NULL,             -- 'recording', 'completed', 'interrupted'
    writer_pid INTEGER,               -- process recording it, while 'recording'
    sensor_profile TEXT,
    sensor_name TEXT,
    sensor_address TEXT,
    has_gyro INTEGER,
    pain INTEGER CHECK (pain IS NULL OR pain BETWEEN 0 AND 10),
    prescription_version INTEGER
);
CREATE TABLE sets (
    session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    idx INTEGER NOT NULL,
    exercise TEXT NOT NULL,
    placement TEXT NOT NULL,
    target_reps INTEGER,
    hold_target_s REAL,
    started_at TEXT NOT NULL,
    ended_at TEXT,
    skipped INTEGER NOT NULL DEFAULT 0,
    result_json TEXT,                 -- rehablink.results.SetResult.to_json()
    samples_received INTEGER NOT NULL DEFAULT 0,
    samples_lost INTEGER NOT NULL DEFAULT 0,
    gaps_json TEXT NOT NULL DEFAULT '[]',
    reconnects INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (session_id, idx)
);
CREATE TABLE reps (
    session_id TEXT NOT NULL,
    set_idx INTEGER NOT NULL,
    idx INTEGER NOT NULL,
    start_s REAL NOT NULL, top_s REAL NOT NULL, lower_start_s REAL NOT NULL, end_s REAL NOT NULL,
    hold_s REAL NOT NULL,
    rom_deg REAL NOT NULL,
    stability_deg REAL,
    flags TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (session_id, set_idx, idx),
    FOREIGN KEY (session_id, set_idx) REFERENCES sets(session_id, idx) ON DELETE CASCADE
);
CREATE TABLE sample_chunks (
    session_id TEXT NOT NULL,
    set_idx INTEGER NOT NULL,
    idx INTEGER NOT NULL,
    t0_s REAL NOT NULL,
    n INTEGER NOT NULL,
    has_gyro INTEGER NOT NULL,
    data BLOB NOT NULL,               -- wearable.store.chunks layout
    PRIMARY KEY (session_id, set_idx, idx),
    FOREIGN KEY (session_id, set_idx) REFERENCES sets(session_id, idx) ON DELETE CASCADE
);
CREATE TABLE red_flags (
    session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    flag TEXT NOT NULL,
    PRIMARY KEY (session_id, flag)
);
CREATE TABLE outbox (
    session_id TEXT PRIMARY KEY REFERENCES sessions(id) ON DELETE CASCADE,
    queued_at TEXT NOT NULL,
    uploaded_at TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    remote_id TEXT
);
CREATE TABLE sync_state (
    key TEXT PRIMARY KEY,
    value TEXT
);
CREATE INDEX sessions_started ON sessions(started_at);
"""

#: The schema, oldest first.
MIGRATIONS: list[Migration] = [
    Migration(1, "initial schema", _INITIAL),
    # JSON list of the red-flag ids not asked at the end of the session ('[]': all answered);
    # NULL for the sessions stored before it, of which this is not known.
    Migration(2, "red-flag questions not asked",
              "ALTER TABLE sessions ADD COLUMN red_flags_unasked TEXT"),
    # The model the sensor says it is (its Device Information Model Number String); NULL when it
    # gives none, and for the sessions stored before it. Sent to the clinic as sensor.model.
    Migration(3, "sensor model", "ALTER TABLE sessions ADD COLUMN sensor_model TEXT"),
]


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def schema_version(db: sqlite_utils.Database) -> int:
    """Highest applied migration version (0 for a new database)."""
    if "_migrations" not in db.table_names():
        return 0
    row = db.execute("SELECT MAX(version) FROM _migrations").fetchone()
    return int(row[0] or 0)


def migrate(db: sqlite_utils.Database, migrations: list[Migration] | None = None) -> list[int]:
    """Apply the pending migrations; returns the versions applied.

    Raises
    ------
    RuntimeError
        When the database is newer than this program (written by a later version).
    """
    steps = MIGRATIONS if migrations is None else migrations
    versions = [m.version for m in steps]
    if versions != sorted(versions) or len(set(versions)) != len(versions):
        raise ValueError("migrations must have strictly increasing versions")
    db.execute(
        "CREATE TABLE IF NOT EXISTS _migrations "
        "(version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
    )
    db.commit()
    current = schema_version(db)
    if versions and current > versions[-1]:
        raise RuntimeError(
            f"the companion database is at schema version {current}, newer than this program "
            f"knows ({versions[-1]}); please update RehabLink"
        )
    applied = []
    for step in steps:
        if step.version <= current:
            continue
        with db.atomic():
            if isinstance(step.apply, str):
                for statement in step.apply.split(";"):
                    if statement.strip():
                        db.execute(statement)
            else:
                step.apply(db)
            db.execute("INSERT INTO _migrations VALUES (?, ?, ?)",
                       [step.version, step.name, _now()])
        applied.append(step.version)
    return applied
