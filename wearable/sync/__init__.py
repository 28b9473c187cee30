"""Sync with the clinic server: enrollment, the outbox of pending sessions, plan download."""
