"""The sync run: upload the outbox (session documents, then each set's raw samples), then
download the plan.

A session leaves the outbox only after the server has its document and every set's samples,
so a run killed at any point loses nothing: the next run re-sends the document (the server
answers 200 for an id it has, so nothing is duplicated) and resumes each sample upload at the
byte the server reports.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from rehablink.contract import MAX_IGNORED_CHARS, MAX_IGNORED_LISTED
from rehablink.rawsamples import encode
from rehablink.recording import Recording
from rehablink.text import printable
from wearable.sync.api_client import ApiClient, Rejected, Unreachable
from wearable.sync.backoff import backoff_delay
from wearable.sync.device import write_private

CHUNK_BYTES = 256 * 1024
PLAN_FILE = "plan.json"
#: A field path as the server names the fields it ignored: ``sensor.model``,
#: ``sets[].gaps[].cause`` (docs/api.md, Forward compatibility).
_FIELD_PATH = re.compile(r"[A-Za-z0-9_]+(\[\])?(\.[A-Za-z0-9_]+(\[\])?)*")
#: The ignored fields named in the sync's line, at most (the others are counted).
MAX_IGNORED_NAMED = 10


class LocalError(RuntimeError):
    """A pending session that cannot be read from the local store."""


class Store(Protocol):
    """What the sync needs from the companion store (wearable.store.CompanionStore)."""

    def pending_uploads(self) -> list[str]: ...
    def session_document(self, session_id: str) -> dict[str, Any]: ...
    def set_recording(self, session_id: str, set_index: int) -> Recording: ...
    def mark_uploaded(self, session_id: str, remote_id: str | None = None) -> None: ...
    def record_upload_error(self, session_id: str, message: str) -> None: ...


@dataclass
class SyncReport:
    """What a run did, for the user and for the background scheduler."""

    new_sessions: list[str] = field(default_factory=list)
    known_sessions: list[str] = field(default_factory=list)
    rejected: list[tuple[str, str]] = field(default_factory=list)
    samples_refused: list[tuple[str, int, str]] = field(default_factory=list)
    sample_sets: int = 0
    sample_bytes: int = 0
    pending_left: int = 0
    plan_version: int | None = None
    plan_message: str = ""
    offline: str = ""
    #: Fields of the uploaded sessions that the server said it did not keep (it is older than
    #: this companion), as paths such as ``sensor.model``.
    ignored_fields: set[str] = field(default_factory=set)

    @property
    def ok(self) -> bool:
        """True when the server was reached and nothing is left pending for a retry."""
        return not self.offline and not self.rejected

    def lines(self) -> list[str]:
        """Plain-language summary, one fact per line."""
        out = []
        done = len(self.new_sessions) + len(self.known_sessions)
        if done:
            extra = f" ({len(self.known_sessions)} were already on the server)" \
                if self.known_sessions else ""
            out.append(f"uploaded {done} session{'s' if done != 1 else ''}{extra}")
        if self.sample_sets:
            out.append(f"uploaded raw samples of {self.sample_sets} set"
                       f"{'s' if self.sample_sets != 1 else ''} "
                       f"({self.sample_bytes / 1e6:.1f} MB)")
        if self.ignored_fields:
            out.append(ignored_line(self.ignored_fields))
        for sid, index, why in self.samples_refused:
            out.append(f"raw samples of set {index} of session {sid[:8]} refused "
                       f"(kept on this computer): {why}")
        for sid, why in self.rejected:
            out.append(f"session {sid[:8]} not uploaded, kept for later: {why}")
        if not done and not self.rejected and not self.offline:
            out.append("nothing to upload")
        if self.offline:
            out.append(f"offline: {self.offline}")
        if self.pending_left:
            out.append(f"{self.pending_left} session{'s' if self.pending_left != 1 else ''} "
                       "wait in the outbox")
        if self.plan_message:
            out.append(self.plan_message)
        return out


def ignored_fields(body: Any) -> set[str]:
    """The fields of an uploaded session that the server says it ignored (the
    ``ignored_fields`` of its answer): a server older than this companion does not know them.

    Only field paths are taken (names, never values, so nothing personal is told); anything
    else in that place, or none (a server from before it was answered), gives nothing: it is
    news for the user, never a reason to fail.

    Examples
    --------
    >>> sorted(ignored_fields({"ignored_fields": ["sensor.model", "sets[].tempo_cue", 7]}))
    ['sensor.model', 'sets[].tempo_cue']
    >>> ignored_fields({"ignored_fields": "sensor.model"}), ignored_fields({"id": "x"})
    (set(), set())
    """
    names = body.get("ignored_fields") if isinstance(body, dict) else None
    if not isinstance(names, list):
        return set()
    return {name for name in names[:MAX_IGNORED_LISTED]
            if isinstance(name, str) and len(name) <= MAX_IGNORED_CHARS
            and _FIELD_PATH.fullmatch(name)}


def ignored_line(fields: set[str]) -> str:
    """The sync's one line about the fields the server did not keep.

    Examples
    --------
    >>> print(ignored_line({"sensor.model", "posture"}))
    the clinic's server is older than this companion: it did not keep posture, sensor.model (...
    """
    named = sorted(fields)
    listed = ", ".join(named[:MAX_IGNORED_NAMED])
    if len(named) > MAX_IGNORED_NAMED:
        listed += f" and {len(named) - MAX_IGNORED_NAMED} more"
    return (f"the clinic's server is older than this companion: it did not keep {listed} "
            f"(the sessions were uploaded without {'it' if len(named) == 1 else 'them'})")


def _with_retries(call: Callable[[], Any], retries: int,
                  sleep: Callable[[float], None]) -> Any:
    for attempt in range(retries + 1):
        try:
            return call()
        except Unreachable:
            if attempt == retries:
                raise
            sleep(backoff_delay(attempt + 1))
    raise AssertionError("unreachable")


def upload_samples(client: ApiClient, session_id: str, set_index: int, data: bytes,
                   retries: int = 3, sleep: Callable[[float], None] = time.sleep) -> int:
    """Upload one set's RLS1 bytes, resuming where the server is; returns bytes sent."""
    path = f"/api/v1/sessions/{session_id}/sets/{set_index}/samples"
    status = _with_retries(lambda: client.request("GET", path), retries, sleep)
    if status.field("complete", bool):
        return 0
    offset = _offset(status.field("received_bytes", int), len(data)) \
        if status.field("total_bytes", (int, type(None))) == len(data) else 0
    sent = 0
    # A server that never moves on (hostile, or broken) must not keep the sync busy forever.
    budget = 2 * (len(data) // CHUNK_BYTES + 1) + 8
    while offset < len(data):
        budget -= 1
        if budget < 0:
            raise Unreachable("the server does not take these samples in (no progress)")
        chunk = data[offset:offset + CHUNK_BYTES]
        headers = {"Content-Type": "application/octet-stream",
                   "Content-Range": f"bytes {offset}-{offset + len(chunk) - 1}/{len(data)}"}
        try:
            body = _with_retries(lambda c=chunk, h=headers: client.request(  # type: ignore[misc]
                "PUT", path, data=c, headers=h), retries, sleep)
        except Rejected as exc:
            if exc.code in {"wrong_offset", "total_changed"}:
                # Another run got further (or the server lost a chunk): continue from there.
                error = exc.body.get("error")
                received = error.get("received_bytes", 0) if isinstance(error, dict) else 0
                offset = _offset(received, len(data)) if exc.code == "wrong_offset" else 0
                continue
            raise
        sent += len(chunk)
        offset = _offset(body.field("received_bytes", int), len(data))
        if body.field("complete", bool):
            break
    return sent


def _offset(value: Any, total: int) -> int:
    """A byte offset the server reported, checked to lie within the upload."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= total:
        raise Unreachable(f"the server reported an impossible upload offset {value!r}")
    return value


def _upload_session(client: ApiClient, store: Store, session_id: str, report: SyncReport,
                    retries: int, sleep: Callable[[float], None], samples: bool) -> None:
    try:
        doc = store.session_document(session_id)
    except Exception as exc:  # a damaged local session must not block the others
        raise LocalError(f"cannot read it from this computer's store: {exc}") from exc
    response = _with_retries(lambda: client.request("POST", "/api/v1/sessions", json_body=doc),
                             retries, sleep)
    if samples:
        for entry in doc.get("sets", []):
            try:
                recording = store.set_recording(session_id, entry["index"])
            except Exception as exc:  # unreadable samples: the summary is still uploaded
                report.samples_refused.append((session_id, entry["index"],
                                               f"unreadable on this computer: {exc}"))
                continue
            if len(recording) == 0:
                continue
            try:
                sent = upload_samples(client, session_id, entry["index"], encode(recording),
                                      retries, sleep)
            except Rejected as exc:
                # The session is safe on the server; these samples stay on this computer.
                report.samples_refused.append((session_id, entry["index"], str(exc)))
                continue
            if sent:
                report.sample_sets += 1
                report.sample_bytes += sent
    store.mark_uploaded(session_id, (response.body or {}).get("id"))
    (report.new_sessions if response.status == 201 else report.known_sessions).append(session_id)
    report.ignored_fields |= ignored_fields(response.body)


def save_plan(plan: dict[str, Any], home: Path) -> Path:
    """Write the plan atomically to ``home/plan.json`` (after checking it can be followed)."""
    from wearable.plan import parse_plan

    parse_plan(plan)
    path = home / PLAN_FILE
    write_private(path, json.dumps(plan, indent=2) + "\n")
    return path


def download_plan(client: ApiClient, home: Path, report: SyncReport, retries: int,
                  sleep: Callable[[float], None]) -> None:
    """Fetch the current plan into ``home/plan.json`` (kept as it is when there is none)."""
    try:
        plan = _with_retries(lambda: client.request("GET", "/api/v1/prescription"),
                             retries, sleep).body
    except Rejected as exc:
        if exc.code == "no_prescription":
            report.plan_message = "no plan from your physiotherapist yet"
            return
        raise
    from wearable.plan import PlanError

    try:
        path = save_plan(plan, home)
    except PlanError as exc:
        report.plan_message = f"the server's plan cannot be followed, kept the old one: {exc}"
        return
    report.plan_version = plan.get("version")
    report.plan_message = f"plan version {plan.get('version')} (from " \
        f"{printable(str(plan.get('effective_from')))}) saved to {path}"


def run_sync(client: ApiClient, store: Store, home: Path, *, samples: bool = True,
             plan: bool = True, retries: int = 3,
             sleep: Callable[[float], None] = time.sleep) -> SyncReport:
    """Upload every pending session (oldest first), then download the plan.

    Stops at the first sign the server cannot be reached (the rest stays in the outbox).
    Raises :class:`~wearable.sync.api_client.AuthRejected` when the token is refused.
    """
    report = SyncReport()
    pending = store.pending_uploads()
    for position, session_id in enumerate(pending):
        try:
            _upload_session(client, store, session_id, report, retries, sleep, samples)
        except (Rejected, LocalError) as exc:
            store.record_upload_error(session_id, str(exc))
            report.rejected.append((session_id, str(exc)))
        except Unreachable as exc:
            store.record_upload_error(session_id, str(exc))
            report.offline = str(exc)
            report.pending_left = len(pending) - position
            return report
    report.pending_left = len(report.rejected)
    if plan:
        try:
            download_plan(client, home, report, retries, sleep)
        except Unreachable as exc:
            report.offline = str(exc)
    return report
