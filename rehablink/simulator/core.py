"""``simulate(spec, seed)``: a whole recording with its ground truth.

The body is simulated on a fine uniform grid (4x the sensor rate, 200-800 Hz): postures and
walking, the exercise's rotation and translation of the pelvis and the thigh, breathing, sway,
fidgets. The sensor's world position is differentiated twice for its acceleration; orientations
give its angular rate; then the sensor filters, samples on its own (drifting, jittering) clock,
adds its errors, quantises and loses packets.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.spatial.transform import Rotation

from rehablink.exercises import EXERCISES
from rehablink.recording import Recording
from rehablink.simulator import activity as act
from rehablink.simulator import sensor as sen
from rehablink.simulator.motion import MODELS, SetPlan, min_jerk, mirror, move_profile, plan_set
from rehablink.simulator.motion import resolve_model as _resolve
from rehablink.simulator.spec import SetSpec
from rehablink.simulator.timeline import Timeline, build_timeline
from rehablink.simulator.truth import Truth

#: Rest orientation of the pelvis per posture (rotation vector, rad, left side up when lying on
#: the side) and the height of its centre, m.
POSTURES: dict[str, tuple[tuple[float, float, float], float]] = {
    "standing": ((0.0, 0.0, 0.0), 0.95),
    "supine": ((0.0, -np.pi / 2, 0.0), 0.10),
    "side_lying": ((np.pi / 2, 0.0, 0.0), 0.17),
}


def _m(rotvec: np.ndarray) -> np.ndarray:
    """Rotation matrices of rotation vectors (rad); compositions are matrix products, which
    numpy does ~20x faster than composing ``Rotation`` stacks."""
    return np.asarray(Rotation.from_rotvec(rotvec).as_matrix())


def simulate(spec: SetSpec, seed: int) -> tuple[Recording, Truth]:
    """Simulate one set and return the recording and its ground truth.

    Parameters
    ----------
    spec : SetSpec
        What is done and with which sensor.
    seed : int
        Seeds everything else (person, mounting, errors, timing); same seed, same output.

    Examples
    --------
    >>> rec, truth = simulate(SetSpec("bridge", n_reps=3), seed=7)
    >>> truth.rep_count
    3
    """
    rng = np.random.default_rng(seed)
    hz = set(spec.hazards)
    model = _resolve(MODELS[spec.exercise], rng)
    side = 1.0 if rng.random() < 0.5 else -1.0

    def axis(v: Any) -> np.ndarray:
        a = np.asarray(v, dtype=float)
        a = a / np.linalg.norm(a)
        return a if side > 0 else mirror(a)

    p_axis, h_axis = axis(model.pelvis_axis), axis(model.hip_axis)
    theta_p = np.deg2rad(rng.uniform(*model.pelvis_deg))
    hip_amp = rng.uniform(*model.hip_deg)
    theta_h = hip_amp * theta_p if model.hip_relative else np.deg2rad(hip_amp)
    if spec.rom_deg is not None:
        if spec.placement == "thigh" and model.thigh_main:
            theta_h = np.deg2rad(spec.rom_deg)
        else:
            theta_p = np.deg2rad(spec.rom_deg)
            theta_h = hip_amp * theta_p if model.hip_relative else theta_h
    bump_ratio = rng.uniform(*model.bump_ratio)
    side_bump = np.deg2rad(rng.uniform(*model.side_bump_deg)) * axis((1.0, 0.0, 0.0))
    shift = np.array([rng.uniform(*r) for r in model.shift_m]) * np.array([1.0, side, 1.0])
    rest_rv, z_set = POSTURES[model.posture]
    rest = np.array(rest_rv) * (side if model.posture == "side_lying" else 1.0)
    tilt = Rotation.from_rotvec(np.deg2rad(rng.normal(0, 2.0, 3)))  # mat, pillow, floor
    rest = (Rotation.from_rotvec(rest) * tilt).as_rotvec()
    hip_rest = np.array([0.0, -np.deg2rad(model.hip_rest_deg), 0.0])
    plan = plan_set(spec, p_axis, float(np.rad2deg(theta_p)), EXERCISES[spec.exercise].holds,
                    rng)
    tl = build_timeline(model.posture, (tuple(rest), tuple(hip_rest), z_set), plan.duration_s,
                        hz, rng)

    rate = spec.effective_rate_hz
    fs = float(np.clip(4 * rate, 200.0, 800.0))
    t = np.arange(0.0, tl.total_s, 1.0 / fs)
    n = t.size
    t_set = t - tl.set_start

    # the exercise
    th_p, th_h, comp, trans, tremor, stepping = (np.zeros(n), np.zeros(n), np.zeros((n, 3)),
                                                 np.zeros((n, 3)), np.zeros((n, 3)),
                                                 np.zeros((n, 3)))
    for m in plan.moves:
        s, b = move_profile(t_set, m)
        sag = np.ones(n)
        if m.kind == "rep" and m.hold_s > 0.5:  # tremor, and sagging by 1-4 % while holding
            tremor += act.hold_tremor(t_set, m.top, m.lower_start, rng)
            sag -= rng.uniform(0.01, 0.04) * np.clip((t_set - m.top) / m.hold_s, 0.0, 1.0)
        th_p += m.scale * theta_p * (s * sag + bump_ratio * b)
        th_h += m.scale * theta_h * (b if model.hip_bump else s * sag)
        comp += (m.comp_rad * s)[:, None] * np.asarray(m.comp_dir)
        stepping += (m.scale * b)[:, None] * side_bump
        trans += (m.scale * s)[:, None] * shift
    r_ex = _m(th_p[:, None] * p_axis) @ _m(comp + stepping)

    # posture shift, breathing, sway, fidgets
    shift_rv, shift_pos = np.zeros((n, 3)), np.zeros((n, 3))
    if plan.shift_at is not None:
        step = min_jerk((t_set - plan.shift_at) / rng.uniform(0.8, 2.0))[:, None]
        u = rng.normal(size=3)
        shift_rv = step * u / np.linalg.norm(u) * np.deg2rad(rng.uniform(3.0, 10.0))
        shift_pos = step * np.append(rng.uniform(-0.04, 0.04, 2), rng.uniform(-0.01, 0.01))
    lying = model.posture != "standing"
    sway_deg, sway_m = (0.12, 0.002) if lying else (0.5, 0.008)
    if "sway" not in hz:
        sway_deg, sway_m = sway_deg / 5, sway_m / 5
    sway_rv = np.deg2rad(sway_deg) * act.smooth_noise(n, fs, rng.uniform(0.2, 0.6), rng)
    sway_pos = sway_m * act.smooth_noise(n, fs, rng.uniform(0.2, 0.6), rng)
    b_rv, b_z = act.breathing(t, fs, rng, rng.uniform(0.1, 0.35) if "breathing" in hz else 0.03)
    main_deg = np.rad2deg(theta_h if spec.placement == "thigh" else theta_p)
    fid_rv, fid_pos = np.zeros((n, 3)), np.zeros((n, 3))
    if "fidgets" in hz:
        windows = [(a + tl.set_start, b + tl.set_start) for a, b in plan.rests]
        windows += [(tl.set_start - 2.0, tl.set_start - 0.3), tl.after_set]
        fid_rv, fid_pos = act.fidgets(t, windows, float(np.clip(0.5 * main_deg, 1.0, 3.0)), rng)

    walk = act.walking(t, tl.walks, rng.uniform(0, 2 * np.pi), rng)
    heading = _m(np.column_stack([np.zeros(n), np.zeros(n), walk["heading"]]))
    post, hip_base, z = act.base_from_keys(t, tl.keys)
    pelvis_clean = heading @ post.as_matrix() @ _m(shift_rv) @ r_ex
    pelvis = pelvis_clean @ _m(sway_rv + b_rv + fid_rv + tremor + walk["pelvis"])
    hip_ex = _m(th_h[:, None] * h_axis) @ _m(hip_base)
    thigh_clean = pelvis_clean @ hip_ex
    thigh = pelvis @ _m(walk["hip"] + 0.5 * sway_rv[:, ::-1]) @ hip_ex
    centre = np.column_stack([walk["xy"], z + walk["bounce"] + b_z])
    centre += np.einsum("nij,nj->ni", heading, trans + shift_pos) + sway_pos + fid_pos

    mount = sen.draw_mount(spec.placement, rng)
    if spec.placement == "thigh":
        segment, segment_clean = thigh, thigh_clean
        hip_offset = np.array([0.0, 0.09 * side, -0.06])
        pos = centre + pelvis @ hip_offset + thigh @ np.asarray(mount.lever_m)
    else:
        segment, segment_clean = pelvis, pelvis_clean
        pos = centre + pelvis @ np.asarray(mount.lever_m)
    wobble = ((rng.uniform(6.0, 15.0), rng.uniform(0.1, 0.3)) if "loose_mount" in hz
              else (rng.uniform(20.0, 30.0), rng.uniform(0.4, 0.6)))
    f_g, omega = sen.ideal_imu(t, segment, pos, mount, wobble)
    f_g, omega = sen.anti_alias(f_g, fs, rate), sen.anti_alias(omega, fs, rate)
    return _sample(spec, seed, rng, t, f_g, omega, tl, plan, segment_clean, r_ex, comp,
                   {"mount": mount.where, "lever_m": [round(v, 3) for v in mount.lever_m],
                    "mount_quat_xyzw": [round(float(q), 4) for q in mount.rotation.as_quat()],
                    "side": "left" if side > 0 else "right", "posture": model.posture,
                    "main_amplitude_deg": round(float(main_deg), 2),
                    "mount_resonance_hz": round(float(wobble[0]), 1)})


def _sample(spec: SetSpec, seed: int, rng: np.random.Generator, t: np.ndarray,
            f_g: np.ndarray, omega: np.ndarray, tl: Timeline, plan: SetPlan,
            segment_clean: np.ndarray, r_ex: np.ndarray, comp: np.ndarray,
            details: dict[str, Any]) -> tuple[Recording, Truth]:
    hz = set(spec.hazards)
    rate = spec.effective_rate_hz
    drift = (rng.uniform(0.003, 0.02) * rng.choice([-1.0, 1.0]) if "drift" in hz
             else rng.normal(0.0, 50e-6))
    t0 = float(rng.uniform(0.0, 1.0 / rate))
    k = np.arange(int((t[-1] - 0.05 - t0) * rate * (1 + drift)))
    t_true = t0 + k / (rate * (1 + drift))
    offset = 0.0 if rng.random() < 0.5 else float(np.round(rng.uniform(0.0, 4000.0), 3))
    # Sensor clock: stamps count samples at the nominal rate, so the file's time runs fast or
    # slow with the crystal. Host clock: stamps are real time, so the rate is off instead.
    host_clock = bool(rng.random() < 0.5)
    time_scale = 1.0 if host_clock else 1.0 + drift

    def clock(x: float) -> float:
        return float(offset + (x - t0) * time_scale)

    f_s = np.column_stack([np.interp(t_true, t, f_g[:, i]) for i in range(3)])
    w_s = np.column_stack([np.interp(t_true, t, omega[:, i]) for i in range(3)])
    errors = sen.draw_errors(rate, rng)
    acc, gyro = sen.measure(f_s, w_s, errors, spec.acc_range_g, rng)
    stamps = offset + k / rate if not host_clock else offset + (t_true - t0)
    if "jitter" in hz:
        sd = rng.uniform(0.1, 0.25) / rate
        stamps = stamps + np.clip(rng.normal(0.0, sd, k.size), -0.4 / rate, 0.4 / rate)
    elif rng.random() < 0.5:
        stamps = np.round(stamps, 3)  # sensors with millisecond timestamps
    keep = sen.drop_batches(k.size, rng.uniform(0.01, 0.05), rng) if "drops" in hz else (
        np.ones(k.size, dtype=bool))
    spans = [(m.start + tl.set_start, m.end + tl.set_start) for m in plan.moves]
    gaps: list[tuple[float, float]] = []
    if "disconnect" in hz:
        gaps.append(_gap(spans, tl, plan.duration_s, rng))
        for a, b in gaps:
            keep &= ~((t_true >= a) & (t_true < b))
    rec = Recording(t=stamps[keep], acc=acc[keep], gyro=gyro[keep] if spec.gyro else None)

    g_seg = segment_clean[:, 2, :]  # the world's up in the segment frame: R^T z
    ex_angle = np.arccos(np.clip((np.trace(r_ex, axis1=1, axis2=2) - 1) / 2, -1.0, 1.0))
    comp_angle = np.linalg.norm(comp, axis=1)
    reps: list[dict[str, Any]] = []
    partials: list[dict[str, Any]] = []
    for m, (a, b) in zip(plan.moves, spans, strict=True):
        sel = (t >= a) & (t <= b)
        g = g_seg[sel]
        tilt = np.degrees(np.arccos(np.clip(g @ g[0], -1.0, 1.0)))
        rom = round(float(tilt.max()), 3)
        in_gap = any(ga < b and gb > a for ga, gb in gaps)
        if m.kind == "partial":
            partials.append({"start": round(clock(a), 4), "end": round(clock(b), 4),
                             "rom_deg": rom, "in_gap": in_gap})
            continue
        stab = None
        if spec.placement == "pelvis":
            peak = ex_angle[sel] if spec.exercise == "clamshell" else comp_angle[sel]
            stab = round(float(np.degrees(peak.max())), 3)
        top, low = clock(a + m.lift_s), clock(a + m.lift_s + m.hold_s)
        reps.append({"start": round(clock(a), 4), "top": round(top, 4),
                     "lower_start": round(low, 4), "end": round(clock(b), 4),
                     "hold_s": round(low - top, 4), "rom_deg": rom, "stability_deg": stab,
                     "flags": [], "in_gap": in_gap})
    typical = float(np.median([r["rom_deg"] for r in reps]))
    for r in reps:
        if r["rom_deg"] < 0.7 * typical:
            r["flags"] = ["reduced_rom"]
    details.update({
        "typical_rom_deg": round(typical, 3), "rate_hz": rate,
        "clock_drift_ppm": round(float(drift) * 1e6, 1), "time_offset_s": offset,
        "clock": "host" if host_clock else "sensor",
        "gaps": [[round(clock(a), 4), round(clock(b), 4)] for a, b in gaps],
        "set_window": [round(clock(tl.set_start), 4),
                       round(clock(tl.set_start + plan.duration_s), 4)],
        "acc_bias_g": [round(float(v), 4) for v in errors.acc_bias_g],
        "gyro_bias_dps": [round(float(v), 3) for v in errors.gyro_bias_dps],
        "adc_bits": errors.bits, "samples": len(rec),
    })
    truth = Truth(spec.exercise, spec.placement, tuple(reps), tuple(partials), spec.hazards,
                  int(seed), spec.to_json(), details)
    return rec, truth


def _gap(spans: list[tuple[float, float]], tl: Timeline, set_s: float,
         rng: np.random.Generator) -> tuple[float, float]:
    """A 2-6 s disconnect inside the set that never swallows a whole rep or attempt."""
    for _ in range(200):
        length = float(rng.uniform(2.0, 6.0))
        a = tl.set_start + float(rng.uniform(0.0, max(set_s - length, 0.0)))
        if not any(s >= a and e <= a + length for s, e in spans):
            return a, a + length
    a = tl.set_start + set_s + 0.2  # a set too dense for a gap inside: just after it
    return a, a + min(2.0, tl.after_set[1] - a)
