"""``rehab demo --headless``: the whole product end to end in a subprocess (server, seeded
clinic, enrollment, guided session over simulated sensors on virtual BLE links, sync, a
logged-in dashboard request), checked from its JSON summary and from the files it leaves."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from rehablink.recordings import bundled_truth

#: Today's programme as the demo prescribes it: exercise -> number of sets.
SETS = {"bridge": 3, "clamshell": 2, "side_leg_raise": 2}


def _stop(proc: subprocess.Popen[str]) -> None:
    """End a demo that is still running the way a user would (SIGTERM unwinds it and stops
    its server); SIGKILL only if that fails, since it would leave the server behind."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _run(home: Path, *args: str, timeout: float = 150) -> subprocess.CompletedProcess[str]:
    env = {"REHAB_HOME": str(home / "data"), "PATH": "/usr/bin:/bin"}
    command = [sys.executable, "-c", "from rehablink.cli import main; main()", "demo", *args]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env, stdin=subprocess.DEVNULL)
    try:
        out, err = proc.communicate(timeout=timeout)
    finally:
        _stop(proc)
    return subprocess.CompletedProcess(command, proc.returncode, out, err)


@pytest.mark.slow
def test_demo_headless_end_to_end(tmp_path: Path) -> None:
    """Every set is counted as its recording's truth says, every session reaches the server,
    and the physiotherapist's patient list shows the demo patient."""
    done = _run(tmp_path, "--headless")
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 1, "headless prints exactly one JSON document"
    summary = json.loads(lines[0])
    assert summary["ok"] is True and summary["failed"] == []

    sets = summary["sets"]
    assert [s["exercise"] for s in sets] == [ex for ex, n in SETS.items() for _ in range(n)]
    for s in sets:
        truth = json.loads(bundled_truth(s["exercise"]).read_text())["rep_count"]
        assert s["truth_reps"] == truth
        assert s["reps_counted"] == truth and s["match"] is True

    assert summary["sync"]["ok"] is True
    assert summary["sync"]["pending_left"] == 0 and summary["sync"]["rejected"] == 0
    dashboard = summary["dashboard"]
    assert dashboard["status"] == 200 and dashboard["shows_patient"] is True
    assert dashboard["url"].startswith("http://127.0.0.1:")
    assert summary["patient_link"] == {"status": 200, "expires_in_s": 15 * 60}
    assert "token" not in done.stdout, "no secret in the summary"

    # What the demo left behind: the default demo directory under REHAB_HOME, a private device
    # token, and on the server every uploaded session under the demo patient.
    home = tmp_path / "data" / "demo"
    assert Path(summary["home"]) == home
    assert (home / "device.json").stat().st_mode & 0o777 == 0o600
    with sqlite3.connect(home / "server" / "rehablink.db") as db:
        ids = sorted({s["session_id"] for s in sets})
        assert len(ids) == 1, "the guided session is one session, whatever links it used"
        rows = db.execute(
            f"SELECT patient_id, count(*) FROM sessions WHERE id IN ({','.join('?' * len(ids))})"
            " GROUP BY patient_id", ids).fetchall()
        samples = db.execute(
            f"SELECT count(*) FROM sample_uploads WHERE completed_at IS NOT NULL AND session_id IN"
            f" ({','.join('?' * len(ids))})", ids).fetchone()[0]
        # the demo's automatic answers cover every red-flag question ("no" to each)
        screens = db.execute(
            f"SELECT red_flags, red_flags_unasked FROM sessions WHERE id IN "
            f"({','.join('?' * len(ids))})", ids).fetchall()
        history = db.execute("SELECT count(*) FROM sessions WHERE patient_id = ? AND id NOT IN "
                             f"({','.join('?' * len(ids))})",
                             [summary["patient_id"], *ids]).fetchone()[0]
    assert rows == [(summary["patient_id"], 1)], "the session reached the server"
    assert screens == [("[]", "[]")]
    assert samples == len(sets), "every set's raw samples reached the server"
    assert history == summary["history_sessions"] > 10, "weeks of seeded history"


def test_demo_refuses_a_directory_it_did_not_make(tmp_path: Path) -> None:
    """The demo empties its directory on each run, so it must never empty someone's data."""
    home = tmp_path / "mine"
    home.mkdir()
    (home / "notes.txt").write_text("keep me")
    done = _run(tmp_path, "--headless", "--home", str(home), timeout=30)
    assert done.returncode == 2
    assert done.stderr.startswith("error: ") and "not made by `rehab demo`" in done.stderr
    assert "Traceback" not in done.stderr
    assert (home / "notes.txt").read_text() == "keep me"


def test_demo_headless_reports_the_step_that_failed(tmp_path: Path) -> None:
    """A port already taken: the server cannot start, the summary names that step, exit 1."""
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = _run(tmp_path, "--headless", "--port", str(port), timeout=90)
    assert done.returncode == 1, done.stderr[-2000:]
    summary = json.loads(done.stdout)
    assert summary["ok"] is False
    assert [f["step"] for f in summary["failed"]] == ["server"]
    assert "Traceback" not in done.stderr


@pytest.mark.slow
def test_demo_interactive_runs_the_live_display_then_stops_its_server_on_ctrl_c(
        tmp_path: Path) -> None:
    """The path `make demo` takes (live display, printed login), fast: it waits with the server
    up until Ctrl-C, and Ctrl-C stops the server."""
    import signal
    import socket
    import time

    env = {"REHAB_HOME": str(tmp_path / "data"), "PATH": "/usr/bin:/bin", "COLUMNS": "100"}
    proc = subprocess.Popen(
        [sys.executable, "-c", "from rehablink.cli import main; main()", "demo",
         "--speed", "100"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        stdin=subprocess.DEVNULL)
    assert proc.stdout is not None
    seen: list[str] = []
    deadline = time.monotonic() + 120
    try:
        for line in proc.stdout:
            seen.append(line)
            if "Press Ctrl-C" in line or time.monotonic() > deadline:
                break
        text = "".join(seen)
        assert "Press Ctrl-C" in text, text[-3000:]
        login = [line for line in seen if line.startswith("Dashboard: ")]
        assert len(login) == 1 and "with password " in login[0]
        port = int(login[0].split("http://127.0.0.1:")[1].split("/")[0])
        for ex, n in SETS.items():
            for k in range(1, n + 1):
                assert f"{ex} set {k}: " in text and " - ok" in text
        # Not a terminal: rich draws the live display's last frame only.
        assert "Side-lying leg raise - set 2 of 2" in text, "the live display was drawn"
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            pass  # the server is still up, waiting for the viewer
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        _stop(proc)
    assert proc.returncode == 0, err[-2000:]
    assert "Server stopped." in out
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=2):
        pass


def test_demo_server_stops_when_the_demo_is_killed(tmp_path: Path) -> None:
    """A demo killed with SIGKILL cannot stop its server itself: the server notices that its
    parent is gone and stops, so no server is left holding the port."""
    import socket
    import time
    import urllib.request

    from rehablink.demo.clinic import PARENT_CHECK_S, free_port

    port = free_port()
    script = (
        "import sys, time; from pathlib import Path; "
        "from rehablink.demo.clinic import running_server; "
        f"home = Path({str(tmp_path)!r}); "
        "cm = running_server(home, home / 'clinic.db', int(sys.argv[1])); "
        "print(cm.__enter__(), flush=True); time.sleep(600)"
    )
    demo = subprocess.Popen([sys.executable, "-c", script, str(port)], stdout=subprocess.PIPE,
                            text=True)
    try:
        url = demo.stdout.readline().strip() if demo.stdout else ""
        with urllib.request.urlopen(url + "/healthz", timeout=5) as r:
            assert r.status == 200
        demo.kill()
        demo.wait()
        deadline = time.monotonic() + 10 * PARENT_CHECK_S + 10
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) != 0:
                    break
            time.sleep(0.2)
        else:
            pytest.fail("the demo's server kept running after the demo was killed")
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.wait()
        if demo.stdout:
            demo.stdout.close()
