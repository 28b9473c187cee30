"""Server time of every dashboard page with the 1,000-patient seed (target: under 300 ms each).

Seeds a database with ``server.seed`` (1,000 patients, 10 physiotherapists, a year of daily
sessions; or reuses ``--db``), logs in through the real forms, and times each page through the
WSGI app in process (no network: server time only). Prints p50, p95 and max per page.

    .venv/bin/python benchmarks/dashboard_pages.py [--patients 1000] [--days 365] [--runs 20]
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rehablink.rawsamples import encode  # noqa: E402
from rehablink.recording import Recording  # noqa: E402

TARGET_MS = 300.0
PASSWORD = "benchmark password"


def seed_database(path: Path, patients: int, days: int) -> None:
    from server.accounts import hash_password
    from server.db import open_database
    from server.seed import seed

    db = open_database(path)
    started = time.perf_counter()
    summary = seed(db, patients=patients, days=days, physios=10,
                   password_hash=hash_password(PASSWORD))
    print(f"seeded {summary.patients} patients, {summary.sessions} sessions, {summary.sets} sets "
          f"in {time.perf_counter() - started:.1f} s")
    db.close()


def add_trace(db: object, session_id: str) -> None:
    """Raw samples for the first set of one session: 90 s at 50 Hz with a gyro."""
    t = np.arange(0, 90, 0.02)
    theta = np.radians(20 * (np.sin(t / 1.5) > 0.3))
    acc = np.stack([np.zeros_like(t), np.sin(theta), np.cos(theta)], axis=1)
    data = encode(Recording(t=t, acc=acc, gyro=np.zeros_like(acc)))
    db.execute("INSERT OR REPLACE INTO sample_uploads VALUES (?, 0, ?, ?, ?, ?)",  # type: ignore[attr-defined]
               [session_id, len(data), len(data), data, "2026-01-01T00:00:00+00:00"])


def timed(client: object, path: str, runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        started = time.perf_counter()
        response = client.get(path)  # type: ignore[attr-defined]
        out.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise SystemExit(f"{path}: HTTP {response.status_code}")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, help="reuse (or create) this seeded database")
    parser.add_argument("--patients", type=int, default=1000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()

    import os

    os.environ.setdefault("REHAB_SERVER_PASSWORD_PROFILE", "CHEAPEST")
    from server import create_app
    from server.accounts import patient_link
    from server.db import connect

    workdir = Path(tempfile.mkdtemp(prefix="rehab-bench-"))
    db_path = args.db or workdir / "bench.db"
    if not db_path.exists():
        seed_database(db_path, args.patients, args.days)
    app = create_app({"INSTANCE_PATH": str(workdir / "instance"), "DATABASE": str(db_path),
                      "SESSION_COOKIE_SECURE": False, "WTF_CSRF_ENABLED": True})
    db = connect(db_path)
    physio = next(db.query("SELECT id, email FROM physios ORDER BY id LIMIT 1"))
    busiest = next(db.query(
        "SELECT p.id, count(*) AS n FROM patients p JOIN sessions s ON s.patient_id = p.id "
        "WHERE p.physio_id = ? GROUP BY p.id ORDER BY n DESC LIMIT 1", [physio["id"]]))
    pid = busiest["id"]
    session_id = next(db.query("SELECT id FROM sessions WHERE patient_id = ? "
                               "ORDER BY started_at DESC LIMIT 1", [pid]))["id"]
    add_trace(db, session_id)
    n_patients = next(db.query("SELECT count(*) AS n FROM patients"))["n"]
    n_sessions = next(db.query("SELECT count(*) AS n FROM sessions"))["n"]
    mine = next(db.query("SELECT count(*) AS n FROM patients WHERE physio_id = ?",
                         [physio["id"]]))["n"]
    print(f"database: {n_patients} patients, {n_sessions} sessions; physio {physio['id']} has "
          f"{mine} patients; patient {pid} has {busiest['n']} sessions")

    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    login = client.post("/login", data={"email": physio["email"], "password": PASSWORD,
                                        "csrf_token": token})
    assert login.status_code == 302, login.status_code
    pages = {
        "patient list": "/clinic/",
        "patient list, filtered": "/clinic/?alert=red_flag&q=a",
        "patient page (12 weeks)": f"/clinic/patients/{pid}",
        "patient page (52 weeks)": f"/clinic/patients/{pid}?weeks=52",
        "prescription form": f"/clinic/patients/{pid}/prescription",
        "session page with trace": f"/clinic/patients/{pid}/sessions/{session_id}",
        "CSV export (1 year)": f"/clinic/patients/{pid}/export.csv",
        "FHIR export (1 year)": f"/clinic/patients/{pid}/export.fhir.json",
    }
    results = {name: timed(client, path, args.runs) for name, path in pages.items()}
    export = client.get(pages["FHIR export (1 year)"])
    print(f"FHIR export (1 year): {busiest['n']} sessions, {len(export.get_json()['entry']):,} "
          f"resources, {len(export.data) / 1e6:.1f} MB")
    patient_client = app.test_client()
    link = f"/patient/login/{patient_link(db, pid, 'benchmark')}"
    page = patient_client.get(link).get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    assert patient_client.post(link, data={"csrf_token": token}).status_code == 302
    results["patient's own page"] = timed(patient_client, "/me/", args.runs)

    print(f"\n{'page':32} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}  (target < {TARGET_MS:.0f})")
    worst = 0.0
    for name, ms in results.items():
        p95 = float(np.percentile(ms, 95))
        worst = max(worst, p95)
        flag = "" if p95 < TARGET_MS else "  OVER"
        print(f"{name:32} {statistics.median(ms):8.1f} {p95:8.1f} {max(ms):8.1f}{flag}")
    print(f"\nworst p95: {worst:.1f} ms ({'within' if worst < TARGET_MS else 'over'} target), "
          f"{args.runs} runs per page, {date.today()}")


if __name__ == "__main__":
    main()
