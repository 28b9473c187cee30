"""A physically modelled simulator of pelvis- or thigh-worn IMU recordings of the exercises, with
ground truth in the product's definitions (see docs/simulator.md).

>>> from rehablink.simulator import SetSpec, simulate
>>> recording, truth = simulate(SetSpec("clamshell", n_reps=4, hazards=("breathing",)), seed=3)
>>> truth.rep_count
4
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rehablink.simulator.core import simulate
    from rehablink.simulator.spec import HAZARDS, SetSpec, random_spec
    from rehablink.simulator.truth import Truth, truth_path

#: Public names and the submodule that defines each. They are imported on first use (PEP 562), so
#: ``rehab`` commands that only need the hazard registry do not pay for scipy at start-up.
_EXPORTS = {
    "simulate": "core",
    "HAZARDS": "spec",
    "SetSpec": "spec",
    "random_spec": "spec",
    "Truth": "truth",
    "truth_path": "truth",
}

__all__ = ["HAZARDS", "SetSpec", "Truth", "random_spec", "simulate", "truth_path"]


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
