"""Crash safety: a process killed with SIGKILL mid-set loses at most the last second, and the
next start shows its session as interrupted."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from rehablink.cli import cli
from wearable.store import CompanionStore

WRITER = textwrap.dedent("""
    import sys, time
    import numpy as np
    from wearable.store import CompanionStore, SampleWriter
    store = CompanionStore.open(sys.argv[1])
    sid = store.create_session("record")
    store.begin_set(sid, 0, "bridge")
    print(sid, flush=True)
    writer = SampleWriter(store, sid, 0)
    start = time.monotonic()
    while True:  # 100 Hz in batches of 5, as a sensor streams
        t = time.monotonic() - start
        ts = t + np.arange(5) / 100.0
        writer.add(ts, np.tile([0.0, 0.0, 1.0], (5, 1)), np.zeros((5, 3)))
        print(f"{ts[-1]:.4f}", flush=True)
        time.sleep(0.05)
""")


def test_store_kill_9_mid_set_loses_at_most_one_second(tmp_path: Path) -> None:
    db = tmp_path / "companion.db"
    child = subprocess.Popen([sys.executable, "-c", WRITER, str(db)], stdout=subprocess.PIPE,
                             text=True, cwd=Path(__file__).resolve().parents[1])
    assert child.stdout is not None
    sid = child.stdout.readline().strip()
    last_sent = 0.0
    while last_sent < 2.5:
        last_sent = float(child.stdout.readline())
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    child.stdout.close()
    with CompanionStore.open(db) as store:
        assert store.recovered == [sid]
        doc = store.session_document(sid)
        assert doc["status"] == "interrupted"
        rec = store.set_recording(sid, 0)
    assert len(rec) > 0 and rec.t[-1] >= last_sent - 1.0
    assert np.all(np.diff(rec.t) > 0)


@pytest.mark.slow
def test_store_kill_9_of_rehab_record_then_sessions_says_interrupted(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from rehablink.simulator.core import simulate
    from rehablink.simulator.spec import SetSpec

    recording, _ = simulate(SetSpec("bridge", n_reps=3, rate_hz=50.0), seed=2)
    csv = tmp_path / "set.csv"
    recording.write_csv(csv)
    home = tmp_path / "home"
    env = {**os.environ, "REHAB_HOME": str(home)}
    rehab = Path(sys.executable).with_name("rehab")
    child = subprocess.Popen([str(rehab), "record", "-e", "bridge", "--transport", f"sim:{csv}",
                              "--scan-timeout", "0.5", "--json"], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    db = home / "companion.db"
    streamed = 0
    while time.monotonic() < deadline and streamed < 300:  # 3 s of samples committed
        time.sleep(0.2)
        if db.exists():
            with CompanionStore.open(db) as peek:  # a reader does not disturb the writer
                streamed = sum(r["n"] for r in peek.db.query("SELECT n FROM sample_chunks"))
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    assert streamed >= 300
    monkeypatch.setenv("REHAB_HOME", str(home))
    result = CliRunner().invoke(cli, ["sessions", "--json"])
    assert result.exit_code == 0, result.output
    assert "was interrupted" in result.stderr
    rows = [line for line in result.stdout.splitlines() if line.startswith("[")]
    import json

    sessions = json.loads(rows[0])
    assert sessions[0]["status"] == "interrupted" and sessions[0]["kind"] == "record"
