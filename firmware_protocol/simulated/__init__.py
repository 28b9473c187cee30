"""The simulated sensor: a real BLE peripheral in software (Bumble GATT server) replaying
a recording, with fault injection; ``rehab sim-sensor`` runs it for another process."""
