"""Bumble's virtual controller, with two behaviours of real controllers that it lacks.

- Core spec Vol 4 Part E 7.8.13: after LE Create Connection Cancel, the controller ends the
  pending connection with an LE Connection Complete event whose status is Unknown Connection
  Identifier (0x02). Bumble's :class:`~bumble.controller.Controller` answers the command but
  never sends that event and keeps the attempt pending, so a connection to a device that is not
  there could never time out.
- Vol 4 Part E 7.3.2: HCI Reset drops the controller's connections (the peer sees the link
  time out). Bumble's keeps them, so a companion that crashed and restarted against
  ``rehab sim-sensor`` would find the sensor still "connected" to its dead predecessor and never
  advertising.

Every virtual controller of the simulation is this class.
"""

from __future__ import annotations

from bumble import hci, ll
from bumble.controller import Controller


class VirtualController(Controller):
    """A Bumble virtual controller whose connection attempts can be cancelled."""

    def on_hci_le_create_connection_cancel_command(
        self, command: hci.HCI_LE_Create_Connection_Cancel_Command
    ) -> hci.HCI_StatusReturnParameters:
        pending = self.pending_le_connection
        if pending is None:
            return hci.HCI_StatusReturnParameters(hci.HCI_ErrorCode.COMMAND_DISALLOWED_ERROR)
        self.pending_le_connection = None
        peer = pending.peer_address
        self.send_hci_packet(
            hci.HCI_LE_Connection_Complete_Event(
                status=hci.HCI_ErrorCode.UNKNOWN_CONNECTION_IDENTIFIER_ERROR,
                connection_handle=0,
                role=hci.Role.CENTRAL,
                peer_address_type=peer.address_type,
                peer_address=peer,
                connection_interval=0,
                peripheral_latency=0,
                supervision_timeout=0,
                central_clock_accuracy=0,
            )
        )
        return hci.HCI_StatusReturnParameters(hci.HCI_ErrorCode.SUCCESS)

    def on_hci_reset_command(
        self, command: hci.HCI_Reset_Command
    ) -> hci.HCI_StatusReturnParameters:
        for connection in list(self.le_connections.values()):
            connection.send_ll_control_pdu(
                ll.TerminateInd(hci.HCI_ErrorCode.CONNECTION_TIMEOUT_ERROR)
            )
        self.le_connections.clear()
        self.pending_le_connection = None
        return super().on_hci_reset_command(command)
