"""``rehab session``: today's plan, set by set, then pain and the red-flag questions."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from rehablink.cli_errors import BadInput
from rehablink.clinical import RED_FLAGS
from rehablink.exercises import get_exercise
from rehablink.paths import rehab_home
from wearable.plan import PLAN_FILE, Plan, PlanError, load_plan, session_sets
from wearable.questions import NOT_ASKED, Answers, AnswersError, ask, parse_answers
from wearable.sync.background import sync_in_background


def _plan_summary(plan: Plan) -> str:
    lines = ["Today's exercises:"]
    for item in plan.items:
        hold = f", hold {item.hold_s:g} s" if item.hold_s else ""
        note = f" ({item.note})" if item.note else ""
        lines.append(f"  {get_exercise(item.exercise).name}: {item.sets} x {item.reps}"
                     f"{hold}{note}")
    return "\n".join(lines)


#: Said when the patient leaves the end questions (the line after it says what is saved).
QUESTIONS_SKIPPED = "Questions skipped."

_T = TypeVar("_T")


def _until_left(question: Callable[[str], _T], unasked: _T,
                left: list[bool]) -> Callable[[str], _T]:
    """``question``, or ``unasked`` once the patient has left the questions.

    Ctrl-C or Ctrl-D (the end of input; click turns both into ``Abort``) leaves them: this
    question gets ``unasked``, :data:`QUESTIONS_SKIPPED` is said, and ``left``, shared by the
    questions of one session, is marked so that those still to come are not asked.
    """
    def asked(text: str) -> _T:
        if left:
            return unasked
        try:
            return question(text)
        except (click.Abort, KeyboardInterrupt, EOFError):
            left.append(True)
            click.echo(f"\n{QUESTIONS_SKIPPED}")
            return unasked

    return asked


def _ask_interactively() -> Answers:
    """Ask pain and the red flags in the terminal. The patient may leave the questions
    (Ctrl-C, or Ctrl-D): the rest are skipped (pain unknown, the red flags still to come
    recorded as not asked, never as "no") and the answers given before are kept, so that a red
    flag answered yes still reaches the physiotherapist."""
    def prompt_int(text: str) -> int | None:
        value = click.prompt(text + " (Enter to skip)", default="", show_default=False,
                             type=str)
        while value.strip():
            if value.strip().isdigit() and 0 <= int(value) <= 10:
                return int(value)
            value = click.prompt("Please type a number from 0 to 10", default="",
                                 show_default=False, type=str)
        return None

    def confirm(question: str) -> bool | None:
        return click.confirm(question, default=False)

    click.echo("\nA few questions about how you are today.")
    left: list[bool] = []
    return ask(_until_left(prompt_int, None, left), _until_left(confirm, None, left))


def run_guided(*, plan_path: str | None, answers: str | None, yes: bool, rest_s: float,
               headless: bool, options_factory: Callable[..., Any]) -> None:
    """The body of ``rehab session`` (see :func:`wearable.cli.session_command`).

    The end questions are asked however the sets end, also when the sensor was lost: they need
    no sensor, and a red flag must reach the patient's advice and the physiotherapist's alerts.
    Why the session stopped comes first, in one plain line (a ``session_stopped`` event when
    headless). A patient who leaves the questions (Ctrl-C, Ctrl-D) has the session closed,
    reported and synced all the same, with the answers given until then. Whoever did not
    answer (left the questions; ``--yes`` or ``--headless`` without ``--answers``), the red-flag
    questions not asked are stored as such and the patient is told to answer them next time.
    """
    from wearable.cli import _run, link_failure, open_store
    from wearable.runner import run_sets
    from wearable.stopped import SessionStopped
    from wearable.ui import HeadlessUI, LiveUI

    try:
        plan = load_plan(Path(plan_path) if plan_path else rehab_home() / PLAN_FILE)
    except PlanError as exc:
        raise BadInput(str(exc)) from None
    try:
        given = parse_answers(answers) if answers is not None else None
    except AnswersError as exc:
        raise BadInput(str(exc)) from None
    options = options_factory(rest_s=rest_s)
    interactive = not headless and sys.stdin is not None and sys.stdin.isatty()
    if not headless:
        click.echo(_plan_summary(plan))
        if interactive and not yes and not click.confirm("Ready to start?", default=True):
            return
    sets = session_sets(plan)
    store = open_store()
    failure: click.ClickException | None = None
    try:
        async def go(keys: Any) -> Any:
            if headless:
                return await run_sets(sets, store, HeadlessUI(), options, keys=keys,
                                      prescription_version=plan.version)
            with LiveUI() as ui:
                return await run_sets(sets, store, ui, options, keys=keys,
                                      prescription_version=plan.version)

        stopped: SessionStopped | None = None
        try:
            result = _run(go, end_key="q")
        except SessionStopped as exc:  # the sensor was lost: the questions come all the same
            stopped = exc
            # said before the questions, which would otherwise come with no reason given
            said = stopped.lead_in()
            click.echo(json.dumps({"event": "session_stopped", "text": said}) if headless
                       else said)
        if given is not None:
            final = given
        elif interactive and not yes:
            final = _ask_interactively()
        else:
            final = NOT_ASKED
        if stopped is None:
            session_id: str | None = result.session_id
            store.finish_session(result.session_id, "completed", final)
        else:
            failure = link_failure(stopped, stopped.close(store, final))
            session_id = stopped.kept
        document = store.session_document(session_id) if session_id is not None else None
    finally:
        store.close()
    syncing = sync_in_background() is not None
    _report(final, document, syncing, headless, summary=failure is None)
    if failure is not None:
        raise failure


def _report(final: Answers, document: dict[str, Any] | None, syncing: bool, headless: bool,
            summary: bool) -> None:
    """Advice for the red flags answered yes, what to do about the red-flag questions not
    asked, then the stored session (``document``, None when nothing was kept); ``summary``: the
    sets done, when the session ended as it should."""
    notice = final.unfinished_notice
    if headless:
        for text in final.advice:
            click.echo(json.dumps({"event": "advice", "text": text}))
        if notice:
            click.echo(json.dumps({"event": "questions_unfinished", "text": "\n".join(notice),
                                   "red_flags_unasked": list(final.red_flags_unasked)}))
        if document is not None:
            click.echo(json.dumps({"event": "session", "document": document}))
        return
    for text in final.advice:
        click.secho(text, fg="red", bold=True)
    if final.red_flags:
        names = ", ".join(RED_FLAGS[f].id for f in final.red_flags)
        click.echo(f"Recorded for your physiotherapist: {names}.")
    if notice:
        click.secho(notice[0], fg="yellow", bold=True)
        click.echo("\n".join(notice[1:]))
    if document is None:
        return
    if summary:
        done = [s for s in document["sets"] if not s["skipped"] and s["result"]]
        reps = sum(s["result"]["rep_count"] for s in done)
        click.echo(f"Session saved: {len(done)} sets, {reps} reps. Thank you - see you next "
                   "time!")
    if syncing:
        click.echo("Sending it to your physiotherapist in the background.")
