"""The sensor registry: which sensors RehabLink speaks to, how to recognise and start them.

The registry is data: one :class:`SensorProfile` per supported sensor family in :data:`PROFILES`.
Matching an advertisement and the "unsupported sensor" message are both built from it, so the
list of supported sensors can never drift from what the code can decode.

Most sensors start with fixed writes (``start_builder``) at the one of their :class:`Rates`
nearest to the rate asked for. A sensor that must first say what it offers (Polar PMD) has a
:class:`StartQuery` instead: the companion asks, builds the start from the answer (the offered
rate nearest to the one asked for) and checks the sensor's confirmation.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from firmware_protocol import microbit, polar_pmd, rehablink_profile, thingy52, witmotion
from firmware_protocol import movesense as ms
from firmware_protocol import polar_pmd_control as pmd
from firmware_protocol.rates import Rates
from firmware_protocol.rehablink_profile import Command
from firmware_protocol.samples import StreamDecoder

#: A GATT write: (characteristic UUID, value, write with response).
Write = tuple[str, bytes, bool]


@dataclass(frozen=True)
class StartQuery:
    """How to start a sensor that must first say what it offers.

    With notifications/indications enabled on the profile's ``subscribe_first``
    characteristics, the companion writes ``write``; the first answer there goes to
    ``build(answer, rate_hz)``, which returns the start writes and the rate they configure, Hz;
    after those writes, the next answer goes to ``confirm``. ``build`` and ``confirm`` raise
    ``ValueError`` with a message for the user when the sensor answered with an error or offered
    nothing usable. A sensor that does not answer within ``timeout_s`` has failed to start.

    Attributes
    ----------
    write : Write
        The question.
    subject : str
        What is asked, for messages ("its accelerometer settings").
    build, confirm : callable
        See above.
    timeout_s : float
        Longest wait for each answer, s.
    """

    write: Write
    subject: str
    build: Callable[[bytes, float], tuple[list[Write], float]] = field(repr=False)
    confirm: Callable[[bytes], None] = field(repr=False)
    timeout_s: float = 3.0


@dataclass(frozen=True)
class SensorProfile:
    """How to recognise, start, stop and decode one sensor family.

    Attributes
    ----------
    id, name : str
        Registry key (``rehab decode --profile ID``) and a human name.
    service_uuid, data_uuid : str
        Primary service and the characteristic whose notifications carry samples.
    control_uuid : str or None
        Characteristic the start/stop commands are written to, if any.
    name_patterns : tuple of str
        Case-insensitive shell patterns matched against the advertised local name.
    has_gyro, can_resend : bool
        Whether the stream carries angular rate; whether lost packets can be requested again.
    default_rate_hz : float
        Rate requested when the caller does not choose one.
    start_builder : callable or None
        ``start_builder(rate_hz)``: the writes that start the sensor at ``rate_hz``, one of its
        ``rates`` (see :meth:`start_commands`).
    rates : Rates or None
        The rates ``start_builder`` can set (None for a sensor with a ``start_query``, whose
        answer says what it offers).
    start_query : StartQuery or None
        For sensors started from what they offer, instead of ``start_builder``.
    advertised_uuids : tuple of str
        Service UUIDs that identify the sensor in an advertisement (besides ``service_uuid``).
    subscribe_first : tuple of str
        Characteristics to enable notifications/indications on before writing commands
        (responses arrive there).
    notes : str
        Advice shown to users (pairing, skin contact...).
    """

    id: str
    name: str
    service_uuid: str
    data_uuid: str
    control_uuid: str | None
    name_patterns: tuple[str, ...]
    has_gyro: bool
    can_resend: bool
    default_rate_hz: float
    decoder_factory: Callable[[], StreamDecoder] = field(repr=False)
    stop_builder: Callable[[], list[Write]] = field(repr=False)
    start_builder: Callable[[float], list[Write]] | None = field(default=None, repr=False)
    rates: Rates | None = None
    start_query: StartQuery | None = None
    advertised_uuids: tuple[str, ...] = ()
    subscribe_first: tuple[str, ...] = ()
    notes: str = ""

    def __post_init__(self) -> None:
        if (self.start_builder is None) == (self.start_query is None):
            raise ValueError(f"{self.id}: give either start_builder or start_query")
        if self.start_query is not None and not self.subscribe_first:
            raise ValueError(f"{self.id}: a start query needs a characteristic to answer on")
        if (self.start_builder is None) != (self.rates is None):
            raise ValueError(f"{self.id}: a start_builder needs the rates it can set")
        if self.rates is not None and not self.rates.supports(self.default_rate_hz):
            raise ValueError(f"{self.id}: the default rate is not one of {self.rates.words()}")

    def new_decoder(self) -> StreamDecoder:
        """A fresh decoder for one connection's notification stream."""
        return self.decoder_factory()

    def rate_for(self, rate_hz: float | None = None) -> float | None:
        """The rate, Hz, that :meth:`start_commands` sets for ``rate_hz`` (default:
        ``default_rate_hz``): the nearest of :attr:`rates`. None for a sensor with a
        :attr:`start_query`: its answer says what it offers.

        >>> PROFILES["rehablink"].rate_for(60.0), PROFILES["polar_pmd"].rate_for(60.0)
        (50, None)
        """
        if self.rates is None:
            return None
        return self.rates.nearest(self.default_rate_hz if rate_hz is None else rate_hz)

    def start_commands(self, rate_hz: float | None = None) -> list[Write]:
        """Writes that configure the rate nearest to ``rate_hz`` (:meth:`rate_for`) and start
        streaming.

        Raises ``ValueError`` for a profile with a :attr:`start_query`: its start is built from
        the sensor's answer (:attr:`StartQuery.build`).
        """
        rate = self.rate_for(rate_hz)
        if self.start_builder is None or rate is None:
            raise ValueError(f"{self.name} is started from its answer to a query (start_query)")
        return self.start_builder(rate)

    def stop_commands(self) -> list[Write]:
        """Writes that stop streaming (empty when unsubscribing is enough)."""
        return self.stop_builder()

    def matches(self, name: str | None, service_uuids: Iterable[str]) -> bool:
        """True when an advertisement with this local name and service UUIDs is this sensor."""
        uuids = {u.lower() for u in service_uuids}
        if uuids & {self.service_uuid, *self.advertised_uuids}:
            return True
        lowered = (name or "").lower()
        return any(fnmatch.fnmatchcase(lowered, p.lower()) for p in self.name_patterns)


def _rehablink_start(rate_hz: float) -> list[Write]:
    control = rehablink_profile.CONTROL_UUID
    return [
        (control, bytes(Command.set_rate(int(rate_hz), 1)), True),
        (control, bytes(Command.start(2)), True),
    ]


def _witmotion_start(rate_hz: float) -> list[Write]:
    return [
        (witmotion.WRITE_UUID, witmotion.UNLOCK, False),
        (witmotion.WRITE_UUID, witmotion.set_rate(rate_hz), False),
    ]


def _microbit_start(rate_hz: float) -> list[Write]:
    period = microbit.period_for(rate_hz)
    return [(microbit.PERIOD_UUID, microbit.encode_period(period), True)]


def _thingy_start(rate_hz: float) -> list[Write]:
    return [(thingy52.CONFIG_UUID, thingy52.encode_config(int(rate_hz)), True)]


def _polar_start(settings_answer: bytes, rate_hz: float) -> tuple[list[Write], float]:
    """Start a Polar sensor the way Polar documents: from its own ACC settings list.

    There is deliberately no fallback that guesses the model from the rate. Every PMD device
    answers GET_MEASUREMENT_SETTINGS (polar-ble-sdk always asks before it starts a stream); a
    guess is right only for the models it knows, and a wrong one is refused anyway (the H10
    refuses a start that omits or adds a setting, issue #124); and a sensor that does not answer
    the query would not report a refused start either. So no answer is an error, not a guess.
    """
    command = pmd.start_from_settings(settings_answer, rate_hz)
    (rate,) = pmd.parse_settings(command[2:])[pmd.SETTING_SAMPLE_RATE]
    return [(polar_pmd.CONTROL_UUID, command, True)], rate


def _movesense_start(rate_hz: float) -> list[Write]:
    return [
        (ms.WRITE_UUID, ms.hello_command(ms.HELLO_REFERENCE), True),
        (ms.WRITE_UUID, ms.subscribe_command(ms.IMU_REFERENCE, f"/Meas/IMU6/{rate_hz:g}"), True),
    ]


def _no_writes() -> list[Write]:
    return []


PROFILES: dict[str, SensorProfile] = {
    p.id: p
    for p in (
        SensorProfile(
            id="rehablink",
            name="RehabLink open profile (DIY nRF52840 / ESP32 boards)",
            service_uuid=rehablink_profile.SERVICE_UUID,
            data_uuid=rehablink_profile.DATA_UUID,
            control_uuid=rehablink_profile.CONTROL_UUID,
            name_patterns=("RehabLink*",),
            has_gyro=True,
            can_resend=True,
            default_rate_hz=100,
            decoder_factory=rehablink_profile.RehabLinkDecoder,
            start_builder=_rehablink_start,
            rates=Rates(listed=rehablink_profile.RATES_HZ),
            stop_builder=lambda: [(rehablink_profile.CONTROL_UUID, bytes(Command.stop(3)), True)],
            subscribe_first=(rehablink_profile.CONTROL_UUID,),
        ),
        SensorProfile(
            id="witmotion",
            name="WitMotion WT901BLECL / BWT901BLE 5.0",
            service_uuid=witmotion.SERVICE_UUID,
            data_uuid=witmotion.NOTIFY_UUID,
            control_uuid=witmotion.WRITE_UUID,
            name_patterns=("WT901*", "BWT901*"),
            has_gyro=True,
            can_resend=False,
            default_rate_hz=50,
            decoder_factory=witmotion.WitMotionDecoder,
            start_builder=_witmotion_start,
            rates=Rates(listed=tuple(sorted(witmotion.RATE_CODES))),
            stop_builder=_no_writes,
        ),
        SensorProfile(
            id="microbit",
            name="BBC micro:bit (accelerometer service)",
            service_uuid=microbit.SERVICE_UUID,
            data_uuid=microbit.DATA_UUID,
            control_uuid=microbit.PERIOD_UUID,
            name_patterns=("BBC micro:bit*",),
            has_gyro=False,
            can_resend=False,
            default_rate_hz=50,
            decoder_factory=microbit.MicrobitDecoder,
            start_builder=_microbit_start,
            rates=Rates(listed=tuple(1000.0 / p for p in microbit.VALID_PERIODS_MS)),
            stop_builder=_no_writes,
            notes="the program must include the Bluetooth accelerometer service; "
            "pair it first, or build it with 'No Pairing Required'",
        ),
        SensorProfile(
            id="polar_pmd",
            name="Polar Verity Sense / H10 / OH1 (PMD accelerometer)",
            service_uuid=polar_pmd.SERVICE_UUID,
            data_uuid=polar_pmd.DATA_UUID,
            control_uuid=polar_pmd.CONTROL_UUID,
            name_patterns=("Polar Sense*", "Polar H10*", "Polar OH1*"),
            has_gyro=False,
            can_resend=False,
            default_rate_hz=52,
            decoder_factory=polar_pmd.PolarPmdDecoder,
            start_query=StartQuery(
                write=(polar_pmd.CONTROL_UUID, pmd.GET_ACC_SETTINGS, True),
                subject="its accelerometer settings",
                build=_polar_start,
                confirm=pmd.check_started,
            ),
            stop_builder=lambda: [(polar_pmd.CONTROL_UUID, pmd.STOP_ACC, True)],
            subscribe_first=(polar_pmd.CONTROL_UUID,),
            notes="the H10 streams only while its electrodes touch skin; "
            "on the pelvis use the Verity Sense",
        ),
        SensorProfile(
            id="movesense",
            name="Movesense (GATT sensor-data firmware, IMU6)",
            service_uuid=ms.SERVICE_UUID,
            data_uuid=ms.NOTIFY_UUID,
            control_uuid=ms.WRITE_UUID,
            name_patterns=("Movesense*",),
            has_gyro=True,
            can_resend=False,
            default_rate_hz=52,
            decoder_factory=ms.MovesenseDecoder,
            start_builder=_movesense_start,
            rates=Rates(listed=ms.IMU_RATES_HZ),
            stop_builder=lambda: [(ms.WRITE_UUID, ms.unsubscribe_command(ms.IMU_REFERENCE), True)],
            notes="needs the gatt_sensordata_app firmware",
        ),
        SensorProfile(
            id="thingy52",
            name="Nordic Thingy:52 (motion service raw data)",
            service_uuid=thingy52.SERVICE_UUID,
            data_uuid=thingy52.RAW_UUID,
            control_uuid=thingy52.CONFIG_UUID,
            name_patterns=("Thingy*",),
            has_gyro=True,
            can_resend=False,
            default_rate_hz=50,
            decoder_factory=thingy52.Thingy52Decoder,
            start_builder=_thingy_start,
            rates=Rates(span_hz=(thingy52.MIN_RATE_HZ, thingy52.MAX_RATE_HZ)),
            stop_builder=_no_writes,
            advertised_uuids=(thingy52.CONFIGURATION_SERVICE_UUID,),
        ),
    )
}


def match_advertisement(name: str | None, service_uuids: Iterable[str]) -> SensorProfile | None:
    """The profile of an advertising device, or None when it is not a supported sensor.

    Service UUIDs win over names: a device advertising the RehabLink service is a RehabLink
    sensor whatever it is called.

    >>> match_advertisement("Polar Sense B5A1C22E", []).id
    'polar_pmd'
    """
    uuids = list(service_uuids)
    for profile in PROFILES.values():
        if profile.matches(None, uuids):
            return profile
    for profile in PROFILES.values():
        if profile.matches(name, []):
            return profile
    return None


def unsupported_message(name: str | None) -> str:
    """The message for a device that is not a supported sensor, listing what is supported."""
    supported = "; ".join(f"{p.name} [{p.id}]" for p in PROFILES.values())
    who = f"'{name}'" if name else "This device"
    return f"{who} is not a supported motion sensor. Supported sensors: {supported}."
