"""Recordings bundled with the package for the demo programme, each with its ground truth.

Simulated (see docs/simulator.md), 50 Hz with gyro, realistic but clean: ``bridge`` (holds of
3-5 s), ``clamshell`` and ``side_leg_raise`` (holds of 2-3 s). Regenerate with
``python -m rehablink.simulator.corpus --bundled rehablink/recordings``.

>>> bundled("bridge").name
'bridge.csv'
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

#: Names of the bundled recordings.
NAMES = ("bridge", "clamshell", "side_leg_raise")


def bundled(name: str) -> Path:
    """Path of a bundled recording's CSV; its truth is ``NAME.truth.json`` next to it.

    Raises
    ------
    KeyError
        For an unknown name, listing the known ones.
    """
    if name not in NAMES:
        raise KeyError(f"unknown bundled recording {name!r}; known: {', '.join(NAMES)}")
    return Path(str(resources.files(__name__).joinpath(f"{name}.csv")))


def bundled_truth(name: str) -> Path:
    """Path of a bundled recording's truth file (JSON, see ``rehablink.simulator.Truth``)."""
    return bundled(name).with_name(f"{name}.truth.json")
