"""Text colours of the dashboards meet WCAG 2.1 AA contrast (4.5:1) on their backgrounds."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from dashboards.calendar import STYLES
from dashboards.figures import ALERT_GLYPHS, ALERT_LABELS
from server.analytics import ALERT_ORDER

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


def badge_colours(css: str) -> dict[str, tuple[str, str]]:
    """``.badge.NAME`` -> (text colour, background) of the screen style sheet (print rules
    are left out); a rule may name several badges (``.badge.a, .badge.b { ... }``)."""
    found: dict[str, tuple[str, str]] = {}
    for selectors, body in re.findall(r"([^{}]+)\{([^{}]*)\}", css.split("@media print")[0]):
        ink = re.search(r"(?<![-\w])color: (#[0-9a-fA-F]{6})", body)
        paper = re.search(r"background: (#[0-9a-fA-F]{6})", body)
        for name in re.findall(r"\.badge\.(\w+)", selectors):
            if ink and paper:
                found[name] = (ink.group(1), paper.group(1))
    return found


BADGES = badge_colours(CSS)


def test_badge_colours_are_read_from_shared_rules():
    css = ".badge.a, .badge.b { color: #111111; background: #eeeeee; }\n" \
          ".badge.c { color: #222222; border-color: #000000; background: #dddddd; }\n" \
          "@media print { .badge.a { color: #000000; background: #ffffff; } }"
    assert badge_colours(css) == {"a": ("#111111", "#eeeeee"), "b": ("#111111", "#eeeeee"),
                                  "c": ("#222222", "#dddddd")}


@pytest.mark.parametrize("name", sorted(BADGES))
def test_alert_badges(name):
    ink, paper = BADGES[name]
    assert contrast(ink, paper) >= 4.5, name


@pytest.mark.parametrize("kind", ALERT_ORDER)
def test_every_alert_kind_has_a_badge_a_word_and_a_glyph(kind):
    """Every alert the server raises is shown as ``<span class="badge KIND">`` with a word and
    a glyph. The no-session alert used to have no style: its badge was styled as
    ``missed_days``, a class no alert has, and showed as plain text."""
    assert kind in BADGES, f".badge.{kind} has no colours in dashboards.css"
    assert ALERT_LABELS[kind].strip() and ALERT_GLYPHS[kind].strip()


def test_only_alert_kinds_have_alert_words():
    assert set(ALERT_LABELS) == set(ALERT_GLYPHS) == set(ALERT_ORDER)


def test_badges_were_found():
    assert set(BADGES) >= {*ALERT_ORDER, "missed_days", "ok"}


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
