"""The recording's timeline: what the person does before, during and after the set.

Before the set: standing and walking (``walking_around``), lying down or getting up
(``lying_down_getting_up``; a lying set after walking always includes lying down), settling;
after it the same in reverse.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rehablink.simulator.activity import CROUCH, SITTING, STANDING, Key, Walk

PostureKey = tuple[tuple[float, ...], tuple[float, ...], float]


@dataclass(frozen=True)
class Timeline:
    """Posture keys, walks, the set's start (s) and the whole duration (s).

    ``after_set`` is the quiet window right after the set, s.
    """

    keys: list[Key]
    walks: list[Walk]
    set_start: float
    total_s: float
    after_set: tuple[float, float]


class _Builder:
    def __init__(self, first: PostureKey) -> None:
        self.t = 0.0
        self.keys = [self._key(first)]
        self.walks: list[Walk] = []
        self.current = first

    def _key(self, p: PostureKey) -> Key:
        pel, hip, z = p
        return Key(self.t, (pel[0], pel[1], pel[2]), (hip[0], hip[1], hip[2]), float(z))

    def go(self, p: PostureKey, dur: float) -> None:
        self.t += dur
        self.current = p
        self.keys.append(self._key(p))

    def hold(self, dur: float) -> None:
        self.go(self.current, dur)

    def walk(self, rng: np.random.Generator) -> None:
        dur = float(rng.uniform(6.0, 14.0))
        self.walks.append(Walk(self.t, self.t + dur, float(rng.uniform(1.6, 2.0)),
                               float(rng.uniform(0.8, 1.3))))
        self.hold(dur)

    def path(self, poses: list[PostureKey], rng: np.random.Generator) -> None:
        for p in poses:
            self.go(p, float(rng.uniform(0.9, 1.8)))
            self.hold(float(rng.uniform(0.2, 0.8)))


def build_timeline(posture: str, set_key: PostureKey, set_s: float, hazards: set[str],
                   rng: np.random.Generator) -> Timeline:
    """Lay out the recording around a set of ``set_s`` seconds in ``posture``."""
    walking = "walking_around" in hazards
    lying = "lying_down_getting_up" in hazards
    standing_set = posture == "standing"
    supine: PostureKey = ((0.0, -np.pi / 2, 0.0), (0.0, -0.9, 0.0), 0.10)
    if standing_set:
        down = [SITTING, CROUCH, set_key]  # getting up from the floor
        b = _Builder(supine if lying else set_key)
        if lying:
            b.hold(float(rng.uniform(1.5, 3.0)))
            b.path(down, rng)
        if walking:
            b.hold(float(rng.uniform(1.0, 2.0)))
            b.walk(rng)
    else:
        down = [CROUCH, SITTING, set_key]
        b = _Builder(STANDING if (walking or lying) else set_key)
        if walking or lying:
            b.hold(float(rng.uniform(1.0, 2.0)))
            if walking:
                b.walk(rng)
                b.hold(float(rng.uniform(0.5, 1.0)))
            b.path(down, rng)
    b.hold(float(rng.uniform(2.0, 4.0)))
    set_start = b.t
    b.hold(set_s)
    quiet = float(rng.uniform(2.0, 4.0))
    after = (b.t, b.t + quiet)
    b.hold(quiet)
    if standing_set:
        if walking:
            b.walk(rng)
            b.hold(float(rng.uniform(1.0, 2.0)))
        if lying:
            b.path([*reversed(down[:-1]), supine], rng)
            b.hold(float(rng.uniform(1.0, 2.0)))
    elif walking or lying:
        b.path([SITTING, CROUCH, STANDING], rng)
        if walking:
            b.hold(float(rng.uniform(0.5, 1.0)))
            b.walk(rng)
        b.hold(float(rng.uniform(1.0, 2.0)))
    return Timeline(b.keys, b.walks, set_start, b.t + 0.3, after)
