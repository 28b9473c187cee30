"""`rehab session` in a real pseudo-terminal: the live display, the keys (s skip, q stop) and the
end questions typed by the patient."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import select
import subprocess
import sys
import termios
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from rehablink.clinical import RED_FLAGS
from rehablink.simulator.core import simulate
from rehablink.simulator.spec import SetSpec
from wearable.guided import QUESTIONS_SKIPPED
from wearable.store import CompanionStore

if TYPE_CHECKING:
    from tests.test_sync import Server

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


#: Keys the terminal turns into a signal or the end of input, as from a keyboard.
CTRL_C, CTRL_D = "\x03", "\x04"


class Terminal:
    """A child process on a pseudo-terminal; ``expect`` waits for text on its screen.

    The pseudo-terminal is the child's controlling terminal, so :data:`CTRL_C` interrupts it
    (SIGINT) and :data:`CTRL_D` at the start of a line ends its input, as they do for a patient.
    """

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.master, slave = pty.openpty()
        # a session of its own (start_new_session), with the pseudo-terminal as its terminal
        self.proc = subprocess.Popen(args, stdin=slave, stdout=slave, stderr=slave, env=env,
                                     close_fds=True, start_new_session=True,
                                     preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0))
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

    def wait_reading(self, timeout: float = 10.0) -> None:
        """Wait until the child waits for input (its main thread sleeps), as a patient does
        before answering the prompt on the screen. CPython acts on a signal between bytecodes:
        a Ctrl-C landing after the prompt is printed but before the read has begun would only
        be acted on after the next line typed."""
        stat = Path(f"/proc/{self.proc.pid}/stat")
        deadline = time.monotonic() + timeout
        # the state follows the name, which is in parentheses
        while stat.read_text().rpartition(")")[2].split()[0] != "S":
            assert time.monotonic() < deadline, "the program never waited for input"
            time.sleep(0.02)

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


def _one_bridge_set(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                    ) -> tuple[Path, list[str], dict[str, str]]:
    """The companion's home (``REHAB_HOME``, for this test too), and the ``rehab session``
    command and environment for one simulated bridge set of 3 reps at 10x, whose 30-rep
    target is never reached: the set ends with the recording, then the end questions."""
    recording, _ = simulate(SetSpec("bridge", n_reps=3, rate_hz=50.0), seed=6)
    csv = tmp_path / "set.csv"
    recording.write_csv(csv)
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps({"version": 1, "exercises": [
        {"exercise": "bridge", "sets": 1, "reps": 30}]}))
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("REHAB_HOME", str(home))
    env = {**os.environ, "REHAB_HOME": str(home), "COLUMNS": "100", "LINES": "40"}
    rehab = str(Path(sys.executable).with_name("rehab"))
    return home, [rehab, "session", "--plan", str(plan), "--transport", f"sim:{csv}",
                  "--sim-speed", "10", "--scan-timeout", "0.5"], env


@pytest.mark.slow
@pytest.mark.parametrize("key", [CTRL_C, CTRL_D], ids=["ctrl-c", "ctrl-d"])
def test_companion_session_left_at_the_questions_is_saved_completed_and_synced(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, key: str) -> None:
    """The patient does the set, then leaves at the first end question with Ctrl-C, or Ctrl-D
    (the end of input). The command used to end with "Aborted!" and exit 1, the session left
    ``recording``, unsynced, until the next run marked it interrupted. Now one line says the
    questions were skipped, the session is saved as completed with its set and reps and no
    answers (pain NULL), the background sync brings it to the clinic, and the command ends
    with exit 0 and no traceback."""
    from tests.test_sync import enroll, start_server, stop_server

    home, command, env = _one_bridge_set(tmp_path, monkeypatch)
    (tmp_path / "server").mkdir()
    server = start_server(tmp_path / "server")
    try:
        enroll(server, home)
        screen, doc = _leave_the_questions(home, command, env, [],
                                           "How bad is your back pain today", key)
        sid = doc["id"]
        with CompanionStore.open(home / "companion.db") as store:
            samples = store.set_recording(sid, 0)
        assert (doc["status"], doc["pain"], doc["red_flags"]) == ("completed", None, [])
        # not asked, not "no": every red-flag question
        assert doc["red_flags_unasked"] == list(RED_FLAGS)
        (done,) = doc["sets"]
        reps = done["result"]["rep_count"]
        assert not done["skipped"] and reps > 0 and len(done["result"]["reps"]) == reps
        assert len(samples) == done["samples_received"] > 0
        after = screen[screen.index("How bad is your back pain today"):]
        # one line for the questions skipped, no further question, then the session as saved
        assert after.index(f"\r\n{QUESTIONS_SKIPPED}\r\n") < after.index(
            "The safety questions were not asked this time.\r\nPlease answer them at the end "
            "of your next session.") < after.index(f"Session saved: 1 sets, {reps} reps.")
        assert screen.count(QUESTIONS_SKIPPED) == 1
        assert all(flag.question[:40] not in screen for flag in RED_FLAGS.values())
        assert "Traceback" not in screen and "Aborted" not in screen
        assert _uploaded(server, sid) == {"status": "completed", "pain": None, "red_flags": "[]",
                                          "red_flags_unasked": json.dumps(list(RED_FLAGS))}
    finally:
        stop_server(server)


@pytest.mark.slow
def test_companion_session_left_after_a_red_flag_keeps_it_and_the_rest_are_not_asked(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The patient answers pain, yes to the first red flag, then leaves with Ctrl-C at the
    second. The questions still to come used to be stored like answers of "no", and the
    physiotherapist saw a red flag and nothing else: the yes is kept, with its advice and the
    clinic's alert, the rest are stored and synced as not asked, and the closing summary asks
    the patient to answer them next time and names the warning signs to act on now."""
    from server.reports import patient_list
    from tests.test_sync import enroll, start_server, stop_server

    first, *rest = RED_FLAGS.values()
    home, command, env = _one_bridge_set(tmp_path, monkeypatch)
    (tmp_path / "server").mkdir()
    server = start_server(tmp_path / "server")
    try:
        patient_id = enroll(server, home)
        screen, doc = _leave_the_questions(
            home, command, env, [("How bad is your back pain today", "5\n"),
                                 (first.question[:40], "y\n")], rest[0].question[:40], CTRL_C)
        sid = doc["id"]
        assert (doc["status"], doc["pain"], doc["red_flags"], doc["red_flags_unasked"]) == \
            ("completed", 5, [first.id], [f.id for f in rest])
        after = screen[screen.index(rest[0].question[:40]):]
        notice = (f"The safety questions were not finished: {len(rest)} of {len(RED_FLAGS)} "
                  "were not asked.")
        assert after.index(f"\r\n{QUESTIONS_SKIPPED}\r\n") < after.index(
            f"Recorded for your physiotherapist: {first.id}.") < after.index(notice) < \
            after.index("Session saved")
        # the question left is not answered; those after it are not asked
        assert all(flag.question[:40] not in screen for flag in rest[1:])
        assert all(f"  - {flag.sign}" in after for flag in rest)
        assert "Traceback" not in screen and "Aborted" not in screen
        assert _uploaded(server, sid) == {
            "status": "completed", "pain": 5, "red_flags": json.dumps([first.id]),
            "red_flags_unasked": json.dumps([f.id for f in rest])}
        db = server.db()
        try:
            (listed,) = patient_list(db, 1)
        finally:
            db.close()
        assert listed.id == patient_id
        assert [a.kind for a in listed.alerts] == ["red_flag"]
        assert first.id in listed.alerts[0].message
    finally:
        stop_server(server)


def _leave_the_questions(home: Path, command: list[str], env: dict[str, str],
                         answers: list[tuple[str, str]], leave_at: str,
                         key: str) -> tuple[str, dict[str, Any]]:
    """Run ``command`` in a terminal, start, type each answer of ``answers`` (the text waited
    for, the keys typed), then leave the questions with ``key`` at ``leave_at``. Returns the
    screen and the document of the one session stored, once the command ended with exit 0."""
    term = Terminal(command, env)
    try:
        term.expect("Ready to start?")
        term.send("y\n")
        for shown, typed in answers:
            term.expect(shown)
            term.send(typed)
        term.expect(leave_at)
        term.wait_reading()
        term.send(key)
        term.expect("Sending it to your physiotherapist in the background.")
    finally:
        code = term.close()
    assert code == 0, term.screen[-2000:]
    with CompanionStore.open(home / "companion.db") as store:
        (row,) = store.sessions()
        return term.screen, store.session_document(row["id"])


def _uploaded(server: Server, sid: str, timeout: float = 30.0) -> dict[str, Any]:
    """Status, pain and red-flag answers of session ``sid`` on ``server``, once a sync has
    brought it there."""
    deadline = time.monotonic() + timeout
    while True:
        db = server.db()
        try:
            rows = list(db.query("SELECT status, pain, red_flags, red_flags_unasked FROM "
                                 "sessions WHERE id = ?", [sid]))
        finally:
            db.close()
        if rows or time.monotonic() > deadline:
            assert rows, f"session {sid} never reached the server"
            return dict(rows[0])
        time.sleep(0.2)
