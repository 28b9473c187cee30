"""The sensor registry: advertisement matching, start commands, unsupported-sensor message."""

from __future__ import annotations

import numpy as np
import pytest

from firmware_protocol import polar_pmd, rehablink_profile, witmotion
from firmware_protocol.registry import PROFILES, match_advertisement, unsupported_message


def test_registry_ids() -> None:
    assert list(PROFILES) == [
        "rehablink",
        "witmotion",
        "microbit",
        "polar_pmd",
        "movesense",
        "thingy52",
    ]


def test_registry_matches_by_service_uuid() -> None:
    found = match_advertisement("ESP32-IMU", [rehablink_profile.SERVICE_UUID.upper()])
    assert found is PROFILES["rehablink"]
    assert match_advertisement(None, [witmotion.SERVICE_UUID]) is PROFILES["witmotion"]
    thingy_config = "ef680100-9b35-4933-9b10-52ffa9740042"
    assert match_advertisement("My lab sensor", [thingy_config]) is PROFILES["thingy52"]


def test_registry_matches_by_name() -> None:
    cases = {
        "BBC micro:bit [zutig]": "microbit",
        "Polar Sense B5A1C22E": "polar_pmd",
        "Polar H10 12345678": "polar_pmd",
        "Movesense 174630000192": "movesense",
        "WT901BLE68": "witmotion",
        "rehablink-7f3a": "rehablink",
        "Thingy": "thingy52",
    }
    for name, profile_id in cases.items():
        found = match_advertisement(name, [])
        assert found is not None and found.id == profile_id, name


def test_registry_service_uuid_beats_name() -> None:
    found = match_advertisement("Polar Sense B5A1C22E", [rehablink_profile.SERVICE_UUID])
    assert found is PROFILES["rehablink"]


def test_registry_unknown_device() -> None:
    assert match_advertisement("Polar H9 1234", ["0000180d-0000-1000-8000-00805f9b34fb"]) is None
    assert match_advertisement(None, []) is None


def test_registry_unsupported_message_lists_every_profile() -> None:
    message = unsupported_message("Mi Band 8")
    assert message.startswith("'Mi Band 8' is not a supported motion sensor. Supported sensors: ")
    for profile in PROFILES.values():
        assert f"{profile.name} [{profile.id}]" in message


def test_registry_start_commands() -> None:
    assert PROFILES["rehablink"].start_commands(50) == [
        (rehablink_profile.CONTROL_UUID, bytes.fromhex("030101"), True),
        (rehablink_profile.CONTROL_UUID, bytes.fromhex("0102"), True),
    ]
    assert PROFILES["witmotion"].start_commands(200) == [
        (witmotion.WRITE_UUID, bytes.fromhex("ffaa6988b5"), False),
        (witmotion.WRITE_UUID, bytes.fromhex("ffaa030b00"), False),
    ]
    assert PROFILES["movesense"].start_commands(104)[1][1] == b"\x01\x63/Meas/IMU6/104"
    assert PROFILES["microbit"].start_commands()[0][1] == bytes.fromhex("1400")
    assert PROFILES["thingy52"].start_commands(100)[0][1] == bytes.fromhex("e803f401f401640001")


def test_registry_rates_each_family_takes() -> None:
    """The rates come from the codecs' own tables (SENSORS.md): RehabLink's rate codes, the
    WitMotion output-rate register, the micro:bit's accelerometer periods, Movesense's IMU
    paths, the Thingy:52's motion frequency; a Polar says what it offers when asked."""
    words = {pid: p.rates.words() if p.rates else None for pid, p in PROFILES.items()}
    assert words == {
        "rehablink": "25, 50, 100 or 200 Hz",
        "witmotion": "10, 20, 50, 100 or 200 Hz",
        "microbit": "1.5625, 6.25, 12.5, 50, 100, 200, 500 or 1000 Hz",
        "polar_pmd": None,
        "movesense": "13, 26, 52, 104, 208, 416, 833 or 1666 Hz",
        "thingy52": "1 to 200 Hz in whole numbers",
    }
    for profile in PROFILES.values():  # the default is one of them
        assert profile.rate_for() == (None if profile.rates is None else profile.default_rate_hz)


@pytest.mark.parametrize(("profile", "asked", "set_to", "written"), [
    ("rehablink", 60.0, 50, bytes.fromhex("030101")),  # SET_RATE, token 1, code 1 = 50 Hz
    ("rehablink", 75.0, 50, bytes.fromhex("030101")),  # as close to 50 and 100: the slower
    ("rehablink", 5000.0, 200, bytes.fromhex("030103")),
    ("witmotion", 150.0, 100, bytes.fromhex("ffaa030900")),  # RRATE 0x09 = 100 Hz
    ("microbit", 60.0, 50, bytes.fromhex("1400")),  # 20 ms
    ("microbit", 12.0, 12.5, bytes.fromhex("5000")),  # 80 ms
    ("movesense", 100.0, 104, b"\x01\x63/Meas/IMU6/104"),
    ("thingy52", 60.4, 60, bytes.fromhex("e803f401f4013c0001")),
])
def test_registry_starts_a_sensor_at_its_rate_nearest_to_the_one_asked(
        profile: str, asked: float, set_to: float, written: bytes) -> None:
    """A rate a sensor does not take is not written as it is (the codec would refuse it or
    round it its own way): the start sets the nearest of the family's rates, and says which."""
    sensor = PROFILES[profile]
    assert sensor.rate_for(asked) == set_to
    assert written in [value for _uuid, value, _response in sensor.start_commands(asked)]


def test_registry_rates_refuse_what_cannot_be_a_rate() -> None:
    from firmware_protocol.rates import Rates

    for bad in ({}, {"listed": (25.0,), "span_hz": (1, 2)}, {"listed": (0.0, 50.0)},
                {"listed": (float("nan"),)}, {"span_hz": (0, 10)}, {"span_hz": (20, 10)}):
        with pytest.raises(ValueError):
            Rates(**bad)
    assert Rates(listed=(52,)).words() == "52 Hz"
    assert Rates(span_hz=(1, 200)).nearest(0.2) == 1 and Rates(span_hz=(1, 200)).nearest(52.5) == 52


def test_registry_polar_is_started_from_its_settings() -> None:
    polar = PROFILES["polar_pmd"]
    query = polar.start_query
    assert query is not None
    assert query.write == (polar_pmd.CONTROL_UUID, bytes.fromhex("0102"), True)
    assert polar.subscribe_first == (polar_pmd.CONTROL_UUID,)  # the answer is indicated there
    with pytest.raises(ValueError, match="started from its answer"):
        polar.start_commands(52)
    # H10 answer (PMD spec "Request Stream Settings"): 25/50/100/200 Hz, 16 bit, 2/4/8 G; the
    # default 52 Hz becomes the offered 50 Hz, started with every setting (spec "Start Stream")
    h10 = bytes.fromhex("f001020000000419003200640" "0c800010110000203020004000800")
    writes, rate = query.build(h10, polar.default_rate_hz)
    assert rate == 50
    assert writes == [
        (polar_pmd.CONTROL_UUID, bytes.fromhex("0202000132000101100002010800"), True)
    ]
    query.confirm(bytes.fromhex("f002020000"))
    with pytest.raises(ValueError, match="invalid sample rate"):
        query.confirm(bytes.fromhex("f0020208"))


def test_registry_profile_starts_one_way() -> None:
    from dataclasses import replace

    with pytest.raises(ValueError, match="either start_builder or start_query"):
        replace(PROFILES["witmotion"], start_query=PROFILES["polar_pmd"].start_query)
    with pytest.raises(ValueError, match="either start_builder or start_query"):
        replace(PROFILES["polar_pmd"], start_query=None)


def test_registry_every_profile_builds_a_decoder_and_stop_commands() -> None:
    for profile in PROFILES.values():
        decoder = profile.new_decoder()
        assert decoder.feed(b"") == [] and decoder.dropped >= 0
        assert isinstance(profile.stop_commands(), list)
        if profile.start_query is None:
            assert profile.start_commands(), profile.id


def test_registry_has_gyro_matches_what_decoders_produce() -> None:
    """The registry's has_gyro must agree with the decoded stream of a real frame."""
    from firmware_protocol import microbit, movesense, thingy52

    frames = {
        "rehablink": bytes.fromhex("415e020140420f00000000000010000800000000"),  # SPEC.md 9
        "witmotion": witmotion.encode_frame((0, 0, 1), (0, 0, 0)),
        "microbit": microbit.encode_sample((0, 0, 1)),
        "polar_pmd": polar_pmd.encode_compressed_acc(np.array([[0, 0, 4096]] * 3), 1),
        "movesense": movesense.encode_imu6(99, 0, [[0, 0, 9.8]], [[0, 0, 0]]),
        "thingy52": thingy52.encode_raw((0, 0, 1), (0, 0, 0)),
    }
    assert set(frames) == set(PROFILES)
    for profile_id, frame in frames.items():
        (batch,) = PROFILES[profile_id].new_decoder().feed(frame)
        assert batch.has_gyro == PROFILES[profile_id].has_gyro, profile_id
