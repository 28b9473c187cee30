"""`rehab session` in a real pseudo-terminal: the live display, the keys (s skip, q stop) and the
end questions typed by the patient."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rehablink.clinical import RED_FLAGS
from rehablink.simulator.core import simulate
from rehablink.simulator.spec import SetSpec
from wearable.store import CompanionStore

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


class Terminal:
    """A child process on a pseudo-terminal; ``expect`` waits for text on its screen."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.master, slave = pty.openpty()
        self.proc = subprocess.Popen(args, stdin=slave, stdout=slave, stderr=slave, env=env,
                                     close_fds=True)
        os.close(slave)
        self.screen = ""

    def expect(self, text: str, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.screen:
            left = deadline - time.monotonic()
            assert left > 0, f"{text!r} never appeared; screen ends with {self.screen[-500:]!r}"
            ready, _, _ = select.select([self.master], [], [], min(left, 0.2))
            if ready:
                try:
                    chunk = os.read(self.master, 65536).decode(errors="replace")
                except OSError:  # the child closed the terminal
                    chunk = ""
                self.screen += ANSI.sub("", chunk)

    def send(self, keys: str) -> None:
        os.write(self.master, keys.encode())

    def answer_end_questions(self, pain: int, yes: str) -> None:
        """Answer the session's end questions: ``pain`` (0-10), and yes only to red flag ``yes``."""
        self.expect("How bad is your back pain today")
        self.send(f"{pain}\n")
        for flag in RED_FLAGS.values():
            self.expect(flag.question[:40])
            self.send("y\n" if flag.id == yes else "n\n")

    def close(self) -> int:
        try:
            return self.proc.wait(timeout=30)
        finally:
            os.close(self.master)


@pytest.mark.slow
def test_companion_session_keys_and_questions_in_a_terminal(tmp_path: Path) -> None:
    recording, _ = simulate(SetSpec("bridge", n_reps=4, rate_hz=50.0), seed=6)
    csv = tmp_path / "set.csv"
    recording.write_csv(csv)
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps({"version": 1, "exercises": [
        {"exercise": "bridge", "sets": 2, "reps": 30, "hold_s": 3.0}]}))
    home = tmp_path / "home"
    env = {**os.environ, "REHAB_HOME": str(home), "COLUMNS": "100", "LINES": "40"}
    rehab = str(Path(sys.executable).with_name("rehab"))
    term = Terminal([rehab, "session", "--plan", str(plan), "--transport", f"sim:{csv}",
                     "--sim-speed", "3", "--scan-timeout", "0.5", "--no-wait"], env)
    try:
        term.expect("Ready to start?")
        term.send("y\n")
        term.expect("connected")
        term.expect("set 1 of 2")
        term.send("s")  # skip the first set
        term.expect("set 2 of 2")
        term.send("q")  # stop: the questions follow
        term.answer_end_questions(3, yes="night_pain")
        term.expect("Session saved")
        assert "contact your GP or physiotherapist" in term.screen
    finally:
        code = term.close()
    assert code == 0
    with CompanionStore.open(home / "companion.db") as store:
        (row,) = store.sessions()
        doc = store.session_document(row["id"])
    assert doc["pain"] == 3 and doc["red_flags"] == ["night_pain"]
    assert doc["sets"][0]["skipped"] is True
    assert [s["index"] for s in doc["sets"]] == [0, 1]
