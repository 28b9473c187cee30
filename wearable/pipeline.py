"""From notification bytes to ordered, timed sample blocks: the pure core of a sensor stream.

No Bluetooth and no event loop: :class:`~wearable.notifications.NotificationConsumer` passes in
each notification with its host arrival time (``time.monotonic()``) and the pipeline decodes it
with the profile's decoder, puts packets in order (:class:`~wearable.ledger.PacketLedger`),
times the samples on the stream's clock (:class:`~wearable.clock.ClockAligner` for sensors that
stamp their samples, :class:`~wearable.timeline.UntimedTimeline` for those that do not) and
gathers them as :class:`SampleBlock` objects until :meth:`SamplePipeline.take_block`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from firmware_protocol import rehablink_profile as rl
from firmware_protocol.registry import SensorProfile
from firmware_protocol.samples import ControlledDecoder, SampleBatch
from wearable.clock import ClockAligner
from wearable.ledger import PacketLedger
from wearable.timeline import UntimedTimeline

#: Sequence-number modulus of the RehabLink profile (u16).
RL_MODULUS = 1 << 16


def rebooted_while_away(next_sequence: int, last_sequence: int | None) -> bool:
    """Whether a sensor of our profile rebooted while the link was down: the next sequence
    number its Status gives is behind the last one seen (u16, wrapping).

    >>> rebooted_while_away(5, 1000), rebooted_while_away(1001, 1000)
    (True, False)
    >>> rebooted_while_away(3, 65530), rebooted_while_away(7, None)  # wrapped; nothing seen
    (False, False)
    """
    if last_sequence is None:
        return False
    return (next_sequence - (last_sequence + 1)) % RL_MODULUS >= RL_MODULUS // 2


#: RESEND_FROM answers that carry a plan (SPEC.md 7.2).
_PLANNED = (rl.ResultCode.OK, rl.ResultCode.NOT_IN_BUFFER)


@dataclass(frozen=True, eq=False)
class SampleBlock:
    """Samples in order on the stream's clock (sensor time, s, continuous across reconnects
    and reboots), with the host's monotonic arrival time of the packet."""

    t: np.ndarray
    acc: np.ndarray
    gyro: np.ndarray | None
    arrival_s: float


@dataclass
class StreamCounters:
    """Samples handed on, malformed frames dropped, reboots seen."""

    received: int = 0
    malformed: int = 0
    reboots: int = 0


class SamplePipeline:
    """Decode, order and time the notifications of one sensor.

    Parameters
    ----------
    profile : SensorProfile
        The sensor family.
    rate_hz : float
        The rate streamed, Hz (times the samples of sensors without timestamps).
    """

    def __init__(self, profile: SensorProfile, rate_hz: float) -> None:
        self.profile = profile
        self.counters = StreamCounters()
        self.ledger: PacketLedger[SampleBatch] = PacketLedger(can_resend=profile.can_resend)
        self.aligner = ClockAligner(wrap_s=None, max_jump_back_s=None)
        self.untimed = UntimedTimeline(rate_hz)
        self._decoder = profile.new_decoder()
        self._started_hz: float | None = None
        self._epoch_restart = False
        self._latest_raw: float | None = None
        self._timed: bool | None = None  # whether the sensor stamps its samples
        self._blocks: list[SampleBlock] = []
        #: Host time of the last data notification, s (None before the first).
        self.last_data_s: float | None = None

    def host_time(self, stream_t: float) -> float:
        """Host monotonic time, s, of a time on the stream's clock."""
        if self._timed is False:
            return self.untimed.aligner.to_host(stream_t)
        return self.aligner.to_host(stream_t)

    # -- input ------------------------------------------------------------------------------
    def data(self, payload: bytes, arrival: float) -> None:
        """One Data notification."""
        self.last_data_s = arrival
        dropped = self._decoder.dropped
        for batch in self._decoder.feed(payload):
            if batch.sequence is not None:
                for released in self.ledger.push(batch.sequence, batch, arrival):
                    self._emit(released, arrival)
            else:
                self._emit(batch, arrival)
        self.counters.malformed += self._decoder.dropped - dropped

    def control(self, payload: bytes, arrival: float) -> None:
        """One Control response: with our profile a resend plan tells what the ring still
        holds and where the stream has got to; decoders that read their control channel
        (Polar's start response carries the stream factor) are handed it.

        A plan answers the request it was sent for, which may not be the oldest hole (the tail
        of a stream is asked for from after the last packet seen): OK ``(s, count)`` loses
        nothing, only NOT_IN_BUFFER ``(oldest, count)`` does (SPEC.md 7.2). Either way the
        sensor has sent everything before ``s + count``.
        """
        if self.profile.id != "rehablink":
            if isinstance(self._decoder, ControlledDecoder):
                self._decoder.on_control_response(payload)
            return
        try:
            response = rl.Response.from_bytes(payload)
            if response.opcode != rl.Opcode.RESEND_FROM or response.result not in _PLANNED:
                return  # BUSY or another command's answer: the ledger asks again when due
            plan = rl.ResendPlan.from_bytes(response.payload)
        except ValueError:
            self.counters.malformed += 1
            return
        if response.result == rl.ResultCode.NOT_IN_BUFFER:
            for batch in self.ledger.resend_unavailable(plan.first_sequence):
                self._emit(batch, arrival)
        self.ledger.sent_before((plan.first_sequence + plan.count) % RL_MODULUS, arrival)

    def status(self, payload: bytes, arrival: float) -> rl.Status | None:
        """One Status notification (our profile), or None when malformed (counted). Its next
        sequence says which packets the sensor has sent: a last packet lost at the end of a
        stream becomes a hole to resend."""
        try:
            status = rl.Status.from_bytes(payload)
        except ValueError:
            self.counters.malformed += 1
            return None
        self.ledger.sent_before(status.next_sequence, arrival)
        return status

    def started(self, rate_hz: float) -> None:
        """The sensor was started at ``rate_hz`` (a Polar sensor's rate is known only then):
        decoders that read the control channel (Polar's spaces its first frame by it) are told."""
        self._started_hz = rate_hz
        self._tell_rate()

    def _new_decoder(self) -> None:
        self._decoder = self.profile.new_decoder()
        self._tell_rate()

    def _tell_rate(self) -> None:
        if self._started_hz is not None and isinstance(self._decoder, ControlledDecoder):
            self._decoder.on_started(self._started_hz)

    def poll(self, now: float) -> None:
        """Give up holes that waited too long (see :meth:`PacketLedger.poll`)."""
        for batch in self.ledger.poll(now):
            self._emit(batch, now)

    def sensor_rebooted(self, now: float) -> None:
        """The sensor's numbering and clock restarted: what follows is a new epoch."""
        self.counters.reboots += 1
        for batch in self.ledger.restart():
            self._emit(batch, now)
        self._new_decoder()
        self._epoch_restart = True
        self._latest_raw = None

    def clock_may_have_restarted(self) -> None:
        """A sensor that cannot resend reconnected: it may have restarted its clock, so what
        follows is placed by the host clock."""
        self._new_decoder()
        self._epoch_restart = True

    def finish(self, now: float) -> None:
        """End of stream: remaining holes are lost; what waited behind them is emitted."""
        for batch in self.ledger.flush():
            self._emit(batch, now)

    # -- output -----------------------------------------------------------------------------
    def take_block(self) -> SampleBlock | None:
        """Everything emitted since the last call, as one block (None when nothing)."""
        blocks, self._blocks = self._blocks, []
        if len(blocks) <= 1:
            return blocks[0] if blocks else None
        gyros = [b.gyro for b in blocks]
        gyro = None if any(g is None for g in gyros) else \
            np.concatenate([g for g in gyros if g is not None])
        return SampleBlock(np.concatenate([b.t for b in blocks]),
                           np.concatenate([b.acc for b in blocks]), gyro, blocks[-1].arrival_s)

    def _emit(self, batch: SampleBatch, arrival: float) -> None:
        n = len(batch)
        if n == 0:
            return
        self._timed = batch.sensor_time_s is not None
        if batch.sensor_time_s is not None:
            raw = batch.sensor_time_s
            if self._epoch_restart:
                self.aligner.restart_epoch(float(raw[0]), arrival)
                self._epoch_restart = False
                self._latest_raw = None
            if self._latest_raw is None or raw[-1] > self._latest_raw:
                self._latest_raw = float(raw[-1])
                last = self.aligner.observe(float(raw[-1]), arrival)
            else:  # a resent packet: its arrival says nothing about the clocks
                last = self.aligner.unwrap(float(raw[-1]))
            t = raw + (last - float(raw[-1]))
        else:
            t = self.untimed.place(n, arrival)
        self.counters.received += n
        self._blocks.append(SampleBlock(t, batch.acc_g, batch.gyro_dps, arrival))
