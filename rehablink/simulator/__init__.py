"""A physically modelled simulator of pelvis- or thigh-worn IMU recordings of the exercises, with
ground truth in the product's definitions (see docs/simulator.md).

>>> from rehablink.simulator import SetSpec, simulate
>>> recording, truth = simulate(SetSpec("clamshell", n_reps=4, hazards=("breathing",)), seed=3)
>>> truth.rep_count
4
"""

from rehablink.simulator.core import simulate
from rehablink.simulator.spec import HAZARDS, SetSpec, random_spec
from rehablink.simulator.truth import Truth, truth_path

__all__ = ["HAZARDS", "SetSpec", "Truth", "random_spec", "simulate", "truth_path"]
