"""The engine on the committed simulated corpus and on fresh simulated sets, by exercise and hazard.

The corpus (tests/corpus, seeds 1000-1039) and the fresh sets here (seeds 2000-2999) never overlap
the benchmark's held-out seeds (>= 1,000,000): benchmarks/accuracy.py measures the targets; these
tests guard the behaviour on sets the engine handles.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from rehablink.exercises import EXERCISES
from rehablink.recording import Recording, load_recording
from rehablink.results import Rep
from rehablink.simulator import HAZARDS, SetSpec, Truth, random_spec, simulate
from wearable.motion.analyze import analyze

CORPUS = Path(__file__).parent / "corpus"
FILES = sorted(p.name for p in CORPUS.glob("*.csv"))


def _hold_errors(result_reps: list[Rep], truth_reps: list[dict[str, Any]]) -> list[float]:
    """Hold error of each found rep whose top lies inside a true rep."""
    errors = []
    for rep in result_reps:
        for tr in truth_reps:
            if tr["start"] - 0.5 <= rep.top <= tr["end"] + 0.5 and not tr.get("in_gap"):
                errors.append(abs(rep.hold_s - tr["hold_s"]))
                break
    return errors


def test_corpus_is_there() -> None:
    assert len(FILES) >= 40
    exercises = {Truth.read(CORPUS / n.replace(".csv", ".truth.json")).exercise for n in FILES}
    assert exercises == set(EXERCISES)


@pytest.mark.parametrize("name", FILES)
def test_corpus_set(name: str) -> None:
    truth = Truth.read(CORPUS / name.replace(".csv", ".truth.json"))
    result = analyze(load_recording(CORPUS / name), truth.exercise, truth.placement)
    error = result.rep_count - truth.rep_count
    if "-clean-" in name:
        assert error == 0, f"{name}: {result.rep_count} reps, truth {truth.rep_count}"
        holds = _hold_errors(list(result.reps), list(truth.reps))
        assert len(holds) == truth.rep_count
        if EXERCISES[truth.exercise].holds:  # squats and step-ups: see docs/motion.md
            assert float(np.median(holds)) <= 0.25
    else:  # hazards: within one rep here; the exact share is measured by the benchmark
        assert abs(error) <= 1, f"{name}: {result.rep_count} reps, truth {truth.rep_count}"
    for rep in result.reps:
        assert rep.start <= rep.top <= rep.lower_start <= rep.end
        assert rep.rom_deg > 0


def test_corpus_exact_share() -> None:
    """A floor that locks in the present level (95 % of the corpus; not yet the 97 % target
    on held-out sets, see docs/motion.md)."""
    exact = 0
    for name in FILES:
        truth = Truth.read(CORPUS / name.replace(".csv", ".truth.json"))
        result = analyze(load_recording(CORPUS / name), truth.exercise, truth.placement)
        exact += result.rep_count == truth.rep_count
    assert exact / len(FILES) >= 0.9


SINGLE_HAZARDS = [h for h in HAZARDS if h != "fidgets"]


@pytest.mark.parametrize("hazard", SINGLE_HAZARDS)
def test_fresh_set_with_one_hazard(hazard: str) -> None:
    exercises = list(EXERCISES)
    i = list(HAZARDS).index(hazard)
    for j in range(2):
        exercise = exercises[(i + j) % len(exercises)]
        spec = SetSpec(exercise, n_reps=6, hazards=(hazard,), rate_hz=50.0)
        recording, truth = simulate(spec, 2000 + 10 * i + j)
        result = analyze(recording, exercise)
        assert result.rep_count == truth.rep_count, (hazard, exercise)


def test_fresh_sets_with_fidgets() -> None:
    """Fidgets between reps may cost or add a rep, never more."""
    for j, exercise in enumerate(("bridge", "clamshell", "hip_hitch")):
        recording, truth = simulate(SetSpec(exercise, n_reps=6, hazards=("fidgets",)), 2500 + j)
        assert abs(analyze(recording, exercise).rep_count - truth.rep_count) <= 1


@pytest.mark.parametrize("exercise", ["clamshell", "side_leg_raise", "bridge"])
def test_fresh_thigh_sets(exercise: str) -> None:
    spec = SetSpec(exercise, placement="thigh", n_reps=7, rate_hz=100.0)
    recording, truth = simulate(spec, 2600 + list(EXERCISES).index(exercise))
    result = analyze(recording, exercise, "thigh")
    assert result.rep_count == truth.rep_count
    assert all(rep.stability_deg is None for rep in result.reps)


def test_compensation_is_flagged() -> None:
    """Reps whose pelvis moves about the other axes by well over the threshold are flagged."""
    spec = SetSpec("single_leg_bridge", n_reps=8, hazards=("compensation",),
                   compensation_deg=12.0, rate_hz=100.0)
    recording, truth = simulate(spec, 2700)
    result = analyze(recording, "single_leg_bridge")
    assert result.rep_count == truth.rep_count
    flagged_truth = [r["stability_deg"] > 8.0 for r in truth.reps]
    flagged = ["pelvis_rotating" in r.flags for r in result.reps]
    assert any(flagged_truth)
    assert sum(a and b for a, b in zip(flagged, flagged_truth, strict=True)) >= \
        sum(flagged_truth) - 1


def test_fresh_sets_straight_after_getting_up_or_lying_down() -> None:
    """Reps with no pause right after getting into the posture: the new rest is found without
    a still moment at it (a floor; one set in twelve may still be missed)."""
    exact = 0
    sets = 0
    for exercise in ("hip_hinge", "squat", "generic", "bridge"):
        for seed in range(2800, 2806):
            spec = SetSpec(exercise, n_reps=8, hazards=("lying_down_getting_up", "no_pause"))
            recording, truth = simulate(spec, seed)
            exact += analyze(recording, exercise).rep_count == truth.rep_count
            sets += 1
    assert exact >= sets - 2


@pytest.mark.parametrize(("seed", "exercise", "why"), [
    (24021, "hip_hitch", "the first steps of a walk before the set must not set its range"),
    (28015, "generic", "a small movement before the first rep must not set the reps' way"),
    (26033, "squat", "at the thigh, a squat's 85 deg rings in the footfall band: not walking"),
    (43000, "side_leg_raise", "a small rep's way wobbles with sway: no posture shift"),
    (20004, "bridge", "the pelvis settled 8 deg off during a disconnect: a small last rep ends "
                      "when it is back near where it began, not near the old rest"),
    (42020, "clamshell", "fidgets until the first lift: the first stillness is its hold"),
    (20029, "bridge", "lying down after a walk, still at 65 deg from standing before any rep: a "
                      "new posture, not a hold"),
    (21006, "single_leg_bridge", "a fidget's jolt right after a rep (accelerometer only) must "
                                 "not read as a tilt of tens of degrees at its window's edge"),
    (27012, "step_up", "a slow step-up creeps 6 deg in 12 s, under the still speed: not a new "
                       "posture after 8 s"),
    (31010, "single_leg_bridge", "a new posture before the set is learned: the range learned "
                                 "in the old one is forgotten"),
    (42012, "clamshell", "lying down straight into the first rep: stillness the other way than "
                         "the reps' for 1 s is a new posture, not a rest learned in a hold"),
    (42013, "clamshell", "a 30 deg flick of the thigh in 0.7 s while getting up after the set is "
                         "not a rep"),
    (46023, "squat", "a movement over in less than 0.9 s is not a squat"),
    (17027, "step_up", "a pelvis lean over in less than 0.9 s is half of a step-up the tilt "
                       "split, not a rep"),
    (57000, "step_up", "a pelvis lean over in less than 0.9 s (gyro) is not a step-up"),
    (12013, "clamshell", "a posture shift just before a rep: held at 3x the typical range from "
                         "the old rest but a rep's range from the new one, it is a hold"),
    (41007, "single_leg_bridge", "the same, accelerometer only"),
    (11020, "single_leg_bridge", "a disconnect hid a rep's return and the next one's lift: the "
                                 "movement out and back after the hole is the second rep"),
    (26016, "squat", "a rep after a disconnect timed to top inside it is one of the two reps "
                     "the hole hid, not a neighbour of them"),
    (25003, "hip_hinge", "a disconnect from a rep's lowering to the next one's top: coming back "
                         "to the top after the hole is no rep from it (the set went inside out)"),
    (18013, "generic", "a disconnect in the first reps after lying down: the new rest is still "
                       "found from the reps out of it and back"),
    (20006, "bridge", "the same after a posture shift of half a rep's range"),
    (32003, "clamshell", "a disconnect in the first rep's lowering, held at its top before any "
                         "rep was counted: the top is not taken for the rest"),
    (18010, "generic", "the same at 45 deg"),
    (38001, "generic", "... but stillness 84 deg from standing before any rep is lying down, not "
                       "a top"),
    (21001, "single_leg_bridge", "a posture shift of half a rep's range against the reps' way: "
                                 "still there for 1 s, it is the new rest"),
    (24026, "hip_hitch", "the same, among fidgets and sway"),
    (27011, "step_up", "a slow step-up, still at the peak of both leans: the lean while stepping "
                       "down, back near the first one's peak, is no rep from it"),
    (37035, "step_up", "the same with a gyro, among partial attempts"),
    (42002, "clamshell", "a posture shift of half a rep's range after two reps is not a top"),
    (47030, "step_up", "a recording begun with the first rep: it is counted at the first "
                       "stillness after it"),
    (31014, "single_leg_bridge", "the rep after a disconnect timed to top just after it is "
                                 "one of the reps the hole hid"),
    (45008, "hip_hinge", "two reps around a hole that make no rep together are timed each on "
                         "its side of it"),
    (43010, "side_leg_raise", "a slow rep whose top a hole hid: its lift before the hole is not "
                              "a rep of its own"),
    (17035, "step_up", "fast step-ups at the thigh with no pause ring in the footfall band: "
                       "a thigh just back from a swing beyond a walk's is not walking"),
    (57029, "step_up", "the same, 15 reps with a posture shift"),
    (47018, "step_up", "stepping up with the thigh at 30-35 deg is the exercise, not the first "
                       "steps of a walk"),
    (27029, "step_up", "the same, accelerometer only"),
    (47019, "step_up", "a brisk stepping up at the thigh is out and back in 0.3 s of ticks: "
                       "a movement, not a flick"),
    (27028, "step_up", "the same; and a stepping up whose rise reads -8 cm before a fall of "
                       "37 cm is still the first half of the rep"),
    (17003, "step_up", "a stepping up whose rise reads -6 cm before a fall 11 cm deeper is "
                       "the first half of the rep"),
    (28009, "generic", "lying down after standing bends forward 40 deg and sits back past "
                       "upright without a pause: that first movement is not the set's range"),
    (18028, "generic", "the same, accelerometer only, with a disconnect and fidgets"),
    (68021, "generic", "the same, with a gyro and partial attempts"),
    (50021, "bridge", "... but a rep's lowering that overshoots the rest by a third of its range "
                      "is no posture change: the rep's range and way stand"),
    (34021, "hip_hitch", "... nor is a sway of 1 deg before the first rep, which goes the "
                         "other way"),
    (58036, "generic", "a fidget shook the start of a rep: held where the reps hold, it is "
                       "still a rep, and no posture change"),
    (12003, "clamshell", "the same at the thigh, accelerometer only"),
    (57036, "step_up", "without a gyro, the forward lurch of stepping up bends the "
                       "accelerometer's gravity by 20 deg where the pelvis leans 8: low-passed "
                       "at 0.6 Hz it is no movement of its own"),
    (17011, "step_up", "the same, 15 reps of a 6 deg lean with no pause"),
    (55008, "hip_hinge", "the same for the hip shifting back in a hinge"),
    (36003, "squat", "the same for the pelvis sinking and rising in a squat"),
    (25002, "hip_hinge", "a disconnect hid a rep among five: two steady spacings give the "
                         "rhythm that places it"),
    (46018, "squat", "the same among four reps"),
    (61005, "single_leg_bridge", "reps 1.6 periods apart around a hole had one between them "
                                 "(the hole hid a rep's return and the next one's lift)"),
    (67015, "step_up", "the same for step-ups"),
    (37001, "step_up", "walking off after the last rep: a short movement just before the first "
                       "steps, timed on into them, is part of the walk, not a rep"),
    (47035, "step_up", "the same, the first steps timed as a 6 s movement"),
    (67023, "step_up", "the same, a movement that closed just after walking became certain"),
    (32036, "clamshell", "a short movement overlapping the start of a rep is part of it (a "
                         "fidget as it began), not a rep of its own"),
    (33007, "side_leg_raise", "the same at a rep's end"),
    (64004, "hip_hitch", "the same: a wobble timed across the end of a rep"),
    (58002, "generic", "a rep held into a hole and lowered out of it is one rep, not two: "
                       "their tops lie less than a period apart"),
    (20022, "bridge", "the same, accelerometer only"),
    (62028, "clamshell", "the same for a 1.4 deg clamshell at the pelvis"),
    (47012, "step_up", "the same for a step-up"),
    (24011, "hip_hitch", "a disconnect over the set's last rep: the rhythm's next top falls "
                         "inside the hole, so it hid one more rep"),
    (40021, "bridge", "the same for a bridge"),
    (53005, "side_leg_raise", "the same, a disconnect and nothing else"),
    (56009, "squat", "the same with a hole of 0.4 periods: the rep's ends on either side made "
                     "no movement of their own"),
    (58029, "generic", "a set begun at once, first still at the top of its first rep, where "
                       "sway broke the hold into two still runs: the rest is where it came from"),
    (60002, "bridge", "a posture shift left the rest 4 deg off: staying put there for 1.5 s "
                      "between reps makes it the rest, and a rep of half the range opens again"),
    (60014, "bridge", "the same, a rep of 56 % of the range"),
    (41028, "single_leg_bridge", "the same for a single-leg bridge"),
    (10012, "bridge", "the same, accelerometer only, two such reps"),
    (67008, "step_up", "a quick pelvis lean of a third of the set's range is a partial attempt "
                       "at a step-up, not a rep of reduced range"),
    (17052, "step_up", "the same, accelerometer only"),
    (47113, "step_up", "the same at 26 Hz with a loose mount"),
    (73017, "side_leg_raise", "a fidget shook the thigh into a rep's lift: still at its top "
     "after shaking that stopped within 3 s (no walk), the rest stays and the rep closes"),
    (11035, "single_leg_bridge", "the same, accelerometer only at the thigh"),
    (32000, "clamshell", "a thigh swing while standing, before the side-lying set: a movement "
     "from a rest 90 deg from the set's is in another posture, not a rep"),
    (62032, "clamshell", "the same, accelerometer only at 25 Hz"),
    (72037, "clamshell", "the same at 104 Hz"),
    (17001, "step_up", "slow reps, a hole of a third of a period over the turn between two: "
     "lowering into the hole and lifting out of it, the tilt went back down inside: two reps"),
    (47011, "step_up", "the same with a gyro, the first rep's top in the hole too"),
    (57028, "step_up", "lowering on both sides of the hole but higher out of it: it went "
     "down, up and down again inside: two reps"),
    (87002, "step_up", "lifting on both sides of the hole but lower out of it: up, down and "
     "up again inside: two reps"),
    (58037, "generic", "a set counted inside out (the rest learned at the top of a 3 s hold "
     "after walking): the segment stays at the reps' top before the first and after the last, "
     "so the reps are turned the right way round, one more"),
    (15027, "hip_hinge", "the same after getting up, accelerometer only"),
    (28030, "generic", "the same with a disconnect in the set"),
    (17019, "step_up", "slow step-ups without a pause begun straight after walking up, never "
     "still for long enough to settle: the set starts from the standing rest left for the walk"),
    (37013, "step_up", "the same, with a gyro, after lying down and getting up"),
    (46110, "squat", "the same at the thigh, accelerometer only"),
    (57069, "step_up", "the same for step-ups at the thigh"),
    (26050, "squat", "the landing of an early squat shakes the footfall band: a tilt beyond a "
     "walk's sway before the reps are learned is the exercise, not the first steps of a walk"),
    (66128, "squat", "the same after lying down and getting up, accelerometer only"),
    (13021, "side_leg_raise", "an excursion opened by a small shift of the rest: the anchor "
     "inside it stays where the pelvis stayed put, not carried up by the next slow lift, so "
     "that rep closes from the new rest"),
    (53018, "side_leg_raise", "the same, three reps"),
    (64039, "hip_hitch", "the same for hip hitches, accelerometer only"),
    (47112, "step_up", "swaying before the set and no pause between its reps: the segment is "
     "first still after the last rep, and all the reps before that stillness are counted"),
    (57044, "step_up", "the same straight after walking up, with sway: the first rep, never "
     "still before it, is found at the first stillness after the walk"),
    (55155, "hip_hinge", "the same after getting up from the floor: the detector gave up on "
     "the movement as a posture change, and the reps in it and after it, never still, are "
     "found at the stillness after the set"),
    (96105, "squat", "a disconnect over most of a rep, its return seen as the data resume: "
     "too little of it to time, but a movement no counted rep accounts for"),
    (64169, "hip_hitch", "the same for a hip hitch, accelerometer only"),
    (84081, "hip_hitch", "a hip hitch at the thigh tilts it by a few degrees, as the pelvis: "
     "a thigh range learned from a prior made for the big thigh swings of other exercises "
     "never opened an excursion"),
    (54091, "hip_hitch", "five-second hip hitch holds with sway, straight after a walk: sway of "
     "a degree in the first hold, out of it and back, is no rep from a new rest at the top"),
    (94030, "hip_hitch", "the same without a pause between reps, accelerometer only"),
    (84190, "hip_hitch", "the same at the start of a recording, accelerometer only: the sway "
     "is a third of the lowest hip hitch range, but a fifth of the first rep's"),
    (44184, "hip_hitch", "the same without a pause between reps"),
    (95044, "hip_hinge", "brisk hinges, 60 deg in 0.6 s, shake the footfall band as a walk "
     "does: once the reps are learned, a full-size excursion is the exercise, not a walk"),
    (50175, "bridge", "the rep after a disconnect is timed from inside it: the rhythm's slot "
     "before it is that rep, not a hidden one"),
    (24086, "hip_hitch", "a rep whose return ran into a disconnect is timed across it: no "
     "hidden rep is placed over it"),
    (81029, "single_leg_bridge", "slow reps: two reps timed as one across a disconnect last "
     "little longer than the set's reps, but hold far longer"),
    (15146, "hip_hinge", "standing still after getting up from lying, 90 deg from the lying "
     "rest, is the new rest: hinges pause at their bottom for a second at most"),
    (67189, "step_up", "a step-up's pelvis on the step leans 62 deg sideways of the reps' mean "
     "way (toward the leading leg): still there for a second, it is a rep's top, not a posture "
     "shift"),
    (16143, "squat", "a posture shift the other way by 0.29 of the squat's range (6.6 of 22.5 deg) "
     "between reps is a new rest: shifts from the opening tilt on are posture shifts"),
    (74138, "hip_hitch", "a disconnect of 6 s over a hitch's 3.5 s hold: the tilt interpolated "
     "across it is still, but no evidence of a rest there (one learned at the top lost the six "
     "reps after it)"),
    (18112, "generic", "lying down ran straight into the first lift, so the rest was learned "
     "at its 6 s hold; the real rest, 8-11 s before the first rep counted inside out, turns the "
     "set round"),
    (37143, "step_up", "brisk step-ups at the thigh, accelerometer only: each landing shakes "
     "the footfall band at 18-35 times walking's level for 2 s, as one burst, not a walk's "
     "rhythm of steps (taken for the first steps of a walk, three reps were lost)"),
    (26102, "squat", "a disconnect over most of a squat with an uneven rhythm: the data resume "
     "during its slow return, which moves a quarter of the range only within 2 s of the hole"),
    (87181, "step_up", "a step-up whose pelvis leaned only the other way (against the set's "
     "mean way, under 70 % of its range), over 4 s from any other movement: a rep, not the "
     "overshoot of a return"),
    (84139, "hip_hitch", "hip hitches of 14-15 deg, beyond the exercise's usual 4-12: still "
     "at the third rep's top, 1.3 times the usual range, before three reps are counted, is "
     "where the two reps before held, not a new posture (five reps were lost)"),
    (50199, "bridge", "a reduced bridge lifting 9 deg over 5.6 s creeps on under the still "
     "speed: still for 1.5 s without staying put, it makes no new rest half way up"),
    (85182, "hip_hinge", "hip hinges straight after a walk, never still between them, tiring "
     "to 25 deg: at the first stillness the reps before it are looked for from 0.6 of the "
     "usual lowest range of 30 deg, not from 30 (five reps were lost)"),
    (27103, "step_up", "a slow walk before step-ups: its footfalls rise and fall about the "
     "level of walking with every step; once above it, they stay walking down to 0.8 of it, "
     "and the steps are no step-ups (four were counted)"),
    (67042, "step_up", "brisk step-ups at the thigh, 70 deg swings in 0.8 s, no pause: a "
     "stepping up's rise reads -0.07 m and its stepping down's -0.10 m, 0.4 s apart: halves "
     "close together are one rep unless the first clearly fell the more"),
    (17075, "step_up", "a fidget of 10 deg just before a rep of 47 at the thigh, its rise "
     "reading more than the rep's stepping up: a partial attempt is no half"),
    (27111, "step_up", "step-ups at the thigh, accelerometer only at 25 Hz: a disconnect "
     "between a rep's stepping up and down is no time seen standing on the step"),
    (60111, "bridge", "bridges at the thigh after a walk: first still lying 110 deg from "
     "standing, then settled 32 deg from there and every bridge went toward that first "
     "stillness: each was taken for a dip in one long hold (one rep of 11 counted)"),
    (11124, "single_leg_bridge", "single-leg bridges of 9 deg at the thigh from a rest 40 deg "
     "from the standing one a walk left, each under the sway a hold that far out may have: "
     "repeated alike, they are reps from that rest (8 of 15 counted)"),
])
def test_development_sets_that_once_failed(seed: int, exercise: str, why: str) -> None:
    """Sets of the development seeds (10,000-99,999) that each need one of the engine's rules."""
    spec = random_spec(np.random.default_rng(seed), exercise=exercise)
    recording, truth = simulate(spec, seed)
    assert analyze(recording, exercise, spec.placement).rep_count == truth.rep_count, why


def test_a_jolt_after_the_return_is_not_the_lowering() -> None:
    """Development set 42015 (clamshell, gyro): a fidget just after rep 4's return jolts the
    tilt faster than the lowering did; the lowering's start is still timed from the lowering
    (it was 2.5 s late, timed from the jolt)."""
    spec = random_spec(np.random.default_rng(42015), exercise="clamshell")
    recording, truth = simulate(spec, 42015)
    result = analyze(recording, "clamshell", spec.placement)
    assert result.rep_count == truth.rep_count
    for rep, true_rep in zip(result.reps, truth.reps, strict=True):
        assert rep.lower_start == pytest.approx(true_rep["lower_start"], abs=0.3)
        assert rep.hold_s == pytest.approx(true_rep["hold_s"], abs=0.3)


def _cut(recording: Recording, start: float, end: float) -> Recording:
    """The recording with no samples from ``start`` to ``end`` (s): a disconnect."""
    keep = (recording.t < start) | (recording.t >= end)
    gyro = recording.gyro[keep] if recording.gyro is not None else None
    return Recording(t=recording.t[keep], acc=recording.acc[keep], gyro=gyro)


@pytest.mark.parametrize("exercise", ["bridge", "squat", "hip_hinge", "hip_hitch", "step_up"])
def test_a_recording_that_begins_with_the_first_rep(exercise: str) -> None:
    """Recording started a moment before the first lift (no still rest before it): the first
    rep is counted once the segment is first still, back at rest after it. (Where the first
    stillness is a hold at the top instead, the rest is found from the movement into it.)"""
    spec = SetSpec(exercise, n_reps=6, hold_s=0.5, rest_s=1.5)
    recording, truth = simulate(spec, 2990 + sorted(EXERCISES).index(exercise))
    first = truth.reps[0]
    result = analyze(_cut(recording, -np.inf, first["start"] - 0.2), exercise)
    assert result.rep_count == truth.rep_count
    assert abs(result.reps[0].top - first["top"]) < 0.5


@pytest.mark.parametrize("exercise", ["bridge", "squat", "hip_hinge", "single_leg_bridge",
                                      "generic"])
@pytest.mark.parametrize("gyro", [True, False])
def test_a_disconnect_over_the_turn_between_two_reps(exercise: str, gyro: bool) -> None:
    """A disconnect from the middle of one rep's lowering to the middle of the next one's lift
    hides the return to rest between them: both reps are still counted, each near its own top,
    and flagged ``in_gap`` (a time the hole bounds, such as the second one's top when its lift
    ends soon after the hole, is an estimate)."""
    spec = SetSpec(exercise, n_reps=8, has_gyro=gyro, hold_s=1.0, rest_s=1.0)
    recording, truth = simulate(spec, 2970 + sorted(EXERCISES).index(exercise))
    a, b = truth.reps[3], truth.reps[4]
    cut = _cut(recording, 0.5 * (a["lower_start"] + a["end"]), 0.5 * (b["start"] + b["top"]))
    result = analyze(cut, exercise)
    assert result.rep_count == truth.rep_count
    for true_rep in (a, b):
        (rep,) = [r for r in result.reps if abs(r.top - true_rep["top"]) < 1.0]
        assert "in_gap" in rep.flags


@pytest.mark.parametrize("exercise", ["bridge", "squat", "hip_hinge", "side_leg_raise",
                                      "clamshell", "hip_hitch"])
def test_a_rep_a_disconnect_hid_is_counted_from_the_rhythm(exercise: str) -> None:
    """A disconnect over most of a rep mid-set: the rep is counted, placed between its
    neighbours and flagged ``in_gap``; the reps that were seen keep their own times."""
    spec = SetSpec(exercise, n_reps=10)
    recording, truth = simulate(spec, 2950 + sorted(EXERCISES).index(exercise))
    hidden = truth.reps[5]
    seen_s = 0.1 * (hidden["end"] - hidden["start"])  # the end of its return stays visible
    cut = _cut(recording, hidden["start"], hidden["end"] - seen_s)
    result = analyze(cut, exercise)
    assert result.rep_count == truth.rep_count
    estimated = [r for r in result.reps if "in_gap" in r.flags]
    assert estimated
    assert any(hidden["start"] <= r.top <= hidden["end"] for r in estimated)
    seen = [r for r in result.reps if "in_gap" not in r.flags]
    assert len(seen) >= truth.rep_count - 3


@pytest.mark.parametrize("exercise", ["bridge", "squat", "clamshell"])
def test_a_disconnect_in_a_pause_adds_none(exercise: str) -> None:
    """A disconnect in the longest rest between two reps: nothing is invented, nothing flagged."""
    spec = SetSpec(exercise, n_reps=10, hazards=("slow_reps",))
    recording, truth = simulate(spec, 2963)
    pauses = [(b["start"] - a["end"], a["end"], b["start"])
              for a, b in zip(truth.reps[1:-2], truth.reps[2:-1], strict=True)]
    length, a_end, b_start = max(pauses)
    assert length > 2.5
    result = analyze(_cut(recording, a_end + 0.2, b_start - 0.2), exercise)
    assert result.rep_count == truth.rep_count
    assert not any("in_gap" in r.flags for r in result.reps)
