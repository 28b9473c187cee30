"""``rehab analyze``: JSON and table output, and one clear line with exit code 2 for bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from rehablink.cli import cli
from rehablink.simulator import Truth
from wearable.motion.synthetic import SyntheticRep, synthetic_set

CORPUS = Path(__file__).parent / "corpus"
KEYS = {"exercise", "placement", "rep_count", "partial_count", "duration_s", "sample_rate_hz",
        "reps"}
REP_KEYS = {"start", "top", "lower_start", "end", "hold_s", "rom_deg", "flags"}


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["analyze", *args])
    return result.exit_code, result.stdout, result.stderr


def test_json_output_on_a_corpus_set() -> None:
    truth = Truth.read(CORPUS / "bridge-clean-1000.truth.json")
    code, out, err = _run(str(CORPUS / "bridge-clean-1000.csv"), "--exercise", "bridge",
                          "--json")
    assert code == 0, err
    data = json.loads(out)
    assert set(data) >= KEYS
    assert data["exercise"] == "bridge" and data["placement"] == "pelvis"
    assert data["rep_count"] == truth.rep_count == len(data["reps"])
    for rep in data["reps"]:
        assert set(rep) >= REP_KEYS
        assert rep["start"] <= rep["top"] <= rep["lower_start"] <= rep["end"]
        assert rep["hold_s"] == pytest.approx(rep["lower_start"] - rep["top"], abs=2e-3)


def test_table_output_and_thigh_placement() -> None:
    code, out, err = _run(str(CORPUS / "clamshell-clean-thigh-1036.csv"), "-e", "clamshell",
                          "--placement", "thigh")
    assert code == 0, err
    truth = Truth.read(CORPUS / "clamshell-clean-thigh-1036.truth.json")
    assert f"{truth.rep_count} reps" in out
    assert "Clamshell (thigh)" in out


def test_phyphox_export(tmp_path: Path) -> None:
    rec, truth = synthetic_set([SyntheticRep(20.0)] * 4, rate_hz=100.0, seed=21, gyro=False)
    lines = ['"Time (s)"\t"Acceleration x (m/s^2)"\t"Acceleration y (m/s^2)"\t'
             '"Acceleration z (m/s^2)"\t"Absolute acceleration (m/s^2)"']
    for t, a in zip(rec.t, rec.acc * 9.80665, strict=True):
        lines.append("\t".join(f"{v:.6E}" for v in (t, *a, float((a**2).sum() ** 0.5))))
    p = tmp_path / "Raw Data.csv"
    p.write_text("\n".join(lines) + "\n")
    code, out, err = _run(str(p), "--exercise", "bridge", "--json")
    assert code == 0, err
    assert json.loads(out)["rep_count"] == len(truth)


def _bad(tmp_path: Path, content: bytes) -> str:
    p = tmp_path / "bad.csv"
    p.write_bytes(content)
    return str(p)


BAD_FILES = {
    "empty": b"",
    "header only": b"t,ax,ay,az\n",
    "missing column": b"t,ax,ay\n0,0,0\n",
    "extra column": b"t,ax,ay,az,q\n0,0,0,1,1\n",
    "extra cell": b"t,ax,ay,az\n0,0,0,1\n0.01,0,0,1,7\n",
    "non-numeric": b"t,ax,ay,az\n0,0,0,1\n0.01,x,0,1\n",
    "nan": b"t,ax,ay,az\n0,0,0,1\n0.01,NaN,0,1\n",
    "backwards": b"t,ax,ay,az\n0.5,0,0,1\n0.4,0,0,1\n",
    "not csv": b"\x00\x01\x02\x03binary\xff\xfe",
    "m/s2": b"t,ax,ay,az\n" + b"".join(b"%.2f,0,0,9.81\n" % (i / 100) for i in range(20)),
    "ms timestamps": b"t,ax,ay,az\n" + b"".join(b"%d,0,0,1\n" % (i * 10) for i in range(20)),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_bad_file_one_line_exit_2(tmp_path: Path, case: str) -> None:
    code, out, err = _run(_bad(tmp_path, BAD_FILES[case]), "--exercise", "bridge")
    assert code == 2
    assert out == ""
    assert err.startswith("error: ") and err.count("\n") == 1
    assert "Traceback" not in err


@pytest.mark.parametrize("args, message", [
    (["--exercise", "plank"], "unknown exercise 'plank'; known: bridge"),
    (["--exercise", "bridge", "--placement", "ankle"], "unknown placement 'ankle'"),
    (["--exercise", "bridge", "--hold-target", "-3"], "--hold-target must be"),
])
def test_bad_options_one_line_exit_2(args: list[str], message: str) -> None:
    code, _, err = _run(str(CORPUS / "bridge-clean-1000.csv"), *args)
    assert code == 2
    assert message in err and err.count("\n") == 1


def test_missing_file_and_directory(tmp_path: Path) -> None:
    for path, message in ((tmp_path / "none.csv", "no such file"),
                          (tmp_path, "is a directory")):
        code, _, err = _run(str(path), "--exercise", "bridge")
        assert code == 2 and message in err and err.count("\n") == 1


def test_exercise_is_required() -> None:
    code, _, err = _run(str(CORPUS / "bridge-clean-1000.csv"))
    assert code == 2 and "--exercise" in err


def test_large_file_parsed_alongside_the_engine_import(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """A file above the parallel-parse size goes through the forked parser: same result as a
    small file's path, and a bad line in it is still one clear line with exit 2."""
    import wearable.motion.cli as motion_cli

    src = CORPUS / "bridge-clean-1000.csv"
    code, small_out, err = _run(str(src), "-e", "bridge", "--json")
    assert code == 0, err
    monkeypatch.setattr(motion_cli, "PARALLEL_PARSE_BYTES", src.stat().st_size)
    code, big_out, err = _run(str(src), "-e", "bridge", "--json")
    assert code == 0, err
    assert json.loads(big_out) == json.loads(small_out)
    bad = tmp_path / "bad.csv"
    bad.write_text(src.read_text() + "999,abc,0,1,0,0,0\n")
    monkeypatch.setattr(motion_cli, "PARALLEL_PARSE_BYTES", 1)
    code, out, err = _run(str(bad), "-e", "bridge", "--json")
    assert code == 2 and out == ""
    assert err.startswith("error: ") and "not a number ('abc')" in err and err.count("\n") == 1
