"""Generate the committed test corpus and the bundled demo recordings.

``python -m rehablink.simulator.corpus tests/corpus`` writes every exercise under four groups of
hazards (plus thigh placements) with seeds ``CORPUS_SEED0 + i``; ``python -m
rehablink.simulator.corpus --bundled rehablink/recordings`` writes the demo recordings.
Benchmarks draw their held-out sets with seeds >= ``BENCHMARK_SEED0``: never from this range.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path

import numpy as np

from rehablink.exercises import EXERCISES
from rehablink.simulator.core import simulate
from rehablink.simulator.spec import SetSpec, random_spec
from rehablink.simulator.truth import truth_path

#: Seeds of the committed corpus are CORPUS_SEED0 + 0 ... + 999.
CORPUS_SEED0 = 1000
#: Benchmarks use seeds from here on (recordings the engine has never seen).
BENCHMARK_SEED0 = 1_000_000

#: Hazard groups of the corpus: name -> hazards.
GROUPS: dict[str, tuple[str, ...]] = {
    "clean": (),
    "sensor": ("jitter", "drops", "disconnect", "drift", "loose_mount"),
    "home": ("walking_around", "lying_down_getting_up", "breathing", "sway", "fidgets",
             "posture_shift"),
    "person": ("fatigue", "no_pause", "slow_reps", "partials", "reduced_rom", "compensation"),
}
#: Reps per set by group (the home group spends time walking and lying down around them).
REPS: dict[str, tuple[int, int]] = {"clean": (5, 9), "sensor": (5, 8), "home": (4, 6),
                                    "person": (5, 7)}
#: Extra sets with the sensor above the knee: (exercise, group).
THIGH_SETS = (("clamshell", "clean"), ("clamshell", "person"), ("side_leg_raise", "home"),
              ("squat", "sensor"))

#: Bundled demo recordings: name -> spec (50 Hz, gyro, realistic but clean), with their seeds.
BUNDLED: dict[str, tuple[SetSpec, int]] = {
    "bridge": (SetSpec("bridge", n_reps=8, rate_hz=50.0, hazards=("breathing", "sway"),
                       hold_s=4.0, rom_deg=24.0, lift_s=1.5, lower_s=2.0, rest_s=2.0), 501),
    "clamshell": (SetSpec("clamshell", n_reps=10, rate_hz=50.0, hazards=("breathing", "sway"),
                          hold_s=2.5, rom_deg=4.5, lift_s=1.2, lower_s=1.5, rest_s=1.5), 502),
    "side_leg_raise": (SetSpec("side_leg_raise", n_reps=9, rate_hz=50.0,
                               hazards=("breathing", "sway"), hold_s=2.5, rom_deg=7.0,
                               lift_s=1.2, lower_s=1.6, rest_s=1.5), 503),
}


def corpus_specs() -> list[tuple[str, SetSpec, int]]:
    """The corpus: (file stem, spec, seed), deterministic.

    Sensor rates are limited to 25-100 Hz, sets to 4-9 reps and rests to 2 s so that the corpus
    stays small (30-90 s a set).
    """
    out: list[tuple[str, SetSpec, int]] = []
    plan = [(ex, group, "pelvis") for ex in EXERCISES for group in GROUPS]
    plan += [(ex, group, "thigh") for ex, group in THIGH_SETS]
    for i, (ex, group, placement) in enumerate(plan):
        seed = CORPUS_SEED0 + i
        rng = np.random.default_rng(seed)
        spec = random_spec(rng, exercise=ex, hazards=GROUPS[group])
        rate = float(rng.choice([25.0, 26.0, 50.0, 52.0, 100.0], p=[0.2, 0.2, 0.25, 0.25, 0.1]))
        lo, hi = REPS[group]
        spec = replace(spec, placement=placement, n_reps=int(rng.integers(lo, hi + 1)),
                       rate_hz=rate, rest_s=min(spec.rest_s or 0.0, 2.0))
        out.append((f"{ex}-{group}{'-thigh' if placement == 'thigh' else ''}-{seed}", spec, seed))
    return out


def held_out_specs(n: int, start: int = BENCHMARK_SEED0,
                   exercise: str | None = None) -> list[tuple[SetSpec, int]]:
    """``n`` varied sets for benchmarks, (spec, seed) with seeds ``start, start + 1, ...``.

    Each spec is :func:`~rehablink.simulator.spec.random_spec` of ``default_rng(seed)``: any
    exercise (or the one given), placement, sensor and hazards. Keep ``start`` at or above
    :data:`BENCHMARK_SEED0` so that no committed test recording is among them.
    """
    if start < BENCHMARK_SEED0:
        raise ValueError(f"benchmark seeds start at {BENCHMARK_SEED0}, got {start}")
    return [(random_spec(np.random.default_rng(s), exercise=exercise), s)
            for s in range(start, start + n)]


def write_set(folder: Path, stem: str, spec: SetSpec, seed: int) -> dict[str, object]:
    """Simulate one set, write ``stem.csv`` and ``stem.truth.json``; return its manifest row."""
    recording, truth = simulate(spec, seed)
    path = folder / f"{stem}.csv"
    recording.write_csv(path)
    truth.write(truth_path(path))
    return {"file": path.name, "exercise": spec.exercise, "placement": spec.placement,
            "hazards": list(spec.hazards), "seed": seed, "rep_count": truth.rep_count,
            "partial_count": truth.partial_count, "duration_s": round(recording.duration_s, 2),
            "rate_hz": spec.effective_rate_hz, "gyro": recording.gyro is not None}


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--bundled", action="store_true", help="write the demo recordings")
    args = parser.parse_args(argv)
    args.folder.mkdir(parents=True, exist_ok=True)
    if args.bundled:
        for name, (spec, seed) in BUNDLED.items():
            row = write_set(args.folder, name, spec, seed)
            print(f"{row['file']}: {row['rep_count']} reps, {row['duration_s']} s")
        return
    rows = [write_set(args.folder, stem, spec, seed) for stem, spec, seed in corpus_specs()]
    manifest = {"seeds": [CORPUS_SEED0, CORPUS_SEED0 + len(rows) - 1],
                "benchmark_seeds_from": BENCHMARK_SEED0, "sets": rows}
    (args.folder / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    print(f"wrote {len(rows)} sets to {args.folder}")


if __name__ == "__main__":
    main()
