"""RehabLink: home rehabilitation of low back pain with one pelvis-worn BLE motion sensor.

This package holds what every part of the product shares: the command-line group, the exercise
and red-flag registries, the recording format and the result types of the motion engine.
"""

__version__ = "0.1.0"
