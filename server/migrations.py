"""Numbered schema migrations; each runs in its own transaction and is recorded in
``schema_migrations``. Append new migrations, never edit applied ones (see docs/server.md)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlite_utils


@dataclass(frozen=True)
class Migration:
    """One schema step: ``number`` (1, 2, ...), a short ``name``, its SQL statements and,
    optionally, a function run after them in the same transaction (data backfills)."""

    number: int
    name: str
    statements: tuple[str, ...]
    then: Callable[[sqlite_utils.Database], None] | None = None


def _backfill_done(db: sqlite_utils.Database) -> None:
    from server.done_flags import backfill  # the analytics import the database layer

    backfill(db, kinds=False)  # sessions.kind comes with migration 9


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "people and access", (
        """CREATE TABLE physios (
            id INTEGER PRIMARY KEY,
            email TEXT NOT NULL UNIQUE COLLATE NOCASE,
            name TEXT NOT NULL,
            password_hash TEXT NOT NULL,
            created_at TEXT NOT NULL,
            disabled_at TEXT)""",
        """CREATE TABLE patients (
            id INTEGER PRIMARY KEY,
            physio_id INTEGER NOT NULL REFERENCES physios(id),
            name TEXT NOT NULL,
            created_at TEXT NOT NULL,
            red_flags_reviewed_at TEXT,
            archived_at TEXT)""",
        "CREATE INDEX patients_physio ON patients(physio_id)",
        """CREATE TABLE enrollment_codes (
            code_hash TEXT PRIMARY KEY,
            patient_id INTEGER NOT NULL REFERENCES patients(id),
            created_at TEXT NOT NULL,
            expires_at TEXT NOT NULL,
            used_at TEXT)""",
        """CREATE TABLE devices (
            id INTEGER PRIMARY KEY,
            patient_id INTEGER NOT NULL REFERENCES patients(id),
            token_hash TEXT NOT NULL UNIQUE,
            created_at TEXT NOT NULL,
            last_seen_at TEXT,
            revoked_at TEXT)""",
        "CREATE INDEX devices_patient ON devices(patient_id)",
        """CREATE TABLE web_logins (
            token_hash TEXT PRIMARY KEY,
            physio_id INTEGER REFERENCES physios(id),
            patient_id INTEGER REFERENCES patients(id),
            created_at TEXT NOT NULL,
            expires_at TEXT NOT NULL,
            revoked_at TEXT,
            CHECK ((physio_id IS NULL) != (patient_id IS NULL)))""",
        """CREATE TABLE patient_links (
            token_hash TEXT PRIMARY KEY,
            patient_id INTEGER NOT NULL REFERENCES patients(id),
            created_at TEXT NOT NULL,
            expires_at TEXT NOT NULL,
            used_at TEXT)""",
        """CREATE TABLE login_failures (
            id INTEGER PRIMARY KEY,
            account TEXT NOT NULL,
            address TEXT NOT NULL,
            at TEXT NOT NULL)""",
        "CREATE INDEX login_failures_key ON login_failures(account, address, at)",
        """CREATE TABLE audit_log (
            id INTEGER PRIMARY KEY,
            at TEXT NOT NULL,
            actor TEXT NOT NULL,
            action TEXT NOT NULL,
            patient_id INTEGER REFERENCES patients(id),
            detail TEXT)""",
        "CREATE INDEX audit_patient ON audit_log(patient_id, at)",
    )),
    Migration(2, "prescriptions", (
        """CREATE TABLE prescriptions (
            id INTEGER PRIMARY KEY,
            patient_id INTEGER NOT NULL REFERENCES patients(id),
            version INTEGER NOT NULL,
            effective_from TEXT NOT NULL,
            created_at TEXT NOT NULL,
            created_by INTEGER REFERENCES physios(id),
            UNIQUE (patient_id, version))""",
        """CREATE TABLE prescription_items (
            prescription_id INTEGER NOT NULL REFERENCES prescriptions(id),
            position INTEGER NOT NULL,
            exercise TEXT NOT NULL,
            sets INTEGER NOT NULL CHECK (sets BETWEEN 1 AND 20),
            reps INTEGER NOT NULL CHECK (reps BETWEEN 1 AND 100),
            hold_s REAL CHECK (hold_s IS NULL OR hold_s BETWEEN 0 AND 120),
            days_per_week INTEGER NOT NULL CHECK (days_per_week BETWEEN 1 AND 7),
            note TEXT NOT NULL DEFAULT '',
            PRIMARY KEY (prescription_id, position))""",
    )),
    Migration(3, "sessions and sets", (
        """CREATE TABLE sessions (
            id TEXT PRIMARY KEY,
            patient_id INTEGER NOT NULL REFERENCES patients(id),
            device_id INTEGER REFERENCES devices(id),
            day TEXT NOT NULL,
            started_at TEXT NOT NULL,
            ended_at TEXT NOT NULL,
            status TEXT NOT NULL,
            pain INTEGER,
            red_flags TEXT NOT NULL DEFAULT '[]',
            prescription_version INTEGER,
            sensor TEXT NOT NULL,
            received_at TEXT NOT NULL,
            document_sha256 TEXT NOT NULL)""",
        "CREATE INDEX sessions_patient_day ON sessions(patient_id, day)",
        """CREATE TABLE session_sets (
            session_id TEXT NOT NULL REFERENCES sessions(id),
            set_index INTEGER NOT NULL,
            patient_id INTEGER NOT NULL REFERENCES patients(id),
            day TEXT NOT NULL,
            exercise TEXT NOT NULL,
            placement TEXT NOT NULL,
            target_reps INTEGER,
            hold_target_s REAL,
            started_at TEXT NOT NULL,
            skipped INTEGER NOT NULL,
            rep_count INTEGER NOT NULL,
            partial_count INTEGER NOT NULL,
            duration_s REAL NOT NULL,
            median_hold_s REAL,
            median_rom_deg REAL,
            median_stability_deg REAL,
            median_tempo_s REAL,
            rotating_reps INTEGER NOT NULL,
            samples_received INTEGER NOT NULL,
            samples_lost INTEGER NOT NULL,
            result TEXT NOT NULL,
            PRIMARY KEY (session_id, set_index))""",
        "CREATE INDEX sets_patient_day ON session_sets(patient_id, day)",
        """CREATE TABLE sample_uploads (
            session_id TEXT NOT NULL REFERENCES sessions(id),
            set_index INTEGER NOT NULL,
            total_bytes INTEGER NOT NULL,
            received_bytes INTEGER NOT NULL,
            data BLOB NOT NULL,
            completed_at TEXT,
            PRIMARY KEY (session_id, set_index))""",
    )),
    Migration(4, "indexes for the patient list and page", (
        "CREATE INDEX sessions_red_flags ON sessions(patient_id) WHERE red_flags != '[]'",
        "CREATE INDEX sessions_patient_started ON sessions(patient_id, started_at)",
    )),
    Migration(5, "covering index for the patient list", (
        # The list reads a month of sets for every patient of a physiotherapist; with every
        # column it needs in the index, SQLite never touches the (wide) table rows.
        "CREATE INDEX sets_patient_day_cover ON session_sets(patient_id, day, exercise, "
        "skipped, rep_count, median_hold_s, median_stability_deg, rotating_reps)",
    )),
    Migration(6, "stored done flag per set, counted by the patient list", (
        "ALTER TABLE session_sets ADD COLUMN done INTEGER NOT NULL DEFAULT 0",
        "DROP INDEX sets_patient_day_cover",
        "CREATE INDEX sets_patient_day_cover ON session_sets(patient_id, day, exercise, done, "
        "skipped, rep_count, median_stability_deg, rotating_reps)",
    ), then=_backfill_done),
    Migration(7, "raw-sample chunks kept apart until an upload completes", (
        """CREATE TABLE sample_chunks (
            session_id TEXT NOT NULL,
            set_index INTEGER NOT NULL,
            offset INTEGER NOT NULL,
            data BLOB NOT NULL,
            PRIMARY KEY (session_id, set_index, offset),
            FOREIGN KEY (session_id, set_index)
                REFERENCES sample_uploads(session_id, set_index))""",
        # Uploads in progress under the old scheme keep their bytes as the first chunk.
        "INSERT INTO sample_chunks SELECT session_id, set_index, 0, data FROM sample_uploads "
        "WHERE completed_at IS NULL AND received_bytes > 0",
    )),
    Migration(8, "red-flag questions not asked", (
        # JSON list of the red-flag ids the session did not ask ('[]': all answered); NULL when
        # not known (sessions stored before, documents of companions that do not send it).
        "ALTER TABLE sessions ADD COLUMN red_flags_unasked TEXT",
    )),
    Migration(9, "what made a session: a guided session or a free recording", (
        # 'session' or 'record' (server.validate.KINDS); NULL when not known (sessions stored
        # before, documents of companions that do not send it), read as a guided session.
        "ALTER TABLE sessions ADD COLUMN kind TEXT",
    )),
    Migration(10, "sets of free recordings are not done prescribed sets", (
        # Adherence is about the prescribed programme (analytics.set_done): the stored done
        # flags of free recordings' sets, computed as for any set before, are cleared.
        "UPDATE session_sets SET done = 0 WHERE done = 1 AND session_id IN "
        "(SELECT id FROM sessions WHERE kind = 'record')",
    )),
)


def utcnow() -> str:
    """Now, UTC, ISO 8601 with seconds."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def applied(db: sqlite_utils.Database) -> set[int]:
    """Numbers of the migrations already recorded in the database."""
    if not db["schema_migrations"].exists():
        return set()
    return {row["number"] for row in db.query("SELECT number FROM schema_migrations")}


def migrate(db: sqlite_utils.Database,
            migrations: Sequence[Migration] = MIGRATIONS) -> list[int]:
    """Apply the pending migrations in order, each in its own transaction.

    Returns the numbers applied. Safe to call on every start and from several processes:
    ``BEGIN IMMEDIATE`` serialises them and each re-checks what is applied.
    """
    db.execute("""CREATE TABLE IF NOT EXISTS schema_migrations (
        number INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)""")
    done: list[int] = []
    for migration in sorted(migrations, key=lambda m: m.number):
        db.execute("BEGIN IMMEDIATE")
        try:
            if migration.number in applied(db):
                db.execute("ROLLBACK")
                continue
            for statement in migration.statements:
                db.execute(statement)
            if migration.then is not None:
                migration.then(db)
            db.execute("INSERT INTO schema_migrations VALUES (?, ?, ?)",
                       [migration.number, migration.name, utcnow()])
            db.execute("COMMIT")
        except BaseException:
            db.rollback()
            raise
        done.append(migration.number)
    return done
