"""Failure analysis of the motion engine on development seeds (10,000-99,999), never held-out ones.

Prints, per exercise, the share of sets counted exactly and every miscounted set with its placement,
gyro, hazards and the found and true counts; then how often each hazard is present in the failures
against how often it is present at all.

    .venv/bin/python benchmarks/dev_failures.py [--sets 40] [--seed 10000] [--exercise squat]
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter

import numpy as np

from rehablink.exercises import EXERCISES
from rehablink.simulator import random_spec, simulate
from wearable.motion.analyze import analyze

DEV_SEEDS = (10_000, 99_999)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", type=int, default=40, help="sets per exercise")
    parser.add_argument("--seed", type=int, default=DEV_SEEDS[0], help="first seed")
    parser.add_argument("--exercise", action="append", help="only these exercises")
    parser.add_argument("-q", "--quiet", action="store_true", help="only the summary")
    args = parser.parse_args(argv)
    exercises = args.exercise or list(EXERCISES)
    if not DEV_SEEDS[0] <= args.seed <= DEV_SEEDS[1] - 1000 * len(EXERCISES):
        parser.error("development seeds are 10,000-99,999")
    seen: Counter[str] = Counter()
    failed: Counter[str] = Counter()
    total = exact_all = 0
    for ex in exercises:
        exact = 0
        lines = []
        for k in range(args.sets):
            seed = args.seed + 1000 * list(EXERCISES).index(ex) + k
            spec = random_spec(np.random.default_rng(seed), exercise=ex)
            rec, truth = simulate(spec, seed)
            result = analyze(rec, ex, spec.placement)
            ok = result.rep_count == truth.rep_count
            exact += ok
            seen.update(spec.hazards)
            if not ok:
                failed.update(spec.hazards)
                lines.append(f"  seed {seed} {spec.placement} {'gyro' if spec.gyro else 'acc'} "
                             f"{spec.rate_hz:g}Hz found {result.rep_count} truth "
                             f"{truth.rep_count} partial {result.partial_count}: "
                             f"{','.join(spec.hazards)}")
        total += args.sets
        exact_all += exact
        print(f"{ex:18} {100 * exact / args.sets:5.1f}%")
        if not args.quiet:
            print("\n".join(lines))
    print(f"{'all':18} {100 * exact_all / max(total, 1):5.1f}%")
    print("hazard: in failures / present")
    for h, n in sorted(seen.items(), key=lambda kv: -failed[kv[0]] / kv[1]):
        print(f"  {h:24} {failed[h]:3d} / {n:3d}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
