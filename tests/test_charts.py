"""The server-rendered SVG charts: valid, accessible, colour-blind-safe, and drawn to scale."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import date, timedelta

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dashboards.calendar import DayAdherence, calendar_heatmap
from dashboards.charts import Series, bar_chart, line_chart, sparkline
from dashboards.svg import OKABE_ITO, nice_ticks
from dashboards.trace import downsample, tilt_deg, trace_chart
from rehablink.recording import Recording
from rehablink.results import Rep

NS = {"s": "http://www.w3.org/2000/svg"}


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def assert_accessible(root: ET.Element) -> None:
    """role=img, and aria-labelledby names a <title> and a <desc> with text."""
    assert root.get("role") == "img"
    ids = root.get("aria-labelledby", "").split()
    assert len(ids) == 2
    title = root.find("s:title", NS)
    desc = root.find("s:desc", NS)
    assert title is not None and desc is not None
    assert [title.get("id"), desc.get("id")] == ids
    assert title.text and desc.text


def colours(svg: str) -> set[str]:
    return {c.upper() for c in re.findall(r'(?:fill|stroke)="(#[0-9A-Fa-f]{6})"', svg)}


ALLOWED = {c.upper() for c in OKABE_ITO.values()} | {"#FFFFFF", "#000000", "#555555", "#999999",
                                                      "#EEEEEE", "#9CCBE8"}


def test_line_chart_is_valid_accessible_svg_with_target_line():
    svg = line_chart(["W1", "W2", "W3"], [Series("Median hold", [3.0, 5.0, 6.0])],
                     title="Bridge hold", y_label="hold (s)", unit="s", target=5.0)
    root = parse(svg)
    assert_accessible(root)
    assert "Median hold: from 3 to 6 s" in root.find("s:desc", NS).text
    target = root.find(".//s:line[@class='target']", NS)
    # The week whose value equals the target sits exactly on the target line.
    points = root.findall(".//s:g[@class='point']/s:circle", NS)
    assert len(points) == 3
    assert float(points[1].get("cy")) == pytest.approx(float(target.get("y1")))
    # Higher values are drawn higher (smaller y).
    ys = [float(p.get("cy")) for p in points]
    assert ys[0] > ys[1] > ys[2]
    assert "target 5 s" in "".join(root.itertext())


def test_line_chart_leaves_gaps_for_missing_weeks():
    svg = line_chart(["a", "b", "c", "d", "e"], [Series("reps", [8, 9, None, 10, 10])],
                     title="Reps", y_label="reps")
    root = parse(svg)
    assert len(root.findall(".//s:polyline", NS)) == 2
    assert len(root.findall(".//s:g[@class='point']", NS)) == 4


def test_series_differ_by_marker_and_dash_not_only_colour():
    svg = line_chart(["a", "b"], [Series("left", [1, 2]), Series("right", [2, 3])],
                     title="Two", y_label="deg")
    root = parse(svg)
    first, second = root.findall(".//s:g[@class='series']", NS)
    assert first.find(".//s:circle", NS) is not None
    assert second.find(".//s:rect", NS) is not None
    assert first.find("s:polyline", NS).get("stroke-dasharray") is None
    assert second.find("s:polyline", NS).get("stroke-dasharray")
    assert colours(svg) <= ALLOWED


def test_text_is_escaped_in_titles_and_labels():
    svg = line_chart(["<b>"], [Series("</desc><script>alert(1)</script>", [1.0])],
                     title='A "quoted" <title>', y_label="x & y")
    root = parse(svg)  # still well-formed XML
    assert "<script>" not in svg
    assert root.find("s:title", NS).text == 'A "quoted" <title>'


def test_empty_and_mismatched_input():
    root = parse(line_chart([], [], title="Nothing", y_label="x"))
    assert_accessible(root)
    assert "No data yet" in "".join(root.itertext())
    parse(line_chart(["a"], [Series("s", [None])], title="Gaps only", y_label="x"))
    with pytest.raises(ValueError, match="2 values for 3 labels"):
        line_chart(["a", "b", "c"], [Series("s", [1, 2])], title="t", y_label="x")


def test_bar_chart_hatches_bars_below_target():
    svg = bar_chart(["Mon", "Tue", "Wed"], [10, 6, None], title="Reps per set",
                    y_label="reps", target=8)
    root = parse(svg)
    assert_accessible(root)
    bars = root.findall(".//s:g[@class='bar']/s:rect", NS)
    assert len(bars) == 2
    assert not bars[0].get("fill").startswith("url(")   # 10 >= 8: solid
    assert bars[1].get("fill").startswith("url(#")      # 6 < 8: hatched pattern
    texts = [t.text for t in root.findall(".//s:text[@class='bar-value']", NS)]
    assert texts == ["10", "6", "–"]
    # Bar height is proportional to the value.
    h10, h6 = (float(b.get("height")) for b in bars)
    assert h6 / h10 == pytest.approx(0.6, abs=0.01)


def test_sparkline_names_first_and_last_value():
    svg = sparkline([20.0, None, 50.0, 80.0], label="28-day adherence")
    root = parse(svg)
    assert root.get("aria-label") == "28-day adherence: 20% to 80%"
    assert "no data" in sparkline([None], label="x")


def test_calendar_marks_each_day_with_a_glyph_and_sentence():
    monday = date(2026, 11, 2)
    days = [DayAdherence(monday, 3, 3), DayAdherence(monday + timedelta(1), 3, 1),
            DayAdherence(monday + timedelta(2), 3, 0), DayAdherence(monday + timedelta(3), 0, 0),
            DayAdherence(monday + timedelta(4), 3, 3)]
    svg = calendar_heatmap(days, title="Adherence", today=monday + timedelta(3))
    root = parse(svg)
    assert_accessible(root)
    cells = {g.get("data-date"): g for g in root.iter("{http://www.w3.org/2000/svg}g")
             if g.get("data-date")}
    assert sorted(cells) == ["2026-11-02", "2026-11-03", "2026-11-04", "2026-11-05"]  # no future
    glyph = {d: "".join(g.find("s:text[@class='glyph']", NS).itertext()) for d, g in cells.items()}
    assert glyph == {"2026-11-02": "✓", "2026-11-03": "◐", "2026-11-04": "✕", "2026-11-05": ""}
    assert cells["2026-11-03"].find("s:title", NS).text == "Tue 3 Nov: 1 of 3 sets done"
    assert cells["2026-11-05"].find("s:title", NS).text == "Thu 5 Nov: nothing prescribed"
    desc = root.find("s:desc", NS).text
    assert "7 of 12 prescribed sets done" in desc
    assert colours(svg) <= ALLOWED


def _tilted_recording(angle_deg: float, rate: float = 50.0) -> Recording:
    """Rest for 2 s, tilt about x by ``angle_deg`` for 4 s, back to rest for 2 s."""
    t = np.arange(0, 8, 1 / rate)
    theta = np.radians(np.where((t >= 2) & (t < 6), angle_deg, 0.0))
    acc = np.stack([np.zeros_like(t), np.sin(theta), np.cos(theta)], axis=1)
    return Recording(t=t, acc=acc)


def test_tilt_follows_a_known_rotation_of_gravity():
    rec = _tilted_recording(30.0)
    tilt = tilt_deg(rec)
    assert tilt[(rec.t > 3) & (rec.t < 5)] == pytest.approx(30.0, abs=0.5)
    assert tilt[rec.t < 1.5] == pytest.approx(0.0, abs=0.5)


def test_tilt_of_empty_and_constant_recordings():
    assert tilt_deg(Recording(t=np.zeros(0), acc=np.zeros((0, 3)))).size == 0
    still = Recording(t=np.arange(100) / 50, acc=np.tile([0.0, 0.0, 1.0], (100, 1)))
    assert np.allclose(tilt_deg(still), 0.0, atol=1e-6)


def test_trace_marks_every_rep_hold_and_flag():
    rec = _tilted_recording(25.0)
    reps = [Rep(start=1.8, top=2.2, lower_start=5.7, end=6.2, rom_deg=25.0),
            Rep(start=6.5, top=6.8, lower_start=7.0, end=7.5, rom_deg=10.0,
                flags=("reduced_rom",))]
    root = parse(trace_chart(rec.t, tilt_deg(rec), reps, title="Bridge set 1"))
    assert_accessible(root)
    rep_groups = root.findall(".//s:g[@data-rep]", NS)
    assert [g.get("data-rep") for g in rep_groups] == ["1", "2"]
    labels = [g.find("s:text[@class='rep-label']", NS).text for g in rep_groups]
    assert labels == ["1", "2!"]
    holds = root.findall(".//s:rect[@class='hold']", NS)
    assert len(holds) == 2
    # Hold bands are as wide as the holds: 3.5 s against 0.2 s.
    assert float(holds[0].get("width")) / float(holds[1].get("width")) == pytest.approx(
        3.5 / 0.2, rel=0.05)
    assert "reduced_rom" in rep_groups[1].find("s:title", NS).text


def test_trace_without_samples_says_so():
    svg = trace_chart([], [], [], title="Set 1")
    assert "No raw samples" in svg


def test_downsample_keeps_extremes():
    t = np.arange(20_000) / 100.0
    y = np.sin(t)
    y[12_345] = 5.0
    td, yd = downsample(t, y, max_points=500)
    assert len(td) <= 500
    assert yd.max() == 5.0 and yd.min() == pytest.approx(-1.0, abs=1e-3)
    assert np.all(np.diff(td) > 0)


@given(st.floats(-1e4, 1e4), st.floats(0.001, 1e4))
def test_nice_ticks_cover_the_range_in_even_steps(low, span):
    ticks = nice_ticks(low, low + span)
    steps = np.diff(ticks)
    slack = 1e-6 * steps[0]  # a millionth of a step is not a visible gap
    assert ticks[0] <= low + slack and ticks[-1] >= low + span - slack
    assert np.allclose(steps, steps[0], rtol=1e-6)
    assert 2 <= len(ticks) <= 12


def test_calendar_does_not_call_today_missed_before_it_is_over():
    today = date(2026, 11, 4)
    days = [DayAdherence(today - timedelta(1), 3, 0), DayAdherence(today, 3, 0)]
    root = parse(calendar_heatmap(days, title="Adherence", today=today))
    cells = {g.get("data-date"): g for g in root.iter("{http://www.w3.org/2000/svg}g")
             if g.get("data-date")}
    assert cells["2026-11-03"].get("class") == "day day-missed"
    assert cells["2026-11-04"].get("class") == "day day-today"
    assert cells["2026-11-04"].find("s:title", NS).text == "Wed 4 Nov: 0 of 3 sets done so far"
    assert "today, not done yet" in "".join(root.itertext())
