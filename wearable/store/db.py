"""The companion's local store: sessions, sets, reps, raw samples, answers and sync state.

SQLite through sqlite-utils in ``REHAB_HOME/companion.db``, WAL mode. Samples are buffered by
:class:`SampleWriter` and committed at least every ``flush_interval_s`` (0.5 s), so a crash or a
``kill -9`` loses at most the last half second; the next open marks a session whose recording
process is gone as ``interrupted``.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import sqlite_utils

from rehablink.paths import rehab_home
from rehablink.results import SetResult
from wearable.questions import NOT_ASKED, Answers
from wearable.store.chunks import encode_chunk
from wearable.store.migrations import migrate
from wearable.store.queries import StoreQueries

DB_NAME = "companion.db"


def utc_now() -> str:
    """Current time, ISO 8601 UTC with milliseconds."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


@dataclass(frozen=True)
class SensorInfo:
    """The sensor a session was recorded with: its family (``profile``, a registry id), the name
    and address it advertises, and the ``model`` it says it is once connected (None when it
    does not say)."""

    profile: str
    name: str
    address: str = ""
    has_gyro: bool = True
    model: str | None = None


@dataclass(frozen=True)
class Gap:
    """Samples missing from a set: from ``start`` (s on the set's clock) for ``duration_s``."""

    start: float
    duration_s: float

    def to_json(self) -> dict[str, float]:
        return {"start": round(self.start, 3), "duration_s": round(self.duration_s, 3)}


class StoreDamaged(RuntimeError):
    """The companion database cannot be opened (not SQLite, damaged, unreadable)."""


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class CompanionStore(StoreQueries):
    """The companion database. Use :meth:`open`; close with :meth:`close` or ``with``.

    Attributes
    ----------
    recovered : list of str
        Ids of sessions found unfinished at open (their process is gone): now ``interrupted``.
    """

    def __init__(self, db: sqlite_utils.Database) -> None:
        self.db = db
        db.execute("PRAGMA foreign_keys=ON")
        db.execute("PRAGMA busy_timeout=5000")
        if not db.memory:
            db.enable_wal()
            db.execute("PRAGMA synchronous=NORMAL")  # durable at each WAL checkpoint
        migrate(db)
        self.recovered = self._recover_interrupted()

    @classmethod
    def open(cls, path: str | Path | None = None) -> CompanionStore:
        """Open (creating and migrating) the store; default ``rehab_home()/companion.db``.

        Raises
        ------
        StoreDamaged
            When the file is not a readable SQLite database (it is left untouched).
        """
        file = Path(path) if path else rehab_home() / DB_NAME
        db = None
        try:
            # Health data: the file (and the -wal/-shm files SQLite derives from it) owner-only.
            os.close(os.open(file, os.O_RDWR | os.O_CREAT, 0o600))
            db = sqlite_utils.Database(file)
            return cls(db)
        except (sqlite3.DatabaseError, OSError) as exc:
            if db is not None:
                db.close()
            raise StoreDamaged(f"cannot open the session store {file}: {exc}. It was left as "
                               "it is; move it aside to start a new one, or restore a "
                               "copy") from None

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> CompanionStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- recovery ---------------------------------------------------------------------------
    def _recover_interrupted(self) -> list[str]:
        rows = self.db.execute(
            "SELECT id, writer_pid FROM sessions WHERE status = 'recording'").fetchall()
        dead = [sid for sid, pid in rows if pid != os.getpid() and not (pid and _pid_alive(pid))]
        with self.db.atomic():
            for sid in dead:
                self.db.execute(
                    "UPDATE sessions SET status='interrupted', ended_at=updated_at, "
                    "writer_pid=NULL WHERE id=?", [sid])
                self.db.execute(
                    "UPDATE sets SET ended_at=(SELECT updated_at FROM sessions WHERE id=?) "
                    "WHERE session_id=? AND ended_at IS NULL", [sid, sid])
                self._queue(sid)
        return dead

    # -- writing ----------------------------------------------------------------------------
    def create_session(self, kind: str = "session", sensor: SensorInfo | None = None,
                       prescription_version: int | None = None) -> str:
        """Start a session now; returns its new UUID4 id. None of its red-flag questions is
        asked yet (what a session whose process dies before them keeps)."""
        sid = str(uuid.uuid4())
        now = utc_now()
        with self.db.atomic():
            self.db.table("sessions").insert({
                "id": sid, "kind": kind, "started_at": now, "updated_at": now,
                "status": "recording", "writer_pid": os.getpid(),
                "prescription_version": prescription_version,
                "red_flags_unasked": json.dumps(NOT_ASKED.red_flags_unasked),
            })
            if sensor:
                self._set_sensor(sid, sensor)
        return sid

    def set_sensor(self, session_id: str, sensor: SensorInfo) -> None:
        """Record which sensor the session streams from (known once connected)."""
        with self.db.atomic():
            self._set_sensor(session_id, sensor)

    def _set_sensor(self, session_id: str, sensor: SensorInfo) -> None:
        self.db.execute(
            "UPDATE sessions SET sensor_profile=?, sensor_name=?, sensor_address=?, has_gyro=?, "
            "sensor_model=? WHERE id=?",
            [sensor.profile, sensor.name, sensor.address, int(sensor.has_gyro), sensor.model,
             session_id])

    def begin_set(self, session_id: str, index: int, exercise: str, placement: str = "pelvis",
                  target_reps: int | None = None, hold_target_s: float | None = None) -> None:
        """Create set ``index`` of a session, started now."""
        with self.db.atomic():
            self.db.table("sets").insert({
                "session_id": session_id, "idx": index, "exercise": exercise,
                "placement": placement, "target_reps": target_reps,
                "hold_target_s": hold_target_s, "started_at": utc_now(),
            })
            self._touch(session_id)

    def add_chunk(self, session_id: str, set_index: int, t: np.ndarray, acc: np.ndarray,
                  gyro: np.ndarray | None) -> None:
        """Commit one chunk of samples now (see :class:`SampleWriter` for buffering)."""
        t0, blob = encode_chunk(t, acc, gyro)
        with self.db.atomic():
            row = self.db.execute(
                "SELECT COALESCE(MAX(idx) + 1, 0) FROM sample_chunks WHERE session_id=? "
                "AND set_idx=?", [session_id, set_index]).fetchone()
            self.db.execute(
                "INSERT INTO sample_chunks VALUES (?, ?, ?, ?, ?, ?, ?)",
                [session_id, set_index, row[0], t0, len(t), int(gyro is not None), blob])
            self._touch(session_id)

    def finish_set(self, session_id: str, index: int, result: SetResult | None, *,
                   samples_received: int = 0, samples_lost: int = 0,
                   gaps: Sequence[Gap] = (), reconnects: int = 0, skipped: bool = False) -> None:
        """Store a set's result, stream statistics and reps."""
        with self.db.atomic():
            self.db.execute(
                "UPDATE sets SET ended_at=?, skipped=?, result_json=?, samples_received=?, "
                "samples_lost=?, gaps_json=?, reconnects=? WHERE session_id=? AND idx=?",
                [utc_now(), int(skipped),
                 json.dumps(result.to_json()) if result is not None else None,
                 samples_received, samples_lost, json.dumps([g.to_json() for g in gaps]),
                 reconnects, session_id, index])
            self.db.execute("DELETE FROM reps WHERE session_id=? AND set_idx=?",
                            [session_id, index])
            for i, rep in enumerate(result.reps if result is not None else ()):
                self.db.table("reps").insert({
                    "session_id": session_id, "set_idx": index, "idx": i,
                    "start_s": rep.start, "top_s": rep.top, "lower_start_s": rep.lower_start,
                    "end_s": rep.end, "hold_s": rep.hold_s, "rom_deg": rep.rom_deg,
                    "stability_deg": rep.stability_deg, "flags": ",".join(rep.flags),
                })
            self._touch(session_id)

    def finish_session(self, session_id: str, status: str = "completed",
                       answers: Answers = NOT_ASKED) -> None:
        """Close a session with the answers to the end questions and queue it for upload.

        The default, :data:`~wearable.questions.NOT_ASKED`, records that no question was asked
        (``rehab record``, a session nobody answered for).
        """
        if status not in ("completed", "interrupted"):
            raise ValueError(f"status must be completed or interrupted, got {status!r}")
        pain = answers.pain
        if pain is not None and not 0 <= pain <= 10:
            raise ValueError(f"pain must be 0-10, got {pain}")
        now = utc_now()
        with self.db.atomic():
            self.db.execute(
                "UPDATE sessions SET status=?, ended_at=?, updated_at=?, pain=?, "
                "red_flags_unasked=?, writer_pid=NULL WHERE id=?",
                [status, now, now, pain, json.dumps(answers.red_flags_unasked), session_id])
            for flag in answers.red_flags:
                self.db.execute("INSERT OR IGNORE INTO red_flags VALUES (?, ?)",
                                [session_id, flag])
            self._queue(session_id)

    def discard_session(self, session_id: str) -> bool:
        """Delete a session that never received a sample (the sensor could not be reached);
        returns whether it was deleted. A session with samples is never discarded."""
        with self.db.atomic():
            has_samples = self.db.execute(
                "SELECT 1 FROM sample_chunks WHERE session_id=? LIMIT 1", [session_id]).fetchone()
            if has_samples:
                return False
            self.db.execute("DELETE FROM sessions WHERE id=?", [session_id])
        return True

    def _touch(self, session_id: str) -> None:
        self.db.execute("UPDATE sessions SET updated_at=? WHERE id=?", [utc_now(), session_id])

    def _queue(self, session_id: str) -> None:
        self.db.execute("INSERT OR IGNORE INTO outbox (session_id, queued_at) VALUES (?, ?)",
                        [session_id, utc_now()])

    # -- sync (used by wearable.sync) -------------------------------------------------------
    def pending_uploads(self) -> list[str]:
        """Ids of finished sessions not yet uploaded, oldest first."""
        return [r[0] for r in self.db.execute(
            "SELECT o.session_id FROM outbox o JOIN sessions s ON s.id = o.session_id "
            "WHERE o.uploaded_at IS NULL AND s.status != 'recording' "
            "ORDER BY s.started_at").fetchall()]

    def mark_uploaded(self, session_id: str, remote_id: str | None = None) -> None:
        """Record a successful upload."""
        with self.db.atomic():
            self.db.execute(
                "UPDATE outbox SET uploaded_at=?, remote_id=?, attempts=attempts+1, "
                "last_error=NULL WHERE session_id=?", [utc_now(), remote_id, session_id])

    def record_upload_error(self, session_id: str, message: str) -> None:
        """Record a failed upload attempt (the session stays pending)."""
        with self.db.atomic():
            self.db.execute(
                "UPDATE outbox SET attempts=attempts+1, last_error=? WHERE session_id=?",
                [message[:500], session_id])

    def get_state(self, key: str) -> str | None:
        """A value of the ``sync_state`` key/value table."""
        row = self.db.execute("SELECT value FROM sync_state WHERE key=?", [key]).fetchone()
        return None if row is None else row[0]

    def set_state(self, key: str, value: str | None) -> None:
        with self.db.atomic():
            self.db.execute("INSERT OR REPLACE INTO sync_state VALUES (?, ?)", [key, value])


class SampleWriter:
    """Buffers a set's samples and commits them at least every ``flush_interval_s``.

    Call :meth:`add` for each decoded batch and :meth:`tick` when idle (the stream's consumer
    does so a few times a second), :meth:`flush` at the end of the set.
    """

    def __init__(self, store: CompanionStore, session_id: str, set_index: int,
                 flush_interval_s: float = 0.5, clock: Any = time.monotonic) -> None:
        self.store, self.session_id, self.set_index = store, session_id, set_index
        self.flush_interval_s = flush_interval_s
        self._clock = clock
        self._t: list[np.ndarray] = []
        self._acc: list[np.ndarray] = []
        self._gyro: list[np.ndarray] | None = []
        self._last_flush = clock()
        self.samples_written = 0

    def add(self, t: np.ndarray, acc: np.ndarray, gyro: np.ndarray | None) -> None:
        if len(t) == 0:
            return
        self._t.append(np.asarray(t, dtype=np.float64))
        self._acc.append(np.asarray(acc, dtype=np.float64))
        if gyro is None or self._gyro is None:
            self._gyro = None
        else:
            self._gyro.append(np.asarray(gyro, dtype=np.float64))
        self.tick()

    def tick(self) -> None:
        """Flush if the oldest buffered sample has waited ``flush_interval_s``."""
        if self._clock() - self._last_flush >= self.flush_interval_s:
            self.flush()

    def flush(self) -> None:
        self._last_flush = self._clock()
        if not self._t:
            return
        t = np.concatenate(self._t)
        acc = np.concatenate(self._acc)
        gyro = np.concatenate(self._gyro) if self._gyro else None
        self.store.add_chunk(self.session_id, self.set_index, t, acc, gyro)
        self.samples_written += len(t)
        self._t, self._acc = [], []
        self._gyro = [] if self._gyro is not None else None
