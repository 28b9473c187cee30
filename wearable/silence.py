"""How long a sensor may send nothing before the companion reconnects it or gives it up.

Pure rules on host times (``time.monotonic()``, s) and the :class:`SilenceClock` that keeps the
count; :class:`~wearable.stream.SensorLink` applies them. A sensor that has streamed and then
sends no data, whether its link is down (out of range, switched off, flat battery) or up and
silent (a hung firmware, a stream that did not restart after a reconnection), is handled in two
steps:

- connected but silent for :func:`reconnect_after_s`: disconnected and connected again, which
  restarts its stream;
- silent for ``give_up_after_s`` (:data:`GIVE_UP_AFTER_S` unless the patient says otherwise with
  ``--give-up-after``): the link stops trying and the session stops, with everything recorded
  kept. Counted from the last data (or from the first stream set up, when none came), so
  reconnections that bring no data do not reset it. The count stops while the patient is not
  meant to be exercising, when they have paused the session or rest between sets (they may
  put the sensor down or walk away with it), and goes on from there when they exercise again.

A reconnection that found the sensor again before the limit is not cut short by it: it gets up
to :func:`reconnect_after_s` more to connect, start and bring its first data.

The limit is a time, not a number of attempts: an attempt takes anything from a second to a
minute (a 5 s scan, up to three connection tries of up to 20 s each, a start query), and a time
is what a patient can be told.
"""

from __future__ import annotations

#: Longest a sensor that has streamed may send no data before the session stops, s. A patient can
#: walk out of range for a minute and come back: the sensor is then found again (a 5 s scan),
#: connected and, with our profile, asked for what it kept meanwhile (SPEC.md 7: it keeps
#: sampling for 60 s without a host).
GIVE_UP_AFTER_S = 120.0

#: A connected sensor that sends no data for this long is disconnected and connected again, s
#: (sensors stream 25-200 samples a second, so 10 s of silence is a stuck stream, not a pause).
SILENT_RECONNECT_S = 10.0


#: Up to this long without data a drop-out is short and the patient is told to keep going; after
#: it, to come near this computer (shown, rung and spoken), s.
KEEP_GOING_S = 10.0


def come_near_after_s(give_up_after_s: float) -> float:
    """Silence, s, after which the patient is told to come near this computer:
    :data:`KEEP_GOING_S`, or half the give-up time when that is shorter (they are told before
    the session stops).

    >>> come_near_after_s(120.0), come_near_after_s(3.0)
    (10.0, 1.5)
    """
    return min(KEEP_GOING_S, give_up_after_s / 2)


def reconnect_after_s(give_up_after_s: float) -> float:
    """Silence, s, after which a connected sensor is connected again: :data:`SILENT_RECONNECT_S`,
    or half the give-up time when that is shorter (a fresh connection is tried before giving up).
    Also how long past the give-up time a reconnection under way may take to bring data.

    >>> reconnect_after_s(120.0), reconnect_after_s(4.0)
    (10.0, 2.0)
    """
    return min(SILENT_RECONNECT_S, give_up_after_s / 2)


def silent_s(now_s: float, last_data_s: float | None, since_s: float,
             paused_at_s: float | None = None) -> float:
    """Seconds without data at ``now_s``: from the last data, or from ``since_s`` (when the
    stream was set up) if that is later or no data ever came. While the count is stopped (since
    ``paused_at_s``: a pause, or the rest between sets) it stays where the stop found it.
    Times are host times, s.

    >>> silent_s(100.0, 95.0, 90.0), silent_s(100.0, 95.0, 98.0), silent_s(100.0, None, 70.0)
    (5.0, 2.0, 30.0)
    >>> silent_s(100.0, 95.0, 90.0, paused_at_s=97.0), silent_s(100.0, 98.0, 90.0, 97.0)
    (2.0, 0.0)
    """
    end_s = now_s if paused_at_s is None else min(now_s, paused_at_s)
    return max(end_s - max(since_s, last_data_s if last_data_s is not None else since_s), 0.0)


def resumed_since_s(now_s: float, last_data_s: float | None, since_s: float,
                    paused_at_s: float) -> float:
    """The ``since_s`` to count silence from when a pause or a rest (since ``paused_at_s``)
    ends at ``now_s``: the count goes on from where it stopped, s.

    >>> resumed_since_s(200.0, 95.0, 90.0, 97.0)  # 2 s without data before the pause
    198.0
    """
    return now_s - silent_s(now_s, last_data_s, since_s, paused_at_s)


def span_words(seconds: float) -> str:
    """A span for the patient: whole minutes in words, anything else in seconds.

    >>> span_words(120.0), span_words(60.0), span_words(90.0), span_words(1.5)
    ('2 minutes', '1 minute', '90 s', '1.5 s')
    """
    minutes = seconds / 60.0
    if seconds >= 60.0 and minutes == int(minutes):
        return f"{int(minutes)} minute" + ("s" if minutes > 1 else "")
    return f"{seconds:g} s"


class SilenceClock:
    """The count of silence the give-up limit is measured against, for one link.

    Pure: the caller passes in host times (``time.monotonic()``, s) and the host time of the
    last data (None before any). The count starts at the first stream set up; pauses and the
    rests between sets stop it (:meth:`set_paused`, which
    :meth:`~wearable.stream.SensorLink.set_resting` calls for both).

    >>> clock = SilenceClock()
    >>> clock.silent_for_s(5.0, None) is None  # nothing streamed yet
    True
    >>> clock.streaming(10.0); clock.silent_for_s(14.0, 12.0)
    2.0
    >>> clock.set_paused(True, 14.0, 12.0); clock.silent_for_s(100.0, 12.0)
    2.0
    >>> clock.set_paused(False, 100.0, 12.0); clock.silent_for_s(103.0, 12.0)
    5.0
    """

    def __init__(self) -> None:
        #: Host time the first stream was set up, s (None before).
        self.streamed_since_s: float | None = None
        #: Host time silence counts from when no data came after it, s: the first stream set
        #: up, moved on by pauses and rests (None before the first stream).
        self._since_s: float | None = None
        self._paused_at_s: float | None = None

    def streaming(self, now_s: float) -> None:
        """A stream was set up at ``now_s``, s: the count starts at the first one."""
        if self.streamed_since_s is None:
            self.streamed_since_s = self._since_s = now_s

    def silent_for_s(self, now_s: float, last_data_s: float | None) -> float | None:
        """Seconds without data at ``now_s``, pauses and rests left out, s (None before the
        first stream)."""
        if self._since_s is None:
            return None
        return silent_s(now_s, last_data_s, self._since_s, self._paused_at_s)

    def set_paused(self, paused: bool, now_s: float, last_data_s: float | None) -> None:
        """Stop the count at ``now_s`` (``paused``: the session is paused, or the patient rests
        between sets) or let it go on from where it stopped."""
        paused_at = self._paused_at_s
        if paused and paused_at is None:
            self._paused_at_s = now_s
        elif not paused and paused_at is not None:
            if self._since_s is not None:
                self._since_s = resumed_since_s(now_s, last_data_s, self._since_s, paused_at)
            self._paused_at_s = None
