"""The motion engine: reps, holds, range and pelvic stability from one IMU (pure: arrays in, results out)."""
