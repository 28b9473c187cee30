"""The simulated sensor: a real BLE peripheral in software (Bumble GATT server) replaying a recording."""
