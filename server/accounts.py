"""People and credentials: physiotherapists, patients, enrollment codes, device tokens,
one-time patient login links and web login sessions.

Passwords are hashed with argon2id (argon2-cffi). Tokens and codes are random and stored only
as SHA-256 hashes: a 256-bit random token needs no slow hash, and a leaked table cannot be
replayed.
"""

from __future__ import annotations

import functools
import hashlib
import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlite_utils
from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError

from server.audit import record
from server.db import write_transaction
from server.migrations import utcnow
from server.text import text_problem

#: argon2 parameter profile (names in ``argon2.profiles``); the default is RFC 9106's
#: low-memory argon2id. ``CHEAPEST`` exists for test suites only.
PASSWORD_PROFILE_ENV = "REHAB_SERVER_PASSWORD_PROFILE"


@functools.cache
def _hasher_for(profile: str) -> PasswordHasher:
    return PasswordHasher.from_parameters(getattr(profiles, profile))


def _hasher() -> PasswordHasher:
    return _hasher_for(os.environ.get(PASSWORD_PROFILE_ENV, "RFC_9106_LOW_MEMORY"))


@functools.cache
def _dummy_hash(profile_hasher: PasswordHasher) -> str:
    # Verified against when the account does not exist, so timing does not reveal which
    # e-mail addresses are registered.
    return profile_hasher.hash(secrets.token_hex(16))

#: Enrollment codes use an alphabet without look-alikes (no 0/O, 1/I/L), grouped by 4.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 12  # 12 symbols of 31: ~59 bits, one-time, expiring, attempts rate-limited

MIN_PASSWORD_LENGTH = 10


class AccountError(ValueError):
    """A request about accounts that cannot be done; the message says why."""


@dataclass(frozen=True)
class Device:
    """An enrolled companion, allowed to act for one patient."""

    id: int
    patient_id: int


def token_hash(token: str) -> str:
    """SHA-256 hex digest of a token or normalised code."""
    return hashlib.sha256(token.encode()).hexdigest()


def _in(seconds: int) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat(timespec="seconds")


def hash_password(password: str) -> str:
    """argon2id hash of a password (rejects passwords that are too short)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"password must have at least {MIN_PASSWORD_LENGTH} characters")
    return _hasher().hash(password)


def _check_name(name: str) -> None:
    if not name.strip():
        raise AccountError("name must not be empty")
    problem = text_problem(name)
    if problem:
        raise AccountError(f"name {problem}")


def create_physio(db: sqlite_utils.Database, email: str, name: str, password: str) -> int:
    """Add a physiotherapist; returns their id. Emails are unique, case-insensitively."""
    email = email.strip()
    if "@" not in email or len(email) > 254:
        raise AccountError(f"not an e-mail address: {email!r}")
    _check_name(name)
    hashed = hash_password(password)
    with write_transaction(db):
        if list(db.query("SELECT 1 FROM physios WHERE email = ?", [email])):
            raise AccountError(f"a physiotherapist with e-mail {email} already exists")
        cur = db.execute(
            "INSERT INTO physios (email, name, password_hash, created_at) VALUES (?, ?, ?, ?)",
            [email, name.strip(), hashed, utcnow()])
        physio_id = int(cur.lastrowid or 0)
        record(db, "admin", "create_physio", None, f"physio={physio_id}")
    return physio_id


def set_password(db: sqlite_utils.Database, email: str, password: str) -> int:
    """Replace a physiotherapist's password and end all their login sessions; returns the id."""
    hashed = hash_password(password)
    with write_transaction(db):
        physio = find_physio(db, email)
        if physio is None:
            raise AccountError(f"no physiotherapist with e-mail {email}")
        db.execute("UPDATE physios SET password_hash = ? WHERE id = ?", [hashed, physio["id"]])
        db.execute("UPDATE web_logins SET revoked_at = ? WHERE physio_id = ? "
                   "AND revoked_at IS NULL", [utcnow(), physio["id"]])
        record(db, "admin", "set_password", None, f"physio={physio['id']}")
    return int(physio["id"])


def find_physio(db: sqlite_utils.Database, email: str) -> dict[str, Any] | None:
    """The physiotherapist with this e-mail (case-insensitive), or None."""
    rows = list(db.query("SELECT * FROM physios WHERE email = ? AND disabled_at IS NULL",
                         [email.strip()]))
    return rows[0] if rows else None


def check_password(db: sqlite_utils.Database, email: str, password: str) -> dict[str, Any] | None:
    """The physiotherapist if the password is right, else None (constant work either way)."""
    physio = find_physio(db, email)
    hasher = _hasher()
    try:
        hasher.verify(physio["password_hash"] if physio else _dummy_hash(hasher), password)
    except (VerificationError, InvalidHashError):
        return None
    if physio is None:
        return None
    if hasher.check_needs_rehash(physio["password_hash"]):
        db.execute("UPDATE physios SET password_hash = ? WHERE id = ?",
                   [hasher.hash(password), physio["id"]])
    return physio


def _new_code() -> str:
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    return "-".join(raw[i:i + 4] for i in range(0, CODE_LENGTH, 4))


def normalise_code(code: str) -> str:
    """Upper-case, without spaces and dashes (what the patient typed -> what was hashed)."""
    return "".join(ch for ch in code.upper() if ch.isalnum())


def add_patient(db: sqlite_utils.Database, physio_id: int, name: str,
                code_ttl_s: int = 72 * 3600) -> tuple[int, str]:
    """Add a patient under a physiotherapist; returns ``(patient_id, enrollment_code)``.

    The code is shown once and stored hashed; it expires after ``code_ttl_s`` seconds.
    """
    _check_name(name)
    with write_transaction(db):
        cur = db.execute("INSERT INTO patients (physio_id, name, created_at) VALUES (?, ?, ?)",
                         [physio_id, name.strip(), utcnow()])
        patient_id = int(cur.lastrowid or 0)
        code = _issue_code(db, patient_id, code_ttl_s)
        record(db, f"physio:{physio_id}", "add_patient", patient_id)
    return patient_id, code


def _issue_code(db: sqlite_utils.Database, patient_id: int, ttl_s: int) -> str:
    code = _new_code()
    db.execute("INSERT INTO enrollment_codes VALUES (?, ?, ?, ?, NULL)",
               [token_hash(normalise_code(code)), patient_id, utcnow(), _in(ttl_s)])
    return code


def new_enrollment_code(db: sqlite_utils.Database, patient_id: int, actor: str,
                        ttl_s: int = 72 * 3600) -> str:
    """Issue another enrollment code for an existing patient (a new phone, a lost code)."""
    with write_transaction(db):
        code = _issue_code(db, patient_id, ttl_s)
        record(db, actor, "new_enrollment_code", patient_id)
    return code


def enroll(db: sqlite_utils.Database, code: str) -> tuple[str, Device, str]:
    """Exchange a valid, unused, unexpired code for a device token.

    Returns ``(token, device, patient_name)``; the token is shown once and stored hashed.
    """
    hashed = token_hash(normalise_code(code))
    with write_transaction(db):
        rows = list(db.query(
            "SELECT c.patient_id, c.expires_at, c.used_at, p.name FROM enrollment_codes c "
            "JOIN patients p ON p.id = c.patient_id WHERE c.code_hash = ?", [hashed]))
        if not rows or rows[0]["used_at"] is not None or rows[0]["expires_at"] < utcnow():
            raise AccountError("enrollment code unknown, used or expired; "
                               "ask your physiotherapist for a new one")
        patient_id = int(rows[0]["patient_id"])
        db.execute("UPDATE enrollment_codes SET used_at = ? WHERE code_hash = ?",
                   [utcnow(), hashed])
        token = secrets.token_urlsafe(32)
        cur = db.execute(
            "INSERT INTO devices (patient_id, token_hash, created_at) VALUES (?, ?, ?)",
            [patient_id, token_hash(token), utcnow()])
        device = Device(int(cur.lastrowid or 0), patient_id)
        record(db, f"device:{device.id}", "enroll", patient_id)
    return token, device, str(rows[0]["name"])


def device_for_token(db: sqlite_utils.Database, token: str) -> Device | None:
    """The device a bearer token belongs to, or None if unknown or revoked.

    Notes ``last_seen_at`` at most once a minute (a write per request would serialise reads).
    """
    rows = db.execute(
        "SELECT d.id, d.patient_id, d.last_seen_at FROM devices d "
        "JOIN patients p ON p.id = d.patient_id "
        "WHERE d.token_hash = ? AND d.revoked_at IS NULL AND p.archived_at IS NULL",
        [token_hash(token)]).fetchall()
    if not rows:
        return None
    device_id, patient_id, last_seen = rows[0]
    now = datetime.now(UTC)
    if last_seen is None or datetime.fromisoformat(last_seen) < now - timedelta(minutes=1):
        db.execute("UPDATE devices SET last_seen_at = ? WHERE id = ?",
                   [now.isoformat(timespec="seconds"), device_id])
    return Device(int(device_id), int(patient_id))


def revoke_device(db: sqlite_utils.Database, device_id: int, actor: str) -> int:
    """Revoke a device token; returns the patient id. Revoking twice is harmless."""
    with write_transaction(db):
        rows = list(db.query("SELECT patient_id FROM devices WHERE id = ?", [device_id]))
        if not rows:
            raise AccountError(f"no device {device_id}")
        db.execute("UPDATE devices SET revoked_at = coalesce(revoked_at, ?) WHERE id = ?",
                   [utcnow(), device_id])
        record(db, actor, "revoke_device", rows[0]["patient_id"], f"device={device_id}")
    return int(rows[0]["patient_id"])


def archive_patient(db: sqlite_utils.Database, patient_id: int, actor: str) -> None:
    """Close a patient's record: gone from lists, devices and links stop working; the data
    stays (clinical records are kept, not deleted)."""
    with write_transaction(db):
        if not list(db.query("SELECT 1 FROM patients WHERE id = ?", [patient_id])):
            raise AccountError(f"no patient {patient_id}")
        db.execute("UPDATE patients SET archived_at = coalesce(archived_at, ?) WHERE id = ?",
                   [utcnow(), patient_id])
        db.execute("UPDATE devices SET revoked_at = coalesce(revoked_at, ?) WHERE patient_id = ?",
                   [utcnow(), patient_id])
        db.execute("UPDATE web_logins SET revoked_at = coalesce(revoked_at, ?) "
                   "WHERE patient_id = ?", [utcnow(), patient_id])
        record(db, actor, "archive_patient", patient_id)


def patient_link(db: sqlite_utils.Database, patient_id: int, actor: str,
                 ttl_s: int = 15 * 60) -> str:
    """Issue a one-time login token for a patient's own pages (used at ``/patient/login/<t>``)."""
    token = secrets.token_urlsafe(32)
    with write_transaction(db):
        db.execute("INSERT INTO patient_links VALUES (?, ?, ?, ?, NULL)",
                   [token_hash(token), patient_id, utcnow(), _in(ttl_s)])
        record(db, actor, "patient_link", patient_id)
    return token


def use_patient_link(db: sqlite_utils.Database, token: str) -> int | None:
    """Consume a one-time patient link; returns the patient id, or None if not valid."""
    hashed = token_hash(token)
    with write_transaction(db):
        rows = list(db.query(
            "SELECT patient_id FROM patient_links WHERE token_hash = ? AND used_at IS NULL "
            "AND expires_at >= ?", [hashed, utcnow()]))
        if not rows:
            return None
        db.execute("UPDATE patient_links SET used_at = ? WHERE token_hash = ?",
                   [utcnow(), hashed])
    return int(rows[0]["patient_id"])


def start_web_login(db: sqlite_utils.Database, *, physio_id: int | None = None,
                    patient_id: int | None = None, ttl_s: int = 8 * 3600) -> str:
    """Open a server-side login session; returns the random id kept in the cookie."""
    token = secrets.token_urlsafe(32)
    db.execute("INSERT INTO web_logins VALUES (?, ?, ?, ?, ?, NULL)",
               [token_hash(token), physio_id, patient_id, utcnow(), _in(ttl_s)])
    return token


def web_login(db: sqlite_utils.Database, token: str) -> dict[str, Any] | None:
    """The live login session for a cookie's id (``physio_id`` or ``patient_id`` set), or None."""
    rows = list(db.query(
        "SELECT physio_id, patient_id FROM web_logins WHERE token_hash = ? "
        "AND revoked_at IS NULL AND expires_at >= ?", [token_hash(token), utcnow()]))
    return rows[0] if rows else None


def end_web_login(db: sqlite_utils.Database, token: str) -> None:
    """Revoke a login session (logout): the old cookie is worthless from now on."""
    db.execute("UPDATE web_logins SET revoked_at = ? WHERE token_hash = ?",
               [utcnow(), token_hash(token)])
