"""``rehab decode``: exact JSON for known payloads, exit 2 with one clear line for bad input."""

from __future__ import annotations

import json

from click.testing import CliRunner

from rehablink.cli import cli

# RehabLink SPEC.md section 9 worked example: az 1 g, gx 125 deg/s, t = 1.0 s
REHABLINK = "415e020140420f00000000000010000800000000"
# WitMotion 55 61 frame: az 2048 -> 1 g, wz 256 -> 15.625 deg/s (device_model.py scales)
WIT = "55610000000000080000000000010020000000c0"


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["decode", *args])
    return result.exit_code, result.stdout, result.stderr


def test_decode_cli_rehablink_exact_json() -> None:
    code, out, _ = _run("--profile", "rehablink", REHABLINK)
    assert code == 0
    assert json.loads(out) == {
        "profile": "rehablink",
        "samples": [[0.0, 0.0, 1.0, 125.0, 0.0, 0.0]],
        "timestamps": [1.0],
        "dropped": 0,
    }


def test_decode_cli_witmotion_split_stream_and_garbage() -> None:
    # the frame split over two payloads, then a stray byte that never becomes a frame
    code, out, _ = _run("--profile", "witmotion", WIT[:14], WIT[14:], "01")
    assert code == 0
    assert json.loads(out) == {
        "profile": "witmotion",
        "samples": [[0.0, 0.0, 1.0, 0.0, 0.0, 15.625]],
        "timestamps": None,
        "dropped": 1,
    }


def test_decode_cli_microbit_counts_bad_frame_as_dropped() -> None:
    # 18 fc 00 00 00 04 -> -1.0, 0.0, 1.024 g; "0102" is not a 6-byte value
    code, out, _ = _run("--profile", "microbit", "18fc00000004", "0102", "18:fc:00:00:00:04")
    assert code == 0
    assert json.loads(out) == {
        "profile": "microbit",
        "samples": [[-1.0, 0.0, 1.024], [-1.0, 0.0, 1.024]],
        "timestamps": None,
        "dropped": 1,
    }


def test_decode_cli_invalid_hex_exit_2() -> None:
    code, out, err = _run("--profile", "microbit", "18fc0000000g")
    assert (code, out) == (2, "")
    assert err == "error: payload 1 ('18fc0000000g') is not valid hex bytes\n"


def test_decode_cli_unknown_profile_exit_2() -> None:
    code, _, err = _run("--profile", "fitbit", "00")
    assert code == 2
    assert err == (
        "error: unknown profile 'fitbit'; choose one of: "
        "rehablink, witmotion, microbit, polar_pmd, movesense, thingy52\n"
    )


def test_decode_cli_no_frame_exit_2() -> None:
    code, _, err = _run("--profile", "rehablink", "415e0201")
    assert code == 2
    assert err == "error: the 1 payload(s) hold no complete rehablink frame (1 malformed)\n"
