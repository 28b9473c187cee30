"""Hostile input to the ``rehab`` commands: damaged databases, huge ids, deeply nested JSON,
a busy port. Each ends with one ``error:`` line and a clean exit code, never a traceback, and
leaves what is stored as it was."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import stat
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from rehablink.cli import cli
from wearable.questions import Answers
from wearable.store import CompanionStore, SensorInfo

DEEP_JSON = "[" * 100_000 + "]" * 100_000


def rehab(*args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), input=stdin)


def assert_clean_error(result: Result, code: int, *words: str) -> str:
    """Exit ``code``, one ``error:`` line on stderr naming ``words``, no traceback."""
    assert result.exit_code == code, (result.stdout, result.stderr, result.exception)
    assert isinstance(result.exception, SystemExit), result.exception
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.output
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    monkeypatch.setenv("REHAB_HOME", str(home))
    home.mkdir()
    with CompanionStore.open(home / "companion.db") as store:
        sid = store.create_session(sensor=SensorInfo("rehablink", "RehabLink-1A2B"))
        store.begin_set(sid, 0, "bridge", target_reps=8, hold_target_s=2.0)
        store.finish_session(sid, "completed", Answers(2, (), ()))
    return home


def _scribble(db: Path, how: str) -> None:
    if how == "truncated":
        with db.open("r+b") as f:
            f.truncate(100)
    elif how == "header overwritten":
        with db.open("r+b") as f:
            f.seek(0)
            f.write(bytes(range(256)) * 8)
    else:  # not a database at all
        db.write_bytes(b"PK\x03\x04 this is a zip file, not SQLite" * 100)


@pytest.mark.parametrize("how", ["truncated", "header overwritten", "foreign file"])
@pytest.mark.parametrize("command", [["sessions"], ["show", "abcd"], ["export", "--csv", "abcd"],
                                     ["analyze", "-e", "bridge", "abcdef"], ["sync"]])
def test_a_damaged_companion_database_is_named_and_left_alone(home: Path, how: str,
                                                              command: list[str]) -> None:
    """A truncated or scribbled-over companion.db was a sqlite3.DatabaseError traceback."""
    db = home / "companion.db"
    (home / "device.json").write_text('{"server": "http://127.0.0.1:9", "token": "t"}')
    _scribble(db, how)
    before = digest(db)
    line = assert_clean_error(rehab(*command), 2, str(db))
    assert "left as it is" in line
    assert digest(db) == before  # nothing was written over the user's data


def test_a_directory_in_place_of_the_companion_database(home: Path) -> None:
    """A directory named companion.db was an OperationalError traceback."""
    (home / "companion.db").unlink()
    (home / "companion.db").mkdir()
    assert_clean_error(rehab("sessions"), 2, "companion.db")


def test_a_new_companion_database_is_private(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                             ) -> None:
    """companion.db (health data) was created world-readable (0644)."""
    monkeypatch.setenv("REHAB_HOME", str(tmp_path))
    assert rehab("sessions").exit_code == 0
    assert stat.S_IMODE((tmp_path / "companion.db").stat().st_mode) == 0o600


@pytest.mark.parametrize("doc", ['{"server": "file:///etc/passwd", "token": "t"}',
                                 '{"server": "http://127.0.0.1:9", "token": ""}', "[1]",
                                 '{"server": null}', "\u0000\u00ff"])
def test_a_device_file_that_cannot_be_used_means_enroll_again(home: Path, doc: str) -> None:
    """A device.json naming a file:// "server" had the companion read that local file as the
    clinic's answer; an empty token was sent as is."""
    (home / "device.json").write_text(doc)
    assert_clean_error(rehab("portal"), 2, "device.json", "enroll again")
    assert_clean_error(rehab("sync"), 2, "device.json", "enroll again")


def test_deeply_nested_json_in_plan_and_device_files(home: Path) -> None:
    """A plan.json or device.json nested 100 000 deep was a RecursionError traceback."""
    (home / "plan.json").write_text(DEEP_JSON)
    assert_clean_error(rehab("session", "-y", "--headless", "--transport", "sim:/dev/null"), 2,
                       "plan.json")
    (home / "device.json").write_text(DEEP_JSON)
    assert_clean_error(rehab("portal"), 2, "device.json", "enroll again")


@pytest.mark.parametrize("command", [
    ["archive-patient", "99999999999999999999999"], ["devices", "99999999999999999999999"],
    ["new-code", "99999999999999999999999"], ["revoke-device", "99999999999999999999999"],
    ["audit", "--patient", "99999999999999999999999"],
    ["patient-link", "99999999999999999999999", "--url", "https://clinic.example"]])
def test_admin_ids_beyond_64_bits_are_bad_input(tmp_path: Path, command: list[str]) -> None:
    """An id above 2^63-1 was an OverflowError traceback from SQLite."""
    result = rehab("admin", *command, "--db", str(tmp_path / "server.db"))
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output and "is too large" in result.stderr


@pytest.mark.parametrize("command", [["admin", "audit"], ["admin", "devices", "1"],
                                     ["admin", "add-patient", "--physio", "a@b.c", "--name", "X"],
                                     ["serve", "--port", "0"]])
def test_a_damaged_server_database_is_named_and_left_alone(tmp_path: Path,
                                                           command: list[str]) -> None:
    """A server database that is not SQLite was a sqlite3.DatabaseError traceback."""
    db = tmp_path / "server.db"
    db.write_bytes(b"\x00garbage\xff" * 5000)
    before = digest(db)
    assert_clean_error(rehab(*command, "--db", str(db)), 1, str(db), "left as it is")
    assert digest(db) == before


def test_serve_on_a_busy_port_says_so_without_announcing_a_server(tmp_path: Path) -> None:
    """A port in use was an OSError traceback after 'RehabLink server on ...' was printed."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = rehab("serve", "--port", str(port), "--db", str(tmp_path / "s.db"))
    assert_clean_error(result, 2, f"127.0.0.1:{port}")
    assert "RehabLink server on" not in result.stdout


def test_serve_on_an_impossible_host(tmp_path: Path) -> None:
    """An invalid --host was a ValueError traceback from waitress."""
    result = rehab("serve", "--host", "999.1.1.1", "--port", "0", "--db", str(tmp_path / "s.db"))
    assert_clean_error(result, 2, "999.1.1.1")


@pytest.mark.parametrize("command", [
    ["record", "-e", "bridge", "--transport", "sim:x.csv", "--sim-speed", "nan"],
    ["record", "-e", "bridge", "--transport", "sim:x.csv", "--sim-reboot-at", "nan"],
    ["session", "--rest", "nan"], ["scan", "--timeout", "inf"], ["demo", "--speed", "nan"],
    ["sim-sensor", "x.csv", "--reboot-at", "nan"], ["sim-sensor", "x.csv", "--speed", "-inf"]])
def test_nan_and_infinity_are_refused_by_every_number_option(home: Path,
                                                             command: list[str]) -> None:
    """nan passes every range check: --sim-speed nan crashed the simulated sensor's clock with
    a ValueError traceback, --reboot-at nan was silently never."""
    result = rehab(*command)
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit), result.output
    assert "is not a finite number" in result.stderr and "Traceback" not in result.output


def test_every_number_option_of_every_command_is_checked() -> None:
    """The nan and 64-bit checks are applied to the whole command tree, not command by
    command."""
    import click

    from rehablink.cli import FiniteFloat, FiniteFloatRange, Int64, Int64Range

    def numbers(command: click.Command, kind: type) -> list[click.ParamType]:
        found = [p.type for p in command.params if isinstance(p.type, kind)]
        for sub in getattr(command, "commands", {}).values():
            found += numbers(sub, kind)
        return found

    floats = numbers(cli, click.types.FloatParamType)
    assert len(floats) >= 15
    assert all(isinstance(kind, FiniteFloat | FiniteFloatRange) for kind in floats)
    ints = numbers(cli, click.types.IntParamType)
    assert len(ints) >= 10
    assert all(isinstance(kind, Int64 | Int64Range) for kind in ints)


@pytest.mark.parametrize("command", [["sessions", "--limit", "99999999999999999999"],
                                     ["simulate", "bridge", "--out", "x.csv", "--seed",
                                      "-99999999999999999999"]])
def test_whole_numbers_beyond_64_bits_are_refused(home: Path, command: list[str]) -> None:
    """sessions --limit 10^20 reached SQLite and failed there ("datatype mismatch")."""
    result = rehab(*command)
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit), result.output
    assert "is too large" in result.stderr


def test_export_with_standard_output_closed(home: Path) -> None:
    """`rehab export --csv ID >&-` was an AttributeError traceback (no sys.stdout)."""
    import os
    import subprocess
    import sys

    with CompanionStore.open(home / "companion.db") as store:
        sid = store.pending_uploads()[0]
    done = subprocess.run(
        [sys.executable, "-c", "from rehablink.cli import main; main()", "export", "--csv",
         sid[:8]], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "REHAB_HOME": str(home)}, timeout=60,
        preexec_fn=lambda: os.close(1))
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode in {0, 1, 2}


@pytest.mark.parametrize("command", [["scan", "--transport", "usb:99", "--timeout", "0.5"],
                                     ["record", "-e", "bridge", "--transport", "usb:99"],
                                     ["sim-sensor", "x.csv", "--transport", "usb:99"]])
def test_a_missing_usb_dongle_is_one_error_line(home: Path, tmp_path: Path,
                                                command: list[str]) -> None:
    """usb:N with no such dongle was a usb1.USBError traceback (not an OSError)."""
    from rehablink.simulator.core import simulate
    from rehablink.simulator.spec import SetSpec

    recording, _ = simulate(SetSpec("bridge", n_reps=2, rate_hz=50.0), seed=1)
    csv = tmp_path / "x.csv"
    recording.write_csv(csv)
    args = [str(csv) if a == "x.csv" else a for a in command]
    result = rehab(*args)
    assert_clean_error(result, 2, "usb:99")


HOSTILE_NAME = "[/bold][link=https://evil.example]RehabLink-0001\x1b[2J"


def test_a_hostile_sensor_name_is_shown_as_plain_text_by_show(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch
                                                              ) -> None:
    """A sensor advertising the name "[/bold]..." made `rehab show` die with rich's
    MarkupError; other names were read as markup (links, styles) and "[rehablink]" vanished."""
    monkeypatch.setenv("REHAB_HOME", str(tmp_path))
    with CompanionStore.open(tmp_path / "companion.db") as store:
        sid = store.create_session(sensor=SensorInfo("rehablink", HOSTILE_NAME, "AA:BB"))
        store.begin_set(sid, 0, "bridge")
        store.finish_session(sid, "completed", Answers(1, (), ()))
    result = rehab("show", sid[:8])
    assert result.exit_code == 0, (result.output, result.exception)
    assert "[/bold][link=https://evil.example]RehabLink-0001" in result.stdout
    assert "[rehablink]" in result.stdout and "\x1b[2J" not in result.stdout


def test_a_hostile_sensor_name_is_shown_as_plain_text_by_scan() -> None:
    """The same name in `rehab scan`'s table was rich markup (a MarkupError traceback), and
    its escape sequence reached the terminal."""
    from bleak.backends.device import BLEDevice
    from bleak.backends.scanner import AdvertisementData
    from rich.console import Console

    from firmware_protocol.rehablink_profile import SERVICE_UUID
    from wearable.cli import scan_table
    from wearable.scan import recognise

    advert = AdvertisementData(HOSTILE_NAME, {}, {}, [SERVICE_UUID], None, -60, ())
    found = recognise(BLEDevice("[red]AA:BB", HOSTILE_NAME, None), advert)
    assert found is not None and found.profile.id == "rehablink"
    assert "\x1b" not in found.name and found.name.startswith("[/bold][link=")
    with open(os.devnull, "w") as sink:
        console = Console(width=200, record=True, file=sink)
        console.print(scan_table([found]))
    text = console.export_text()
    assert "[/bold][link=https://evil.example]RehabLink-0001" in text and "[red]AA:BB" in text


@pytest.mark.parametrize("url", ["javascript:alert(1)", "clinic.example", "ftp://clinic.example"])
def test_patient_link_needs_an_http_address(tmp_path: Path, url: str) -> None:
    """admin patient-link --url javascript:... printed a 'link' built on it."""
    db = str(tmp_path / "server.db")
    assert rehab("admin", "create-physio", "ana@clinic.example", "--name", "Ana",
                 "--password-stdin", "--db", db, stdin="a long enough password\n").exit_code == 0
    assert rehab("admin", "add-patient", "--physio", "ana@clinic.example", "--name", "Pat",
                 "--db", db).exit_code == 0
    assert_clean_error(rehab("admin", "patient-link", "1", "--url", url, "--db", db), 2,
                       "http(s)")
    ok = rehab("admin", "patient-link", "1", "--url", "https://clinic.example/", "--db", db)
    assert ok.exit_code == 0 and ok.stdout.startswith("https://clinic.example/patient/login/")


@pytest.mark.parametrize("exercise", [["bridge"], {"id": "bridge"}, 7])
def test_a_plan_exercise_that_is_not_text_is_refused(home: Path, exercise: Any) -> None:
    """An exercise given as a list in plan.json was a TypeError traceback (unhashable)."""
    (home / "plan.json").write_text(json.dumps(
        {"version": 1, "exercises": [{"exercise": exercise, "sets": 1, "reps": 2}]}))
    assert_clean_error(rehab("session", "-y", "--headless", "--transport", "sim:/dev/null"), 2,
                       "exercise 1")


def test_a_plan_note_reaches_the_terminal_without_escape_sequences() -> None:
    """A note in plan.json was printed as it was, escape sequences and all."""
    from wearable.plan import parse_plan

    plan = parse_plan({"version": 1, "exercises": [
        {"exercise": "bridge", "sets": 1, "reps": 2, "note": "slow\x1b[2J\x07 [/bold]down"}]})
    assert plan.items[0].note == "slow [2J  [/bold]down"


@pytest.mark.parametrize("content", [b"garbage,,,\n1,2,3\n", b"t,ax,ay,az\n", b"\x00\xff" * 300,
                                     b"t,ax,ay,az\n0,1,2,3\n0.02,1,2,3\n"])
def test_a_bad_recording_for_the_simulated_sensor_is_one_error_line(home: Path, tmp_path: Path,
                                                                    content: bytes) -> None:
    """`--transport sim:FILE` with a file that is not a recording was a RecordingError
    traceback in record, scan and session, and no session is left behind."""
    bad = tmp_path / "bad.csv"
    bad.write_bytes(content)
    (home / "plan.json").write_text(json.dumps(
        {"version": 1, "exercises": [{"exercise": "bridge", "sets": 1, "reps": 2}]}))
    with CompanionStore.open(home / "companion.db") as store:
        before = store.pending_uploads()
    for command in (["record", "-e", "bridge", "--json", "--scan-timeout", "0.5"],
                    ["scan", "--timeout", "0.5"],
                    ["session", "-y", "--headless", "--no-wait", "--scan-timeout", "0.5"]):
        assert_clean_error(rehab(*command, "--transport", f"sim:{bad}"), 2, "bad.csv")
    with CompanionStore.open(home / "companion.db") as store:
        assert store.pending_uploads() == before


@pytest.mark.parametrize("command", [["nope"], ["admin", "nope"], ["analyze"],
                                     ["admin", "devices", "x"], ["sessions", "--limit", "0"],
                                     ["record", "-e", "bridge", "--sim-mtu", "5"],
                                     ["sessions", "--no-such-option"]])
def test_usage_errors_are_one_error_line(home: Path, command: list[str]) -> None:
    """A wrong option or argument printed click's four-line usage block ending in 'Error:';
    like every other bad input it is now one `error:` line pointing to --help (exit 2)."""
    line = assert_clean_error(rehab(*command), 2, "--help`")
    assert "Usage:" not in line


def test_a_group_without_a_command_still_shows_its_help() -> None:
    result = rehab("admin")
    assert "admin [OPTIONS] COMMAND" in result.output and "add-patient" in result.output


@pytest.mark.parametrize(("config", "env", "words"), [
    ("[" * 100_000 + "]" * 100_000, {}, ["config.json"]),
    ('{"LOGIN_MAX_FAILURES": "x"}', {}, ["LOGIN_MAX_FAILURES"]),
    ('{"SESSION_COOKIE_SECURE": "no"}', {}, ["SESSION_COOKIE_SECURE"]),
    (None, {"REHAB_SERVER_ENROLL_CODE_TTL_S": "-5"}, ["REHAB_SERVER_ENROLL_CODE_TTL_S"]),
    (None, {"REHAB_SERVER_LOGIN_MAX_FAILURES": "abc"}, ["REHAB_SERVER_LOGIN_MAX_FAILURES"])])
def test_a_bad_server_setting_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                       config: str | None, env: dict[str, str],
                                       words: list[str]) -> None:
    """A config.json nested too deeply was a RecursionError; a bad environment setting a
    ValueError traceback in the admin commands; "x" or -5 were taken as they were (a code
    lifetime of -5 s made every enrollment code expire at once)."""
    instance = tmp_path / "instance"
    instance.mkdir()
    monkeypatch.setenv("REHAB_SERVER_INSTANCE", str(instance))
    db = str(tmp_path / "server.db")
    assert rehab("admin", "create-physio", "ana@clinic.example", "--name", "Ana",
                 "--password-stdin", "--db", db, stdin="a long enough password\n").exit_code == 0
    assert rehab("admin", "add-patient", "--physio", "ana@clinic.example", "--name", "Pat",
                 "--db", db).exit_code == 0
    if config is not None:
        (instance / "config.json").write_text(config)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    for command in (["admin", "new-code", "1", "--db", db], ["serve", "--port", "0", "--db", db]):
        assert_clean_error(rehab(*command), 2, *words)


@pytest.mark.parametrize("command", [["devices", "1"], ["audit"], ["new-code", "1"],
                                     ["revoke-device", "1"], ["backup", "copy.db"],
                                     ["add-patient", "--physio", "a@b.c", "--name", "Pat"]])
def test_a_mistyped_server_database_is_not_created(tmp_path: Path, command: list[str]) -> None:
    """`--db typo.db` made a new empty database and answered 'no devices' as if the clinic
    had none."""
    typo = tmp_path / "typo.db"
    assert_clean_error(rehab("admin", *command, "--db", str(typo)), 2, "no database at")
    assert not typo.exists()


@pytest.mark.parametrize("command", [["sessions"], ["sync"], ["show", "abcd"],
                                     ["session", "-y", "--headless"]])
def test_a_file_where_the_data_directory_should_be(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch,
                                                   command: list[str]) -> None:
    """REHAB_HOME naming a file was a FileExistsError traceback."""
    afile = tmp_path / "not-a-dir"
    afile.write_text("mine\n")
    monkeypatch.setenv("REHAB_HOME", str(afile))
    assert_clean_error(rehab(*command), 1, "not a directory", "REHAB_HOME")
    assert afile.read_text() == "mine\n"


def test_a_bug_is_one_error_line_unless_debugging(tmp_path: Path) -> None:
    """Whatever no command anticipated ended in a Python traceback on the user's terminal;
    now one line, and the traceback with REHAB_DEBUG=1."""
    import os
    import subprocess
    import sys

    script = ("import click\nfrom rehablink import cli\n"
              "@click.command('broken')\ndef broken():\n    raise KeyError('internal')\n"
              "cli.cli.add_command(broken)\ncli.main()\n")
    env = {**os.environ, "REHAB_HOME": str(tmp_path)}
    env.pop("REHAB_DEBUG", None)
    quiet = subprocess.run([sys.executable, "-c", script, "broken"], capture_output=True,
                           text=True, env=env, timeout=60)
    assert quiet.returncode == 1 and "Traceback" not in quiet.stderr
    assert quiet.stderr.startswith("error: unexpected failure (KeyError: 'internal')")
    loud = subprocess.run([sys.executable, "-c", script, "broken"], capture_output=True,
                          text=True, env={**env, "REHAB_DEBUG": "1"}, timeout=60)
    assert loud.returncode == 1 and "Traceback" in loud.stderr
