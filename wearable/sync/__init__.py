"""Sync with the clinic server: enrollment, the outbox of pending sessions, plan download.

The companion calls :func:`sync_in_background` after each session; ``rehab sync`` runs the
same sync in the foreground (see docs/api.md).
"""

from wearable.sync.background import sync_in_background

__all__ = ["sync_in_background"]
