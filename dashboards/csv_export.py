"""CSV export per patient: one row per set, with the session's pain and red flags (pure).

``kind`` is ``session`` (a guided session) or ``record`` (a free recording, which asks no
questions; ``unknown``: the session does not say); ``red_flags`` holds the ids answered yes;
``red_flags_unasked`` the ids of the red-flag questions not asked (empty: all answered;
``unknown``: the session does not say).

Cells that a spreadsheet would run as a formula (starting with ``=``, ``+``, ``-``, ``@``, tab or
carriage return) are prefixed with an apostrophe (OWASP "CSV injection").
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from typing import Any

COLUMNS = (
    "session_id", "day", "session_started_at", "status", "kind", "pain", "red_flags",
    "red_flags_unasked", "set_index", "exercise", "skipped", "target_reps", "reps", "partial_reps",
    "hold_target_s", "median_hold_s", "median_rom_deg", "median_stability_deg",
    "median_tempo_s", "reps_pelvis_rotating", "reps_reduced_rom", "duration_s",
    "samples_received", "samples_lost",
)

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.3f}".rstrip("0").rstrip(".")
    text = str(value)
    if isinstance(value, str) and text.startswith(_FORMULA_START):
        return "'" + text
    return text


def _flag_count(result: Mapping[str, Any] | None, flag: str) -> int | None:
    if not result:
        return None
    return sum(1 for r in result.get("reps", ()) if flag in r.get("flags", ()))


def set_rows(session: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The CSV rows of one session document (one per set; one empty-set row if it has none)."""
    base = {"session_id": session["id"], "day": session.get("day", ""),
            "session_started_at": session.get("started_at"), "status": session.get("status"),
            "kind": session.get("kind") or "unknown", "pain": session.get("pain"),
            "red_flags": " ".join(session.get("red_flags") or ()),
            "red_flags_unasked": "unknown" if session.get("red_flags_unasked") is None
            else " ".join(session["red_flags_unasked"])}
    rows = []
    for s in session.get("sets") or ():
        result = s.get("result") if isinstance(s.get("result"), Mapping) else None
        rows.append({
            **base, "set_index": s.get("index"), "exercise": s.get("exercise"),
            "skipped": bool(s.get("skipped")), "target_reps": s.get("target_reps"),
            "reps": result.get("rep_count") if result else 0,
            "partial_reps": result.get("partial_count") if result else None,
            "hold_target_s": s.get("hold_target_s"), "median_hold_s": s.get("median_hold_s"),
            "median_rom_deg": s.get("median_rom_deg"),
            "median_stability_deg": s.get("median_stability_deg"),
            "median_tempo_s": s.get("median_tempo_s"),
            "reps_pelvis_rotating": _flag_count(result, "pelvis_rotating"),
            "reps_reduced_rom": _flag_count(result, "reduced_rom"),
            "duration_s": result.get("duration_s") if result else None,
            "samples_received": s.get("samples_received"),
            "samples_lost": s.get("samples_lost"),
        })
    return rows or [base]


def patient_csv(sessions: Iterable[Mapping[str, Any]]) -> str:
    """The whole export as CSV text with a header row (columns: :data:`COLUMNS`)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    for session in sessions:
        for row in set_rows(session):
            writer.writerow({k: _cell(row.get(k)) for k in COLUMNS})
    return out.getvalue()
