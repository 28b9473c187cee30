"""The seed data and the admin commands, on real database files."""

from __future__ import annotations

import os
import stat
from datetime import date
from pathlib import Path

from click.testing import CliRunner

from rehablink.cli import cli
from server import reports
from server.analytics import ALERT_ORDER
from server.db import open_database


def test_admin_commands_end_to_end(tmp_path: Path) -> None:
    db_path = tmp_path / "clinic.db"
    runner = CliRunner()
    created = runner.invoke(cli, ["admin", "create-physio", "ana@clinic.example", "--name",
                                  "Ana Silva", "--password-stdin", "--db", str(db_path)],
                            input="correct horse battery\n")
    assert created.exit_code == 0
    assert created.output == "physiotherapist 1 created: ana@clinic.example\n"
    assert stat.S_IMODE(os.stat(db_path).st_mode) == 0o600
    again = runner.invoke(cli, ["admin", "create-physio", "ANA@clinic.example", "--name", "A",
                                "--password-stdin", "--db", str(db_path)],
                          input="correct horse battery\n")
    assert again.exit_code == 2 and "already exists" in again.output
    short = runner.invoke(cli, ["admin", "create-physio", "b@clinic.example", "--name", "B",
                                "--password-stdin", "--db", str(db_path)], input="short\n")
    assert short.exit_code == 2 and "at least 10 characters" in short.output
    added = runner.invoke(cli, ["admin", "add-patient", "--physio", "ana@clinic.example",
                                "--name", "Pat Jones", "--db", str(db_path)])
    assert added.exit_code == 0
    lines = added.output.splitlines()
    assert lines[0] == "patient 1 added"
    assert lines[1].startswith("enrollment code: ") and "(valid 72 h, once)" in lines[1]
    unknown = runner.invoke(cli, ["admin", "add-patient", "--physio", "nobody@x.example",
                                  "--name", "P", "--db", str(db_path)])
    assert unknown.exit_code == 2
    assert unknown.output == "error: no physiotherapist with e-mail nobody@x.example\n"
    assert runner.invoke(cli, ["admin", "devices", "1", "--db", str(db_path)]).output == \
        "no devices\n"
    missing = runner.invoke(cli, ["admin", "revoke-device", "9", "--db", str(db_path)])
    assert missing.exit_code == 2 and missing.output == "error: no device 9\n"


def test_seed_builds_a_usable_history(tmp_path: Path) -> None:
    db_path = tmp_path / "seed.db"
    result = CliRunner().invoke(cli, ["admin", "seed", "--patients", "40", "--days", "60",
                                      "--physios", "2", "--seed", "3", "--db", str(db_path)])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("seeded 2 physiotherapists, 40 patients, ")
    assert "log in as physio1@clinic.example with password " in result.output
    db = open_database(db_path)
    rows = reports.patient_list(db, 1)
    assert len(rows) == 20
    assert all(r.adherence_28d.ratio is not None for r in rows)
    # Every kind of alert shows up in the seeded lists (the archetypes), most serious first.
    everyone = rows + reports.patient_list(db, 2)
    assert {a.kind for r in everyone for a in r.alerts} == set(ALERT_ORDER)
    tops = [min((a.rank for a in r.alerts), default=9) for r in rows]
    assert tops == sorted(tops)
    # Sets stored by the seed obey the same schema as uploaded ones.
    sample = next(db.query("SELECT * FROM session_sets ORDER BY day DESC LIMIT 1"))
    assert sample["day"] <= date.today().isoformat() and sample["rep_count"] >= 0
    # The list counts stored done flags in SQL; the page recomputes them from the sets: the
    # two paths of the same rule agree for every patient.
    for row in rows:
        record = next(db.query("SELECT * FROM patients WHERE id = ?", [row.id]))
        page = reports.patient_overview(db, record, weeks=5)
        assert (row.adherence_7d, row.adherence_28d) == (page.adherence_7d, page.adherence_28d)
        assert row.alerts == page.alerts
    patient = next(db.query("SELECT * FROM patients WHERE id = ?", [rows[0].id]))
    overview = reports.patient_overview(db, patient, weeks=8)
    assert overview.current_plan is not None and overview.current_plan.version == 2
    assert len(overview.calendar) == 56 and overview.progression
    db.close()


def test_password_reset_backup_and_desk_link(tmp_path: Path) -> None:
    from server.accounts import (
        add_patient,
        check_password,
        create_physio,
        start_web_login,
        web_login,
    )

    db_path = tmp_path / "clinic.db"
    db = open_database(db_path)
    physio = create_physio(db, "ana@clinic.example", "Ana", "old password 123")
    login = start_web_login(db, physio_id=physio)
    patient, _ = add_patient(db, physio, "Pat")
    runner = CliRunner()
    reset = runner.invoke(cli, ["admin", "set-password", "ana@clinic.example",
                                "--password-stdin", "--db", str(db_path)],
                          input="new password 456\n")
    assert reset.exit_code == 0, reset.output
    assert check_password(db, "ana@clinic.example", "old password 123") is None
    assert check_password(db, "ana@clinic.example", "new password 456") is not None
    assert web_login(db, login) is None  # the open login ended
    link = runner.invoke(cli, ["admin", "patient-link", str(patient), "--url",
                               "https://rehab.clinic.example/", "--db", str(db_path)])
    assert link.output.startswith("https://rehab.clinic.example/patient/login/")
    copy = tmp_path / "backup.db"
    done = runner.invoke(cli, ["admin", "backup", str(copy), "--db", str(db_path)])
    assert done.exit_code == 0 and done.output.startswith(f"backup written to {copy}")
    assert stat.S_IMODE(os.stat(copy).st_mode) == 0o600
    restored = open_database(copy)
    assert next(restored.query("SELECT name FROM patients"))["name"] == "Pat"
    archived = runner.invoke(cli, ["admin", "archive-patient", str(patient), "--db",
                                   str(db_path)])
    assert archived.output == f"patient {patient} archived; their devices were revoked\n"
    log = runner.invoke(cli, ["admin", "audit", "--patient", str(patient), "--db",
                              str(db_path)]).output.splitlines()
    assert [line.split()[1:3] for line in log] == [["admin", "archive_patient"],
                                                  ["admin", "patient_link"],
                                                  [f"physio:{physio}", "add_patient"]]
    again = runner.invoke(cli, ["admin", "backup", str(copy), "--db", str(db_path)])
    assert again.exit_code == 2 and "exists" in again.output
    restored.close()
    db.close()
