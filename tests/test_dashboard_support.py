"""Test data for the dashboard tests: session documents in the companion's format, stored through
the server's own validation and ingest code, and raw samples whose tilt matches the reps.

(Helpers only; imported by the other ``test_dashboard*`` and ``test_browser*`` modules.)
"""

from __future__ import annotations

import json
import random
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np

from rehablink.rawsamples import encode
from rehablink.recording import Recording

RATE_HZ = 50.0


@dataclass(frozen=True)
class Quality:
    """How a simulated patient performs: hold and reps as fractions of the plan, etc."""

    hold_fraction: float = 1.0
    reps_fraction: float = 1.0
    rotating_every: int = 0  # every n-th rep flagged pelvis_rotating (0: never)
    stability_deg: float = 2.0


def rep_times(n: int, hold_s: float, start: float = 1.0) -> list[dict[str, Any]]:
    """Reps as in SetResult.to_json(): lift 1 s, hold, lower 1.5 s, rest 1 s."""
    reps, t = [], start
    for _ in range(n):
        top, lower = t + 1.0, t + 1.0 + hold_s
        end = lower + 1.5
        reps.append({"start": round(t, 3), "top": round(top, 3), "lower_start": round(lower, 3),
                     "end": round(end, 3), "hold_s": round(hold_s, 3), "rom_deg": 24.0,
                     "flags": [], "lift_s": 1.0, "lower_s": 1.5, "stability_deg": None})
        t = end + 1.0
    return reps


def recording_for(reps: list[dict[str, Any]], rom_deg: float = 24.0,
                  seed: int = 0) -> Recording:
    """A pelvis recording whose tilt rises, holds and falls exactly at the reps' times."""
    duration = (reps[-1]["end"] + 1.0) if reps else 5.0
    t = np.arange(0.0, duration, 1 / RATE_HZ)
    angle = np.zeros_like(t)
    for r in reps:
        up = (t >= r["start"]) & (t < r["top"])
        angle[up] = rom_deg * (t[up] - r["start"]) / (r["top"] - r["start"])
        angle[(t >= r["top"]) & (t < r["lower_start"])] = rom_deg
        down = (t >= r["lower_start"]) & (t < r["end"])
        angle[down] = rom_deg * (1 - (t[down] - r["lower_start"]) / (r["end"] - r["lower_start"]))
    theta = np.radians(angle)
    rng = np.random.default_rng(seed)
    acc = np.stack([np.zeros_like(t), np.sin(theta), np.cos(theta)], axis=1)
    acc += rng.normal(0, 0.01, acc.shape)
    return Recording(t=t, acc=acc)


def session_doc(day: date, plan: list[dict[str, Any]], quality: Quality = Quality(),
                pain: int | None = 3, red_flags: tuple[str, ...] = (),
                rng: random.Random | None = None, hour: int = 9) -> dict[str, Any]:
    """A completed session doing every set of ``plan`` (plan-document items) on ``day``."""
    rng = rng or random.Random(day.toordinal())
    start = datetime(day.year, day.month, day.day, hour, 0, tzinfo=UTC)
    sets, clock, index = [], start, 0
    for item in plan:
        for _ in range(item["sets"]):
            n = max(0, round(item["reps"] * quality.reps_fraction))
            hold = (item["hold_s"] or 0.0) * quality.hold_fraction
            reps = rep_times(n, max(hold, 0.2) if item["hold_s"] else 0.2)
            for k, r in enumerate(reps, start=1):
                r["rom_deg"] = round(22 + rng.uniform(-2, 2), 2)
                r["stability_deg"] = round(quality.stability_deg + rng.uniform(-0.3, 0.3), 2)
                if quality.rotating_every and k % quality.rotating_every == 0:
                    r["flags"] = ["pelvis_rotating"]
            duration = reps[-1]["end"] + 1.0 if reps else 5.0
            sets.append({
                "index": index, "exercise": item["exercise"], "placement": "pelvis",
                "target_reps": item["reps"], "hold_target_s": item["hold_s"],
                "started_at": clock.isoformat(), "skipped": False,
                "result": {"exercise": item["exercise"], "placement": "pelvis",
                           "rep_count": n, "partial_count": 0, "duration_s": duration,
                           "sample_rate_hz": RATE_HZ, "reps": reps},
                "samples_received": int(duration * RATE_HZ), "samples_lost": 0})
            clock += timedelta(seconds=duration + 30)
            index += 1
    return {"id": str(uuid.uuid4()),
            "started_at": start.isoformat(), "ended_at": clock.isoformat(),
            "status": "completed",
            "sensor": {"profile": "rehablink", "name": "RL-test", "has_gyro": False},
            "pain": pain, "red_flags": list(red_flags), "prescription_version": None,
            "sets": sets}


def store(db: Any, doc: dict[str, Any], patient_id: int) -> None:
    """Store a document through the server's validation and ingest (as the API does)."""
    from server.ingest import document_digest, store_session
    from server.validate import session_document

    body = json.dumps(doc).encode()
    store_session(db, session_document(doc), patient_id, None, document_digest(body))


def store_samples(db: Any, session_id: str, set_index: int, rec: Recording) -> None:
    """Store a complete raw-samples upload for one set (the upload API's end state)."""
    data = encode(rec)
    db.execute("INSERT INTO sample_uploads VALUES (?, ?, ?, ?, ?, ?)",
               [session_id, set_index, len(data), len(data), data, "2026-01-01T00:00:00+00:00"])


def prescribe(db: Any, patient_id: int, plan: list[dict[str, Any]], since: date) -> None:
    """A plan version in effect from ``since`` (a past date is allowed here, for seeding)."""
    from server.prescriptions import Item
    from server.prescriptions import prescribe as save

    save(db, patient_id, [Item.from_json(i) for i in plan], since, actor="test",
         today=since)


BRIDGE_PLAN = [
    {"exercise": "bridge", "sets": 2, "reps": 10, "hold_s": 5.0, "days_per_week": 7, "note": ""},
    {"exercise": "clamshell", "sets": 1, "reps": 12, "hold_s": None, "days_per_week": 7,
     "note": "Keep the pelvis still"},
]
