"""``rehab sim-sensor``: run a simulated sensor for a companion in another process.

The sensor lives on an in-process Bumble virtual link; a second virtual controller on the same
link is exposed over a Bumble HCI transport (by default ``tcp-server:127.0.0.1:9001``). The
companion opens the matching client transport (``--transport tcp-client:127.0.0.1:9001``) as
its Bumble host's controller, scans, finds the sensor and connects, exactly as over the air.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING

import click

from firmware_protocol.simulated.faults import SUPPORTED_MTUS

if TYPE_CHECKING:
    from bumble.transport.common import Transport

    from firmware_protocol.simulated.faults import Faults
    from rehablink.recording import Recording

DEFAULT_TRANSPORT = "tcp-server:127.0.0.1:9001"


def client_transport_for(server_name: str, port: int | None = None) -> str:
    """The transport a companion opens to reach a ``sim-sensor`` listening on ``server_name``.

    >>> client_transport_for("tcp-server:_:9001")
    'tcp-client:127.0.0.1:9001'
    >>> client_transport_for("ws-server:127.0.0.1:8888")
    'ws-client:ws://127.0.0.1:8888'
    """
    scheme, _, spec = server_name.partition(":")
    host, _, port_text = spec.rpartition(":")
    host = "127.0.0.1" if host in ("", "_", "0.0.0.0") else host
    port_text = str(port) if port is not None else port_text
    if scheme == "tcp-server":
        return f"tcp-client:{host}:{port_text}"
    if scheme == "ws-server":
        return f"ws-client:ws://{host}:{port_text}"
    if scheme == "unix-server":
        return f"unix:{spec}"
    return server_name


@click.command("sim-sensor")
@click.argument("recording", type=click.Path(path_type=Path))
@click.option(
    "--profile",
    default="rehablink",
    show_default=True,
    type=click.Choice(["rehablink", "witmotion", "microbit", "polar_pmd"]),
    help="Sensor family to play.",
)
@click.option(
    "--model",
    default=None,
    help="Model within the family (polar_pmd: verity_sense, the default, or h10).",
)
@click.option("--drop", default=0.0, show_default=True, help="Notification loss rate, 0..1.")
@click.option("--disconnect-at", type=float, help="Drop the link at this recording time, s.")
@click.option(
    "--disconnect-for", default=3.0, show_default=True, help="Silence after --disconnect-at, s."
)
@click.option(
    "--mtu",
    default=247,
    show_default=True,
    type=click.Choice([str(m) for m in SUPPORTED_MTUS]),
    help="Largest ATT MTU the sensor accepts, bytes.",
)
@click.option("--drift-ppm", default=0.0, show_default=True, help="Sensor clock drift, ppm.")
@click.option("--battery", default=87, show_default=True, help="Battery level reported, %.")
@click.option("--reboot-at", type=float, help="Reboot the sensor at this recording time, s.")
@click.option(
    "--hang-at",
    type=float,
    help="The firmware hangs at this recording time, s: connections still work, nothing is sent.",
)
@click.option(
    "--interval-ms",
    default=0.0,
    show_default=True,
    help="Pace notifications by connection events this far apart, ms (0: no pacing).",
)
@click.option(
    "--per-event", default=6, show_default=True, help="Notifications per connection event."
)
@click.option("--speed", default=1.0, show_default=True, help="Replay speed (1 = real time).")
@click.option("--seed", default=0, show_default=True, help="Seed of the loss draws.")
@click.option(
    "--transport",
    default=DEFAULT_TRANSPORT,
    show_default=True,
    help="Bumble HCI transport the companion's host connects to (port 0 picks a free one).",
)
def sim_sensor(
    recording: Path,
    profile: str,
    model: str | None,
    drop: float,
    disconnect_at: float | None,
    disconnect_for: float,
    mtu: str,
    drift_ppm: float,
    battery: int,
    reboot_at: float | None,
    hang_at: float | None,
    interval_ms: float,
    per_event: int,
    speed: float,
    seed: int,
    transport: str,
) -> None:
    """Run a simulated BLE sensor replaying RECORDING for a companion in another process.

    \b
    Terminal 1:  rehab sim-sensor set.csv --drop 0.05 --disconnect-at 10
    Terminal 2:  rehab record --exercise bridge --transport tcp-client:127.0.0.1:9001

    The recording starts when the companion starts streaming. Stop with Ctrl-C.
    """
    from firmware_protocol.simulated.faults import Faults
    from rehablink.cli_errors import BadInput
    from rehablink.recording import RecordingError, load_recording

    try:
        rec = load_recording(recording)
        faults = Faults(
            drop_rate=drop,
            disconnect_at_s=disconnect_at,
            disconnect_for_s=disconnect_for if disconnect_at is not None else 0.0,
            mtu=int(mtu),
            drift_ppm=drift_ppm,
            battery_pct=battery,
            reboot_at_s=reboot_at,
            hang_at_s=hang_at,
            connection_interval_ms=interval_ms,
            notifications_per_event=per_event,
            seed=seed,
        )
    except (RecordingError, ValueError) as error:
        raise BadInput(str(error)) from None
    if not 0 < speed < float("inf"):  # also refuses nan
        raise BadInput("--speed must be positive")
    try:
        asyncio.run(_serve(rec, profile, model, faults, speed, transport))
    except KeyboardInterrupt:
        click.echo("sim-sensor stopped", err=True)
    except (ConnectionError, ValueError) as error:  # port in use; a recording it cannot play
        raise BadInput(str(error)) from None


async def _open_server(name: str) -> tuple[Transport, int | None]:
    """Open a Bumble server transport; ``tcp-server:HOST:0`` picks a free port."""
    import socket

    from bumble.transport import open_transport
    from bumble.transport.tcp_server import open_tcp_server_transport_with_socket

    scheme, _, spec = name.partition(":")
    host, _, port = spec.rpartition(":")
    try:
        if scheme == "tcp-server" and port == "0":
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind(("127.0.0.1" if host in ("", "_") else host, 0))
            bound = int(sock.getsockname()[1])
            return await open_tcp_server_transport_with_socket(sock), bound
        return await open_transport(name), None
    except Exception as error:  # OSError, ValueError, and libusb's own errors for usb:N
        raise ConnectionError(f"cannot open transport '{name}': {error}") from None


async def _serve(
    rec: Recording,
    profile: str,
    model: str | None,
    faults: Faults,
    speed: float,
    transport_name: str,
) -> None:
    from bumble.link import LocalLink

    from firmware_protocol.simulated.sensor import SimulatedSensor
    from firmware_protocol.simulated.virtual_controller import VirtualController

    radio = LocalLink()
    sensor = SimulatedSensor(
        rec, link=radio, profile=profile, faults=faults, speed=speed, model=model
    )
    transport, port = await _open_server(transport_name)
    # The companion's controller: its host is at the other end of the transport.
    VirtualController(
        "companion", host_source=transport.source, host_sink=transport.sink, link=radio
    )
    await sensor.start()
    click.echo(
        f"{sensor.name} ({sensor.address}, profile {profile}) is advertising; "
        f"connect with --transport {client_transport_for(transport_name, port)}",
        err=False,
    )
    try:
        await sensor.finished.wait()
        click.echo(
            f"recording finished: {sensor.notifications_sent} notifications sent, "
            f"{sensor.notifications_dropped} dropped; still on air until Ctrl-C"
        )
        await asyncio.get_running_loop().create_future()
    finally:
        await sensor.close()
        await transport.close()


commands: list[click.Command] = [sim_sensor]
