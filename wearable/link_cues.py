"""Cues about the sensor, for a patient who is not looking at the screen.

A patient lying on the floor for a bridge, or gone to the kitchen in a rest, does not see the
status line. :class:`LinkWatch` turns the link's state and silence into three cues, each given
once: no signal for :func:`~wearable.silence.come_near_after_s` (come near this computer), data
again after that (carry on), and the sensor given up (the session has stopped). Pure: the runner
passes in what the link says and plays the cues.
"""

from __future__ import annotations

from wearable.link import LinkState
from wearable.session import Cue, CueKind
from wearable.silence import come_near_after_s

#: What the patient hears when the sensor has sent nothing for a while.
SIGNAL_LOST_TEXT = "No signal from the sensor. Please come back near the computer."
#: ... when it sends again after that.
SIGNAL_BACK_TEXT = "The sensor is connected again. Carry on."
#: ... when it is given up.
SENSOR_LOST_TEXT = "The sensor was lost, so the session has stopped. What you did is saved."


class LinkWatch:
    """The cues of one link, each given once per loss.

    Parameters
    ----------
    give_up_after_s : float
        The link's give-up time, s (the "come near" cue comes well before it).

    Examples
    --------
    >>> watch = LinkWatch(120.0)
    >>> watch.update(LinkState.RECONNECTING, 4.0, last_data_s=96.0)  # a short drop-out
    []
    >>> [c.kind.value for c in watch.update(LinkState.RECONNECTING, 10.0, 96.0)]
    ['signal_lost']
    >>> watch.update(LinkState.RECONNECTING, 30.0, 96.0)  # said once
    []
    >>> [c.kind.value for c in watch.update(LinkState.STREAMING, 0.0, 131.5)]
    ['signal_back']
    """

    def __init__(self, give_up_after_s: float) -> None:
        self.come_near_after_s = come_near_after_s(give_up_after_s)
        self._warned = False
        self._warned_after_s: float | None = None  # the last data before the warning, s
        self._lost = False

    def update(self, state: LinkState, silent_s: float | None,
               last_data_s: float | None) -> list[Cue]:
        """The cues due now.

        Parameters
        ----------
        state : LinkState
            The link's state.
        silent_s : float or None
            The link's silence as the give-up time counts it (pauses and rests left out), s;
            None before the first stream.
        last_data_s : float or None
            Host time of the sensor's last data, s (None before any).
        """
        if state == LinkState.LOST:
            if self._lost:
                return []
            self._lost = True
            return [Cue(CueKind.SENSOR_LOST, SENSOR_LOST_TEXT)]
        if self._warned:
            since = self._warned_after_s
            if last_data_s is not None and (since is None or last_data_s > since):
                self._warned = False
                return [Cue(CueKind.SIGNAL_BACK, SIGNAL_BACK_TEXT)]
            return []
        if silent_s is not None and silent_s >= self.come_near_after_s and \
                state != LinkState.STOPPED:
            self._warned, self._warned_after_s = True, last_data_s
            return [Cue(CueKind.SIGNAL_LOST, SIGNAL_LOST_TEXT)]
        return []
