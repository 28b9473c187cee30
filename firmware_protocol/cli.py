"""``rehab decode``: decode sensor notification payloads given in hex and print JSON."""

from __future__ import annotations

import json

import click


def _parse_hex(index: int, text: str) -> bytes:
    cleaned = text.strip().replace(":", "").replace(" ", "")
    if cleaned.lower().startswith("0x"):
        cleaned = cleaned[2:]
    try:
        data = bytes.fromhex(cleaned)
    except ValueError:
        data = b""
    if not data:
        from rehablink.cli_errors import BadInput

        raise BadInput(f"payload {index} ({text[:40]!r}) is not valid hex bytes")
    return data


def decode_payloads(profile_id: str, payloads: list[bytes]) -> dict[str, object]:
    """Decode consecutive notification payloads of one stream into the JSON document.

    Returns ``{"profile", "samples", "timestamps", "dropped"}`` with acceleration in g and angular
    rate in deg/s; ``timestamps`` (sensor clock, s) is None unless every sample has one.
    """
    from firmware_protocol.registry import PROFILES

    decoder = PROFILES[profile_id].new_decoder()
    samples: list[list[float]] = []
    times: list[float] | None = []
    for payload in payloads:
        for batch in decoder.feed(payload):
            samples.extend(batch.rows())
            if times is not None and batch.sensor_time_s is not None:
                times.extend(float(t) for t in batch.sensor_time_s)
            else:
                times = None
    dropped = decoder.dropped + (1 if getattr(decoder, "pending_bytes", 0) else 0)
    return {
        "profile": profile_id,
        "samples": samples,
        "timestamps": times if samples else None,
        "dropped": dropped,
    }


@click.command("decode")
@click.option("--profile", "profile_id", required=True, metavar="ID", help="Sensor profile id.")
@click.argument("payloads", nargs=-1, required=True, metavar="HEX [HEX ...]")
def decode(profile_id: str, payloads: tuple[str, ...]) -> None:
    """Decode notification payloads (hex, consecutive payloads of one stream) and print JSON.

    Acceleration is in g, angular rate in deg/s, timestamps in seconds of the sensor clock.
    Malformed frames within the stream are counted in "dropped".
    """
    from firmware_protocol.registry import PROFILES
    from rehablink.cli_errors import BadInput

    if profile_id not in PROFILES:
        raise BadInput(f"unknown profile '{profile_id}'; choose one of: {', '.join(PROFILES)}")
    data = [_parse_hex(i + 1, text) for i, text in enumerate(payloads)]
    result = decode_payloads(profile_id, data)
    if not result["samples"]:
        raise BadInput(
            f"the {len(data)} payload(s) hold no complete {profile_id} frame "
            f"({result['dropped']} malformed)"
        )
    click.echo(json.dumps(result))


commands: list[click.Command] = [decode]
