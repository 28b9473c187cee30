"""The companion against a hostile or broken server (a real HTTP server on 127.0.0.1 that
answers what each test scripts): redirects, JSON nested too deeply, documents of the wrong
shape, an upload that never progresses. Each ends with one ``error:`` line or an ``offline``
report, never a traceback, and nothing stored is lost."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from rehablink.cli import cli
from tests.test_sync import record_session
from wearable.store import CompanionStore

#: (status, headers, body) for a request: method, path.
Script = Callable[[str, str], tuple[int, dict[str, str], bytes]]


class Scripted:
    """An HTTP server answering by a script, remembering each request's Authorization."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self.seen: list[tuple[str, str, str | None]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _answer(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                outer.seen.append((self.command, self.path, self.headers.get("Authorization")))
                status, headers, body = outer.script(self.command, self.path)
                self.send_response(status)
                for name, value in {"Content-Length": str(len(body)), **headers}.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = _answer

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.02,),
                                       daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()


@pytest.fixture
def serve() -> Iterator[Callable[[Script], Scripted]]:
    servers: list[Scripted] = []

    def start(script: Script) -> Scripted:
        servers.append(Scripted(script))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "home"
    path.mkdir()
    monkeypatch.setenv("REHAB_HOME", str(path))
    return path


def json_answer(doc: Any, status: int = 200) -> tuple[int, dict[str, str], bytes]:
    return status, {"Content-Type": "application/json"}, json.dumps(doc).encode()


def rehab(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def assert_one_error_line(result: Result, *words: str) -> None:
    assert result.exit_code in {1, 2} and isinstance(result.exception, SystemExit), \
        (result.output, result.exception)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for word in words:
        assert word in lines[0]


def enrolled(home: Path, url: str) -> str:
    token = "device-token-" + "x" * 30
    (home / "device.json").write_text(json.dumps({"server": url, "token": token}))
    return token


def test_a_redirect_is_not_followed_so_the_token_stays_home(home: Path, serve: Any) -> None:
    """The client followed redirects and sent its bearer token to wherever they pointed."""
    elsewhere = serve(lambda method, path: json_answer({"url": "x", "expires_in_s": 900}))
    clinic = serve(lambda method, path: (307, {"Location": elsewhere.url + path}, b""))
    enrolled(home, clinic.url)
    assert_one_error_line(rehab("portal"), "redirected")
    assert elsewhere.seen == []  # not a single request, so not the token either


@pytest.mark.parametrize("body", [b"[" * 100_000 + b"]" * 100_000, b"[1, 2]", b"\"text\"",
                                  b"<html>proxy login</html>"])
def test_enroll_refuses_an_answer_that_is_not_an_api_document(home: Path, serve: Any,
                                                              body: bytes) -> None:
    """JSON nested too deeply was a RecursionError traceback, a list a TypeError one."""
    server = serve(lambda method, path: (200, {"Content-Type": "application/json"}, body))
    assert_one_error_line(rehab("enroll", "ABCD-EFGH-JKLM", "--server", server.url),
                          "not the clinic API")
    assert not (home / "device.json").exists()


@pytest.mark.parametrize("doc", [{}, {"token": 7}, {"token": ""}, {"token": None}])
def test_enroll_refuses_an_answer_without_a_usable_token(home: Path, serve: Any,
                                                         doc: dict[str, Any]) -> None:
    """A missing token was a KeyError traceback; a number or "" was stored as the token."""
    server = serve(lambda method, path: json_answer(doc, 201))
    assert_one_error_line(rehab("enroll", "ABCD-EFGH-JKLM", "--server", server.url), "token")
    assert not (home / "device.json").exists()


@pytest.mark.parametrize("doc", [{}, {"url": 5, "expires_in_s": 900},
                                 {"url": "https://x/p", "expires_in_s": "soon"}])
def test_portal_refuses_a_malformed_answer(home: Path, serve: Any, doc: dict[str, Any]) -> None:
    """A missing or mistyped field of the patient-link answer was a KeyError/TypeError."""
    enrolled(home, serve(lambda method, path: json_answer(doc, 201)).url)
    assert_one_error_line(rehab("portal"))


def test_an_upload_the_server_never_takes_in_stops_and_is_kept(home: Path, serve: Any) -> None:
    """A server that acknowledged every chunk but never moved its offset kept the sync
    uploading the same chunk forever."""
    sid = record_session(home, n_samples=300, sets=1)

    def script(method: str, path: str) -> tuple[int, dict[str, str], bytes]:
        if path == "/api/v1/sessions":
            return json_answer({"id": 1}, 201)
        if path.endswith("/samples"):
            return json_answer({"received_bytes": 0, "total_bytes": None, "complete": False})
        return json_answer({"error": {"code": "no_prescription", "message": "none"}}, 404)

    server = serve(script)
    enrolled(home, server.url)
    result = rehab("sync", "--retries", "0")
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.output
    assert "no progress" in result.stdout
    puts = [seen for seen in server.seen if seen[0] == "PUT"]
    assert 1 <= len(puts) <= 20
    with CompanionStore.open(home / "companion.db") as store:
        assert store.pending_uploads() == [sid]  # still waiting, with its samples
        assert len(store.set_recording(sid, 0)) == 300


@pytest.mark.parametrize("offset", [-5, 10**12, "12", True])
def test_an_impossible_upload_offset_stops_the_upload(home: Path, serve: Any,
                                                      offset: Any) -> None:
    """An offset outside the upload (or not a number) was sliced with, or a TypeError."""
    record_session(home, n_samples=300, sets=1)

    def script(method: str, path: str) -> tuple[int, dict[str, str], bytes]:
        if path == "/api/v1/sessions":
            return json_answer({"id": 1}, 201)
        if path.endswith("/samples"):
            return json_answer({"received_bytes": offset, "total_bytes": None,
                                "complete": False})
        return json_answer({"error": {"code": "no_prescription", "message": "none"}}, 404)

    enrolled(home, serve(script).url)
    result = rehab("sync", "--retries", "0")
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.output
    assert "impossible upload offset" in result.stdout or "received_bytes" in result.stdout


def test_an_answer_too_large_is_not_read_to_the_end(home: Path, serve: Any) -> None:
    """The client read any answer whole: a server streaming gigabytes filled the memory."""
    huge = b'{"url": "' + b"x" * (5 * 1024 * 1024) + b'", "expires_in_s": 900}'
    enrolled(home, serve(lambda method, path: (
        201, {"Content-Type": "application/json"}, huge)).url)
    assert_one_error_line(rehab("portal"), "larger than")


def test_a_plan_that_cannot_be_saved_names_the_plan_file(home: Path, serve: Any) -> None:
    """A directory in place of plan.json was reported as the hidden temporary file."""
    plan = {"version": 2, "effective_from": "2026-11-21",
            "exercises": [{"exercise": "bridge", "sets": 1, "reps": 5}]}
    enrolled(home, serve(lambda method, path: json_answer(plan)).url)
    (home / "plan.json").mkdir()
    result = rehab("sync", "--retries", "0")
    assert_one_error_line(result, "plan.json")
    assert ".tmp" not in result.stderr and list(home.glob(".plan.json*")) == []


ESCAPE = "\x1b]0;owned\x07\x1b[2J"


@pytest.mark.parametrize("answer", [
    (422, {"Content-Type": "application/json"},
     json.dumps({"error": {"code": "bad" + ESCAPE, "message": "no" + ESCAPE}}).encode()),
    (302, {"Location": "http://127.0.0.1:1/" + ESCAPE.replace("\x07", "%07")}, b""),
    (201, {"Content-Type": "application/json"},
     json.dumps({"url": "https://x/" + ESCAPE, "expires_in_s": 900}).encode())])
def test_a_server_cannot_write_escape_sequences_to_the_terminal(home: Path, serve: Any,
                                                                answer: Any) -> None:
    """The server's error messages, redirect target and link were printed as they came,
    terminal escape sequences (retitle, clear screen) included."""
    enrolled(home, serve(lambda method, path: answer).url)
    result = rehab("portal")
    assert "\x1b" not in result.output and "\x07" not in result.output


def test_the_patient_name_from_enrollment_is_plain_text(home: Path, serve: Any) -> None:
    """The name in the enrollment answer was printed ("enrolled for ...") and stored as sent."""
    server = serve(lambda method, path: json_answer(
        {"token": "t" * 43, "patient_name": "Pat" + ESCAPE, "device_id": 1}, 201))
    result = rehab("enroll", "ABCD-EFGH-JKLM", "--server", server.url)
    assert result.exit_code == 0, result.output
    stored = json.loads((home / "device.json").read_text())["patient_name"]
    assert "\x1b" not in result.output and "\x1b" not in stored and stored.startswith("Pat")


@pytest.mark.parametrize(("ignored", "named"), [
    ([ESCAPE, "sensor.model" + ESCAPE, 7, None, {"a": 1}, "x" * 101, "Pat Jones",
      "sensor.model"], "sensor.model"),
    ({"sensor.model": True}, None),
    ("sensor.model", None),
    (None, None),
    ([f"field_{k:03d}" for k in range(150)], "field_000, field_001"),
])
def test_a_strange_list_of_ignored_fields_is_never_a_failure(home: Path, serve: Any,
                                                             ignored: Any,
                                                             named: str | None) -> None:
    """``ignored_fields`` comes from the server: only field paths are named in the sync's
    line (no escape sequences, no free text), ten of the first hundred at most and the others
    counted, and whatever else is there does not fail the sync or keep the session in the
    outbox."""
    sid = record_session(home, n_samples=300, sets=1)

    def script(method: str, path: str) -> tuple[int, dict[str, str], bytes]:
        if path == "/api/v1/sessions":
            return json_answer({"id": sid, "created": True, "identical": True, "sets": [0],
                                "ignored_fields": ignored}, 201)
        if path.endswith("/samples"):
            return json_answer({"received_bytes": 0, "total_bytes": None, "complete": True})
        return json_answer({"error": {"code": "no_prescription", "message": "none"}}, 404)

    enrolled(home, serve(script).url)
    result = rehab("sync", "--retries", "0")
    assert result.exit_code == 0, result.output
    assert "\x1b" not in result.output and "Pat Jones" not in result.output
    notes = [line for line in result.output.splitlines() if "did not keep" in line]
    if named is None:
        assert notes == []
    else:
        (note,) = notes
        assert f"did not keep {named}" in note
        assert note.endswith(" and 90 more (the sessions were uploaded without them)") == \
            (len(ignored) > 100)
    with CompanionStore.open(home / "companion.db") as store:
        assert store.pending_uploads() == []
