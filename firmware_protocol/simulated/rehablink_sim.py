"""Our open profile on the simulated sensor: Data, Control and Status, resend from a ring buffer.

Behaviour (firmware_protocol/SPEC.md): START makes the sensor sample at the configured rate and
batch samples into Data packets sized from the negotiated MTU (:class:`Packetizer`); every
packet also goes into a ring buffer, so that after a lost notification or a dropped link the
companion can ask ``RESEND_FROM(N)`` and get every packet from sequence ``N`` again (flagged
"resent"). Streaming survives a dropped link: the sensor keeps sampling into the ring and resumes
notifying when the central subscribes again; after 60 s without a host it stops (IDLE, ring
kept). A reboot empties the ring and restarts sequence numbers and the sensor clock at 0.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from bumble import gatt
from bumble.core import UUID, AdvertisingData

from firmware_protocol import rehablink_profile as rl
from firmware_protocol.simulated.personality import (
    FIRMWARE,
    AdStructures,
    Personality,
    SensorPort,
    command_characteristic,
    data_characteristic,
)
from firmware_protocol.simulated.replay import Samples
from firmware_protocol.simulated.ring import ResendRing

#: Longest a sample waits in a partly filled packet, s (SPEC.md 4.2: 200 ms).
DEFAULT_BATCH_WINDOW_S = rl.MAX_BATCH_LATENCY_S

#: Status is notified at least this often while connected, s of sensor time (SPEC.md 6).
STATUS_PERIOD_S = 10.0

#: A streaming sensor left without a host this long stops (SPEC.md 7.1), s.
NO_HOST_TIMEOUT_S = 60.0

#: Bluetooth SIG company id reserved for tests; carries [protocol version, battery %].
MANUFACTURER_ID = 0xFFFF


class RehabLinkPersonality(Personality):
    """A DIY board running our open profile."""

    profile_id = "rehablink"
    model = "RehabLink reference sensor (simulated)"

    def __init__(
        self, port: SensorPort, serial: str, batch_window_s: float | None = DEFAULT_BATCH_WINDOW_S
    ) -> None:
        super().__init__(port, serial)
        self.batch_window_s = batch_window_s
        self.rate_hz = _nearest_rate(port.replay.rate_hz)
        port.replay.set_rate(self.rate_hz)
        self.acc_range_g = 8
        self.gyro_range_dps = 2000
        self.state = rl.State.IDLE
        self.ring = ResendRing()
        self.next_sequence = 0
        self._packetizer: rl.Packetizer | None = None
        self._last_status_tau = 0.0
        self._host_lost_tau: float | None = None
        self.data = data_characteristic(rl.DATA_UUID)
        self.control = command_characteristic(
            rl.CONTROL_UUID, self._on_control_write, gatt.Characteristic.Properties.NOTIFY
        )
        self.status: gatt.Characteristic[bytes] = gatt.Characteristic(
            UUID(rl.STATUS_UUID),
            gatt.Characteristic.Properties.READ | gatt.Characteristic.Properties.NOTIFY,
            gatt.Characteristic.READABLE,
            gatt.CharacteristicValue(read=lambda _connection: self.status_value()),
        )

    @property
    def local_name(self) -> str:
        return f"RehabLink-{self.serial[-4:]}"

    def advertising_structures(self) -> AdStructures:
        manufacturer = MANUFACTURER_ID.to_bytes(2, "little") + bytes(
            [rl.PROTOCOL_VERSION, self.port.faults.battery_pct]
        )
        return [
            (
                AdvertisingData.Type.COMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS,
                bytes(UUID(rl.SERVICE_UUID)),
            ),
            (AdvertisingData.Type.MANUFACTURER_SPECIFIC_DATA, manufacturer),
        ]

    def profile_services(self) -> list[gatt.Service]:
        return [gatt.Service(UUID(rl.SERVICE_UUID), [self.data, self.control, self.status])]

    # -- Status ---------------------------------------------------------------------------------

    def status_value(self) -> bytes:
        return bytes(
            rl.Status(
                state=self.state,
                battery_pct=self.port.faults.battery_pct,
                firmware=FIRMWARE,
                rate_hz=self.rate_hz,
                acc_range_g=self.acc_range_g,
                gyro_range_dps=self.gyro_range_dps,
                has_gyro=self.port.replay.has_gyro,
                backlog_packets=min(len(self.ring), 0xFFFF),
                next_sequence=self.next_sequence,
            )
        )

    def _set_state(self, state: rl.State) -> None:
        if state != self.state:
            self.state = state
            self.port.send(self.status, self.status_value(), data=False)
            self.port.wake()

    # -- streaming ------------------------------------------------------------------------------

    def _new_packetizer(self) -> rl.Packetizer:
        # Sized from the MTU of this connection and the batching bound (SPEC.md 4.1, 4.2).
        return rl.Packetizer(
            mtu=self.port.att_mtu,
            has_gyro=self.port.replay.has_gyro,
            rate_hz=self.rate_hz,
            acc_range_g=self.acc_range_g,
            gyro_range_dps=self.gyro_range_dps,
            first_sequence=self.next_sequence,
            max_latency_s=self.batch_window_s,
        )

    def _start(self) -> None:
        self._packetizer = self._new_packetizer()
        self.port.replay.start(self.port.tau_now(), self.port.boot_tau_s)
        self._set_state(rl.State.STREAMING)

    def on_mtu_change(self) -> None:
        """Recompute the packet capacity for the newly negotiated MTU (SPEC.md 4.1)."""
        if self._packetizer is None:
            return
        fresh = self._new_packetizer()
        if fresh.capacity != self._packetizer.capacity:
            self._emit(self._packetizer.flush())
            fresh.next_sequence = self.next_sequence
            self._packetizer = fresh

    def _stop(self) -> None:
        self.on_finished()
        self.port.replay.stop()
        self._set_state(rl.State.IDLE)

    def on_samples(self, samples: Samples) -> None:
        packetizer = self._packetizer
        if packetizer is None:
            return
        timestamps_us = (samples.sensor_time_s * 1e6).round().astype("int64")
        for i in range(len(samples)):
            gyro = samples.gyro_dps[i] if samples.gyro_dps is not None else None
            self._emit(packetizer.push(int(timestamps_us[i]), samples.acc_g[i], gyro))
        now = float(samples.tau_s[-1])
        if self._host_lost_tau is not None and now - self._host_lost_tau >= NO_HOST_TIMEOUT_S:
            self._stop()  # the ring is kept until the next START
            return
        if now - self._last_status_tau >= STATUS_PERIOD_S:
            self._last_status_tau = now
            self.port.send(self.status, self.status_value(), data=False)

    def _emit(self, packets: list[rl.DataPacket]) -> None:
        for packet in packets:
            self.ring.append(packet)
            self.next_sequence = (packet.sequence + 1) & 0xFFFF
            self.port.send(self.data, bytes(packet), data=True)

    def on_finished(self) -> None:
        if self._packetizer is not None:
            self._emit(self._packetizer.flush())
        if self.state != rl.State.IDLE and self.port.replay.finished:
            self._set_state(rl.State.IDLE)

    def on_connection(self, connection: Any) -> None:
        self._host_lost_tau = None

    def on_disconnection(self) -> None:
        self._host_lost_tau = self.port.tau_now()

    def on_reboot(self) -> None:
        self.ring.clear()
        self.next_sequence = 0
        self._packetizer = None
        self.port.replay.stop()
        self.state = rl.State.IDLE

    # -- Control --------------------------------------------------------------------------------

    def _on_control_write(self, _connection: Any, value: bytes) -> None:
        response = self.handle_command(bytes(value))
        self.port.send(self.control, bytes(response), data=False)
        if response.opcode == rl.Opcode.RESEND_FROM and response.ok:
            plan = rl.ResendPlan.from_bytes(response.payload)
            packets = (self.ring.since(plan.first_sequence) or [])[: plan.count]
            if not packets:
                return
            resumed = self.state
            self._set_state(rl.State.RESENDING)
            for packet in packets:
                self.port.send(
                    self.data, bytes(dataclasses.replace(packet, resent=True)), data=True
                )
            self.port.after_sent(lambda: self._resend_done(resumed))

    def _resend_done(self, resumed: rl.State) -> None:
        if self.state == rl.State.RESENDING:
            self._set_state(resumed)

    def handle_command(self, raw: bytes) -> rl.Response:
        """Apply one Control command and return the response to notify."""
        try:
            command = rl.Command.from_bytes(raw)
        except ValueError as error:
            code = error.args[0] if error.args else rl.ResultCode.BAD_LENGTH
            opcode = raw[0] & 0x7F if raw else 0
            token = raw[1] if len(raw) > 1 else 0
            return rl.Response(opcode, token, rl.ResultCode(code))
        opcode, token, params = command.opcode, command.token, command.params

        def answer(result: rl.ResultCode = rl.ResultCode.OK, payload: bytes = b"") -> rl.Response:
            return rl.Response(opcode, token, result, payload)

        streaming = self.state != rl.State.IDLE
        if opcode == rl.Opcode.START:
            if not streaming:
                self._start()
            return answer()
        if opcode == rl.Opcode.STOP:
            if streaming:
                self._stop()
            return answer()
        if opcode == rl.Opcode.GET_INFO:
            info = rl.Info(FIRMWARE, self.port.replay.has_gyro, True, self.ring.capacity)
            return answer(payload=bytes(info))
        if opcode in (rl.Opcode.SET_RATE, rl.Opcode.SET_RANGES) and streaming:
            return answer(rl.ResultCode.WRONG_STATE)
        if opcode == rl.Opcode.SET_RATE:
            if params[0] >= len(rl.RATES_HZ):
                return answer(rl.ResultCode.BAD_PARAMETER)
            self.rate_hz = rl.RATES_HZ[params[0]]
            self.port.replay.set_rate(self.rate_hz)
            self.port.wake()
            return answer()
        if opcode == rl.Opcode.SET_RANGES:
            if params[0] >= len(rl.ACC_RANGES_G) or params[1] >= len(rl.GYRO_RANGES_DPS):
                return answer(rl.ResultCode.BAD_PARAMETER)
            self.acc_range_g = rl.ACC_RANGES_G[params[0]]
            self.gyro_range_dps = rl.GYRO_RANGES_DPS[params[1]]
            self.port.wake()
            return answer()
        # RESEND_FROM (SPEC.md 7.2). Also accepted in IDLE while the ring still holds packets,
        # so a host can fetch the tail of a stream the sensor stopped (end of a recording).
        if self.state == rl.State.RESENDING:
            return answer(rl.ResultCode.BUSY)
        first = int.from_bytes(params, "little")
        if first == self.next_sequence:
            return answer(payload=bytes(rl.ResendPlan(first, 0)))
        held = self.ring.since(first)
        if held is None:
            oldest = self.ring.oldest_sequence
            start = self.next_sequence if oldest is None else oldest
            plan = rl.ResendPlan(start, min(len(self.ring), 0xFFFF))
            return answer(rl.ResultCode.NOT_IN_BUFFER, bytes(plan))
        return answer(payload=bytes(rl.ResendPlan(first, min(len(held), 0xFFFF))))


def _nearest_rate(rate_hz: float) -> int:
    """The supported rate closest to ``rate_hz``."""
    return min(rl.RATES_HZ, key=lambda r: abs(r - rate_hz))
