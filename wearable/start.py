"""Starting a connected sensor: its fixed start writes, or ask, start from the answer, check.

A profile with a :class:`~firmware_protocol.registry.StartQuery` (Polar PMD) is asked what it
offers; the start is built from its answer and the sensor must confirm it. Answers arrive in a
queue that the control characteristic's notification callback fills (callbacks only enqueue),
so an answer that comes before this code waits for it is not lost.
"""

from __future__ import annotations

import asyncio

from bleak import BleakClient

from firmware_protocol.registry import SensorProfile, StartQuery, Write


class StartRefused(ValueError):
    """The sensor answered, and it cannot be started as asked; the message says why."""


async def start_sensor(client: BleakClient, profile: SensorProfile, rate_hz: float,
                       answers: asyncio.Queue[bytes]) -> float:
    """Start streaming; returns the rate the sensor was started at, Hz: the one of its rates
    nearest to ``rate_hz``.

    Parameters
    ----------
    client : BleakClient
        Connected, with notifications enabled on ``profile.subscribe_first``.
    profile : SensorProfile
        The sensor family.
    rate_hz : float
        The rate wanted, Hz (a sensor is started at its rate nearest to it; one with a start
        query at the offered rate nearest to it).
    answers : asyncio.Queue of bytes
        Notifications/indications of ``profile.subscribe_first``, in order of arrival.

    Raises
    ------
    StartRefused
        The sensor answered with an error, offered nothing usable or refused the start.
    TimeoutError
        It did not answer within the query's ``timeout_s``.
    """
    started_hz = profile.rate_for(rate_hz)
    if started_hz is not None:  # fixed writes (start_builder), at the nearest of its rates
        await _write_all(client, profile.start_commands(rate_hz))
        return started_hz
    query = profile.start_query
    assert query is not None  # SensorProfile: a profile without rates has a start query
    while not answers.empty():  # anything from before this start is not an answer to it
        answers.get_nowait()
    await _write_all(client, [query.write])
    answer = await _answer(answers, query, f"the request for {query.subject}")
    try:
        writes, started_hz = query.build(answer, rate_hz)
    except ValueError as exc:
        raise StartRefused(f"cannot be started with {query.subject}: {exc}") from None
    await _write_all(client, writes)
    confirmation = await _answer(answers, query, "the start command")
    try:
        query.confirm(confirmation)
    except ValueError as exc:
        raise StartRefused(f"refused to start streaming: {exc}") from None
    return started_hz


async def _write_all(client: BleakClient, writes: list[Write]) -> None:
    for uuid, value, response in writes:
        await client.write_gatt_char(uuid, value, response=response)


async def _answer(answers: asyncio.Queue[bytes], query: StartQuery, what: str) -> bytes:
    try:
        return await asyncio.wait_for(answers.get(), query.timeout_s)
    except TimeoutError:
        raise TimeoutError(f"no answer to {what} within {query.timeout_s:g} s") from None


def rate_note(sensor_name: str, profile: SensorProfile, asked_hz: float,
              streamed_hz: float) -> str | None:
    """What the patient is told when a sensor streams at another rate than the one asked for
    (``--rate``), Hz; None when it streams at that rate.

    >>> from firmware_protocol.registry import PROFILES
    >>> rate_note("RehabLink-0001", PROFILES["rehablink"], 60.0, 50.0)  # doctest: +ELLIPSIS
    'RehabLink-0001 cannot sample at 60 Hz: it streams at 50 Hz, the nearest of its rates (25...'
    >>> rate_note("Polar Sense 1", PROFILES["polar_pmd"], 100.0, 52.0)
    'Polar Sense 1 cannot sample at 100 Hz: it streams at 52 Hz, the nearest rate it offers.'
    >>> rate_note("RehabLink-0001", PROFILES["rehablink"], 50.0, 50.0) is None
    True
    """
    if streamed_hz == asked_hz:
        return None
    rates = profile.rates
    which = "the nearest rate it offers" if rates is None else \
        f"the nearest of its rates ({rates.words()})"
    return f"{sensor_name} cannot sample at {asked_hz:g} Hz: it streams at {streamed_hz:g} Hz, " \
        f"{which}."
