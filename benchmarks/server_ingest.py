"""Sessions ingested per second over HTTP: N companions upload concurrently to a real
``rehab serve`` process on 127.0.0.1 (waitress, SQLite in WAL mode).

Usage: python benchmarks/server_ingest.py [--companions 50] [--sessions 20] [--samples]

Prints the rate, latency percentiles and a check that every session arrived exactly once.
Target (issue 5): 200 sessions/s.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("REHAB_SERVER_PASSWORD_PROFILE", "CHEAPEST")

import numpy as np  # noqa: E402

from rehablink.rawsamples import encode  # noqa: E402
from rehablink.recording import Recording  # noqa: E402
from wearable.sync.api_client import ApiClient  # noqa: E402
from wearable.sync.outbox import upload_samples  # noqa: E402


def document(day: datetime, sets: int = 3, reps: int = 10) -> dict[str, Any]:
    """A realistic session document: 3 sets of 10 bridges with holds."""
    def rep(i: int) -> dict[str, Any]:
        s = 1.0 + 9.0 * i
        return {"start": s, "top": s + 1.5, "lower_start": s + 6.5, "end": s + 8.5,
                "hold_s": 5.0, "rom_deg": 22.5, "flags": [], "lift_s": 1.5, "lower_s": 2.0,
                "stability_deg": 1.2}
    return {
        "id": str(uuid.uuid4()), "started_at": day.isoformat(),
        "ended_at": (day + timedelta(minutes=12)).isoformat(), "status": "completed",
        "sensor": {"profile": "rehablink", "name": "RehabLink-BENCH", "has_gyro": True},
        "pain": 3, "red_flags": [], "prescription_version": None,
        "sets": [{"index": i, "exercise": "bridge", "placement": "pelvis", "target_reps": reps,
                  "hold_target_s": 5.0, "started_at": day.isoformat(), "skipped": False,
                  "result": {"exercise": "bridge", "placement": "pelvis", "rep_count": reps,
                             "partial_count": 0, "duration_s": 95.0, "sample_rate_hz": 50.0,
                             "reps": [rep(r) for r in range(reps)]},
                  "samples_received": 4750, "samples_lost": 0} for i in range(sets)]}


def start_server(tmp: Path, threads: int) -> tuple[subprocess.Popen[bytes], str, Path]:
    from server.accounts import create_physio
    from server.db import open_database

    db_path = tmp / "bench.db"
    db = open_database(db_path)
    create_physio(db, "bench@clinic.example", "Bench", "benchmark password")
    db.close()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "REHAB_SERVER_INSTANCE": str(tmp / "instance")}
    proc = subprocess.Popen([str(ROOT / ".venv/bin/rehab"), "serve", "--port", str(port),
                             "--db", str(db_path), "--threads", str(threads)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(300):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc, f"http://127.0.0.1:{port}", db_path
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("server did not start")


def run(companions: int, sessions: int, samples: bool, threads: int) -> int:
    from server.accounts import add_patient
    from server.db import connect

    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        proc, url, db_path = start_server(tmp, threads)
        try:
            db = connect(db_path)
            codes = [add_patient(db, 1, f"Patient {i}")[1] for i in range(companions)]
            db.close()
            tokens = [ApiClient(url).request("POST", "/api/v1/enroll",
                                             json_body={"code": c}).body["token"] for c in codes]
            latencies: list[float] = []
            errors: list[str] = []
            sent: list[str] = []
            lock = threading.Lock()
            rng = np.random.default_rng(1)
            blob = encode(Recording(t=np.arange(4750) / 50.0, acc=rng.normal(0, 1, (4750, 3)),
                                    gyro=rng.normal(0, 20, (4750, 3))))
            barrier = threading.Barrier(companions + 1)

            def companion(token: str, k: int) -> None:
                client = ApiClient(url, token)
                base = datetime(2026, 1, 1, 9, tzinfo=UTC) + timedelta(hours=k)
                barrier.wait()
                for s in range(sessions):
                    doc = document(base + timedelta(days=s))
                    t0 = time.perf_counter()
                    try:
                        client.request("POST", "/api/v1/sessions", json_body=doc)
                        if samples:
                            for i in range(len(doc["sets"])):
                                upload_samples(client, doc["id"], i, blob)
                    except Exception as exc:  # counted and reported, never hidden
                        with lock:
                            errors.append(f"{type(exc).__name__}: {exc}")
                        continue
                    with lock:
                        latencies.append(time.perf_counter() - t0)
                        sent.append(doc["id"])

            workers = [threading.Thread(target=companion, args=(tok, k))
                       for k, tok in enumerate(tokens)]
            for w in workers:
                w.start()
            barrier.wait()
            started = time.perf_counter()
            for w in workers:
                w.join()
            elapsed = time.perf_counter() - started
            db = connect(db_path)
            stored = {r["id"] for r in db.query("SELECT id FROM sessions")}
            complete = next(db.query("SELECT count(*) AS n FROM sample_uploads "
                                     "WHERE completed_at IS NOT NULL"))["n"]
            db.close()
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(10)
    total = companions * sessions
    lat = sorted(latencies)
    what = "session documents + raw samples (3 sets x 4,750 samples)" if samples \
        else "session documents (3 sets x 10 reps)"
    print(f"server_ingest: {companions} companions x {sessions} sessions, {what}, "
          f"waitress {threads} threads")
    print(f"  sessions stored: {len(stored)} of {total}; errors: {len(errors)}; "
          f"missing: {len(set(sent) - stored)}")
    if samples:
        print(f"  sample uploads complete: {complete} of {total * 3}")
    print(f"  elapsed: {elapsed:.2f} s -> {len(sent) / elapsed:.0f} sessions/s (target 200)")
    if lat:
        print(f"  latency per session: p50 {statistics.median(lat) * 1000:.0f} ms, "
              f"p95 {lat[int(0.95 * (len(lat) - 1))] * 1000:.0f} ms")
    for e in errors[:5]:
        print("  error:", e)
    return 0 if not errors and len(stored) == total else 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--companions", type=int, default=50)
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--threads", type=int, default=8, help="waitress worker threads")
    parser.add_argument("--samples", action="store_true", help="also upload raw samples")
    args = parser.parse_args()
    sys.exit(run(args.companions, args.sessions, args.samples, args.threads))


if __name__ == "__main__":
    main()
