"""The dashboards through Flask's test client: every view, its figures, and access control.

Data goes in through the server's own ingest (and the real upload API for raw samples); people
log in through the real forms with their CSRF tokens.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import date, timedelta
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
)

from rehablink.clinical import RED_FLAGS
from rehablink.rawsamples import encode

TODAY = date.today()


@pytest.fixture
def clinic(auth: Any, db: Any) -> dict[str, Any]:
    """Two physios. Ana has Ben (steady, 14 days) and Cara (red flag yesterday, pain rising);
    Dan belongs to the other physio."""
    ana = auth.create_physio()
    other = auth.create_physio("olga@clinic.example", "Olga Other")
    ben, _ = auth.add_patient(ana, "Ben Steady")
    cara, _ = auth.add_patient(ana, "Cara Flagged")
    dan, _ = auth.add_patient(other, "Dan Elsewhere")
    docs: dict[int, list[dict[str, Any]]] = {ben: [], cara: [], dan: []}
    for pid in (ben, cara, dan):
        prescribe(db, pid, BRIDGE_PLAN, TODAY - timedelta(days=20))
    for k in range(14, 0, -1):
        day = TODAY - timedelta(days=k)
        docs[ben].append(session_doc(day, BRIDGE_PLAN, Quality(hold_fraction=0.6 + k * 0.0), 2))
        cara_pain = 2 if k > 7 else 6
        flags = ("leg_symptoms",) if k == 1 else ()
        docs[cara].append(session_doc(day, BRIDGE_PLAN, Quality(hold_fraction=1.0), cara_pain,
                                      flags, hour=10))
        docs[dan].append(session_doc(day, BRIDGE_PLAN, Quality(), 1, hour=11))
    for pid, items in docs.items():
        for doc in items:
            store(db, doc, pid)
    return {"ana": ana, "other": other, "ben": ben, "cara": cara, "dan": dan, "docs": docs}


def text(response: Any) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)))


def csrf(client: Any, path: str) -> str:
    page = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page)
    assert match, path
    return match.group(1)


def test_login_lands_on_the_patient_list_sorted_by_attention(client, auth, clinic):
    response = auth.login()
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/clinic/")
    page = client.get("/clinic/")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    # Cara (red flag, pain rising) comes before Ben; Olga's patient Dan is not listed.
    assert body.index("Cara Flagged") < body.index("Ben Steady")
    assert "Dan Elsewhere" not in body
    row = re.search(rf'data-patient-id="{clinic["cara"]}".*?</tr>', body, re.S).group(0)
    assert "Red flag" in row and "Pain rising" in row
    # The 7-day window ends today, which has no session yet: 6 days of 3 prescribed sets done
    # out of 7 days. Cara held the full target: 18/21 = 86%. Ben held 60% of the 5 s bridge
    # target (< 80%), so only his clamshell counts: 6/21 = 29%.
    ben_row = re.search(rf'data-patient-id="{clinic["ben"]}".*?</tr>', body, re.S).group(0)
    assert ">29%<" in ben_row
    assert ">86%<" in row
    # Trend in words too: against the 7 days before (all 21 sets done), 86% - 100% = -14 points.
    assert "↓ -14 pts" in row
    assert 'role="img"' in ben_row  # the trend sparkline


def test_patient_list_filters_by_alert_and_name(client, auth, clinic):
    auth.login()
    flagged = client.get("/clinic/?alert=red_flag").get_data(as_text=True)
    assert "Cara Flagged" in flagged and "Ben Steady" not in flagged
    by_name = client.get("/clinic/?q=ben").get_data(as_text=True)
    assert "Ben Steady" in by_name and "Cara Flagged" not in by_name
    # Unknown filters and pages are ignored, not errors.
    assert client.get("/clinic/?alert=<x>&page=abc").status_code == 200


def test_patient_page_shows_adherence_calendar_charts_and_red_flags(client, auth, clinic):
    auth.login()
    response = client.get(f"/clinic/patients/{clinic['cara']}")
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert re.search(r'id="adherence-7">86%<', body)  # 18 of 21 sets (today not done yet)
    assert 'class="chart chart-calendar"' in body
    assert body.count('class="chart chart-line"') >= 5  # progression charts and pain
    assert "Glute bridge: median hold by week" in body
    assert "Leg symptoms" in text(response)
    assert "Mark red flags as reviewed" in body
    # Sessions list links to each session page.
    first = clinic["docs"][clinic["cara"]][-1]["id"]
    assert f"/clinic/patients/{clinic['cara']}/sessions/{first}" in body


def test_every_page_is_accessible_by_structure(client, auth, clinic):
    """Skip link, language, one main landmark, one h1, and a label for every visible input."""
    auth.login()
    sid = clinic["docs"][clinic["ben"]][0]["id"]
    for path in ("/clinic/", f"/clinic/patients/{clinic['ben']}",
                 f"/clinic/patients/{clinic['ben']}/prescription",
                 f"/clinic/patients/{clinic['ben']}/sessions/{sid}"):
        body = client.get(path).get_data(as_text=True)
        assert '<html lang="en">' in body
        assert 'class="skip-link" href="#main"' in body and 'id="main"' in body
        assert body.count("<h1") == 1
        labels = set(re.findall(r'<label[^>]*for="([^"]+)"', body))
        for tag in re.findall(r"<(?:input|select|textarea)\b[^>]*>", body):
            if 'type="hidden"' in tag:
                continue
            field_id = re.search(r'id="([^"]+)"', tag)
            assert field_id and field_id.group(1) in labels, (path, tag)


def test_reviewing_red_flags_clears_the_alert(client, auth, clinic):
    auth.login()
    path = f"/clinic/patients/{clinic['cara']}"
    bad = client.post(f"{path}/red-flags-reviewed", data={})
    assert bad.status_code == 400  # no CSRF token
    ok = client.post(f"{path}/red-flags-reviewed", data={"csrf_token": csrf(client, path)})
    assert ok.status_code == 302
    body = client.get("/clinic/?alert=red_flag").get_data(as_text=True)
    assert "Cara Flagged" not in body
    assert "Leg symptoms" in text(client.get(path))  # the history keeps it


def test_red_flag_questions_not_answered_are_said_in_words(client, auth, clinic, db):
    """Eve left the red-flag questions in her last three sessions: after the first one, after
    answering yes to night pain (the third), and before any. The physiotherapist reads that
    they were not answered, in words, on the patient list (a low-priority alert), the patient
    page and each session page, never "none"; a session that answered them all, or that does
    not say (an older companion), reads as such."""
    flags = list(RED_FLAGS)
    eve, _ = auth.add_patient(clinic["ana"], "Eve Unanswered")
    prescribe(db, eve, BRIDGE_PLAN, TODAY - timedelta(days=20))
    # days ago -> (red-flag questions not asked, or None for a document without the field;
    # red flags answered yes)
    screens = {4: (None, ()), 3: ([], ()), 2: (flags[1:], ()),
               1: (flags[3:], ("night_pain",)), 0: (flags, ())}
    docs = {}
    for k, (unasked, yes) in screens.items():
        doc = session_doc(TODAY - timedelta(days=k), BRIDGE_PLAN, Quality(), 2, yes)
        if unasked is not None:
            doc["red_flags_unasked"] = unasked
        store(db, doc, eve)
        docs[k] = doc
    auth.login()
    listed = client.get("/clinic/?alert=questions_unanswered").get_data(as_text=True)
    row = re.search(rf'data-patient-id="{eve}".*?</tr>', listed, re.S).group(0)
    assert "? Red-flag questions unanswered" in row
    assert "Ben Steady" not in listed and "Cara Flagged" not in listed
    page = text(client.get(f"/clinic/patients/{eve}"))
    assert "? Red-flag questions unanswered Red-flag questions not all answered in the last 3 " \
        f"sessions (since {TODAY - timedelta(days=2)})" in page
    history = page[page.index("Red-flag questions not all answered In 3 sessions the patient "
                              "left the red-flag questions, or was not asked them"):]
    assert f"{TODAY} ? not asked – Open " \
        f"{TODAY - timedelta(days=1)} ? not finished: 3 of 6 not asked (Systemic, Trauma, No " \
        "improvement) ⚠ Night pain Open " \
        f"{TODAY - timedelta(days=2)} ? not finished: 5 of 6 not asked (Bladder bowel, Night " \
        "pain, Systemic, Trauma, No improvement) – Open" in history
    # the sessions table: its red-flag column, in words
    table = page[page.index("Reps with pelvis rotating"):]
    assert table.count("? Questions not asked") == 1
    assert table.count("⚠ Night pain ? Questions not finished: 3 of 6 not asked") == 1
    assert table.count("? Questions not finished: 5 of 6 not asked") == 1

    def session_page(k: int) -> str:
        return text(client.get(f"/clinic/patients/{eve}/sessions/{docs[k]['id']}"))

    ruled_out = " ; a red flag not asked about cannot be ruled out for this session."
    assert "Red flags: not asked. Red-flag questions: ? not asked" + ruled_out \
        in session_page(0)
    assert "Red flags: none answered yes. Red-flag questions: ? not finished: 5 of 6 not " \
        "asked" in session_page(2)
    assert "Red flags: ⚠ Night pain . Red-flag questions: ? not finished: 3 of 6 not asked " \
        "(Systemic, Trauma, No improvement)" + ruled_out in session_page(1)
    assert "Red flags: none. Red-flag questions: all answered." in session_page(3)
    # an older companion's session: "none" only where every question was answered
    assert "Red flags: none reported. Red-flag questions: not known whether all were asked (the " \
        "companion that sent this session does not record it)." in session_page(4)


def test_free_recordings_read_as_recordings_not_as_questions_not_asked(client, auth, clinic,
                                                                       db):
    """Fay checked her sensor's fit with three free recordings, which ask no questions, after
    one guided session whose questions she left. The recordings used to read "? Questions not
    asked" and raised the unanswered-questions alert; they now read as free recordings, with
    no warning, and only the guided session is listed as not answered."""
    fay, _ = auth.add_patient(clinic["ana"], "Fay Fitcheck")
    prescribe(db, fay, BRIDGE_PLAN, TODAY - timedelta(days=20))
    guided = session_doc(TODAY - timedelta(days=3), BRIDGE_PLAN, Quality(), None)
    guided.update(kind="session", red_flags_unasked=list(RED_FLAGS))
    store(db, guided, fay)
    recordings = []
    for k in (2, 1, 0):
        doc = session_doc(TODAY - timedelta(days=k), BRIDGE_PLAN[:1], Quality(), None)
        doc.update(kind="record", red_flags_unasked=list(RED_FLAGS), sets=doc["sets"][:1])
        store(db, doc, fay)
        recordings.append(doc)
    auth.login()
    listed = client.get("/clinic/?alert=questions_unanswered").get_data(as_text=True)
    assert "Fay Fitcheck" not in listed
    page = text(client.get(f"/clinic/patients/{fay}"))
    assert "Red-flag questions unanswered" not in page
    history = page[page.index("Red-flag questions not all answered"):page.index("Sessions ")]
    assert "In 1 session the patient left the red-flag questions" in history
    assert f"{TODAY - timedelta(days=3)} ? not asked" in history
    assert all(str(TODAY - timedelta(days=k)) not in history for k in (2, 1, 0))
    table = page[page.index("Reps with pelvis rotating"):]
    assert table.count("Free recording: no questions asked") == 3
    assert table.count("? Questions not asked") == 1
    assert "? Free recording" not in table
    path = f"/clinic/patients/{fay}/sessions/{recordings[-1]['id']}"
    html = client.get(path).get_data(as_text=True)
    assert 'class="unasked"' not in html and "cannot be ruled out" not in html
    page = text(client.get(path))
    assert "Free recording of " in page
    assert "Free recording: no questions asked (pain and the red-flag questions come at the " \
        "end of a guided session)." in page
    # nothing that reads as a question the patient left: no "not answered", no "not asked"
    assert "Pain after the session" not in page and "not answered" not in page
    assert "Red flags:" not in page and "not asked" not in page
    rows = list(csv.DictReader(io.StringIO(
        client.get(f"/clinic/patients/{fay}/export.csv").get_data(as_text=True))))
    assert [r["kind"] for r in rows] == ["session"] * len(guided["sets"]) + ["record"] * 3


def test_free_recordings_count_neither_towards_adherence_nor_against_missed_days(
        client, auth, clinic, db):
    """Gus did his plan in guided sessions until five days ago, then only free recordings,
    each doing every set of the plan well, uploaded through the API. Free recordings are not
    the prescribed programme: they used to count as done sets (100% adherence) and as his last
    session (no missed-days alert). Now adherence counts the guided sessions only, the
    missed-days alert says five days, and the recordings are still listed, labelled, on his
    page; a new plan version from today (which recomputes the stored done flags) keeps it so,
    and his own page does not count them as done today."""
    gus, headers = auth.device(clinic["ana"], "Gus Recorder")
    prescribe(db, gus, BRIDGE_PLAN, TODAY - timedelta(days=20))
    for k in range(10, -1, -1):
        doc = session_doc(TODAY - timedelta(days=k), BRIDGE_PLAN, Quality(), None)
        if k <= 4:
            doc.update(kind="record", red_flags_unasked=list(RED_FLAGS))
        else:
            doc.update(kind="session", pain=2, red_flags_unasked=[])
        assert client.post("/api/v1/sessions", json=doc, headers=headers).status_code == 201
    done = dict(db.execute("SELECT s.kind, sum(x.done) FROM session_sets x JOIN sessions s "
                           "ON s.id = x.session_id WHERE s.patient_id = ? GROUP BY s.kind",
                           [gus]).fetchall())
    assert done == {"session": 6 * 3, "record": 0}
    auth.login()
    csrf_header = {"X-CSRFToken": auth.csrf_token(f"/clinic/patients/{gus}")}
    five_days_ago = TODAY - timedelta(days=5)

    def check() -> None:
        # 7 days: the guided sessions 6 and 5 days ago, 2 x 3 of 7 x 3 sets = 29%
        listed = client.get("/api/v1/clinic/patients").get_json()["patients"]
        (row,) = [p for p in listed if p["id"] == gus]
        assert (row["adherence_7d"], row["last_session"]) == (0.286, five_days_ago.isoformat())
        assert [(a["kind"], a["message"]) for a in row["alerts"]] == \
            [("no_session", "No session for 5 days")]
        page = text(client.get(f"/clinic/patients/{gus}"))
        assert "29% Adherence, last 7 days (6 of 21 sets)" in page
        assert "○ Missed days No session for 5 days" in page
        assert "5 days ago" in page[:page.index("Last session of the plan")][-40:]
        sessions = page[page.index("Reps with pelvis rotating"):]
        assert sessions.count("completed; free recording") == 5
        assert sessions.count("Free recording: no questions asked") == 5
        assert "do not count towards adherence, the progression charts or the missed-days " \
            "and compensation alerts" in page
        summary = client.get(f"/api/v1/clinic/patients/{gus}").get_json()
        assert summary["adherence_7d"] == 0.286 and summary["streak"]["current"] == 0
        assert [s["kind"] for s in summary["sessions"]] == ["record"] * 5 + ["session"] * 6

    check()
    new_version = client.post(f"/api/v1/clinic/patients/{gus}/prescriptions", headers=csrf_header,
                              json={"effective_from": TODAY.isoformat(), "exercises": BRIDGE_PLAN})
    assert new_version.status_code == 201, new_version.get_json()
    check()
    auth.logout()
    patient_login(client, db, gus)
    me = text(client.get("/me/"))
    assert me.count("not yet today") == 2
    assert "You made a free recording today. It is kept for your physiotherapist, but only " \
        "the exercises of a session count towards your plan." in me
    assert "Start a new streak today" in me
    assert "safety questions" not in me  # a free recording asks none: nothing was left


def test_prescription_editor_saves_a_new_version_with_csrf(client, auth, clinic, db):
    auth.login()
    path = f"/clinic/patients/{clinic['ben']}/prescription"
    form = client.get(path).get_data(as_text=True)
    assert '<option selected value="bridge">' in form  # prefilled with the current plan
    data = {
        "csrf_token": csrf(client, path), "effective_from": TODAY.isoformat(),
        "items-0-exercise": "bridge", "items-0-sets": "3", "items-0-reps": "12",
        "items-0-hold_s": "6", "items-0-days_per_week": "5", "items-0-note": "Slow lowering",
        "items-1-exercise": "", "items-1-sets": "", "items-1-reps": "",
        "items-2-exercise": "side_leg_raise", "items-2-sets": "2", "items-2-reps": "10",
        "items-2-hold_s": "", "items-2-days_per_week": "4", "items-2-note": "",
    }
    without_token = client.post(path, data={k: v for k, v in data.items() if k != "csrf_token"})
    assert without_token.status_code == 400
    saved = client.post(path, data=data)
    assert saved.status_code == 302
    rows = list(db.query("SELECT p.version, i.exercise, i.sets, i.reps, i.hold_s, "
                         "i.days_per_week, i.note FROM prescriptions p JOIN prescription_items i "
                         "ON i.prescription_id = p.id WHERE p.patient_id = ? ORDER BY p.version, "
                         "i.position", [clinic["ben"]]))
    assert [tuple(r.values()) for r in rows if r["version"] == 2] == [
        (2, "bridge", 3, 12, 6.0, 5, "Slow lowering"), (2, "side_leg_raise", 2, 10, None, 4, "")]
    page = client.get(f"/clinic/patients/{clinic['ben']}")
    assert "Prescription version 2 saved" in page.get_data(as_text=True)


@pytest.mark.parametrize(("change", "message"), [
    ({"items-0-reps": "0"}, "Number must be between 1 and 100"),
    ({"items-0-sets": ""}, "Sets is required"),
    ({"effective_from": (TODAY - timedelta(days=3)).isoformat()}, "cannot start in the past"),
    ({"items-0-exercise": "not_an_exercise"}, "Not a valid choice"),
    ({"items-0-exercise": ""}, "needs at least one exercise"),
])
def test_prescription_editor_refuses_bad_input_and_keeps_the_plan(client, auth, clinic, db,
                                                                  change, message):
    auth.login()
    path = f"/clinic/patients/{clinic['ben']}/prescription"
    data = {"csrf_token": csrf(client, path), "effective_from": TODAY.isoformat(),
            "items-0-exercise": "bridge", "items-0-sets": "3", "items-0-reps": "12",
            "items-0-hold_s": "", "items-0-days_per_week": "5", "items-0-note": ""}
    data.update(change)
    response = client.post(path, data=data)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    versions = next(db.query("SELECT count(*) AS n FROM prescriptions WHERE patient_id = ?",
                             [clinic["ben"]]))["n"]
    assert versions == 1


def test_session_page_draws_the_uploaded_trace_and_the_rep_table(client, auth, clinic, db):
    """Raw samples go in through the real resumable upload API, in two chunks."""
    physio = clinic["ana"]
    pid, headers = auth.device(physio, "Eve Traced")
    prescribe(db, pid, BRIDGE_PLAN, TODAY - timedelta(days=2))
    doc = session_doc(TODAY - timedelta(days=1), BRIDGE_PLAN, Quality(rotating_every=4))
    assert client.post("/api/v1/sessions", json=doc, headers=headers).status_code == 201
    data = encode(recording_for(doc["sets"][0]["result"]["reps"]))
    url = f"/api/v1/sessions/{doc['id']}/sets/0/samples"
    half = len(data) // 2
    for start, end in ((0, half - 1), (half, len(data) - 1)):
        r = client.put(url, data=data[start:end + 1], headers={
            **headers, "Content-Type": "application/octet-stream",
            "Content-Range": f"bytes {start}-{end}/{len(data)}"})
        assert r.status_code in (200, 201), r.get_json()
    auth.login()
    page = client.get(f"/clinic/patients/{pid}/sessions/{doc['id']}")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert body.count('class="chart chart-trace"') == 1  # only set 1 has samples
    trace = body[body.index('class="chart chart-trace"'):body.index("</svg>", body.index(
        'class="chart chart-trace"'))]
    assert trace.count('class="hold"') == 10           # every hold marked
    assert trace.count("data-rep=") == 10              # every rep numbered
    assert trace.count("rep-flagged") == 2             # reps 4 and 8: pelvis rotating
    assert body.count("No raw samples were uploaded for this set") == 2
    assert text(page).count("pelvis rotating") >= 2


def test_session_page_and_fhir_export_give_the_sensor_model(client, auth, clinic, db):
    """A session uploaded with the model its sensor said it is shows it on its page and gives
    it as the modelNumber of the sensor's Device in the FHIR export; a session without one
    (from a sensor that does not say, or stored before the companion sent it) reads as before.
    The model is text from a sensor: it is shown as text, never as markup."""
    pid, headers = auth.device(clinic["ana"], "Gil Modelled")
    older, newer = (session_doc(TODAY - timedelta(days=k), BRIDGE_PLAN, Quality(), hour=9 + k)
                    for k in (2, 1))
    older["sensor"] = {"profile": "rehablink", "name": "RehabLink-1A2B", "has_gyro": True}
    newer["sensor"] = {"profile": "polar_pmd", "name": "Polar H10 1A2B3C4D", "has_gyro": False,
                       "model": "H10 <b>&amp;</b>"}
    for doc in (older, newer):
        assert client.post("/api/v1/sessions", json=doc, headers=headers).status_code == 201
    auth.login()
    pages = {doc["id"]: client.get(f"/clinic/patients/{pid}/sessions/{doc['id']}")
             for doc in (older, newer)}
    assert "Status: completed; sensor RehabLink-1A2B." in text(pages[older["id"]])
    body = pages[newer["id"]].get_data(as_text=True)
    assert "sensor Polar H10 1A2B3C4D (model H10 &lt;b&gt;&amp;amp;&lt;/b&gt;)." in body
    bundle = client.get(f"/clinic/patients/{pid}/export.fhir.json").get_json()
    Bundle.model_validate(bundle)
    devices = [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Device"]
    assert [(d["deviceName"][0]["name"], d.get("modelNumber")) for d in devices] == \
        [("RehabLink-1A2B", None), ("Polar H10 1A2B3C4D", "H10 <b>&amp;</b>")]
    refs = [e["resource"].get("device") for e in bundle["entry"]
            if e["resource"].get("code", {}).get("coding", [{}])[0].get("code") == "73985-4"]
    assert refs == [{"reference": f"urn:uuid:{d['id']}"} for d in devices for _ in range(3)]


def test_exports_csv_and_fhir(client, auth, clinic):
    auth.login()
    pid = clinic["ben"]
    response = client.get(f"/clinic/patients/{pid}/export.csv")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith("attachment;")
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert len(rows) == 14 * 3  # 14 sessions of 3 sets
    assert {r["exercise"] for r in rows} == {"bridge", "clamshell"}
    assert {r["median_hold_s"] for r in rows if r["exercise"] == "bridge"} == {"3"}
    fhir = client.get(f"/clinic/patients/{pid}/export.fhir.json")
    assert fhir.mimetype == "application/fhir+json"
    bundle = fhir.get_json()
    Bundle.model_validate(bundle)
    panels = [e for e in bundle["entry"] if e["resource"].get("code", {}).get("coding", [{}])[0]
              .get("code") == "73985-4"]
    assert len(panels) == 14 * 3
    assert bundle["entry"][0]["resource"]["name"][0]["text"] == "Ben Steady"


def test_exports_keep_a_session_without_sets(client, auth, clinic, db):
    """A session stopped before its first set keeps its CSV row and its pain score in FHIR
    (the exports read sessions and their sets in one outer join)."""
    auth.login()
    pid = clinic["ben"]
    doc = session_doc(TODAY, [], pain=7, hour=18)
    store(db, doc, pid)
    rows = list(csv.DictReader(io.StringIO(
        client.get(f"/clinic/patients/{pid}/export.csv").get_data(as_text=True))))
    assert len(rows) == 14 * 3 + 1
    assert rows[-1]["session_id"] == doc["id"]
    assert (rows[-1]["set_index"], rows[-1]["pain"]) == ("", "7")
    bundle = client.get(f"/clinic/patients/{pid}/export.fhir.json").get_json()
    Bundle.model_validate(bundle)
    last = bundle["entry"][-1]["resource"]
    assert last["code"]["coding"][0]["code"] == "72514-3"
    assert (last["valueQuantity"]["value"], last["effectiveDateTime"]) == (7, doc["ended_at"])


def test_fhir_export_carries_the_red_flags(client, auth, clinic, db):
    """Cara's red flag of yesterday (from a companion that did not record which questions it
    asked) and a session today whose questions she left after the first two: each session's
    red-flag screen is in the download, yes as true, no as false, the rest absent with the
    reason, never false."""
    pid = clinic["cara"]
    left = ["night_pain", "systemic", "trauma", "no_improvement"]
    doc = session_doc(TODAY, BRIDGE_PLAN, Quality(), 4, hour=18)
    doc.update(kind="session", red_flags_unasked=left)
    store(db, doc, pid)
    auth.login()
    bundle = client.get(f"/clinic/patients/{pid}/export.fhir.json").get_json()
    Bundle.model_validate(bundle)
    screens = [r for r in (e["resource"] for e in bundle["entry"])
               if r["resourceType"] == "Observation"
               and r["code"]["coding"][0]["code"] == "red-flag-screen"]

    def answers(screen: dict[str, Any]) -> dict[str, Any]:
        return {c["code"]["coding"][0]["code"]: c.get("valueBoolean",
                                                      c.get("dataAbsentReason", {}))
                for c in screen["component"]}

    assert len(screens) == 2  # her other sessions record nothing of the questions
    flagged, today = (answers(s) for s in screens)
    assert flagged["leg_symptoms"] is True
    assert {v["coding"][0]["code"] for k, v in flagged.items() if k != "leg_symptoms"} == \
        {"unknown"}
    assert [today[f] for f in ("leg_symptoms", "bladder_bowel")] == [False, False]
    assert {today[f]["coding"][0]["code"] for f in left} == {"not-asked"}


def test_physio_never_sees_another_physios_patient(client, auth, clinic):
    auth.login("olga@clinic.example")
    sid = clinic["docs"][clinic["ben"]][0]["id"]
    for path in (f"/clinic/patients/{clinic['ben']}",
                 f"/clinic/patients/{clinic['ben']}/prescription",
                 f"/clinic/patients/{clinic['ben']}/sessions/{sid}",
                 f"/clinic/patients/{clinic['ben']}/export.csv",
                 f"/clinic/patients/{clinic['ben']}/export.fhir.json",
                 "/clinic/patients/99999"):
        assert client.get(path).status_code == 404, path
    token = csrf(client, f"/clinic/patients/{clinic['dan']}")
    assert client.post(f"/clinic/patients/{clinic['ben']}/prescription",
                       data={"csrf_token": token}).status_code == 404
    assert client.post(f"/clinic/patients/{clinic['cara']}/red-flags-reviewed",
                       data={"csrf_token": token}).status_code == 404
    # Ben's session id under Olga's own patient is not found either.
    assert client.get(f"/clinic/patients/{clinic['dan']}/sessions/{sid}").status_code == 404
    assert "Ben Steady" not in client.get("/clinic/").get_data(as_text=True)
    page = client.get(f"/clinic/patients/{clinic['ben']}")
    assert "someone else&#39;s record" in page.get_data(as_text=True)  # the friendly 404 page


def test_pages_need_a_login(client, clinic):
    for path in ("/clinic/", f"/clinic/patients/{clinic['ben']}",
                 f"/clinic/patients/{clinic['ben']}/export.fhir.json"):
        response = client.get(path)
        assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert client.get("/me/").status_code == 403
    assert client.get("/").headers["Location"].endswith("/login")


def test_pages_with_health_data_are_not_cached(client, auth, clinic, db):
    auth.login()
    for path in ("/clinic/", f"/clinic/patients/{clinic['ben']}",
                 f"/clinic/patients/{clinic['ben']}/export.csv"):
        assert client.get(path).headers["Cache-Control"] == "no-store", path
    patient_login(client, db, clinic["ben"])
    assert client.get("/me/").headers["Cache-Control"] == "no-store"


def test_viewing_a_patient_is_audited(client, auth, clinic, db):
    auth.login()
    client.get(f"/clinic/patients/{clinic['ben']}/export.fhir.json")
    actions = [r["action"] for r in db.query(
        "SELECT action FROM audit_log WHERE patient_id = ? AND actor = ?",
        [clinic["ben"], f"physio:{clinic['ana']}"])]
    assert "export_fhir" in actions


def test_free_recordings_leave_the_progression_and_the_compensation_alert(client, auth,
                                                                           clinic, db):
    """Hal does his plan every day, holding 5 s, with a still pelvis; for the last five days he
    also tried the exercises in free recordings, holding 10 s with his pelvis rotating on
    every rep. Free recordings are not the plan: they used to move his weekly holds, raise the
    compensation alert (in the list and on his page) and tell him his holds went up. His
    progression, alerts and words now come from his sessions only, and the recordings are
    still listed."""
    hal, headers = auth.device(clinic["ana"], "Hal Hybrid")
    prescribe(db, hal, BRIDGE_PLAN, TODAY - timedelta(days=30))
    for k in range(20, -1, -1):
        day = TODAY - timedelta(days=k)
        docs = [{**session_doc(day, BRIDGE_PLAN, Quality()), "kind": "session",
                 "red_flags_unasked": []}]
        if k <= 4:
            tried = session_doc(day, BRIDGE_PLAN, Quality(hold_fraction=2.0, rotating_every=1,
                                                          stability_deg=9.0), None, hour=15)
            docs.append({**tried, "kind": "record", "red_flags_unasked": list(RED_FLAGS)})
        for doc in docs:
            assert client.post("/api/v1/sessions", json=doc, headers=headers).status_code == 201
    auth.login()
    listed = client.get("/api/v1/clinic/patients").get_json()["patients"]
    (row,) = [p for p in listed if p["id"] == hal]
    assert row["alerts"] == []
    summary = client.get(f"/api/v1/clinic/patients/{hal}").get_json()
    assert summary["alerts"] == []
    weeks = summary["progression"]
    assert {w["compensation_rate"] for w in weeks} == {0.0}
    assert {w["median_hold_s"] for w in weeks if w["exercise"] == "bridge"} == {5.0}
    sets = {w["week_start"]: w["sets"] for w in weeks if w["exercise"] == "clamshell"}
    guided_days = {(TODAY - timedelta(days=k)) for k in range(21)}
    assert sets == {monday.isoformat(): sum(d - timedelta(days=d.weekday()) == monday
                                            for d in guided_days)
                    for monday in {d - timedelta(days=d.weekday()) for d in guided_days}}
    assert [s["kind"] for s in summary["sessions"][:2]] == ["record", "session"]
    page = text(client.get(f"/clinic/patients/{hal}"))
    assert "Compensation rising" not in page
    assert "do not count towards adherence, the progression charts or the missed-days and " \
        "compensation alerts" in page
    auth.logout()
    patient_login(client, db, hal)
    me = text(client.get("/me/"))
    assert "Your glute bridge holds stay steady at about 5 seconds." in me


def patient_login(client: Any, db: Any, patient_id: int) -> None:
    from server.accounts import patient_link

    path = f"/patient/login/{patient_link(db, patient_id, 'test')}"
    response = client.post(path, data={"csrf_token": csrf(client, path)})
    assert response.status_code == 302


def test_patient_sees_plan_streak_and_progress_in_plain_words(client, db, auth):
    physio = auth.create_physio()
    pid, _ = auth.add_patient(physio, "Fay Progress")
    prescribe(db, pid, BRIDGE_PLAN, TODAY - timedelta(days=40))
    for k in range(28, 0, -1):  # holds grow from 3 s to 6 s over four weeks
        hold = 3.0 + 3.0 * (28 - k) / 27
        store(db, session_doc(TODAY - timedelta(days=k), BRIDGE_PLAN,
                              Quality(hold_fraction=hold / 5.0)), pid)
    patient_login(client, db, pid)
    response = client.get("/")
    assert response.headers["Location"].endswith("/me/")
    page = text(client.get("/me/"))
    assert "Hello Fay" in page
    assert "Glute bridge : 2 sets of 10, holding 5 seconds at the top" in page
    assert "28 days in a row" in page
    # Weekly medians of holds rising linearly from 3 to 6 s: the first week's lies in [3, 4),
    # the last week's in (5, 6].
    match = re.search(r"Your glute bridge holds went from ([\d.]+) to ([\d.]+) seconds this month",
                      page)
    assert match, page
    assert 3 <= float(match.group(1)) < 4 and 5 < float(match.group(2)) <= 6
    assert "You keep doing about 12 reps per clamshell set" in page
    assert "Clamshell: reps per set each week" in page


def test_patient_is_asked_kindly_to_answer_the_red_flag_questions_left(client, db, auth):
    """Ivy left the red-flag questions after the first one in yesterday's session, then made a
    free recording (which asks none). Her page used to say nothing of it; it now tells her, in
    plain words, to answer them next time, and lists the warning signs not asked about, to act
    on now (the urgent one says so). A session that answers them all ends the prompt."""
    from rehablink.clinical import URGENT_SIGN

    physio = auth.create_physio()
    ivy, headers = auth.device(physio, "Ivy Skipper")
    prescribe(db, ivy, BRIDGE_PLAN, TODAY - timedelta(days=10))
    flags = list(RED_FLAGS)

    def upload(k: int, kind: str, unasked: list[str], hour: int = 9) -> None:
        doc = session_doc(TODAY - timedelta(days=k), BRIDGE_PLAN, Quality(), 2, hour=hour)
        doc.update(kind=kind, red_flags_unasked=unasked)
        assert client.post("/api/v1/sessions", json=doc, headers=headers).status_code == 201

    upload(2, "session", [])
    upload(1, "session", flags[1:])
    upload(0, "record", flags)
    patient_login(client, db, ivy)
    body = client.get("/me/").get_data(as_text=True)
    assert 'role="status" id="questions-left"' in body
    page = text(client.get("/me/"))
    assert "The safety questions were not finished after your last session: 5 of 6 were not " \
        "asked. These questions help keep your exercises safe. Please answer them at the end " \
        "of your next session. If you have any of these warning signs, contact your " \
        "physiotherapist or GP today:" in page
    signs = [RED_FLAGS[f].sign + (URGENT_SIGN if RED_FLAGS[f].urgent else "")
             for f in flags[1:]]
    assert " ".join(signs) in page
    assert RED_FLAGS["leg_symptoms"].sign not in page  # answered: not listed
    assert "needs urgent medical care now" in page  # bladder and bowel
    upload(0, "session", [], hour=18)
    page = text(client.get("/me/"))
    assert "safety questions" not in page and "warning signs" not in page


def test_patient_sees_only_their_own_pages(client, db, auth, clinic):
    patient_login(client, db, clinic["cara"])
    me = client.get("/me/")
    assert me.status_code == 200
    body = me.get_data(as_text=True)
    assert "Cara" in body and "Ben" not in body
    assert "contact your GP or physiotherapist" in body  # her red flag: advice to seek care
    for path in ("/clinic/", f"/clinic/patients/{clinic['cara']}",
                 f"/clinic/patients/{clinic['ben']}/export.csv"):
        response = client.get(path)
        assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_add_patient_shows_a_working_enrollment_code_once(client, auth, clinic, db):
    auth.login()
    page = client.get("/clinic/patients/new")
    assert page.status_code == 200
    new = "/clinic/patients/new"
    empty = client.post(new, data={"csrf_token": csrf(client, new), "name": "  "})
    assert empty.status_code == 400 and "This field is required" in empty.get_data(as_text=True)
    assert client.post("/clinic/patients/new", data={"name": "No Token"}).status_code == 400
    added = client.post("/clinic/patients/new", data={
        "csrf_token": csrf(client, "/clinic/patients/new"), "name": "Gil New"})
    assert added.status_code == 200
    assert added.headers["Cache-Control"] == "no-store"
    code = re.search(r'id="enrollment-code">([^<]+)<', added.get_data(as_text=True)).group(1)
    # The code enrolls a companion for the new patient, under this physio.
    token = auth.enroll(code)
    assert token
    row = next(db.query("SELECT physio_id FROM patients WHERE name = 'Gil New'"))
    assert row["physio_id"] == clinic["ana"]
    assert "Gil New" in client.get("/clinic/").get_data(as_text=True)
    # A second enrollment code and a one-time patient link, from the patient's page.
    pid = next(db.query("SELECT id FROM patients WHERE name = 'Gil New'"))["id"]
    path = f"/clinic/patients/{pid}"
    again = client.post(f"{path}/enrollment-code", data={"csrf_token": csrf(client, path)})
    assert again.status_code == 200 and 'id="enrollment-code"' in again.get_data(as_text=True)
    link_page = client.post(f"{path}/patient-link", data={"csrf_token": csrf(client, path)})
    link = re.search(r'id="patient-link" href="http://localhost(/patient/login/[^"]+)"',
                     link_page.get_data(as_text=True)).group(1)
    auth.logout()
    assert client.post(link, data={"csrf_token": csrf(client, link)}).status_code == 302
    assert "Hello Gil" in client.get("/me/").get_data(as_text=True)


def test_codes_and_links_only_for_own_patients(client, auth, clinic):
    auth.login("olga@clinic.example")
    token = csrf(client, f"/clinic/patients/{clinic['dan']}")
    for action in ("enrollment-code", "patient-link"):
        response = client.post(f"/clinic/patients/{clinic['ben']}/{action}",
                               data={"csrf_token": token})
        assert response.status_code == 404
        assert client.post(f"/clinic/patients/{clinic['dan']}/{action}").status_code == 400


def test_long_lists_are_paged(client, auth, db):
    physio = auth.create_physio()
    for k in range(53):
        auth.add_patient(physio, f"Patient {k:02d}")
    auth.login()
    first = client.get("/clinic/").get_data(as_text=True)
    assert first.count("data-patient-id=") == 50 and "Page 1 of 2" in first
    second = client.get("/clinic/?page=2").get_data(as_text=True)
    assert second.count("data-patient-id=") == 3 and "Page 2 of 2" in second
    assert client.get("/clinic/?page=999").status_code == 200  # clamped to the last page


def test_a_trace_that_cannot_be_read_is_left_out(client, auth, clinic, db):
    doc = clinic["docs"][clinic["ben"]][-1]
    db.execute("INSERT INTO sample_uploads VALUES (?, 0, 8, 8, ?, '2026-01-01T00:00:00+00:00')",
               [doc["id"], b"RLS1junk"])
    auth.login()
    page = client.get(f"/clinic/patients/{clinic['ben']}/sessions/{doc['id']}")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert body.count("could not be read") == 1
    assert body.count("No raw samples were uploaded for this set") == 2


def test_hold_target_drawn_week_by_week_when_the_plan_changed(client, auth, db):
    physio = auth.create_physio()
    pid, _ = auth.add_patient(physio, "Hal Versions")
    prescribe(db, pid, BRIDGE_PLAN, TODAY - timedelta(days=30))
    longer = [{**BRIDGE_PLAN[0], "hold_s": 8.0}, BRIDGE_PLAN[1]]
    prescribe(db, pid, longer, TODAY - timedelta(days=10))
    for k in range(30, 0, -1):
        store(db, session_doc(TODAY - timedelta(days=k), BRIDGE_PLAN), pid)
    auth.login()
    body = client.get(f"/clinic/patients/{pid}").get_data(as_text=True)
    chart = body[body.index("Glute bridge: median hold by week"):]
    chart = chart[:chart.index("</svg>")]
    assert 'data-series="Target of that week"' in chart
    assert "Target of that week: from 5 to 8 s" in chart
