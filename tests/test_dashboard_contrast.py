"""Text colours of the dashboards meet WCAG 2.1 AA contrast (4.5:1) on their backgrounds."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from dashboards.calendar import STYLES

CSS = (Path(__file__).resolve().parent.parent / "dashboards" / "static"
       / "dashboards.css").read_text()


def luminance(hex_colour: str) -> float:
    """Relative luminance (WCAG 2.1 definition)."""
    rgb = [int(hex_colour.lstrip("#")[i:i + 2], 16) / 255 for i in (0, 2, 4)]
    lin = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def contrast(a: str, b: str) -> float:
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def test_contrast_formula_on_known_pairs():
    assert contrast("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)


BADGES = re.findall(r"\.badge\.(\w+) \{ color: (#[0-9a-fA-F]{6}); background: (#[0-9a-fA-F]{6});",
                    CSS)


@pytest.mark.parametrize(("name", "ink", "paper"), BADGES)
def test_alert_badges(name, ink, paper):
    assert contrast(ink, paper) >= 4.5, name


def test_badges_were_found():
    assert {b[0] for b in BADGES} >= {"red_flag", "pain_rising", "missed_days",
                                      "compensation_rising", "questions_unanswered", "ok"}


@pytest.mark.parametrize(("ink", "paper"), [
    ("#ffffff", "#0b3d5c"),  # header
    ("#ffffff", "#0072B2"),  # buttons
    ("#00507e", "#ffffff"),  # links
    ("#555555", "#f6f7f9"),  # muted text on panels
    ("#1a1a1a", "#ffffff"),  # body text
])
def test_page_text(ink, paper):
    assert contrast(ink, paper) >= 4.5


@pytest.mark.parametrize("status", list(STYLES))
def test_calendar_glyphs_on_their_fill(status):
    fill, ink, _glyph, _text = STYLES[status]
    assert contrast(ink, fill) >= 4.5, status
