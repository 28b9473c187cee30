"""A session the link ended mid-way: the sensor was lost, or refused to start again.

The runner ends the set under way with what it received and raises :class:`SessionStopped` with
the session still open, as a normal end leaves it, so that ``rehab session`` can ask the end
questions (they need no sensor: a patient who lost the sensor may still have a red flag) and
store the answers with the session when :meth:`SessionStopped.close` closes it.
"""

from __future__ import annotations

from wearable.link import SensorLost, StreamError
from wearable.questions import NOT_ASKED, Answers
from wearable.recorder import SetOutcome
from wearable.scan import FoundSensor
from wearable.silence import span_words
from wearable.store import CompanionStore


class SessionStopped(Exception):
    """The link ended a session mid-way; :meth:`close` closes it.

    Parameters
    ----------
    failure : StreamError
        What ended it: :class:`~wearable.link.SensorLost`, or a sensor that refused to start.
    session_id : str
        The session, still ``recording``.
    sensor : FoundSensor
        The sensor streamed.
    outcomes : list of SetOutcome
        The sets this run ended (the last one with what it received).
    give_up_after_s : float
        The silence after which the sensor was given up, s.
    continued : bool
        The session was begun by an earlier run (another sensor): it is kept whatever happens.
    """

    def __init__(self, failure: StreamError, session_id: str, sensor: FoundSensor,
                 outcomes: list[SetOutcome], give_up_after_s: float, continued: bool) -> None:
        super().__init__(str(failure))
        self.failure, self.session_id, self.sensor = failure, session_id, sensor
        self.outcomes, self.give_up_after_s, self.continued = outcomes, give_up_after_s, continued
        #: The session kept by :meth:`close` (None before it, or when it was dropped).
        self.kept: str | None = None

    @property
    def lost(self) -> bool:
        """The sensor was lost (as opposed to refusing to start again)."""
        return isinstance(self.failure, SensorLost)

    @property
    def recorded(self) -> bool:
        """The session holds samples (from this run, or from an earlier one it continued)."""
        return self.continued or any(o.samples_received for o in self.outcomes)

    def lead_in(self) -> str:
        """One plain line for the patient as the session stops, before the end questions (the
        last frame of the live display only says the session has stopped): what happened to
        the sensor and whether what they did is kept. The full line comes from :meth:`close`."""
        if self.lost:
            why = "The sensor stopped sending" if self.recorded else "The sensor sent nothing"
        else:
            why = "The sensor would not start again"
        kept = " What you did is saved." if self.recorded else ""
        return f"{why}, so the session has stopped.{kept}"

    def close(self, store: CompanionStore, answers: Answers = NOT_ASKED) -> str:
        """Close the session as ``interrupted`` with the answers to the end questions
        (queued for the clinic, red flags and all; by default none was asked); a session this
        run began that has neither samples nor any answer (pain, or a red-flag question
        answered yes or no) is dropped instead. Returns one line for the patient: what happened,
        what is kept (:attr:`kept`), what to try."""
        if self.continued or answers.answered or not store.discard_session(self.session_id):
            store.finish_session(self.session_id, "interrupted", answers)
            self.kept = self.session_id
        return self._words()

    def _words(self) -> str:
        if self.kept is None:
            saved = "nothing had been recorded yet"
        elif not self.recorded:
            saved = f"nothing had been recorded yet; your answers are saved (session " \
                f"{self.kept[:8]})"
        else:
            reps = sum(o.result.rep_count for o in self.outcomes if o.result is not None)
            saved = f"what was recorded is saved (session {self.kept[:8]}, {reps} rep" + \
                ("s)" if reps != 1 else ")")
        sensor = self.sensor
        if self.lost:
            return (f"lost the sensor {sensor.name} ({sensor.address}): nothing came from it for "
                    f"{span_words(self.give_up_after_s)}, so the session was stopped; {saved}. "
                    "Check that the sensor is switched on and charged, keep it near this "
                    "computer and start again.")
        return f"{self.failure} The session was stopped; {saved}."
