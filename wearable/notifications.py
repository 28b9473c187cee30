"""Notifications in, sample blocks out: the callbacks that only enqueue, and the consumer task.

A notification callback runs inside the Bluetooth stack's dispatch: it only puts
``(time.monotonic(), channel, bytes)`` on a queue and wakes the consumer (a start query's
answers also go to their own queue, :mod:`wearable.start`). The consumer wakes at most every
:data:`ROUND_S`, hands everything queued to the pure :class:`~wearable.pipeline.SamplePipeline`,
asks for lost packets again when the ledger says so and passes what was decoded on as one
:class:`~wearable.pipeline.SampleBlock` per round.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Coroutine
from typing import Any

from bleak.exc import BleakError

from firmware_protocol import rehablink_profile as rl
from wearable.pipeline import SampleBlock, SamplePipeline

#: Shortest time between two rounds of the consumer, s.
ROUND_S = 0.02


class NotificationConsumer:
    """The queue the callbacks fill and the task that empties it into ``pipeline``.

    Parameters
    ----------
    pipeline : SamplePipeline
        Decodes, orders and times what arrives.
    on_samples : callable
        Called with each :class:`SampleBlock`, in order, on the event loop.
    on_status : callable
        Called with each Status notification of our profile (battery level).
    request_resend : callable
        Coroutine function asking the sensor to resend from a raw sequence number.
    on_tick : callable, optional
        Called once a round, a few times a second (to flush the store when idle).
    """

    def __init__(self, pipeline: SamplePipeline, on_samples: Callable[[SampleBlock], None],
                 on_status: Callable[[rl.Status], None],
                 request_resend: Callable[[int], Coroutine[Any, Any, None]],
                 on_tick: Callable[[], None] | None = None) -> None:
        self.pipeline, self.on_samples, self.on_tick = pipeline, on_samples, on_tick
        self.on_status, self.request_resend = on_status, request_resend
        self._queue: asyncio.Queue[tuple[float, str, bytes]] = asyncio.Queue()
        #: Answers on the control channel, for a start query (:func:`wearable.start.start_sensor`).
        self.answers: asyncio.Queue[bytes] = asyncio.Queue()
        self._ready = asyncio.Event()
        self._running = False

    def callback(self, channel: str) -> Callable[[Any, bytearray], None]:
        """The notification callback of one channel (``data``, ``control`` or ``status``)."""
        queue, ready = self._queue, self._ready
        query = channel == "control" and self.pipeline.profile.start_query is not None
        answers = self.answers if query else None

        def enqueue(_sender: Any, data: bytearray) -> None:
            payload = bytes(data)
            queue.put_nowait((time.monotonic(), channel, payload))
            if answers is not None:
                answers.put_nowait(payload)
            ready.set()

        return enqueue

    def start(self) -> asyncio.Task[None]:
        """Run the consumer as a task until :meth:`finish`."""
        self._running = True
        return asyncio.create_task(self._consume())

    def finish(self) -> None:
        """Ask the consumer to end after its round (rather than cancel it: a cancel that lands
        while ``wait_for()`` completes is lost on Python 3.11)."""
        self._running = False

    async def _consume(self) -> None:
        resend_task: asyncio.Task[None] | None = None
        queue = self._queue
        while self._running:
            if queue.empty():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._ready.wait(), 0.1)
            self._ready.clear()
            # Everything queued is handled in one go (no await per notification).
            while not queue.empty():
                self._handle(*queue.get_nowait())
            now = time.monotonic()
            self.pipeline.poll(now)
            request = self.pipeline.ledger.resend_request(now)
            if request is not None and (resend_task is None or resend_task.done()):
                resend_task = asyncio.create_task(self.request_resend(request))
            self.hand_on()
            if self.on_tick:
                self.on_tick()
            # Let a few notifications gather: one round per ~20 ms, not one per notification.
            await asyncio.sleep(ROUND_S)
        if resend_task is not None:
            with contextlib.suppress(BleakError, TimeoutError, EOFError):
                await resend_task

    def drain(self) -> None:
        """Hand everything queued to the pipeline now (before a reboot restarts the numbering,
        and at the end)."""
        while not self._queue.empty():
            self._handle(*self._queue.get_nowait())

    def _handle(self, arrival: float, channel: str, data: bytes) -> None:
        if channel == "data":
            self.pipeline.data(data, arrival)
        elif channel == "control":
            self.pipeline.control(data, arrival)
        elif channel == "status":
            status = self.pipeline.status(data, arrival)
            if status is not None:
                self.on_status(status)

    def hand_on(self) -> None:
        """Hand what the pipeline decoded to ``on_samples`` as one block (fewer, larger calls
        keep the per-notification cost low at MTU 23)."""
        block = self.pipeline.take_block()
        if block is not None:
            self.on_samples(block)
