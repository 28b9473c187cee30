"""Regenerate the README screenshots from a real ``rehab demo`` run.

Runs ``rehab demo`` in a tmux session, captures the live display mid-set (ANSI colours kept),
renders it with rich to SVG and Chromium to PNG, then logs in to the demo dashboard with
Playwright (Debian's Chromium) and screenshots the patient list, the patient page and a session
trace. Needs tmux and /usr/bin/chromium (``make browser``)::

    .venv/bin/python docs/screenshots/capture.py
"""

from __future__ import annotations

import io
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

OUT = Path(__file__).resolve().parent
ROOT = OUT.parents[1]
CHROMIUM = "/usr/bin/chromium"
TMUX = "rehablink-screenshots"
COLUMNS, ROWS = 100, 40


def tmux(*args: str) -> str:
    return subprocess.run(["tmux", *args], check=True, capture_output=True, text=True).stdout


def pane(colours: bool = False) -> str:
    # Plain text joins the lines the terminal wrapped (-J), so long lines (the login) read
    # whole; the coloured capture keeps the screen's layout for the picture.
    return tmux("capture-pane", "-t", TMUX, "-p", *(["-e"] if colours else ["-J"]))


def wait_for(pattern: str, timeout_s: float, colours: bool = False) -> str:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        text = pane(colours)
        if re.search(pattern, text, re.S):
            return text
        time.sleep(0.1)
    raise SystemExit(f"timed out waiting for {pattern!r}:\n{pane()}")


def terminal_png(ansi: str, path: Path, browser: object) -> None:
    """The captured pane as a PNG: rich renders the ANSI text to SVG, Chromium rasterises."""
    from rich.console import Console
    from rich.text import Text

    lines = ansi.rstrip("\n").splitlines()
    start = next((i for i, line in enumerate(lines) if "╭" in line), 0)
    console = Console(record=True, width=COLUMNS, force_terminal=True, file=io.StringIO())
    console.print(Text.from_ansi("\n".join(lines[start:])))
    svg = path.with_suffix(".svg")
    console.save_svg(str(svg), title="rehab demo")
    page = browser.new_page(viewport={"width": 900, "height": 400})  # type: ignore[attr-defined]
    page.set_content("<body style='margin:0'>" + svg.read_text() + "</body>")
    page.locator("svg").evaluate("e => { const b = e.getBBox(); "
                                 "e.setAttribute('viewBox', `0 0 ${b.width} ${b.height}`); "
                                 "e.setAttribute('width', 900); "
                                 "e.setAttribute('height', 900 * b.height / b.width); }")
    page.locator("svg").screenshot(path=str(path))
    page.close()
    svg.unlink()


def main() -> None:
    from playwright.sync_api import sync_playwright

    home = Path(tempfile.mkdtemp()) / "demo"
    command = f"cd {ROOT} && .venv/bin/rehab demo --home {home}; sleep 600"
    tmux("new-session", "-d", "-s", TMUX, "-x", str(COLUMNS), "-y", str(ROWS), command)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            # A bridge mid-hold: a few reps done and the hold bar filling.
            shot = wait_for(r"Reps: [3-6] / 8.*Hold +[2-3]\.\d / 4", 120, colours=True)
            terminal_png(shot, OUT / "live-display.png", browser)
            text = wait_for(r"Press Ctrl-C", 400)
            url = re.search(r"Dashboard: (\S+?)/? ", text).group(1)  # type: ignore[union-attr]
            email, password = re.search(r"log in as (\S+) with password (\S+)",
                                        text).groups()  # type: ignore[union-attr]
            patient = re.search(r"\n(.+?) is in the list", text).group(1)  # type: ignore[union-attr]
            page = browser.new_page(viewport={"width": 1200, "height": 760})
            page.goto(url + "/login")
            page.fill("input[name=email]", email)
            page.fill("input[name=password]", password)
            page.click("button[type=submit], input[type=submit]")
            page.wait_for_load_state()
            page.screenshot(path=str(OUT / "dashboard-patient-list.png"))
            page.get_by_role("link", name=patient, exact=True).first.click()
            page.wait_for_load_state()
            page.set_viewport_size({"width": 1200, "height": 1500})
            page.screenshot(path=str(OUT / "dashboard-patient-page.png"))
            page.locator("a[href*='/sessions/']").first.click()
            page.wait_for_load_state()
            page.set_viewport_size({"width": 1200, "height": 900})
            page.screenshot(path=str(OUT / "dashboard-session-trace.png"))
            browser.close()
    finally:
        subprocess.run(["tmux", "send-keys", "-t", TMUX, "C-c"], check=False)
        time.sleep(2)
        subprocess.run(["tmux", "kill-session", "-t", TMUX], check=False)
    print("\n".join(str(p) for p in sorted(OUT.glob("*.png"))), file=sys.stdout)


if __name__ == "__main__":
    main()
