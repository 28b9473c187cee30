"""Validation of uploaded session documents (pure: a dict in, a value or an error out).

The document format is the contract in docs/api.md. Every known field is checked strictly for
type and range, and anything impossible is refused with a message naming the field. Fields this
server does not know (a newer companion's) are ignored, not stored, and named in
:attr:`SessionDoc.ignored_fields` as paths such as ``sets[].tempo_cue``, so that an upload of a
newer companion is not refused whole; a document lists in ``must_understand`` the fields it
may not be stored without, and is refused (:class:`UnsupportedFields`) when this server does
not know one of them.
"""

from __future__ import annotations

import math
import statistics
import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from rehablink.clinical import RED_FLAGS
from rehablink.contract import MAX_MUST_UNDERSTAND, MAX_MUST_UNDERSTAND_CHARS
from rehablink.exercises import EXERCISES, Placement
from rehablink.results import REP_FLAGS, SetResult
from rehablink.text import MAX_MODEL_CHARS, is_sensor_model

STATUSES = ("completed", "interrupted")
#: What made a session, in the companion's words (its store's ``sessions.kind``): ``session``
#: a guided session of the plan (``rehab session``, which ends with the end questions),
#: ``record`` a free recording (``rehab record``: one set outside the plan, no end questions).
KINDS = ("session", "record")
MAX_SETS = 50
MAX_REPS = 500
MAX_SET_DURATION_S = 3 * 3600.0
TOP_FIELDS = {"id", "kind", "started_at", "ended_at", "status", "sensor", "pain", "red_flags",
              "red_flags_unasked", "prescription_version", "sets", "must_understand"}
SET_FIELDS = {"index", "exercise", "placement", "target_reps", "hold_target_s", "started_at",
              "skipped", "result", "samples_received", "samples_lost", "gaps", "reconnects"}
SENSOR_FIELDS = {"profile", "name", "has_gyro", "address", "firmware", "model"}
GAP_FIELDS = {"start", "duration_s"}
#: Every field this server knows, by the paths ``ignored_fields`` and ``must_understand`` use.
KNOWN_FIELDS = frozenset(TOP_FIELDS | {f"sets[].{f}" for f in SET_FIELDS}
                         | {f"sets[].gaps[].{f}" for f in GAP_FIELDS}
                         | {f"sensor.{f}" for f in SENSOR_FIELDS})
MAX_GAPS = 10_000


class DocumentError(ValueError):
    """A session document that breaks the contract; the message names the field."""


class UnsupportedFields(DocumentError):
    """A document whose ``must_understand`` names fields this server does not know."""


@dataclass(frozen=True)
class SetRow:
    """One set as stored: the contract's fields plus summary figures of its reps."""

    index: int
    exercise: str
    placement: str
    target_reps: int | None
    hold_target_s: float | None
    started_at: str
    skipped: bool
    result: SetResult | None
    samples_received: int
    samples_lost: int

    @property
    def rep_count(self) -> int:
        """Counted reps (0 for a skipped set)."""
        return self.result.rep_count if self.result else 0

    def median(self, attr: str) -> float | None:
        """Median of a per-rep figure (``hold_s``, ``rom_deg``, ``stability_deg``, ``tempo_s``)."""
        if not self.result:
            return None
        if attr == "tempo_s":
            values = [r.end - r.start for r in self.result.reps]
        else:
            values = [v for r in self.result.reps if (v := getattr(r, attr)) is not None]
        return float(statistics.median(values)) if values else None

    @property
    def rotating_reps(self) -> int:
        """Reps flagged ``pelvis_rotating`` (compensation)."""
        if not self.result:
            return 0
        return sum("pelvis_rotating" in r.flags for r in self.result.reps)


@dataclass(frozen=True)
class SessionDoc:
    """A validated session document."""

    id: str
    #: One of :data:`KINDS`; None when the document does not say (companions before it was
    #: sent), read as a guided session.
    kind: str | None
    started_at: str
    ended_at: str
    day: str
    status: str
    sensor: dict[str, Any]
    pain: int | None
    red_flags: tuple[str, ...]
    #: Red-flag questions not asked ((): all answered); None when the document does not say
    #: (companions before it was recorded): whether the screen was complete is not known.
    red_flags_unasked: tuple[str, ...] | None
    prescription_version: int | None
    sets: tuple[SetRow, ...]
    #: Fields of the document this server does not know, ignored and not stored, as sorted
    #: paths (``posture``, ``sensor.serial``, ``sets[].tempo_cue``).
    ignored_fields: tuple[str, ...] = ()


def _is_str_in(value: Any, options: Collection[str]) -> bool:
    """Membership test that is safe for any JSON value (lists and dicts are unhashable)."""
    return isinstance(value, str) and value in options


def _fail(where: str, what: str) -> DocumentError:
    return DocumentError(f"{where}: {what}")


def _int(value: Any, where: str, low: int, high: int, nullable: bool = False) -> int | None:
    if value is None and nullable:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise _fail(where, f"must be an integer from {low} to {high}"
                    + (" or null" if nullable else ""))
    return value


def _num(value: Any, where: str, low: float, high: float, nullable: bool = False) -> float | None:
    if value is None and nullable:
        return None
    if (isinstance(value, bool) or not isinstance(value, int | float)
            or not math.isfinite(value) or not low <= value <= high):
        raise _fail(where, f"must be a number from {low} to {high}"
                    + (" or null" if nullable else ""))
    return float(value)


def _num_required(value: Any, where: str, low: float, high: float) -> float:
    result = _num(value, where, low, high)
    assert result is not None
    return result


def _text(value: Any, where: str, max_len: int) -> str:
    if not isinstance(value, str) or len(value) > max_len:
        raise _fail(where, f"must be text of at most {max_len} characters")
    return value


def _label(value: Any, where: str, max_len: int) -> str:
    """Text shown as it is (a sensor's name, profile, address, firmware): at most ``max_len``
    characters, none of them a control character (a terminal escape, a newline, a
    text-direction override), as the companion sends them (``rehablink.text.printable``).

    Examples
    --------
    >>> _label("RehabLink-1A2B", "sensor.name", 128)
    'RehabLink-1A2B'
    >>> try:
    ...     _label("WT\\x1b[2J", "sensor.name", 128)
    ... except DocumentError as exc:
    ...     print(exc)
    sensor.name: must be printable text (no control characters)
    """
    text = _text(value, where, max_len)
    if not text.isprintable():
        raise _fail(where, "must be printable text (no control characters)")
    return text


def _sensor_model(value: Any) -> str | None:
    """``sensor.model``: what the sensor says it is, 1 to 64 printable characters (not only
    spaces: :func:`rehablink.text.is_sensor_model`), or None when not known (null or absent).

    Examples
    --------
    >>> _sensor_model("Polar H10"), _sensor_model(None)
    ('Polar H10', None)
    >>> try:
    ...     _sensor_model("H10\\x1b[2J")
    ... except DocumentError as exc:
    ...     print(exc)
    sensor.model: must be 1 to 64 printable characters (no control characters, not only ...
    """
    if value is None:
        return None
    if not is_sensor_model(value):
        raise _fail("sensor.model", f"must be 1 to {MAX_MODEL_CHARS} printable characters "
                                    "(no control characters, not only spaces), or null")
    return str(value)


def _time(value: Any, where: str, now: datetime) -> datetime:
    text = _text(value, where, 40)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise _fail(where,
                    "must be an ISO 8601 date-time such as 2026-11-21T09:30:00+00:00") from None
    if parsed.tzinfo is None:
        raise _fail(where, "must include a UTC offset (+00:00)")
    if not datetime(2020, 1, 1, tzinfo=UTC) <= parsed <= now + timedelta(days=1):
        raise _fail(where, "is not a plausible time (before 2020 or in the future)")
    return parsed


def _flag_ids(value: Any, where: str) -> tuple[str, ...]:
    """A list of red-flag ids, each once."""
    if not isinstance(value, list) or not all(_is_str_in(f, RED_FLAGS) for f in value):
        raise _fail(where, "must be a list of ids from: " + ", ".join(RED_FLAGS))
    if len(set(value)) != len(value):
        raise _fail(where, "lists an id twice")
    return tuple(value)


def _object(value: Any, where: str, allowed: set[str], ignored: set[str],
            path: str = "") -> dict[str, Any]:
    """The known fields of an object; the names of the others go into ``ignored`` as
    ``path`` + name (``path`` like ``sets[].``, the same for every set)."""
    if not isinstance(value, dict):
        raise _fail(where, "must be an object")
    ignored.update(path + str(k) for k in value if k not in allowed)
    return {k: v for k, v in value.items() if k in allowed}


def _must_understand(value: Any) -> None:
    """Refuse a document that cannot be stored without a field this server does not know."""
    if value is None:
        return
    if not isinstance(value, list) or len(value) > MAX_MUST_UNDERSTAND or \
            not all(isinstance(n, str) and len(n) <= MAX_MUST_UNDERSTAND_CHARS for n in value):
        raise _fail("must_understand", f"must be a list of at most {MAX_MUST_UNDERSTAND} field "
                                       "paths such as sets[].tempo_cue")
    unknown = sorted(set(value) - KNOWN_FIELDS)
    if unknown:
        raise UnsupportedFields(
            f"must_understand: this server does not know {', '.join(unknown)}; the session "
            f"cannot be stored without them until the server is updated")


def _result(data: Any, where: str, exercise: str) -> SetResult:
    if not isinstance(data, dict):
        raise _fail(where, "must be an object (SetResult JSON)")
    if data.get("exercise") != exercise:
        raise _fail(f"{where}.exercise", f"must be the set's exercise {exercise!r}")
    _num(data.get("duration_s"), f"{where}.duration_s", 0, MAX_SET_DURATION_S)
    _num(data.get("sample_rate_hz"), f"{where}.sample_rate_hz", 0, 2000)
    _int(data.get("partial_count", 0), f"{where}.partial_count", 0, MAX_REPS)
    reps = data.get("reps")
    if not isinstance(reps, list) or len(reps) > MAX_REPS:
        raise _fail(f"{where}.reps", f"must be a list of at most {MAX_REPS} reps")
    if data.get("rep_count", len(reps)) != len(reps):
        raise _fail(f"{where}.rep_count", "must equal the number of reps")
    for i, rep in enumerate(reps):
        at = f"{where}.reps[{i}]"
        if not isinstance(rep, dict):
            raise _fail(at, "must be an object")
        times = [_num_required(rep.get(k), f"{at}.{k}", 0, MAX_SET_DURATION_S)
                 for k in ("start", "top", "lower_start", "end")]
        if times != sorted(times):
            raise _fail(at, "needs start <= top <= lower_start <= end")
        _num(rep.get("rom_deg"), f"{at}.rom_deg", -360, 360)
        _num(rep.get("stability_deg"), f"{at}.stability_deg", 0, 360, nullable=True)
        flags = rep.get("flags", [])
        if not isinstance(flags, list) or not all(_is_str_in(f, REP_FLAGS) for f in flags):
            raise _fail(f"{at}.flags", f"must be a list of {', '.join(REP_FLAGS)}")
    try:
        return SetResult.from_json(data)
    except (KeyError, TypeError, ValueError) as exc:
        raise _fail(where, f"not a SetResult ({exc})") from None


def _set(data: Any, where: str, now: datetime, ignored: set[str]) -> SetRow:
    data = _object(data, where, SET_FIELDS, ignored, "sets[].")
    exercise = data.get("exercise")
    if not _is_str_in(exercise, EXERCISES):
        raise _fail(f"{where}.exercise", f"unknown exercise {exercise!r}; known: "
                    + ", ".join(EXERCISES))
    placement = data.get("placement")
    if not _is_str_in(placement, {p.value for p in Placement}):
        raise _fail(f"{where}.placement", "must be one of " + ", ".join(p.value for p in Placement))
    skipped = data.get("skipped")
    if not isinstance(skipped, bool):
        raise _fail(f"{where}.skipped", "must be true or false")
    # A set cut short with nothing analysable has a null result: stored with 0 reps.
    raw_result = data.get("result")
    gaps = data.get("gaps", [])
    if not isinstance(gaps, list) or len(gaps) > MAX_GAPS:
        raise _fail(f"{where}.gaps", f"must be a list of at most {MAX_GAPS} gaps")
    for i, gap in enumerate(gaps):
        gap = _object(gap, f"{where}.gaps[{i}]", GAP_FIELDS, ignored, "sets[].gaps[].")
        _num(gap.get("start"), f"{where}.gaps[{i}].start", 0, MAX_SET_DURATION_S)
        _num(gap.get("duration_s"), f"{where}.gaps[{i}].duration_s", 0, MAX_SET_DURATION_S)
    _int(data.get("reconnects", 0), f"{where}.reconnects", 0, 10_000)
    return SetRow(
        index=_int(data.get("index"), f"{where}.index", 0, MAX_SETS - 1) or 0,
        exercise=exercise,
        placement=placement,
        target_reps=_int(data.get("target_reps"), f"{where}.target_reps", 1, 100, True),
        hold_target_s=_num(data.get("hold_target_s"), f"{where}.hold_target_s", 0, 120, True),
        started_at=_time(data.get("started_at"), f"{where}.started_at", now).isoformat(),
        skipped=skipped,
        result=None if raw_result is None else _result(raw_result, f"{where}.result", exercise),
        samples_received=_int(data.get("samples_received"), f"{where}.samples_received",
                              0, 10**8) or 0,
        samples_lost=_int(data.get("samples_lost"), f"{where}.samples_lost", 0, 10**8) or 0,
    )


def session_document(doc: Any, now: datetime | None = None) -> SessionDoc:
    """Validate an uploaded session document.

    Raises
    ------
    DocumentError
        Naming the first field that breaks the contract (:class:`UnsupportedFields` for
        fields in ``must_understand`` that this server does not know).
    """
    now = now or datetime.now(UTC)
    ignored: set[str] = set()
    doc = _object(doc, "document", TOP_FIELDS, ignored)
    _must_understand(doc.get("must_understand"))
    raw_id = _text(doc.get("id"), "id", 36)
    try:
        session_id = str(uuid.UUID(raw_id))
    except ValueError:
        raise _fail("id", "must be a UUID") from None
    if session_id != raw_id.lower():
        raise _fail("id", "must be a UUID in canonical form")
    kind = doc.get("kind")
    if kind is not None and not _is_str_in(kind, KINDS):
        raise _fail("kind", f"must be one of {', '.join(KINDS)} or null")
    started = _time(doc.get("started_at"), "started_at", now)
    # An interrupted session may have no end time: it ended when it started, as far as we know.
    ended = started if doc.get("ended_at") is None and doc.get("status") == "interrupted" \
        else _time(doc.get("ended_at"), "ended_at", now)
    if ended < started:
        raise _fail("ended_at", "is before started_at")
    status = doc.get("status")
    if not _is_str_in(status, STATUSES):
        raise _fail("status", f"must be one of {', '.join(STATUSES)}")
    # null: the session ended before a sensor was connected. A sensor object, whatever else
    # it carries, names its profile, name and gyro.
    sensor = {} if doc.get("sensor") is None else _object(
        doc.get("sensor"), "sensor", SENSOR_FIELDS, ignored, "sensor.")
    if doc.get("sensor") is not None:
        for key in ("profile", "name"):
            _label(sensor.get(key), f"sensor.{key}", 128)
        if not isinstance(sensor.get("has_gyro"), bool):
            raise _fail("sensor.has_gyro", "must be true or false")
        for key in ("address", "firmware"):
            if key in sensor and sensor[key] is not None:
                _label(sensor[key], f"sensor.{key}", 128)
        _sensor_model(sensor.get("model"))
    flags = _flag_ids(doc.get("red_flags", []), "red_flags")
    # absent or null: not known whether every red-flag question was asked
    unasked = None if doc.get("red_flags_unasked") is None else \
        _flag_ids(doc["red_flags_unasked"], "red_flags_unasked")
    if unasked is not None:
        # A question answered yes was asked, whatever else the document says: refusing the
        # contradiction would keep the yes from the physiotherapist, so the yes wins.
        unasked = tuple(f for f in unasked if f not in flags)
    raw_sets = doc.get("sets")
    if not isinstance(raw_sets, list) or len(raw_sets) > MAX_SETS:
        raise _fail("sets", f"must be a list of at most {MAX_SETS} sets")
    sets = tuple(_set(s, f"sets[{i}]", now, ignored) for i, s in enumerate(raw_sets))
    if len({s.index for s in sets}) != len(sets):
        raise _fail("sets", "two sets have the same index")
    return SessionDoc(
        id=session_id, kind=kind, started_at=started.isoformat(), ended_at=ended.isoformat(),
        day=started.date().isoformat(),  # the date at the document's UTC offset
        status=status, sensor=dict(sensor),
        pain=_int(doc.get("pain"), "pain", 0, 10, nullable=True),
        red_flags=flags, red_flags_unasked=unasked,
        prescription_version=_int(doc.get("prescription_version"), "prescription_version",
                                  1, 10**6, nullable=True),
        sets=sets, ignored_fields=tuple(sorted(ignored)),
    )
