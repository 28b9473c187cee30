"""p95 latency of the patient-list and patient-page queries on a seeded database
(1,000 patients x 365 days by default), measured in the query layer and through the HTTP
views (Flask test client, logged in as a physiotherapist).

Usage: python benchmarks/server_queries.py [--db PATH] [--patients 1000] [--days 365]
       [--physios 10] [--repeat 5]

The database is seeded first if PATH does not exist (that takes a minute or two; the seed
time is printed). Targets (issue 5): patient list 200 ms, patient page 300 ms (p95).
"""

from __future__ import annotations

import argparse
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PASSWORD = "benchmark password"


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[int(0.95 * (len(ordered) - 1))] * 1000


def p50(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[len(ordered) // 2] * 1000


def ensure_seeded(db_path: Path, patients: int, days: int, physios: int) -> None:
    if db_path.exists():
        return
    started = time.perf_counter()
    subprocess.run([str(ROOT / ".venv/bin/rehab"), "admin", "seed", "--patients", str(patients),
                    "--days", str(days), "--physios", str(physios), "--password-stdin",
                    "--db", str(db_path)], input=PASSWORD + "\n", text=True, check=True)
    print(f"  seeded in {time.perf_counter() - started:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, default=None)
    parser.add_argument("--patients", type=int, default=1000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--physios", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    db_path = args.db or Path(tempfile.gettempdir()) / \
        f"rehablink-bench-{args.patients}x{args.days}x{args.physios}.db"
    print(f"server_queries: {db_path}")
    ensure_seeded(db_path, args.patients, args.days, args.physios)

    from server import create_app, reports
    from server.db import open_database

    db = open_database(db_path)
    counts = next(db.query("SELECT (SELECT count(*) FROM patients) AS patients, "
                           "(SELECT count(*) FROM sessions) AS sessions, "
                           "(SELECT count(*) FROM session_sets) AS sets"))
    physios = [r["id"] for r in db.query("SELECT DISTINCT physio_id AS id FROM patients")]
    per_physio = counts["patients"] / max(1, len(physios))
    print(f"  {counts['patients']} patients ({per_physio:.0f} per physiotherapist), "
          f"{counts['sessions']} sessions, {counts['sets']} sets")

    list_times = []
    for _ in range(args.repeat):
        for physio in physios:
            t0 = time.perf_counter()
            reports.patient_list(db, physio)
            list_times.append(time.perf_counter() - t0)
    rng = random.Random(1)
    patients = [dict(r) for r in db.query("SELECT * FROM patients")]
    page_times = []
    for patient in rng.sample(patients, min(100, len(patients))):
        t0 = time.perf_counter()
        reports.patient_overview(db, patient)
        page_times.append(time.perf_counter() - t0)
    print(f"  query layer: patient list p50 {p50(list_times):.0f} ms, p95 "
          f"{p95(list_times):.0f} ms (target 200); patient page p50 {p50(page_times):.0f} ms, "
          f"p95 {p95(page_times):.0f} ms (target 300)")

    # Through the views: login session, authorisation, audit, JSON.
    instance = Path(tempfile.mkdtemp())
    os.environ.setdefault("REHAB_SERVER_NO_DASHBOARDS", "1")
    app = create_app({"INSTANCE_PATH": str(instance), "DATABASE": str(db_path),
                      "SESSION_COOKIE_SECURE": False})
    http_list, http_page = [], []
    for physio in physios[: min(len(physios), 5)]:
        email = next(db.query("SELECT email FROM physios WHERE id = ?", [physio]))["email"]
        client = app.test_client()
        page = client.get("/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
        assert token, "no CSRF token"
        response = client.post("/login", data={"email": email, "password": PASSWORD,
                                               "csrf_token": token.group(1)})
        assert response.status_code == 302, "login failed: seed with --password-stdin"
        mine = [r["id"] for r in db.query("SELECT id FROM patients WHERE physio_id = ?",
                                          [physio])]
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            assert client.get("/api/v1/clinic/patients").status_code == 200
            http_list.append(time.perf_counter() - t0)
        for pid in rng.sample(mine, min(20, len(mine))):
            t0 = time.perf_counter()
            assert client.get(f"/api/v1/clinic/patients/{pid}").status_code == 200
            http_page.append(time.perf_counter() - t0)
    print(f"  HTTP views:  patient list p50 {p50(http_list):.0f} ms, p95 {p95(http_list):.0f} ms;"
          f" patient page p50 {p50(http_page):.0f} ms, p95 {p95(http_page):.0f} ms")
    db.close()


if __name__ == "__main__":
    main()
