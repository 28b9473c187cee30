"""``rehab simulate``, the committed corpus and the bundled demo recordings."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from rehablink.cli import cli
from rehablink.recordings import NAMES, bundled, bundled_truth
from rehablink.simulator import Truth, simulate
from rehablink.simulator.corpus import BENCHMARK_SEED0, BUNDLED, CORPUS_SEED0, corpus_specs

CORPUS = Path(__file__).parent / "corpus"


def _load_csv(path: Path) -> tuple[list[str], np.ndarray]:
    header = path.read_text().split("\n", 1)[0].split(",")
    return header, np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2)


def test_simulate_writes_a_loadable_csv_and_its_truth(tmp_path: Path) -> None:
    out = tmp_path / "bridge.csv"
    result = CliRunner().invoke(cli, ["simulate", "bridge", "--out", str(out), "--seed", "4",
                                      "--reps", "3", "--rate", "52", "--hazard", "breathing",
                                      "--hazard", "drops", "--hold", "3"])
    assert result.exit_code == 0, result.output
    header, data = _load_csv(out)
    assert header == ["t", "ax", "ay", "az", "gx", "gy", "gz"]
    assert np.all(np.diff(data[:, 0]) > 0)
    rate = (len(data) - 1) / (data[-1, 0] - data[0, 0])  # drops lower it by at most 5 %
    assert 0.94 * 52 <= rate <= 1.01 * 52
    truth = Truth.read(tmp_path / "bridge.truth.json")
    assert truth.rep_count == 3 and truth.hazards == ("breathing", "drops")
    assert truth.spec["hold_s"] == 3.0 and truth.seed == 4
    assert data[0, 0] <= truth.reps[0]["start"] < truth.reps[-1]["end"] <= data[-1, 0]


def test_simulate_without_gyro_on_the_thigh(tmp_path: Path) -> None:
    out = tmp_path / "clam.csv"
    result = CliRunner().invoke(cli, ["simulate", "clamshell", "--out", str(out), "--no-gyro",
                                      "--placement", "thigh", "--reps", "2"])
    assert result.exit_code == 0, result.output
    header, data = _load_csv(out)
    assert header == ["t", "ax", "ay", "az"] and data.shape[1] == 4
    assert Truth.read(tmp_path / "clam.truth.json").placement == "thigh"


@pytest.mark.parametrize(("args", "message"), [
    (["plank"], "error: unknown exercise 'plank'; known: bridge, single_leg_bridge"),
    (["bridge", "--hazard", "rain"], "error: unknown hazard 'rain'; known: jitter, drops"),
    (["bridge", "--reps", "0"], "error: n_reps must be 1-100"),
    (["bridge", "--rate", "-5"], "error: rate_hz must be 5-1000 Hz"),
])
def test_simulate_rejects_bad_input_with_exit_2(tmp_path: Path, args: list[str],
                                                message: str) -> None:
    out = tmp_path / "x.csv"
    result = CliRunner().invoke(cli, ["simulate", *args, "--out", str(out)])
    assert result.exit_code == 2
    assert result.output.startswith(message)
    assert "Traceback" not in result.output and not out.exists()


def test_simulate_reports_an_unwritable_path(tmp_path: Path) -> None:
    out = tmp_path / "missing-dir" / "x.csv"
    result = CliRunner().invoke(cli, ["simulate", "squat", "--out", str(out), "--reps", "1"])
    assert result.exit_code == 2 and result.output.startswith("error: cannot write")


def test_corpus_manifest_matches_the_files_and_seed_ranges() -> None:
    manifest = json.loads((CORPUS / "manifest.json").read_text())
    sets = manifest["sets"]
    assert 30 <= len(sets) <= 50
    seeds = [s["seed"] for s in sets]
    assert min(seeds) >= CORPUS_SEED0 and max(seeds) < CORPUS_SEED0 + 1000 < BENCHMARK_SEED0
    assert {s["exercise"] for s in sets} >= {"bridge", "clamshell", "generic", "step_up"}
    total = sum(p.stat().st_size for p in CORPUS.iterdir())
    assert total < 8_000_000
    for s in sets:
        path = CORPUS / s["file"]
        truth = json.loads(path.with_name(path.name[:-4] + ".truth.json").read_text())
        assert truth["rep_count"] == s["rep_count"] == len(truth["reps"])
        assert truth["seed"] == s["seed"]
    assert [s["file"][:-4] for s in sets] == [stem for stem, _, _ in corpus_specs()]


def test_corpus_regenerates_from_its_seeds() -> None:
    """The committed files are what the generator writes (to the CSV's printed precision)."""
    stem, spec, seed = corpus_specs()[5]
    recording, truth = simulate(spec, seed)
    _, data = _load_csv(CORPUS / f"{stem}.csv")
    assert data.shape[0] == len(recording)
    np.testing.assert_allclose(data[:, 0], recording.t, atol=6e-5)
    np.testing.assert_allclose(data[:, 1:4], recording.acc, atol=6e-6)
    assert Truth.read(CORPUS / f"{stem}.truth.json").to_json() == truth.to_json()


@pytest.mark.parametrize("name", NAMES)
def test_bundled_recordings_are_installed_with_their_truth(name: str) -> None:
    path = bundled(name)
    header, data = _load_csv(path)
    assert header == ["t", "ax", "ay", "az", "gx", "gy", "gz"]
    assert (len(data) - 1) / (data[-1, 0] - data[0, 0]) == pytest.approx(50.0, rel=0.01)
    truth = Truth.read(bundled_truth(name))
    assert truth.exercise == name and 8 <= truth.rep_count <= 10
    holds = [r["hold_s"] for r in truth.reps]
    lo, hi = (3.0, 5.0) if name == "bridge" else (2.0, 3.0)
    assert lo - 0.05 <= min(holds) and max(holds) <= hi + 0.05
    assert truth.spec == BUNDLED[name][0].to_json() and truth.partial_count == 0


def test_bundled_rejects_an_unknown_name() -> None:
    with pytest.raises(KeyError, match="known: bridge"):
        bundled("plank")


def test_simulate_refuses_a_negative_seed(tmp_path: Path) -> None:
    """``--seed -1`` reached numpy's random generator and failed there."""
    result = CliRunner().invoke(cli, ["simulate", "bridge", "--out", str(tmp_path / "x.csv"),
                                      "--seed", "-1"])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: ") and "--seed" in result.stderr
    assert not (tmp_path / "x.csv").exists()
