"""The motion engine: reps, holds, range and pelvic stability from one IMU.

Pure: arrays in, results out. ``analyze`` for a recorded set, ``LiveDetector`` for a set
in progress.
"""
