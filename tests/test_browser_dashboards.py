"""The dashboards in a real browser: Debian's headless Chromium driven by Playwright against the
server app under waitress on 127.0.0.1.

The walk-through is what a physiotherapist does: log in, find the patient with a red flag,
read adherence and charts, edit the prescription through the form (CSRF intact), open a session
trace, export FHIR; then the patient opens their own page from a one-time link. Every page is
saved as a screenshot in ``artifacts/screenshots/``.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle
from test_dashboard_support import (
    BRIDGE_PLAN,
    Quality,
    prescribe,
    recording_for,
    session_doc,
    store,
    store_samples,
)

pytestmark = pytest.mark.slow

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
SHOTS = Path(__file__).resolve().parent.parent / "artifacts" / "screenshots"
PASSWORD = "correct horse battery"
TODAY = date.today()


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[dict[str, Any]]:
    """A seeded clinic served by waitress on a free loopback port (stopped after the test)."""
    from waitress.server import create_server

    from server import create_app
    from server.accounts import add_patient, create_physio
    from server.db import connect

    app = create_app({"INSTANCE_PATH": str(tmp_path / "instance"),
                      "DATABASE": str(tmp_path / "instance" / "rehablink.db"),
                      "SESSION_COOKIE_SECURE": False})  # plain HTTP on loopback
    db = connect(app.config["DATABASE"])
    physio = create_physio(db, "ana@clinic.example", "Ana Physio", PASSWORD)
    patients = {}
    for name, quality, flag_day in (("Ben Steady", Quality(hold_fraction=0.9), None),
                                    ("Cara Flagged", Quality(hold_fraction=0.7, rotating_every=5),
                                     1),
                                    ("Dora Quiet", Quality(), None)):
        pid, _ = add_patient(db, physio, name)
        patients[name] = pid
        prescribe(db, pid, BRIDGE_PLAN, TODAY - timedelta(days=40))
        last = 8 if name == "Dora Quiet" else 1  # Dora stopped a week ago
        for k in range(35, last - 1, -1):
            pain = 6 if (name == "Cara Flagged" and k <= 7) else 2
            flags = ("leg_symptoms",) if k == flag_day else ()
            doc = session_doc(TODAY - timedelta(days=k), BRIDGE_PLAN, quality, pain, flags)
            if name == "Ben Steady" and k == last:  # left the questions after the second
                doc["red_flags_unasked"] = ["night_pain", "systemic", "trauma", "no_improvement"]
            store(db, doc, pid)
        if name == "Cara Flagged":
            store_samples(db, doc["id"], 0, recording_for(doc["sets"][0]["result"]["reps"]))
            patients["cara_session"] = doc["id"]
    server = create_server(app, host="127.0.0.1", port=0, threads=2)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        yield {"url": f"http://127.0.0.1:{server.effective_port}", "db": db,
               "patients": patients, "physio": physio}
    finally:
        server.close()
        thread.join(timeout=5)
        db.close()


@pytest.fixture
def browser_page(tmp_path: Path) -> Iterator[Any]:
    """A page of Debian's Chromium with a fresh profile (never a downloaded browser)."""
    from playwright.sync_api import sync_playwright

    assert os.access(CHROMIUM, os.X_OK), "run `make browser` to install Debian's chromium"
    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=CHROMIUM, headless=True,
            args=CHROMIUM_ARGS, viewport={"width": 1280, "height": 900}, accept_downloads=True)
        context.set_default_timeout(15_000)
        try:
            yield context.new_page()
        finally:
            context.close()


def shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_physio_walkthrough_and_patient_page(live_server, browser_page, tmp_path):
    page, base = browser_page, live_server["url"]
    cara = live_server["patients"]["Cara Flagged"]
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))

    # Log in through the form.
    page.goto(f"{base}/login")
    shot(page, "01-login")
    page.get_by_label("E-mail").fill("ana@clinic.example")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{base}/clinic/")

    # The patient list: the red-flag patient is first; filter by that alert.
    rows = page.locator("table.patients tbody tr")
    assert rows.first.locator("th").inner_text() == "Cara Flagged"
    shot(page, "02-patient-list")

    # Add a patient: the enrollment code is shown once.
    page.get_by_role("link", name="Add a patient").click()
    page.get_by_label("Patient's name").fill("Gil New")
    shot(page, "02a-add-patient")
    page.get_by_role("button", name="Add patient").click()
    assert len(page.locator("#enrollment-code").inner_text().strip()) >= 12
    shot(page, "02b-enrollment-code")
    page.get_by_role("link", name="Patients").click()
    assert rows.count() == 4
    page.get_by_label("Alert").select_option("red_flag")
    page.get_by_role("button", name="Show").click()
    assert rows.count() == 1
    row = rows.first
    assert "Red flag" in row.inner_text() and "Pain rising" in row.inner_text()
    adherence_7 = row.locator("td.num").nth(0).inner_text()
    assert adherence_7.endswith("%")
    row.get_by_role("link", name="Cara Flagged").click()

    # Her page: the same adherence figure, the calendar and the charts.
    page.wait_for_url(f"{base}/clinic/patients/{cara}")
    assert page.locator("#adherence-7").inner_text() == adherence_7
    calendar = page.locator("svg.chart-calendar")
    assert calendar.is_visible()
    assert "prescribed sets done" in calendar.locator("desc").text_content()
    assert page.locator("svg.chart-line").count() >= 5
    hold = page.get_by_role("img", name="Glute bridge: median hold by week")
    assert hold.is_visible()
    # Keyboard: the first Tab reaches the skip link, which moves focus to the main content.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    shot(page, "03-patient-page")
    page.emulate_media(media="print")
    shot(page, "04-patient-page-print")
    assert not page.locator("header.site nav").is_visible()
    page.emulate_media(media="screen")

    # Edit the prescription through the form.
    page.get_by_role("link", name="Edit prescription").click()
    reps = page.get_by_label("Reps, row 1")
    assert reps.input_value() == "10"
    reps.fill("12")
    page.get_by_label("Exercise, row 3").select_option("side_leg_raise")
    page.get_by_label("Sets, row 3").fill("2")
    page.get_by_label("Reps, row 3").fill("8")
    page.get_by_label("Days per week, row 3").fill("4")
    shot(page, "05-prescription-form")
    page.get_by_role("button", name="Save new version").click()
    page.wait_for_url(f"{base}/clinic/patients/{cara}")
    assert "Prescription version 2 saved" in page.locator(".flash").inner_text()
    plan = page.locator("table.plan")
    assert "Version 2" in plan.locator("caption").inner_text()
    assert "Side-lying leg raise" in plan.inner_text()
    stored = list(live_server["db"].query(
        "SELECT i.reps FROM prescriptions p JOIN prescription_items i ON i.prescription_id = p.id "
        "WHERE p.patient_id = ? AND p.version = 2 ORDER BY i.position", [cara]))
    assert [r["reps"] for r in stored] == [12, 12, 8]

    # Open the newest session: the trace with every rep and hold marked.
    page.locator("table.sessions tbody tr").first.get_by_role("link").click()
    page.wait_for_url(f"{base}/clinic/patients/{cara}/sessions/"
                      f"{live_server['patients']['cara_session']}")
    trace = page.locator("svg.chart-trace")
    assert trace.count() == 1
    assert trace.locator("g[data-rep]").count() == 10
    assert trace.locator("rect.hold").count() == 10
    assert trace.locator("g.rep-flagged").count() == 2
    assert page.get_by_text("No raw samples were uploaded for this set").count() == 2
    shot(page, "06-session-trace")

    # Export FHIR from the patient page.
    page.get_by_role("link", name="Cara Flagged").click()
    with page.expect_download() as download:
        page.get_by_role("link", name="Export FHIR R4").click()
    path = tmp_path / "bundle.json"
    download.value.save_as(path)
    bundle = json.loads(path.read_text())
    Bundle.model_validate(bundle)
    assert bundle["entry"][0]["resource"]["name"][0]["text"] == "Cara Flagged"

    # Log out; the patient opens their own page from a one-time link.
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(f"{base}/login")
    from server.accounts import patient_link

    token = patient_link(live_server["db"], live_server["patients"]["Ben Steady"], "test")
    page.goto(f"{base}/patient/login/{token}")
    page.get_by_role("button", name="Open my page").click()
    page.wait_for_url(f"{base}/me/")
    assert page.get_by_role("heading", level=1).inner_text() == "Hello Ben"
    assert "Glute bridge" in page.locator("section", has=page.locator("#today-h")).inner_text()
    assert "days in a row" in page.locator(".streak").inner_text()
    prompt = page.get_by_role("status").filter(has_text="safety questions")
    assert prompt.locator("strong").inner_text() == "The safety questions were not finished " \
        "after your last session: 4 of 6 were not asked."
    assert prompt.locator("li").count() == 4
    shot(page, "07-patient-own-page")
    # The patient cannot open the clinic's pages.
    page.goto(f"{base}/clinic/patients/{cara}")
    assert page.url.startswith(f"{base}/login")
    # Everything came from the clinic server: no CDN, no font or script from elsewhere.
    assert requested and all(url.startswith(f"{base}/") for url in requested), {
        url for url in requested if not url.startswith(f"{base}/")}
    assert any("/assets/dashboards/dashboards.css" in url for url in requested)
